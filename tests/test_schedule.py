"""`scrapy schedule`: real scheduled crawls of fixture news sites on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlite_utils import Database

from pipelines.db.store import NewsStore
from tests.conftest import ROOT, run_scrapy
from tests.newsite import NewsSite


class SlowNewsSite(NewsSite):
    """The fixture site, answering its home page (or every article too) after ``delay`` seconds.

    It counts the requests in flight (robots.txt aside): crawls ask one page at a
    time (``concurrency: 1``), so two in flight means two crawls overlapped.
    """

    def __init__(self, delay: float, articles_too: bool = False) -> None:
        super().__init__()
        self.delay = delay
        self.articles_too = articles_too
        self.in_flight = 0
        self.max_in_flight = 0
        # A crawl killed mid-request leaves a sleeping handler: do not wait for it on close.
        self.server.daemon_threads = True
        self.server.block_on_close = False

    def is_slow(self, path: str) -> bool:
        return path == "/" or (self.articles_too and path.endswith(".html"))

    def respond(self, raw_path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(raw_path).path
        if path == "/robots.txt":
            return super().respond(raw_path, headers)
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.is_slow(path):
                time.sleep(self.delay)
            return super().respond(raw_path, headers)
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture
def fast_site() -> Iterator[NewsSite]:
    with NewsSite() as site:
        yield site


@pytest.fixture
def slow_site() -> Iterator[SlowNewsSite]:
    with SlowNewsSite(delay=1.0) as site:
        yield site


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening: a site that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_sites(path: Path, sites: dict[str, tuple[str, str]]) -> Path:
    """A sites file: name -> (home URL, schedule); one request at a time, no politeness delay."""
    lines = ["defaults:", "  delay: 0", "  concurrency: 1", "  since_days: 7", "sites:"]
    for name, (home, schedule) in sites.items():
        lines += [f"  - name: {name}", f"    home: {home}", f"    schedule: {schedule!r}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def schedule_args(sites_file: Path, *settings: str) -> list[str]:
    # NEWS_PATTERN_LIMIT, passed on to each crawl, cuts the fixture site's endless
    # calendar and tag pages short: quicker crawls.
    settings = ("NEWS_PATTERN_LIMIT=2", *settings)
    return ["schedule", "-s", f"SITES_FILE={sites_file}", *(arg for s in settings for arg in ("-s", s))]


class SchedulerProcess:
    """A `scrapy schedule` process in the background, its log in a file."""

    def __init__(self, tmp_path: Path, db: Path, sites_file: Path, *settings: str) -> None:
        self.log_path = tmp_path / "scheduler.log"
        self.db = db
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "scrapy", *schedule_args(sites_file, *settings)],
                cwd=ROOT,
                env={**os.environ, "NEWS_DB": str(db)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30, signum: int = signal.SIGTERM) -> int:
        """SIGTERM, as systemd or `kill` would send (or SIGINT: Ctrl-C); the exit status."""
        self.process.send_signal(signum)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def start_scheduler(tmp_path: Path, db_path: Path) -> Iterator[Callable[..., SchedulerProcess]]:
    started: list[SchedulerProcess] = []

    def start(sites_file: Path, *settings: str) -> SchedulerProcess:
        scheduler = SchedulerProcess(tmp_path, db_path, sites_file, *settings)
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        scheduler.kill()


def runs(db: Path, site: str | None = None) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    where, params = ("site = ?", [site]) if site else (None, None)
    return list(Database(db)["crawl_runs"].rows_where(where, params, order_by="id"))


def wait_for(condition: Callable[[], Any], timeout: float, what: str, scheduler: SchedulerProcess | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception:  # the database may not exist or be mid-migration yet
            value = None
        if value:
            return value
        time.sleep(0.1)
    log = scheduler.log[-3000:] if scheduler else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{log}")


def articles(db: Path) -> int:
    try:
        return Database(db).execute("select count(*) from articles").fetchone()[0]
    except Exception:  # not created yet
        return 0


def running_run(db: Path, site: str) -> dict[str, Any] | None:
    return next((run for run in runs(db, site) if run["status"] == "running" and run["pid"]), None)


def assert_no_half_written_articles(db: Path) -> None:
    """Every stored article has its URL row and its search row."""
    database = Database(db)
    stored = database.execute("select count(*) from articles").fetchone()[0]
    without_url = database.execute(
        "select count(*) from articles a where not exists (select 1 from article_urls u where u.article_id = a.id)"
    ).fetchone()[0]
    indexed = database.execute("select count(*) from articles_fts").fetchone()[0]
    assert without_url == 0 and indexed == stored


def test_two_sites_every_second_or_two_without_overlap(tmp_path, db_path, fast_site, slow_site, start_scheduler):
    # The slow site's crawl takes several seconds: far longer than its 2-second interval.
    sites = write_sites(
        tmp_path / "sites.yml",
        {"fast.test": (fast_site.url(), "every 1s"), "slow.test": (slow_site.url(), "every 2s")},
    )
    scheduler = start_scheduler(sites)
    started = time.monotonic()
    wait_for(lambda: len([r for r in runs(db_path, "slow.test") if r["status"] == "finished"]) >= 2, 60,
             "two finished runs of the slow site", scheduler)
    assert scheduler.stop() == 0
    elapsed = time.monotonic() - started

    log = scheduler.log
    assert "Site fast.test (every 1s): next crawl now (never crawled)" in log
    assert "Site slow.test (every 2s): next crawl now (never crawled)" in log
    for name, interval in (("fast.test", 1), ("slow.test", 2)):
        site_runs = runs(db_path, name)
        # At least one run per interval-plus-crawl, at most one per interval.
        assert 2 <= len(site_runs) <= elapsed / interval + 1, (name, len(site_runs), elapsed)
        assert {run["command"] for run in site_runs} == {"schedule"}
        # Every run but the last finished; the last finished or was stopped cleanly by the SIGTERM.
        assert [run["status"] for run in site_runs[:-1]] == ["finished"] * (len(site_runs) - 1)
        assert site_runs[-1]["status"] in ("finished", "interrupted")
        assert all(run["finished"] and run["exit_code"] == 0 for run in site_runs[:-1])
        # (A crawl told to stop before Scrapy has set up its signal handlers ends with SIGTERM's default.)
        assert site_runs[-1]["finished"] and site_runs[-1]["exit_code"] in (0, -signal.SIGTERM)
        # Never two at once: each run starts after the previous one finished.
        for previous, following in zip(site_runs, site_runs[1:]):
            assert following["started"] >= previous["finished"], (previous, following)
        for run in site_runs:
            assert f"Crawl of {name} started: run {run['id']}, pid {run['pid']}" in log
            assert f"Crawl of {name} ended: run {run['id']} {run['status']} (exit code {run['exit_code']})" in log
    # The first crawls stored the articles (both sites serve the same ones: whichever
    # came first has them as new, the other as duplicates), with the counts on their rows.
    first_runs = [runs(db_path, name)[0] for name in ("fast.test", "slow.test")]
    assert sum(run["new"] for run in first_runs) >= 5
    for run in first_runs:
        assert f"{run['new']} new, {run['duplicate']} duplicate" in log
    # The slow site, asked for one page at a time, never saw two requests at once.
    assert slow_site.max_in_flight == 1
    assert_no_half_written_articles(db_path)


def test_a_crashed_crawl_is_recorded_failed_and_the_next_one_runs(tmp_path, db_path, start_scheduler):
    # Articles take half a second each: the crash comes in the middle of the crawl.
    with SlowNewsSite(delay=0.5, articles_too=True) as slow_site:
        crash_scenario(tmp_path, db_path, slow_site, start_scheduler)


def crash_scenario(tmp_path: Path, db_path: Path, slow_site: NewsSite, start_scheduler: Callable) -> None:
    sites = write_sites(tmp_path / "sites.yml", {"slow.test": (slow_site.url(), "every 1s")})
    scheduler = start_scheduler(sites, "STORE_BATCH_SIZE=1")
    victim = wait_for(lambda: running_run(db_path, "slow.test"), 30, "a running crawl", scheduler)
    wait_for(lambda: articles(db_path) >= 2, 30, "two stored articles", scheduler)
    os.kill(victim["pid"], signal.SIGKILL)  # a crash: no chance to write its own row
    stored_by_victim = articles(db_path)
    wait_for(lambda: any(r["id"] > victim["id"] and r["status"] == "finished" for r in runs(db_path, "slow.test")),
             60, "a later finished run", scheduler)

    # An edited sites file is picked up without a restart: hourly now, so no more runs.
    write_sites(sites, {"slow.test": (slow_site.url(), "every 1h")})
    wait_for(lambda: "Site slow.test (every 1h): next crawl 20" in scheduler.log, 10, "the new schedule", scheduler)
    wait_for(lambda: not running_run(db_path, "slow.test"), 30, "the last crawl to end", scheduler)
    count = len(runs(db_path))
    time.sleep(1.5)
    assert len(runs(db_path)) == count
    assert scheduler.stop(signum=signal.SIGINT) == 0  # Ctrl-C
    assert "Scheduler stopped" in scheduler.log

    crashed = runs(db_path, "slow.test")[0]
    assert (crashed["id"], crashed["status"], crashed["exit_code"]) == (victim["id"], "failed", -signal.SIGKILL)
    # Its counts are those of what it committed before it died (written with each batch).
    assert crashed["finished"] and crashed["new"] == stored_by_victim
    log = scheduler.log
    assert f"Crawl of slow.test ended: run {victim['id']} failed (exit code -9)" in log
    assert f"Last log line of run {victim['id']}" in log
    assert_no_half_written_articles(db_path)


def test_sigterm_stops_a_crawl_cleanly(tmp_path, db_path, start_scheduler):
    # Every article takes a second: the crawl is surely mid-way when the SIGTERM comes.
    with SlowNewsSite(delay=0.7, articles_too=True) as slow_site:
        sigterm_scenario(tmp_path, db_path, slow_site, start_scheduler)


def sigterm_scenario(tmp_path: Path, db_path: Path, slow_site: NewsSite, start_scheduler: Callable) -> None:
    sites = write_sites(tmp_path / "sites.yml", {"slow.test": (slow_site.url(), "every 1h")})
    scheduler = start_scheduler(sites, "STORE_BATCH_SIZE=1")
    # Stop it in the middle of the first crawl, with articles being stored.
    wait_for(lambda: articles(db_path) >= 1, 60, "the first stored article", scheduler)
    assert running_run(db_path, "slow.test")
    assert scheduler.stop() == 0

    (run,) = runs(db_path, "slow.test")
    assert run["status"] == "interrupted" and run["finished"] and run["exit_code"] == 0
    assert run["new"] == articles(db_path) >= 1
    assert_no_half_written_articles(db_path)
    assert "Stopping: 1 running crawls asked to finish" in scheduler.log
    assert "Scheduler stopped" in scheduler.log


def once(tmp_path: Path, db: Path, sites_file: Path, *settings: str) -> subprocess.CompletedProcess:
    args = schedule_args(sites_file, *settings)
    return run_scrapy(args[0], "--once", *args[1:], db=db, timeout=90)


def test_once_runs_due_sites_then_exits_with_their_outcome(tmp_path, db_path, fast_site):
    good = {"a.test": (fast_site.url(), "every 1h"), "b.test": (fast_site.url(), "30 3 * * *")}
    result = once(tmp_path, db_path, write_sites(tmp_path / "good.yml", good))
    assert result.returncode == 0, result.stderr[-3000:]
    assert [(run["site"], run["status"]) for run in runs(db_path)] == [("a.test", "finished"), ("b.test", "finished")]

    # Again: nothing is due (the hour is not over), and a site that is down fails.
    down = {**good, "down.test": (f"http://127.0.0.1:{closed_port()}/", "every 1h")}
    result = once(tmp_path, db_path, write_sites(tmp_path / "down.yml", down), "SCHEDULE_ALERT_AFTER=1")
    assert result.returncode == 1
    assert [(run["site"], run["status"]) for run in runs(db_path)][2:] == [("down.test", "failed")]
    assert "Due now: down.test\n" in result.stderr
    assert "ALERT: site down.test has failed its last 1 runs" in result.stderr


def test_missed_runs_run_once(tmp_path, db_path, fast_site):
    sites = write_sites(tmp_path / "sites.yml", {"a.test": (fast_site.url(), "every 1h"),
                                                 "b.test": (fast_site.url(), "30 3 * * *")})
    # The last runs were three days ago (the machine was off): 72 hourly slots and 3 daily ones went by.
    three_days_ago = (datetime.now(timezone.utc) - timedelta(days=3)).replace(microsecond=0).isoformat()
    store = NewsStore.open(db_path)
    for site in ("a.test", "b.test"):
        store.db["crawl_runs"].insert({"command": "schedule", "site": site, "started": three_days_ago,
                                       "finished": three_days_ago, "status": "finished"})
    store.close()
    result = once(tmp_path, db_path, sites)
    assert result.returncode == 0, result.stderr[-3000:]
    # Each once, in the order they fell due: b.test's daily 03:30 slot comes before a.test's hourly one
    # when the test runs between 02:30 and 03:30 UTC, so the order is not what is checked here.
    assert sorted((run["site"], run["status"]) for run in runs(db_path)[2:]) == [
        ("a.test", "finished"), ("b.test", "finished")
    ]
    # With those two runs done, nothing is due.
    result = once(tmp_path, db_path, sites)
    assert result.returncode == 0 and "Due now: no site" in result.stderr
    assert len(runs(db_path)) == 4


def test_time_limit_stops_the_crawl_and_records_a_timeout(tmp_path, db_path, slow_site):
    sites = write_sites(tmp_path / "sites.yml", {"slow.test": (slow_site.url(), "every 1h")})
    result = once(tmp_path, db_path, sites, "SCHEDULE_CRAWL_TIMEOUT=2", "SCHEDULE_KILL_AFTER=20")
    assert result.returncode == 1
    (run,) = runs(db_path)
    assert run["status"] == "timeout" and run["finished"]
    assert "Stopping the crawl of slow.test (run 1): timeout" in result.stderr
    assert_no_half_written_articles(db_path)


def gone(pid: int) -> bool:
    """The process has exited (a zombie holds no files, so no lock either)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_kill_9_leaves_no_stuck_lock(tmp_path, db_path, start_scheduler):
    with SlowNewsSite(delay=8.0) as slow_site:  # its crawl outlives the scheduler (until killed)
        kill_9_scenario(tmp_path, db_path, slow_site, start_scheduler)


