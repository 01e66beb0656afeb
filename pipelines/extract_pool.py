"""Run extraction in worker processes, with a time limit per page.

Extraction is the CPU cost of a crawl (tens of milliseconds a page, far more for
a heavy one), and Scrapy's engine is one thread. :class:`ExtractPool` keeps a few
worker processes, each reading one page at a time from a pipe; the engine awaits
the result, so fetching goes on while the workers extract, on every core. A
page that takes longer than the time limit gets its worker killed and replaced:
one pathological page cannot stall the crawl.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import queue
import signal
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from trafilatura.settings import use_config

logger = logging.getLogger(__name__)


# How long a new worker may take to start (import trafilatura) on a busy machine.
STARTUP_SECONDS = 120


class ExtractionTimeout(Exception):
    """The page took longer than the time limit; its worker was replaced."""


class WorkerFailed(Exception):
    """The worker raised or died while extracting the page."""


def _serve(conn: Connection) -> None:
    """The worker's loop: (html, url) in, ("ok", fields) or ("error", reason) out; None stops it."""
    from pipelines.vietnamese.extract import extract_article  # light: no Scrapy, no database

    # Ctrl-C reaches the whole process group: the engine decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send(("ready", None))  # start-up (imports) does not count against a page's time limit
    config = use_config()  # built once per worker
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
        html, url = job
        try:
            conn.send(("ok", extract_article(html, url, config)))
        except Exception as exc:  # report it to the engine, keep serving
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class _Worker:
    def __init__(self, context: Any) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True, name="extract-worker")
        self.process.start()
        child.close()
        self.ready = False

    def call(self, html: str, url: str, timeout: float) -> dict[str, Any] | None:
        try:
            if not self.ready:
                if not self.conn.poll(STARTUP_SECONDS):
                    raise WorkerFailed(f"extraction worker did not start within {STARTUP_SECONDS}s")
                self.conn.recv()
                self.ready = True
            self.conn.send((html, url))
            if not self.conn.poll(timeout):
                raise ExtractionTimeout(f"extraction took longer than {timeout:g}s")
            status, value = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise WorkerFailed(f"extraction worker died ({exc.__class__.__name__})") from exc
        if status == "error":
            raise WorkerFailed(value)
        return value

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except OSError:
                kill = True
            self.process.join(2)
        if kill or self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class ExtractPool:
    """``workers`` extraction processes (started on first use) and a per-page time limit in seconds."""

    def __init__(self, workers: int, timeout: float) -> None:
        self.workers = workers
        self.timeout = timeout
        # spawn, not fork: a forked worker would inherit the engine's file descriptors
        # (database, sockets, the scheduler's site lock) and outlive a killed engine holding
        # them. A spawned one holds only its end of the pipe, and the pipe's end of file
        # when the engine dies, however it dies, makes it exit.
        self.context = multiprocessing.get_context("spawn")
        self.idle: queue.Queue[_Worker] = queue.Queue()
        self.threads: ThreadPoolExecutor | None = None
        self.replaced = 0

    def _start(self) -> ThreadPoolExecutor:
        if self.threads is None:
            for _ in range(self.workers):
                self.idle.put(_Worker(self.context))
            self.threads = ThreadPoolExecutor(self.workers, thread_name_prefix="extract")
        return self.threads

    def run(self, html: str, url: str) -> dict[str, Any] | None:
        """Extract one page in a worker (blocking); see :func:`pipelines.vietnamese.extract.extract_article`."""
        self._start()
        worker = self.idle.get()
        try:
            return worker.call(html, url, self.timeout)
        except (ExtractionTimeout, WorkerFailed) as exc:
            if isinstance(exc, ExtractionTimeout) or not worker.process.is_alive():
                worker.stop(kill=True)
                worker = _Worker(self.context)
                self.replaced += 1
            raise
        finally:
            self.idle.put(worker)

    async def extract(self, html: str, url: str) -> dict[str, Any] | None:
        """:meth:`run` without blocking the engine."""
        return await asyncio.wrap_future(self._start().submit(self.run, html, url))

    def close(self) -> None:
        if self.threads is None:
            return
        self.threads.shutdown(wait=True)
        while not self.idle.empty():
            self.idle.get().stop()
        self.threads = None
