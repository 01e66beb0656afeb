"""The scheduler's state, kept in the ``crawl_runs`` table rather than in memory.

When a site is due, how a run ended, and how many runs in a row a site has
failed are all read from the database, so a restarted scheduler (or a
``scrapy schedule --once`` started by cron) picks up where the last one left.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from croniter import croniter

from crawler.schedule.sitelock import lock_is_free, site_lock_path
from crawler.sites import parse_schedule
from pipelines.db.store import NewsStore
from pipelines.vietnamese.dates import utc_now

logger = logging.getLogger(__name__)

__all__ = [
    "FAILURE_SQL",
    "SUCCESS_SQL",
    "RunRecorder",
    "is_failure",
    "is_success",
    "next_due",
]

# Statuses that are neither a success nor a failure: still going, or stopped on
# purpose (Ctrl-C, SIGTERM, scheduler shutdown).
NEUTRAL_STATUSES = ("running", "interrupted")
# The same rule in SQL, shared by the scheduler and the crawl-health canned query
# in datasette_meta/metadata.yml: a run fails unless it finished (Scrapy's
# close reason "finished", or a CLOSESPIDER_* limit reached) or was stopped.
SUCCESS_SQL = "(status = 'finished' or status like 'closespider%')"
FAILURE_SQL = f"(not {SUCCESS_SQL} and status not in ('running', 'interrupted'))"


def is_success(status: str | None) -> bool:
    """A run that did its job: finished, or stopped at one of its limits."""
    return status == "finished" or (status or "").startswith("closespider")


def is_failure(status: str | None) -> bool:
    return not is_success(status) and status not in NEUTRAL_STATUSES


def next_due(schedule: str, last_started: datetime | None, now: datetime) -> datetime:
    """When a site with ``schedule`` should be crawled next.

    The next slot is counted from the last run's start, so however many slots
    were missed while the machine was off, the site is due once (now), not once
    per missed slot. A site never crawled is due now. Cron lines are read in the
    machine's local time zone, as cron does.
    """
    if last_started is None:
        return now
    kind, value = parse_schedule(schedule)
    if kind == "interval":
        assert isinstance(value, float)
        return last_started + timedelta(seconds=value)
    assert isinstance(value, str)
    following: datetime = croniter(value, last_started.astimezone()).get_next(datetime)
    return following


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (on this machine: the one the database file is on)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    try:  # a zombie has ended; its parent (killed too, say) has not reaped it
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):  # no /proc: it exists
        return True


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class RunRecorder:
    """Reads and writes the scheduler's ``crawl_runs`` rows."""

    def __init__(self, store: NewsStore) -> None:
        self.store = store
        self.db = store.db

    def last_starts(self, sites: list[str]) -> dict[str, datetime]:
        """The start of the latest run of each site, by any command."""
        if not sites:
            return {}
        marks = ", ".join("?" for _ in sites)
        rows = self.db.execute(
            f"select site, max(started) from crawl_runs where site in ({marks}) group by site", sites
        ).fetchall()
        return {site: moment for site, started in rows if (moment := parse_time(started))}

    def start(self, site: str) -> int:
        """A new ``running`` row for a scheduled crawl of ``site``; the crawl adopts it (``CRAWL_RUN_ID``)."""
        return self.store.start_run("schedule", site)

    def set_log_file(self, run_id: int, log_file: str) -> None:
        self.db["crawl_runs"].update(run_id, {"log_file": log_file})

    def set_pid(self, run_id: int, pid: int) -> None:
        self.db["crawl_runs"].update(run_id, {"pid": pid})

    def row(self, run_id: int) -> dict:
        return dict(self.db["crawl_runs"].get(run_id))

    def settle_orphans(self, folder: Path, held: Iterable[str] = ()) -> list[int]:
        """Mark ``failed`` (exit code unknown) the runs left ``running`` by a process that is gone.

        Whoever opens the database calls this (a crawl, replay, reextract, neardup, the
        scheduler): a crawl killed by hand, or a scheduler killed with its crawl, leaves its
        row ``running``. A run is over when its process is gone (``pid``, when known) and,
        for a run of a site, when no process holds the site's lock in ``folder`` (the
        kernel drops it with the last holder), or this process does: ``held``, the sites
        whose locks the caller took. Returns the ids settled.
        """
        held = set(held)
        settled = []
        # A worker's run (another machine's pid) is not settled here: it stays running until its
        # finish record reaches `scrapy ingest`.
        rows = self.db.execute(
            "select id, command, site, pid from crawl_runs where status = 'running' and worker is null"
        ).fetchall()
        for run_id, command, site, pid in rows:
            if pid is not None and process_alive(pid):
                continue
            if site is None:
                if pid is None:
                    continue  # a run of no site from before runs kept their pid: nothing says it is over
            elif site not in held and not lock_is_free(site_lock_path(folder, site)):
                continue
            self.close(run_id, None, None)
            settled.append(run_id)
            logger.warning("Run %s (%s%s) was left running by a process that is gone: marked failed",
                           run_id, command, f" of {site}" if site else "")
        return settled

    def close(self, run_id: int, exit_code: int | None, stopped_for: str | None) -> dict:
        """Settle a run after its process ended; return the final row.

        The crawl writes its own status and counts when it can; a run still
        ``running`` here crashed or was killed before it could. ``stopped_for``
        is why the scheduler stopped it: ``timeout`` (always the status: the
        limit is why it ended, whatever the crawl wrote) or ``shutdown``.
        """
        row = self.row(run_id)
        status = row["status"]
        if stopped_for == "timeout":
            status = "timeout"
        elif status == "running":
            status = "interrupted" if stopped_for == "shutdown" else "failed"
        elif exit_code and is_success(status) and stopped_for != "shutdown":
            # The crawl wrote its row, then crashed on the way out. (Told to stop
            # just as it finished, it may end by the signal: it did finish.)
            status = "failed"
        changes = {"status": status, "exit_code": exit_code}
        if not row["finished"]:
            changes["finished"] = utc_now()
        self.db["crawl_runs"].update(run_id, changes)
        return self.row(run_id)

    def failures_in_a_row(self, site: str) -> int:
        """How many runs of ``site`` failed since its last successful one."""
        row = self.db.execute(
            f"""
            select count(*) from crawl_runs
            where site = :site and {FAILURE_SQL}
              and id > coalesce((select max(id) from crawl_runs
                                 where site = :site and {SUCCESS_SQL}), 0)
            """,
            {"site": site},
        ).fetchone()
        return int(row[0])
