"""Run the per-page function in worker processes, with a time limit per page.

Extraction is the CPU cost of a crawl (tens of milliseconds a page, far more for
a heavy one), and Scrapy's engine is one thread. :class:`PagePool` keeps a few
worker processes, each holding :data:`DEPTH` jobs at most in its socket and running
:func:`pipelines.page.process_page` (or :func:`~pipelines.page.process_text`) on
them in order; the engine awaits the results (the event loop watches the sockets
without blocking: no thread competes with the engine for the GIL), so fetching and writing go on while
the workers parse, extract, normalize, hash and sign, on every core. A page that
takes longer than the time limit gets its worker killed and replaced: one
pathological page cannot stall the crawl.
"""

from __future__ import annotations

import ctypes
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
from collections import deque
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Light: no Scrapy, no database; a spawned worker imports this module and these alone.
from crawler.seeds import SeedFiles, process_seed_files
from pipelines.page import Fetched, PageOptions, PageResult, extraction, process_page, process_text

if TYPE_CHECKING:
    import asyncio

logger = logging.getLogger(__name__)


# The project's root, for the workers' imports (they run ``python -m pipelines.workers``).
PROJECT = str(Path(__file__).resolve().parent.parent)
# glibc's malloc maps buffers from a fixed size up and gives them back when freed, instead of
# raising the heap's threshold to the size of the largest one freed and keeping them all in the
# heap (glibc's default, up to 32 MB). Ignored by other C libraries.
# - The engine, which receives every page: from 128 KB (14 MB less after 8,000 pages). It sets it on
#   itself (:func:`give_back_big_buffers`).
# - A worker: from 2 MB. Below that a page's buffers (its bytes, its text, its tree's parts) stay in
#   the heap and serve the next page: mapped anew for each page, their page faults cost 1 ms a page,
#   a tenth of the per-page function. The heap holds one page's worth (some 5 MB at most), not more.
#   The workers get it from their environment, before their first allocation.
MMAP_THRESHOLD = 128 * 1024
WORKER_MMAP_THRESHOLD = 2 * 1024 * 1024
MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(WORKER_MMAP_THRESHOLD)}
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h


def _running_loop() -> asyncio.AbstractEventLoop:
    """The engine's event loop. asyncio is imported here, not with the module: a worker runs this
    module and never uses it (1.3 MB in each)."""
    import asyncio

    return asyncio.get_running_loop()


def give_back_big_buffers() -> None:
    """Make this process's malloc map buffers of :data:`MMAP_THRESHOLD` and more (glibc only)."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


# How long a new worker may take to start (import trafilatura) on a busy machine.
STARTUP_SECONDS = 120


class PageTimeout(Exception):
    """The page took longer than the time limit; its worker was replaced."""


class WorkerFailed(Exception):
    """The worker raised or died while processing the page."""


def run_job(job: Fetched | SeedFiles | dict[str, Any] | list[dict[str, Any]], options: PageOptions) -> Any:
    """A page (:class:`Fetched`) through :func:`process_page`; text seed files (:class:`SeedFiles`)
    read and through :func:`process_text`, as a text seed's fields (or a list of them)."""
    if isinstance(job, Fetched):
        return process_page(job, options)
    if isinstance(job, SeedFiles):
        return process_seed_files(job, options)
    if isinstance(job, list):
        return [process_text(fields, options) for fields in job]
    return process_text(job, options)


def _serve(conn: Connection, options: PageOptions) -> None:
    """The worker's loop: a job in, ("ok", result) or ("error", reason) out, in order; None stops it."""
    # Ctrl-C reaches the whole process group: the engine decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        conn.send(("ready", None))  # start-up (imports) does not count against a page's time limit
    except OSError:  # the engine is gone already
        return
    parent = os.getppid()
    while True:
        # A killed engine sends no None, and forked siblings keep the pipe open (no EOF):
        # a worker whose parent is gone stops by itself instead of lingering forever.
        while not conn.poll(1.0):
            if os.getppid() != parent:
                return
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            conn.send(("ok", run_job(job, options)))
        except Exception as exc:  # report it to the engine, keep serving
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


