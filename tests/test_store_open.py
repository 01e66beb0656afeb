"""Opening NEWS_DB: a busy database is waited for, migrations run once whoever comes first, and a
database that cannot be used stops the crawl before its first request, naming the file, exit status 1."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f
from sqlite_utils import Database

from crawler.spiders.news import NewsSpider
from crawler.spiders.replay import ReplaySpider
from pipelines.db import schema
from pipelines.db.store import NewsStore, StoreError
from pipelines.runs import STORE_FAILED
from tests.conftest import ROOT, run_scrapy
from tests.inprocess import exit_status, run_spider
from tests.newsite import ARTICLES, NewsSite

PAGES = Path(__file__).parent / "pages"


def applied_once(db_path: Path) -> bool:
    names = [row[0] for row in sqlite3.connect(db_path).execute("SELECT name FROM _sqlite_migrations")]
    return sorted(names) == sorted(migration.__name__ for migration in schema.MIGRATIONS)


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` made read-only for this process: by its mode, or for root (whom modes do not stop)
    by the immutable attribute."""
    path.chmod(0o444)
    immutable = False
    try:
        if os.access(path, os.W_OK):
            immutable = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
            if not immutable:
                pytest.skip("running as root where chattr cannot make a file immutable: no read-only file to test")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o644)


def text_file(path: Path) -> Path:
    path.write_text("Không phải cơ sở dữ liệu.\n", encoding="utf-8")
    return path


def migrated_file(path: Path) -> Path:
    NewsStore.open(path).close()
    return path


def corrupt_file(path: Path) -> Path:
    """A database whose first page (after its header: the schema) was overwritten."""
    data = bytearray(migrated_file(path).read_bytes())
    data[100:4096] = bytes(range(256)) * 15 + bytes(236)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("make", "says"),
    [(text_file, "file is not a database"), (corrupt_file, "malformed"),
     (lambda path: path.mkdir() or path, "(unable to open database file|Is a directory)")],
    ids=["text file", "corrupt", "folder"],
)
def test_an_unusable_file_is_named_with_the_reason(tmp_path, make, says):
    path = make(tmp_path / "news.db")
    with pytest.raises(StoreError, match=f"NEWS_DB={path} is not a usable SQLite database: .*{says}"):
        NewsStore.open(path)


def test_the_page_cache_grows_with_the_archive(tmp_path, monkeypatch):
    """8 MB for a new or small archive, 16 MB from LARGE_ARCHIVE articles (the indexes the writer reads)."""
    import pipelines.db.store as store_module
    from tests.test_neardup_index import store_articles

    store = NewsStore.open(tmp_path / "news.db")
    assert store.db.execute("PRAGMA cache_size").fetchone()[0] == -8192
    store_articles(store, {"one": "Một bài báo."})
    store.commit()
    store.db.close()
    monkeypatch.setattr(store_module, "LARGE_ARCHIVE", 1)
    assert NewsStore.open(tmp_path / "news.db").db.execute("PRAGMA cache_size").fetchone()[0] == -16384


def test_a_read_only_database_is_refused_at_once(tmp_path):
    path = migrated_file(tmp_path / "news.db")
    with read_only(path), pytest.raises(StoreError, match=f"NEWS_DB={path} cannot be written"):
        NewsStore.open(path)


def test_migrations_run_once_when_many_open_a_new_database_at_once(tmp_path):
    for attempt in range(5):  # a race: several rounds, so that losing it once is seen
        path = tmp_path / f"news-{attempt}.db"
        start, errors = threading.Barrier(8), []

        def open_it() -> None:
            start.wait()
            try:
                NewsStore.open(path).close()
            except Exception as exc:  # noqa: BLE001 (collected for the assertion)
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert applied_once(path)


def test_a_busy_new_database_is_waited_for(tmp_path):
    path = tmp_path / "news.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing, say the first crawl migrating
    holder.execute("CREATE TABLE other_writer (x)")
    release = threading.Timer(1.0, lambda: holder.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    try:
        NewsStore.open(path).close()
    finally:
        release.join()
        holder.close()
    assert time.monotonic() - started >= 0.9
    assert applied_once(path)


@deferred_f_from_coro_f
async def test_a_crawl_with_an_unusable_store_stops_before_its_first_request(tmp_path, caplog):
    path = text_file(tmp_path / "news.db")
    with NewsSite() as site:
        crawler = await run_spider(NewsSpider, path, url=site.url("/"), delay="0")
        assert site.log == []  # not even robots.txt
    assert crawler.stats.get_value("finish_reason") == STORE_FAILED
    critical = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert critical == [f"NEWS_DB={path} is not a usable SQLite database: file is not a database"]
    assert "Disabled" not in caplog.text  # never NotConfigured: the store did not fail by choice


@deferred_f_from_coro_f
async def test_a_replay_with_a_read_only_store_fails(tmp_path):
    path = migrated_file(tmp_path / "news.db")
    with read_only(path):
        crawler = await run_spider(ReplaySpider, path, paths=[str(PAGES)])
    assert crawler.stats.get_value("finish_reason") == STORE_FAILED and exit_status(crawler) == 1
    assert Database(path)["articles"].count == 0


def test_the_crawl_command_exits_with_status_1(tmp_path):
    path = text_file(tmp_path / "news.db")
    with NewsSite() as site:
        result = run_scrapy("crawl", "news", "-a", f"url={site.url('/')}", db=path)
        assert site.log == []
    assert result.returncode == 1
    assert f"NEWS_DB={path} is not a usable SQLite database: file is not a database" in result.stderr
    assert "Traceback" not in result.stderr


def test_four_crawls_started_at_once_on_a_new_database(tmp_path):
    """The trial that left three crawls storing nothing: each now waits its turn and keeps what it finds."""
    db = tmp_path / "news.db"
    with NewsSite() as site:
        env = {**os.environ, "NEWS_DB": str(db)}
        crawls = [
            subprocess.Popen(
                [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"url={site.url('/')}", "-a", f"site=mau{n}",
                 "-a", "delay=0", "-s", "EXTRACT_WORKERS=0", "-s", "AUTOTHROTTLE_START_DELAY=0"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )
            for n in range(4)
        ]
        outputs = [crawl.communicate(timeout=240)[1] for crawl in crawls]
    for crawl, output in zip(crawls, outputs):
        assert crawl.returncode == 0, output[-3000:]
        assert "not a usable SQLite database" not in output
    assert applied_once(db)
    database = Database(db)
    runs = list(database["crawl_runs"].rows)
    assert sorted(r["site"] for r in runs) == [f"mau{n}" for n in range(4)]
    assert all(r["status"] == "finished" and r["pages"] > 0 for r in runs)
    # Each article stored once, by whichever crawl came first (the others knew it, or found it a duplicate).
    assert sum(r["new"] for r in runs) == database["articles"].count == len(ARTICLES)
