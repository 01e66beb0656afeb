"""Run the per-page function in worker processes, with a time limit per page.

Extraction is the CPU cost of a crawl (tens of milliseconds a page, far more for
a heavy one), and Scrapy's engine is one thread. :class:`PagePool` keeps a few
worker processes, each reading one job at a time from a pipe and running
:func:`pipelines.page.process_page` (or :func:`~pipelines.page.process_text`) on
it; the engine awaits the result (the event loop watches the pipes: no thread
competes with the engine for the GIL), so fetching and writing go on while
the workers parse, extract, normalize, hash and sign, on every core. A page that
takes longer than the time limit gets its worker killed and replaced: one
pathological page cannot stall the crawl.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
from collections import deque
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# Light: no Scrapy, no database; a spawned worker imports this module and these alone.
from pipelines.page import Fetched, PageOptions, PageResult, process_page, process_text

logger = logging.getLogger(__name__)


# The project's root, for the workers' imports (they run ``python -m pipelines.workers``).
PROJECT = str(Path(__file__).resolve().parent.parent)
# How long a new worker may take to start (import trafilatura) on a busy machine.
STARTUP_SECONDS = 120


class PageTimeout(Exception):
    """The page took longer than the time limit; its worker was replaced."""


class WorkerFailed(Exception):
    """The worker raised or died while processing the page."""


def run_job(job: Fetched | dict[str, Any] | list[dict[str, Any]], options: PageOptions) -> Any:
    """A page (:class:`Fetched`) through :func:`process_page`; a text seed's fields (or a list of them)
    through :func:`process_text`."""
    if isinstance(job, Fetched):
        return process_page(job, options)
    if isinstance(job, list):
        return [process_text(fields, options) for fields in job]
    return process_text(job, options)


def _serve(conn: Connection, options: PageOptions) -> None:
    """The worker's loop: a job in, ("ok", PageResult) or ("error", reason) out; None stops it."""
    # Ctrl-C reaches the whole process group: the engine decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send(("ready", None))  # start-up (imports) does not count against a page's time limit
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


class _Worker:
    """One worker: ``python -m pipelines.workers FD``, a fresh interpreter holding only its end of a socket pair.

    Not fork: a forked worker would inherit the engine's file descriptors (database,
    sockets, the scheduler's site lock) and outlive a killed engine holding them. Not
    multiprocessing's spawn either: it runs the parent's main script again in the
    child, and ``scrapy``'s imports Scrapy and Twisted (25 MB a worker, seconds of
    start-up) that the per-page function never uses. The end of file of the socket
    when the engine dies, however it dies, makes the worker exit.
    """

    def __init__(self, options: PageOptions) -> None:
        ours, theirs = socket.socketpair()
        path = os.pathsep.join(filter(None, [PROJECT, os.environ.get("PYTHONPATH")]))
        environment = {**os.environ, "PYTHONPATH": path}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.workers", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=environment,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.conn.send(options)
        self.ready = False

    async def call(self, job: Fetched | dict[str, Any], timeout: float) -> PageResult:
        """Send ``job`` and await its result; the event loop watches the pipe (no thread blocks on it)."""
        try:
            if not self.ready:
                if not await self._readable(STARTUP_SECONDS):
                    raise WorkerFailed(f"page worker did not start within {STARTUP_SECONDS}s")
                self.conn.recv()
                self.ready = True
            self.conn.send(job)
            if not await self._readable(timeout):
                raise PageTimeout(f"the page took longer than {timeout:g}s")
            status, value = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise WorkerFailed(f"page worker died ({exc.__class__.__name__})") from exc
        if status == "error":
            raise WorkerFailed(value)
        return value

    async def _readable(self, timeout: float) -> bool:
        """Wait until the worker wrote (or closed) its end of the pipe; False after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fd = self.conn.fileno()
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(True))
        try:
            return await asyncio.wait_for(ready, timeout)
        except asyncio.TimeoutError:
            return False
        finally:
            loop.remove_reader(fd)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
                self.process.wait(2)
            except (OSError, subprocess.TimeoutExpired):
                kill = True
        if kill or self.alive():
            self.process.kill()
            self.process.wait()
        self.conn.close()


class PagePool:
    """``workers`` processes (started on first use) running the per-page function with ``options``,
    and a per-page time limit in seconds."""

    def __init__(self, workers: int, timeout: float, options: PageOptions) -> None:
        self.workers = workers
        self.timeout = timeout
        self.options = options
        self.idle: deque[_Worker] = deque()
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.started = False
        self.replaced = 0

    async def process(self, job: Fetched | dict[str, Any]) -> PageResult:
        """One job in the next free worker; see :func:`run_job`. A timed-out or dead worker is replaced."""
        if not self.started:
            self.idle.extend(_Worker(self.options) for _ in range(self.workers))
            self.started = True
        while not self.idle:
            waiter = asyncio.get_running_loop().create_future()
            self.waiting.append(waiter)
            await waiter
        worker = self.idle.popleft()
        try:
            return await worker.call(job, self.timeout)
        except (PageTimeout, WorkerFailed) as exc:
            if isinstance(exc, PageTimeout) or not worker.alive():
                worker.stop(kill=True)
                worker = _Worker(self.options)
                self.replaced += 1
            raise
        finally:
            self.idle.append(worker)
            while self.waiting:
                waiter = self.waiting.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    break

    def run(self, job: Fetched | dict[str, Any]) -> PageResult:
        """:meth:`process`, blocking, outside any event loop (tests and benchmarks)."""
        return asyncio.run(self.process(job))

    def close(self) -> None:
        while self.idle:
            self.idle.popleft().stop()
        self.started = False


def main() -> None:
    """A worker's entry point: the socket's file descriptor as argument, the options as first message."""
    conn = Connection(int(sys.argv[1]))
    try:
        options = conn.recv()
    except EOFError:
        return
    _serve(conn, options)


if __name__ == "__main__":
    main()
