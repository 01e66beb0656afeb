"""Workers' runs in ``crawl_runs``, recorded by the writer from their ``run`` records.

A worker pushes a ``start`` record when it opens and a ``finish`` record when it closes; the
writer opens a row for the first and fills it in from the second (status, counts) and keeps the
validators of a finished run in ``fetch_state``. A worker killed before its finish is found out by
its beat, not its pid (another machine's; see ``RunRecorder.settle_orphans``): once it is gone from
the ``workers`` set in Redis and no record is waiting, the writer marks its run ``failed``.
Records may come twice (the queue is at-least-once): a second start or finish changes nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pipelines.db.store import NewsStore
from pipelines.runs import RUN_COUNTS, describe_counts

runs_logger = logging.getLogger("pipelines.runs")

# Seconds a worker must have been gone, with no record waiting, before its run counts as killed.
SILENT_GRACE = 10.0

# crawl_runs.command of a worker's run: one name for all workers, so that the crawl-health query
# (grouping runs of no site by command) shows them as one line; the worker is in its own column.
WORKER_COMMAND = "crawl news (worker)"

Validators = dict[str, tuple[str | None, str | None, int]]


class WorkerRuns:
    """Open and finish workers' ``crawl_runs`` rows in the writer's database."""

    def __init__(self, store: NewsStore) -> None:
        self.store = store
        self.suspects: dict[tuple[int, str], float] = {}  # runs of workers seen gone, and since when

    def record(self, data: dict[str, Any]) -> Validators:
        """Apply a ``run`` record; the validators it saved (for Redis's mirror). ValueError for a
        record that is not one, before anything is written."""
        event, worker = data.get("event"), data.get("worker")
        if event not in ("start", "finish") or not isinstance(worker, str) or not worker:
            raise ValueError(f"not a run record: event={event!r} worker={worker!r}")
        counts = {column: int(value) for column, value in (data.get("counts") or {}).items() if column in RUN_COUNTS}
        validators = {
            str(url): (etag, modified, int(status))
            for url, (etag, modified, status) in (data.get("validators") or {}).items()
        }
        found = self.store.db.execute(
            "SELECT id, status, exit_code FROM crawl_runs WHERE worker = ? ORDER BY id DESC LIMIT 1", [worker]
        ).fetchone()
        run_id, status, exit_code = found if found else (self.open(worker, data), "running", None)
        # `scrapy schedule` settles the row of a crawl it started when the process exits, maybe
        # before its finish record is here: a clean exit it took for a crash is the record's to say.
        settled_early = status == "failed" and exit_code == 0
        if event == "start" or (status != "running" and not settled_early):
            return {}
        for url, (etag, modified, code) in validators.items():
            self.store.save_fetch_state(url, etag, modified, code)
        final = str(data.get("status") or "finished")
        self.store.finish_run(run_id, final, counts)  # commits the validators with it
        runs_logger.info("Worker %s: run %s %s: %s", worker, run_id, final, describe_counts(counts))
        for site, site_counts in (data.get("site_counts") or {}).items():
            runs_logger.info("Worker %s: %s: %s", worker, site, describe_counts(site_counts))
        return validators

    def settle_silent(self, alive: set[str], grace: float = SILENT_GRACE) -> int:
        """Mark ``failed`` the runs of workers gone without a finish record (killed: their beat ran
        out), seen gone for ``grace`` seconds; how many. A worker leaves the set of live workers
        before it queues its finish (its scheduler closes first): a run is only a suspect until
        then. The caller looks only while no record is waiting, and forgets the suspects otherwise."""
        now = time.monotonic()
        silent = {
            (run_id, worker) for run_id, worker in self.store.db.execute(
                "SELECT id, worker FROM crawl_runs WHERE worker IS NOT NULL AND status = 'running'")
            if worker not in alive
        }
        self.suspects = {run: self.suspects.get(run, now) for run in silent}
        settled = sorted(run for run, since in self.suspects.items() if now - since >= grace)
        for run_id, worker in settled:
            self.store.finish_run(run_id, "failed", {})
            del self.suspects[(run_id, worker)]
            runs_logger.warning("Worker %s: run %s failed: the worker stopped beating without finishing "
                                "(killed?); its requests went back to the queue", worker, run_id)
        return len(settled)

    def open(self, worker: str, data: dict[str, Any]) -> int:
        """The worker's row: the one ``scrapy schedule`` made for the crawl it started (``crawl_run_id``),
        or a new one; of its site when it crawls one."""
        pid = data.get("pid")
        sites = data.get("sites") or []
        site = str(sites[0]) if len(sites) == 1 else None
        adopted = int(data.get("crawl_run_id") or 0)
        if adopted and self.store.db.execute(
            "SELECT 1 FROM crawl_runs WHERE id = ? AND worker IS NULL", [adopted]
        ).fetchone():
            run_id = adopted
        else:
            run_id = self.store.start_run(WORKER_COMMAND, site, int(pid) if pid is not None else None)
        changes = {"worker": worker, "host": data.get("host")}
        if data.get("started"):
            changes["started"] = str(data["started"])
        self.store.db["crawl_runs"].update(run_id, changes)
        return run_id
