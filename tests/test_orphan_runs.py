"""Runs left `running` by a process that is gone (a crawl by hand killed, a scheduler killed with its
crawl): whoever opens the database next marks them failed, once their site's lock is free.

The rule is the scheduler's, shared (crawler/schedule/state.py, RunRecorder.settle_orphans). A crawl
by hand killed with kill -9 and settled by the next crawl: tests/test_crawl.py
(test_interrupted_crawl_resumes_from_jobdir)."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f
from sqlite_utils import Database

from crawler.schedule.sitelock import SiteLock, site_lock_path
from crawler.schedule.state import RunRecorder
from crawler.spiders.news import NewsSpider
from crawler.spiders.replay import ReplaySpider
from pipelines.db.store import NewsStore
from tests.inprocess import run_spider
from tests.newsite import NewsSite

PAGES = Path(__file__).parent / "pages"


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def zombie_pid():
    """A process that has ended but that its parent (this one, here) has not reaped yet."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    stat = Path(f"/proc/{process.pid}/stat")
    deadline = time.monotonic() + 30
    while stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    yield process.pid
    process.wait()


@pytest.fixture
def alive_pid():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def plant(db_path: Path, command: str, site: str | None, pid: int | None) -> int:
    """A run row as a process leaves it when it is killed: running, no end."""
    store = NewsStore.open(db_path)
    try:
        return store.start_run(command, site, pid)
    finally:
        store.close()


def statuses(db_path: Path) -> dict[int, tuple[str, int | None, bool]]:
    return {r["id"]: (r["status"], r["exit_code"], bool(r["finished"])) for r in Database(db_path)["crawl_runs"].rows}


def test_which_runs_are_over(tmp_path, db_path, dead_pid, zombie_pid, alive_pid, caplog):
    locks = tmp_path / "news-schedule"
    held_elsewhere = SiteLock(site_lock_path(locks, "b.vn"))  # as another crawl of b.vn holds it
    assert held_elsewhere.acquire()
    runs = {
        "killed crawl, lock free": plant(db_path, "crawl news", "a.vn", dead_pid),
        "ended crawl, not reaped": plant(db_path, "crawl news", "f.vn", zombie_pid),
        "killed crawl, site locked": plant(db_path, "crawl news", "b.vn", dead_pid),
        "crawl still going": plant(db_path, "crawl news", "c.vn", alive_pid),
        "killed replay": plant(db_path, "replay", None, dead_pid),
        "replay of unknown process": plant(db_path, "replay", None, None),
        "scheduler killed before its crawl started": plant(db_path, "schedule", "d.vn", None),
        "killed crawl of a site the caller holds": plant(db_path, "crawl news", "e.vn", dead_pid),
    }
    caplog.set_level(logging.WARNING)
    store = NewsStore.open(db_path)
    settled = RunRecorder(store).settle_orphans(locks, held=["e.vn"])
    store.close()
    held_elsewhere.release()
    over = {"killed crawl, lock free", "ended crawl, not reaped", "killed replay",
            "scheduler killed before its crawl started",
            "killed crawl of a site the caller holds"}
    assert sorted(settled) == sorted(runs[name] for name in over)
    rows = statuses(db_path)
    for name, run_id in runs.items():
        assert rows[run_id] == (("failed", None, True) if name in over else ("running", None, False)), name
    message = f"Run {runs['killed replay']} (replay) was left running by a process that is gone: marked failed"
    assert message in caplog.text


@deferred_f_from_coro_f
async def test_the_next_crawl_of_the_site_or_any_command_settles_them(tmp_path, db_path, dead_pid):
    locks = tmp_path / "news-schedule"
    with NewsSite() as site:
        own = plant(db_path, "crawl news", "127.0.0.1", dead_pid)  # a crawl of this site, killed
        other = plant(db_path, "crawl news", "other.vn", dead_pid)
        crawling_other = SiteLock(site_lock_path(locks, "other.vn"))  # other.vn: crawled by another process now
        assert crawling_other.acquire()
        await run_spider(NewsSpider, db_path, url=site.url("/"), delay="0", max_depth="0")
    rows = statuses(db_path)
    assert rows[own] == ("failed", None, True)  # this crawl holds 127.0.0.1's lock
    assert rows[other] == ("running", None, False)
    crawling_other.release()  # that crawl is gone too: a replay (any command) settles its run
    await run_spider(ReplaySpider, db_path, paths=[str(PAGES / "jsonld_article.html")])
    assert statuses(db_path)[other] == ("failed", None, True)
    finished = [r for r in Database(db_path)["crawl_runs"].rows if r["id"] not in (own, other)]
    assert [r["status"] for r in finished] == ["finished", "finished"]