# Jobs a worker holds at once: the one it works on and those after it, already in its socket, so
# that it goes on while the engine is busy elsewhere (a write batch's commit holds the event loop
# for up to a tenth of a second: some 5 pages, or 8 jobs of 16 text seeds). With 2, the workers
# waited for the engine a tenth of the time, and the engine for them as long again.
DEPTH = 8
# Socket buffers (each way) of a worker's socket pair: a worker's answers wait there until the
# engine reads them, instead of blocking the worker in send() (a job of 16 text seeds answers with
# some 150 KB, over the 208 KB buffer's room after its bookkeeping). At most the system's
# net.core.wmem_max / rmem_max; the memory is the kernel's, taken as the data waits.
SOCKET_BUFFER = 4 << 20


class Requeued(Exception):
    """The job waited behind one that killed its worker: it goes to another worker."""


def _frame(message: Any) -> bytes:
    """``message`` as multiprocessing's ``Connection`` frames it (4-byte length, pickle), which the worker reads."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return struct.pack("!i", len(data)) + data


class _Worker:
    """One worker: ``python -m pipelines.workers FD``, a fresh interpreter holding only its end of a socket pair.

    Not fork: a forked worker would inherit the engine's file descriptors (database,
    sockets, the scheduler's site lock) and outlive a killed engine holding them. Not
    multiprocessing's spawn either: it runs the parent's main script again in the
    child, and ``scrapy``'s imports Scrapy and Twisted (25 MB a worker, seconds of
    start-up) that the per-page function never uses. The end of file of the socket
    when the engine dies, however it dies, makes the worker exit.

    The engine side never blocks: the event loop writes jobs and reads results as the
    socket allows (a page is larger than a socket's buffer). Jobs are answered in order;
    the first job's time limit starts when the worker says it is ready, the next's when
    the one before it is answered.
    """

    def __init__(self, timeout: float, on_answer: Any, niceness: int = 0) -> None:
        ours, theirs = socket.socketpair()
        for end in (ours, theirs):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
        path = os.pathsep.join(filter(None, [PROJECT, os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.workers", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": path, **MALLOC},
        )
        # Set here, as soon as it runs: the worker's imports (a fifth of a second of CPU) already
        # leave the core to the engine, which is starting too.
        if niceness:
            nice = min(os.getpriority(os.PRIO_PROCESS, 0) + niceness, 19)
            try:
                os.setpriority(os.PRIO_PROCESS, self.process.pid, nice)
            except ProcessLookupError:  # gone already: alive() says so
                pass
        theirs.close()
        ours.setblocking(False)
        self.sock, self.timeout, self.on_answer = ours, timeout, on_answer
        self.loop: asyncio.AbstractEventLoop | None = None  # set by serve()
        self.jobs: deque[asyncio.Future[Any]] = deque()  # the answers awaited, in the order the jobs were sent
        self.outgoing, self.incoming = bytearray(), bytearray()
        self.ready = False
        self.timer: asyncio.TimerHandle | None = None

    def serve(self, options: PageOptions) -> None:
        """Give the worker its options and watch its socket on the running event loop (the process
        starts before: its imports take a fifth of a second)."""
        self.loop = _running_loop()
        self.outgoing += _frame(options)
        self.timer = self.loop.call_later(STARTUP_SECONDS, self._failed, WorkerFailed(
            f"page worker did not start within {STARTUP_SECONDS}s"))
        self.loop.add_reader(self.sock.fileno(), self._read)
        self.loop.add_writer(self.sock.fileno(), self._write)

    def __len__(self) -> int:
        return len(self.jobs)

    def alive(self) -> bool:
        return self.process.poll() is None and self.sock.fileno() >= 0

    def submit(self, job: Any) -> asyncio.Future[Any]:
        assert self.loop is not None, "serve() first"
        future = self.loop.create_future()
        if not self.outgoing:
            self.loop.add_writer(self.sock.fileno(), self._write)
        self.outgoing += _frame(job)
        self.jobs.append(future)
        if self.ready and len(self.jobs) == 1:
            self._start_clock()
        return future

    def _start_clock(self) -> None:
        self.timer.cancel()
        self.timer = self.loop.call_later(self.timeout, self._failed, PageTimeout(
            f"the page took longer than {self.timeout:g}s"))

    def _write(self) -> None:
        try:
            sent = self.sock.send(self.outgoing)
        except BlockingIOError:
            return
        except OSError:
            self._failed(WorkerFailed("page worker died (its socket closed)"))
            return
        del self.outgoing[:sent]
        if not self.outgoing:
            self.loop.remove_writer(self.sock.fileno())

    def _read(self) -> None:
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._failed(WorkerFailed("page worker died (EOFError)"))
            return
        self.incoming += data
        while len(self.incoming) >= 4:
            size = struct.unpack("!i", self.incoming[:4])[0]
            if len(self.incoming) < 4 + size:
                return
            status, value = pickle.loads(self.incoming[4 : 4 + size])
            del self.incoming[: 4 + size]
            self._answer(status, value)

    def _answer(self, status: str, value: Any) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if status == "ready":
            self.ready = True
        else:
            future = self.jobs.popleft()
            if not future.done():
                future.set_result(value) if status == "ok" else future.set_exception(WorkerFailed(value))
        if self.jobs:
            self._start_clock()
        self.on_answer()

    def _failed(self, error: Exception) -> None:
        """The worker timed out or died: its job fails, the ones behind it go elsewhere, it is stopped."""
        self.stop(kill=True)
        for number, future in enumerate(self.jobs):
            if not future.done():
                future.set_exception(error if number == 0 else Requeued())
        self.jobs.clear()
        self.on_answer()

    def stop(self, kill: bool = False) -> None:
        self.ask_to_stop(kill)
        self.wait_stopped()

    def ask_to_stop(self, kill: bool = False) -> None:
        """Tell the worker to stop (None), or kill it; :meth:`wait_stopped` waits for it. One never
        served is killed: it has had no job, and it may still be importing."""
        kill = kill or self.loop is None
        if self.sock.fileno() >= 0:
            if self.loop is not None and self.timer is not None:
                self.timer.cancel()
                self.loop.remove_reader(self.sock.fileno())
                self.loop.remove_writer(self.sock.fileno())
            if not kill:
                try:
                    self.sock.setblocking(True)
                    self.sock.sendall(_frame(None))
                except OSError:
                    kill = True
        if kill:
            self.process.kill()

    def wait_stopped(self) -> None:
        """Wait for the worker to exit (killed after 2 s), then close its socket: a worker still starting
        says it is ready before it reads the None, and its socket must still be there to take that."""
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process.wait()
        self.sock.close()


class PagePool:
    """``workers`` processes running the per-page function with ``options``, and a per-page time
    limit in seconds. They start on first use, or before it with :meth:`spawn`."""

    def __init__(self, workers: int, timeout: float, options: PageOptions, niceness: int = 0) -> None:
        self.size = workers
        self.timeout = timeout
        self.options = options  # may change until the first job: a worker gets them with it
        self.niceness = niceness
        self.workers: list[_Worker] = []
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def process(self, job: Fetched | dict[str, Any] | list[dict[str, Any]]) -> Any:
        """One job in the least busy worker; see :func:`run_job`. A timed-out or dead worker is replaced."""
        while True:
            worker = await self._worker()
            try:
                return await worker.submit(job)
            except Requeued:
                continue

    def spawn(self) -> None:
        """Start the worker processes now, with no event loop yet: their imports (a fifth of a second)
        overlap the engine's start instead of delaying the first page."""
        while len(self.workers) < self.size:
            self.workers.append(_Worker(self.timeout, self._answered, self.niceness))

    @property
    def serving(self) -> bool:
        """Whether a worker has had its options (after which they are fixed)."""
        return any(worker.loop is not None for worker in self.workers)

    async def _worker(self) -> _Worker:
        """A live worker with room for a job; waits while all hold :data:`DEPTH` jobs."""
        while True:
            for number, worker in enumerate(self.workers):
                if not worker.alive():
                    worker.stop(kill=True)
                    self.workers[number] = _Worker(self.timeout, self._answered, self.niceness)
            self.spawn()
            for worker in self.workers:
                if worker.loop is None:
                    worker.serve(self.options)
            worker = min(self.workers, key=len)
            if len(worker) < DEPTH:
                return worker
            waiter = _running_loop().create_future()
            self.waiting.append(waiter)
            await waiter

    def _answered(self) -> None:
        """A worker answered (or failed): one waiting job may go."""
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        # All are told first, then awaited: they exit (about 50 ms each) side by side.
        for worker in self.workers:
            worker.ask_to_stop()
        for worker in self.workers:
            worker.wait_stopped()
        self.workers = []


def main() -> None:
    """A worker's entry point: the socket's file descriptor as argument, the options as first message
    (None: stop)."""
    conn = Connection(int(sys.argv[1]))
    extraction()  # trafilatura's imports: start-up, not the first page's time
    try:
        options = conn.recv()
    except EOFError:
        return
    if options is not None:
        _serve(conn, options)
    # Nothing to flush or close but the standard streams: the interpreter's teardown (a few tens of
    # milliseconds with trafilatura loaded) would only delay the engine, which waits for its workers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
