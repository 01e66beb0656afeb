"""The scheduler's state in crawl_runs (due-ness, outcomes, failing sites) and its site lock."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from croniter import croniter

from crawler.schedule.state import RunRecorder, is_failure, is_success, next_due
from crawler.schedule.scheduler import ScheduleOptions, Scheduler
from crawler.schedule.sitelock import SiteLock
from crawler.sites import Site
from pipelines.db.store import NewsStore
from tests.conftest import ROOT
from tests.test_datasette import get

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=timezone.utc)


def test_a_site_never_crawled_is_due_now():
    assert next_due("every 6h", None, NOW) == NOW
    assert next_due("0 3 * * *", None, NOW) == NOW


def test_interval_counts_from_the_last_start():
    assert next_due("every 30m", NOW - timedelta(minutes=10), NOW) == NOW + timedelta(minutes=20)
    assert next_due("every 2s", NOW, NOW) == NOW + timedelta(seconds=2)


def test_cron_gives_the_first_slot_after_the_last_start():
    last = datetime(2026, 3, 2, 10, 7, tzinfo=timezone.utc).astimezone()  # local time, as cron reads it
    due = next_due("*/15 * * * *", last, NOW)
    assert due == last.replace(minute=15) and due.tzinfo is not None


def test_missed_slots_give_one_due_time_not_one_per_slot():
    # Off for three days with an hourly schedule: due once (now); seventy-odd slots are not queued.
    last = NOW - timedelta(days=3)
    assert next_due("every 1h", last, NOW) <= NOW
    assert next_due("0 * * * *", last.astimezone(), NOW) <= NOW
    # Once that run has started, the next slot is in the future again.
    assert next_due("every 1h", NOW, NOW) > NOW
    assert next_due("0 * * * *", NOW.astimezone(), NOW) > NOW


@pytest.mark.parametrize(
    ("status", "success", "failure"),
    [
        ("finished", True, False),
        ("closespider_pagecount", True, False),
        ("interrupted", False, False),
        ("running", False, False),
        ("failed", False, True),
        ("timeout", False, True),
        ("memusage_exceeded", False, True),
    ],
)
def test_outcome_of_a_status(status, success, failure):
    assert is_success(status) is success and is_failure(status) is failure


@pytest.fixture
def recorder(db_path) -> RunRecorder:
    return RunRecorder(NewsStore.open(db_path))


def add_run(recorder: RunRecorder, site: str, status: str, started: datetime | None = None) -> int:
    run_id = recorder.start(site)
    changes = {"status": status}
    if started:
        changes["started"] = started.isoformat()
    recorder.db["crawl_runs"].update(run_id, changes)
    return run_id


def test_close_settles_what_the_crawl_could_not_write(recorder):
    crashed = recorder.start("a.vn")
    assert recorder.close(crashed, -9, None)["status"] == "failed"
    row = recorder.row(crashed)
    assert row["exit_code"] == -9 and row["finished"]

    stopped = recorder.start("a.vn")
    assert recorder.close(stopped, -9, "shutdown")["status"] == "interrupted"

    # The crawl wrote "interrupted" after the scheduler's SIGTERM for its time limit: it is a timeout.
    limited = add_run(recorder, "a.vn", "interrupted")
    assert recorder.close(limited, 0, "timeout")["status"] == "timeout"

    clean = add_run(recorder, "a.vn", "finished")
    recorder.db["crawl_runs"].update(clean, {"new": 4, "finished": "2026-03-02T12:00:00+00:00"})
    row = recorder.close(clean, 0, None)
    assert (row["status"], row["new"], row["finished"], row["exit_code"]) == (
        "finished", 4, "2026-03-02T12:00:00+00:00", 0
    )


def test_failures_in_a_row_and_the_crawl_health_query_agree(recorder, db_path):
    for status in ("failed", "finished", "failed", "interrupted", "timeout", "failed"):
        add_run(recorder, "a.vn", status)
    for status in ("failed", "finished"):
        add_run(recorder, "b.vn", status)
    add_run(recorder, "c.vn", "failed")
    assert recorder.failures_in_a_row("a.vn") == 3  # interrupted neither breaks nor extends the streak
    assert recorder.failures_in_a_row("b.vn") == 0
    assert recorder.failures_in_a_row("c.vn") == 1
    assert recorder.failures_in_a_row("never.vn") == 0

    rows = json.loads(get(db_path, "/news/crawl_health.json?_shape=array"))
    assert [(row["site"], row["failures_in_a_row"], row["last_status"]) for row in rows] == [
        ("a.vn", 3, "failed"),
        ("c.vn", 1, "failed"),
        ("b.vn", 0, "finished"),
    ]
    assert rows[0]["last_success"] and rows[1]["last_success"] is None


def make_scheduler(tmp_path: Path, db_path: Path, sites: list[Site]) -> Scheduler:
    options = ScheduleOptions(db_path=db_path, sites_file=tmp_path / "sites.yml", state_dir=tmp_path / "state")
    return Scheduler(sites, options)


def test_due_sites_come_from_the_database(tmp_path, db_path):
    sites = [
        Site(name="fresh.vn", home="http://127.0.0.1/", schedule="every 1h"),
        Site(name="stale.vn", home="http://127.0.0.1/", schedule="every 1h"),
        Site(name="new.vn", home="http://127.0.0.1/", schedule="every 1h"),
    ]
    scheduler = make_scheduler(tmp_path, db_path, sites)
    now = datetime.now(timezone.utc)
    add_run(scheduler.runs, "fresh.vn", "finished", now - timedelta(minutes=5))
    add_run(scheduler.runs, "stale.vn", "finished", now - timedelta(days=2))
    add_run(scheduler.runs, "stale.vn", "failed", now - timedelta(days=1))
    assert [site.name for site in scheduler.due_sites(now)] == ["stale.vn", "new.vn"]
    # A second scheduler on the same database sees the same (no state in memory).
    assert [site.name for site in make_scheduler(tmp_path, db_path, sites).due_sites(now)] == ["stale.vn", "new.vn"]


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("locked", flush=True)
time.sleep(60)
"""


