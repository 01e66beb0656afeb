"""Crawl every configured site on its own schedule, each crawl in its own process.

A crawl is ``python -m scrapy crawl news -a site=NAME`` with the scheduler's
settings, so a crash or a hang in one crawl cannot take the scheduler (or the
other crawls) down. Each crawl holds an OS lock on its site's lock file, so two
crawls of one site never overlap, even across schedulers, and a killed process
never leaves the lock stuck: the kernel drops it with the last open copy of the
file. When a site is due comes from ``crawl_runs`` (see
:mod:`crawler.schedule.state`), never from memory.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any

from crawler.schedule.state import RunRecorder, is_failure, next_due
from crawler.schedule.sitelock import SiteLock, site_lock_path, state_dir
from crawler.sites import Site, SitesError, load_sites
from pipelines.db.store import NewsStore, database_path

logger = logging.getLogger(__name__)

# How often the scheduler looks at its crawls and the clock (seconds).
TICK_SECONDS = 0.25
# Count columns of crawl_runs, for the log line at the end of a run.
COUNT_COLUMNS = ("pages", "new", "duplicate", "unchanged", "updated", "failed")


@dataclass
class Crawl:
    """One crawl process the scheduler is watching."""

    site: Site
    run_id: int
    process: subprocess.Popen[bytes]
    lock: SiteLock
    log_file: Path
    started: float = field(default_factory=time.monotonic)
    # Why the scheduler stopped it ("timeout", "shutdown"), and when it asked.
    stopped_for: str | None = None
    terminated_at: float | None = None
    killed: bool = False


@dataclass
class ScheduleOptions:
    """What the scheduler needs from the settings; see :meth:`from_settings`."""

    db_path: Path
    sites_file: Path
    state_dir: Path
    crawl_timeout: float = 3600.0
    kill_after: float = 30.0
    max_crawls: int = 2
    alert_after: int = 3
    keep_logs: int = 20
    # NAME=VALUE settings given to `scrapy schedule -s`, passed on to each crawl.
    crawl_settings: list[str] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Any, crawl_settings: list[str]) -> ScheduleOptions:
        """Settings: ``NEWS_DB``, ``SITES_FILE`` and the ``SCHEDULE_*`` ones."""
        return cls(
            db_path=database_path(settings).resolve(),
            sites_file=Path(settings.get("SITES_FILE")).resolve(),
            state_dir=state_dir(settings),
            crawl_timeout=settings.getfloat("SCHEDULE_CRAWL_TIMEOUT", 3600.0),
            kill_after=settings.getfloat("SCHEDULE_KILL_AFTER", 30.0),
            max_crawls=max(1, settings.getint("SCHEDULE_MAX_CRAWLS", 2)),
            alert_after=max(1, settings.getint("SCHEDULE_ALERT_AFTER", 3)),
            keep_logs=max(1, settings.getint("SCHEDULE_KEEP_LOGS", 20)),
            crawl_settings=list(crawl_settings),
        )


def local_time(moment: datetime) -> str:
    return moment.astimezone().replace(microsecond=0).isoformat(sep=" ")


def last_line(path: Path) -> str:
    """The last non-blank line of a crawl's log: usually what killed it."""
    try:
        with path.open("rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - 4096))
            lines = [line.strip() for line in log.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return "(no log)"
    return next((line for line in reversed(lines) if line), "(empty log)")


class Scheduler:
    """Runs the crawls of ``sites`` when they are due; see the module docstring."""

    def __init__(self, sites: list[Site], options: ScheduleOptions) -> None:
        self.sites = sites
        self.options = options
        self.runs = RunRecorder(NewsStore.open(options.db_path))
        self.running: dict[str, Crawl] = {}
        # Failed runs since start (not the rows: a scheduler may run for months).
        self.failed_runs = 0
        self.signals_received = 0
        self.locked_out: set[str] = set()
        self.stopping = False
        self.sites_mtime = self._sites_mtime()

    # --- when ------------------------------------------------------------------

    def next_due(self, site: Site, now: datetime) -> datetime:
        last = self.runs.last_starts([site.name]).get(site.name)
        return next_due(site.schedule, last, now)

    def due_sites(self, now: datetime) -> list[Site]:
        """Sites whose next crawl is now or past, most overdue first."""
        last = self.runs.last_starts([site.name for site in self.sites])
        due = [(next_due(site.schedule, last.get(site.name), now), site) for site in self.sites]
        return [site for when, site in sorted(due, key=lambda pair: pair[0]) if when <= now]

    def log_plan(self) -> None:
        """One line per site: its schedule and when it is crawled next."""
        now = datetime.now(timezone.utc)
        last = self.runs.last_starts([site.name for site in self.sites])
        for site in self.sites:
            when = next_due(site.schedule, last.get(site.name), now)
            since = f"last crawl started {local_time(last[site.name])}" if site.name in last else "never crawled"
            at = "now" if when <= now else local_time(when)
            logger.info("Site %s (%s): next crawl %s (%s)", site.name, site.schedule, at, since)
            self.alert_if_failing(site.name)

    # --- crawls ------------------------------------------------------------------

    def launch(self, site: Site) -> bool:
        """Start a crawl of ``site`` if no other process is crawling it and it is still due."""
        lock = SiteLock(self.lock_path(site.name))
        if not lock.acquire():
            if site.name not in self.locked_out:  # say it once, not at every tick
                logger.info("Site %s is being crawled by another process (%s): not started", site.name, lock.path)
                self.locked_out.add(site.name)
            return False
        self.locked_out.discard(site.name)
        try:
            return self._start_crawl(site, lock)
        except BaseException:
            lock.release()  # never keep a site locked for a crawl that did not start
            raise

    def _start_crawl(self, site: Site, lock: SiteLock) -> bool:
        self.runs.settle_orphans(self.options.state_dir, held=[site.name])
        # Another scheduler may have crawled the site between our look and the lock.
        now = datetime.now(timezone.utc)
        if self.next_due(site, now) > now:
            lock.release()
            return False
        log_dir = self.options.state_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        run_id = self.runs.start(site.name)
        log_file = log_dir / f"{site.name}-{run_id}.log"
        self.runs.set_log_file(run_id, str(log_file))
        command = [
            sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"site={site.name}",
            *(arg for setting in self.options.crawl_settings for arg in ("-s", setting)),
            "-s", f"NEWS_DB={self.options.db_path}",
            "-s", f"SITES_FILE={self.options.sites_file}",
            "-s", f"CRAWL_RUN_ID={run_id}",
        ]  # fmt: skip
        try:
            with log_file.open("wb") as output:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    pass_fds=(lock.fd,),  # type: ignore[arg-type]
                    # Its own process group: Ctrl-C in the terminal reaches the
                    # scheduler only, which then stops each crawl exactly once.
                    start_new_session=True,
                )
        except OSError as exc:
            logger.error("Crawl of %s could not start: %s", site.name, exc)
            self.runs.close(run_id, -1, None)
            lock.release()
            return False
        self.running[site.name] = Crawl(site, run_id, process, lock, log_file)
        self.runs.set_pid(run_id, process.pid)
        logger.info("Crawl of %s started: run %s, pid %s, log %s", site.name, run_id, process.pid, log_file)
        return True

    def lock_path(self, site: str) -> Path:
        return site_lock_path(self.options.state_dir, site)

    def stop_crawl(self, crawl: Crawl, reason: str) -> None:
        """Ask a crawl to stop (Scrapy's graceful shutdown); it is killed if it has not after ``kill_after``."""
        if crawl.terminated_at is not None:
            return
        crawl.stopped_for = crawl.stopped_for or reason
        crawl.terminated_at = time.monotonic()
        logger.warning("Stopping the crawl of %s (run %s): %s", crawl.site.name, crawl.run_id, reason)
        try:
            crawl.process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass

    def kill_crawl(self, crawl: Crawl) -> None:
        """SIGKILL the crawl's whole process group (with any worker processes it started)."""
        crawl.killed = True
        logger.warning("Killing the crawl of %s (run %s, pid %s)", crawl.site.name, crawl.run_id, crawl.process.pid)
        try:
            os.killpg(crawl.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def poll(self) -> None:
        """Settle ended crawls; stop those past their time limit; kill those that would not stop."""
        now = time.monotonic()
        for crawl in list(self.running.values()):
            exit_code = crawl.process.poll()
            if exit_code is not None:
                self.settle(crawl, exit_code)
            elif crawl.terminated_at is None:
                if self.options.crawl_timeout and now - crawl.started > self.options.crawl_timeout:
                    self.stop_crawl(crawl, "timeout")
            elif not crawl.killed and now - crawl.terminated_at > self.options.kill_after:
                self.kill_crawl(crawl)

    def settle(self, crawl: Crawl, exit_code: int) -> None:
        """Record how a crawl ended, free its site, and say so in the log."""
        # The row first: should the database be busy, the crawl stays watched and is settled at the next tick.
        row = self.runs.close(crawl.run_id, exit_code, crawl.stopped_for)
        del self.running[crawl.site.name]
        # Processes the crawl started (extraction workers) share its lock file: a
        # crawl that died leaves them behind, and they would keep the site locked.
        try:
            os.killpg(crawl.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        crawl.lock.release()
        # No count at all (None): the crawl died before its first commit.
        counts = ", ".join(f"{'?' if row.get(column) is None else row[column]} {column}" for column in COUNT_COLUMNS)
        seconds = time.monotonic() - crawl.started
        log = logger.error if is_failure(row["status"]) else logger.info
        log(
            "Crawl of %s ended: run %s %s (exit code %s) in %.1fs: %s",
            crawl.site.name, crawl.run_id, row["status"], exit_code, seconds, counts,
        )  # fmt: skip
        if is_failure(row["status"]):
            self.failed_runs += 1
            logger.error("Last log line of run %s: %s (all in %s)", crawl.run_id, last_line(crawl.log_file), crawl.log_file)
            self.alert_if_failing(crawl.site.name)
        self.prune_logs(crawl.site.name)

    def alert_if_failing(self, site: str) -> None:
        failures = self.runs.failures_in_a_row(site)
        if failures >= self.options.alert_after:
            logger.error(
                "ALERT: site %s has failed its last %d runs (SCHEDULE_ALERT_AFTER=%d); "
                "see the crawl_health query and the failed runs' log files",
                site, failures, self.options.alert_after,
            )  # fmt: skip

    def prune_logs(self, site: str) -> None:
        """Keep the newest ``keep_logs`` crawl logs of the site."""
        logs = sorted(
            (self.options.state_dir / "logs").glob(f"{site}-*.log"),
            key=lambda path: int(path.stem.rsplit("-", 1)[1]) if path.stem.rsplit("-", 1)[1].isdigit() else 0,
        )
        for old in logs[: -self.options.keep_logs]:
            old.unlink(missing_ok=True)

    # --- signals -------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only count here: the loop acts on it, between its own steps.
        self.signals_received += 1

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def handle_signals(self) -> None:
        """First SIGTERM/SIGINT: start nothing new, stop the crawls gracefully. Second: kill them."""
        if self.signals_received and not self.stopping:
            self.stopping = True
            logger.warning(
                "Stopping: %d running crawls asked to finish (send the signal again to kill them)",
                len(self.running),
            )
            for crawl in self.running.values():
                self.stop_crawl(crawl, "shutdown")
        if self.signals_received > 1:
            for crawl in self.running.values():
                if not crawl.killed:
                    crawl.stopped_for = crawl.stopped_for or "shutdown"
                    self.kill_crawl(crawl)

    # --- the two ways to run ---------------------------------------------------------

    def run_once(self) -> bool:
        """Crawl every site due now, ``max_crawls`` at a time; True when every crawl succeeded."""
        self.install_signal_handlers()
        self.runs.settle_orphans(self.options.state_dir)
        queue = self.due_sites(datetime.now(timezone.utc))
        logger.info("Due now: %s", ", ".join(site.name for site in queue) or "no site")
        while queue or self.running:
            self.handle_signals()
            if self.stopping:
                queue.clear()
            while queue and len(self.running) < self.options.max_crawls:
                self.launch(queue.pop(0))
            self.poll()
            if self.running:
                time.sleep(TICK_SECONDS)
        return not self.stopping and not self.failed_runs

    def run_forever(self) -> None:
        """Crawl each site whenever it is due, until SIGTERM or Ctrl-C."""
        self.install_signal_handlers()
        self.runs.settle_orphans(self.options.state_dir)
        self.log_plan()
        while not (self.stopping and not self.running):
            self.handle_signals()
            try:
                self.poll()
                if not self.stopping:
                    self.reload_sites()
                    self.launch_due()
            except sqlite3.OperationalError as exc:
                # A database locked for longer than its busy timeout must not end the scheduler.
                logger.error("Database error, trying again: %s", exc)
            time.sleep(TICK_SECONDS)
        logger.info("Scheduler stopped")

    def launch_due(self) -> None:
        for site in self.due_sites(datetime.now(timezone.utc)):
            if len(self.running) >= self.options.max_crawls:
                break
            if site.name not in self.running:
                self.launch(site)

    def _sites_mtime(self) -> float:
        try:
            return self.options.sites_file.stat().st_mtime
        except OSError:
            return 0.0

    def reload_sites(self) -> None:
        """Pick up an edited sites file; a broken edit is reported and the old list kept."""
        mtime = self._sites_mtime()
        if mtime == self.sites_mtime:
            return
        self.sites_mtime = mtime
        try:
            self.sites = load_sites(self.options.sites_file)
        except SitesError as exc:
            logger.error("Sites file changed but is not valid, keeping the previous sites: %s", exc)
            return
        logger.info("Sites file changed: %d sites", len(self.sites))
        self.log_plan()
