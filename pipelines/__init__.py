"""The per-page work (page, pageinfo, vietnamese/, neardup/, run by workers) and the one writer (store, db/)."""

import os

# numpy's OpenBLAS starts a thread per core when numpy is imported, and each spins for a tenth of a
# second before it sleeps: 0.1 s of CPU in the engine and in every worker at start-up, on the cores
# they start on. Nothing here multiplies matrices. Set before numpy is first imported (this package
# is imported first), and inherited by the workers; a value set by the user is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