def kill_9_scenario(tmp_path: Path, db_path: Path, slow_site: NewsSite, start_scheduler: Callable) -> None:
    sites = write_sites(tmp_path / "sites.yml", {"slow.test": (slow_site.url(), "every 1s")})
    scheduler = start_scheduler(sites)
    orphan = wait_for(lambda: running_run(db_path, "slow.test"), 30, "a running crawl", scheduler)
    scheduler.process.kill()  # kill -9 the scheduler: its crawl goes on, holding the site's lock
    scheduler.process.wait(10)
    time.sleep(1.1)  # the run's start is kept to the second: now the site is surely due again

    # The site is due (every 1s) but being crawled: a second scheduler leaves it alone.
    result = once(tmp_path, db_path, sites)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Site slow.test is being crawled by another process" in result.stderr
    assert len(runs(db_path)) == 1

    os.killpg(orphan["pid"], signal.SIGKILL)  # now the crawl dies too, by kill -9
    slow_site.delay = 0  # type: ignore[attr-defined]  # (only to make the next crawl quick)
    wait_for(lambda: gone(orphan["pid"]), 10, "the crawl to be gone")
    result = once(tmp_path, db_path, sites)
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = runs(db_path)
    # The lock was free; the row the dead pair left running is settled as failed.
    assert (first["status"], second["status"]) == ("failed", "finished")
    assert f"Run {first['id']} (schedule of slow.test) was left running by a process that is gone" in result.stderr


def test_a_broken_sites_file_stops_the_scheduler_with_a_clear_error(tmp_path, db_path):
    broken = tmp_path / "sites.yml"
    broken.write_text("sites:\n  - name: a.test\n    home: http://127.0.0.1/\n    schedule: every tuesday\n")
    result = once(tmp_path, db_path, broken)
    assert result.returncode == 1
    assert f"Error: {broken}, site 'a.test', field 'schedule': 'every tuesday' is not a schedule" in result.stderr
