"""The per-page work (page, pageinfo, vietnamese/, neardup/, run by workers) and the one writer (store, db/)."""