def test_site_lock_is_exclusive_across_processes_and_freed_by_kill_9(tmp_path):
    path = tmp_path / "locks" / "a.vn.lock"
    path.parent.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert SiteLock(path).acquire() is False
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
    finally:
        holder.kill()
    lock = SiteLock(path)
    assert lock.acquire() is True
    assert SiteLock(path).acquire() is False  # exclusive within one process too (one open file each)
    lock.release()
    assert SiteLock(path).acquire() is True


def test_site_lock_is_shared_with_the_crawl_process(tmp_path):
    # The scheduler passes its locked file to the crawl: the lock outlives the scheduler's copy.
    lock = SiteLock(tmp_path / "a.vn.lock")
    assert lock.acquire()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], pass_fds=(lock.fd,))
    try:
        lock.release()
        time.sleep(0.2)
        assert SiteLock(tmp_path / "a.vn.lock").acquire() is False
        child.kill()
        child.wait(10)
        assert SiteLock(tmp_path / "a.vn.lock").acquire() is True
    finally:
        child.kill()


README = (ROOT / "docs" / "scheduling.md").read_text(encoding="utf-8")  # the deployment page


def test_docs_crontab_line_is_valid_cron_running_schedule_once():
    (line,) = re.findall(r"```cron\n(.*?)\n```", README, re.S)
    minute, hour, day, month, weekday, command = line.split(maxsplit=5)
    assert croniter.is_valid(" ".join((minute, hour, day, month, weekday)))
    # cron runs the command with /bin/sh from the home directory: it must go to the project first.
    assert re.match(r"cd /\S+ && \.venv/bin/scrapy schedule --once\b", command)
    assert subprocess.run(["sh", "-n", "-c", command]).returncode == 0


def test_docs_systemd_units_pass_systemd_analyze(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    units = []
    for block in re.findall(r"```ini\n(.*?)```", README, re.S):
        name = re.search(r"# /etc/systemd/system/(\S+)", block)[1]
        # The project stands in for /srv/vnnews, so that ExecStart names a real program.
        (tmp_path / name).write_text(block.replace("/srv/vnnews", str(ROOT)), encoding="utf-8")
        units.append(str(tmp_path / name))
    assert sorted(Path(unit).suffix for unit in units) == [".service", ".timer"]
    service = (tmp_path / "vnnews-crawl.service").read_text(encoding="utf-8")
    assert f"ExecStart={ROOT}/.venv/bin/scrapy schedule --once" in service and "KillMode=mixed" in service
    result = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0 and "vnnews-crawl" not in result.stderr, result.stderr
