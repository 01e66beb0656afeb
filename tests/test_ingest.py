"""``scrapy ingest``: records pushed by workers to a real Redis end up in the database, once, and
leave Redis only after the commit that stored them."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_f_from_coro_f
from sqlite_utils import Database

from crawler.distributed.archive import SharedArchive
from crawler.distributed.connection import Keys
from crawler.distributed.records import RecordQueue, encode
from crawler.distributed.runs import WORKER_COMMAND
from crawler.distributed.writer import WriterLocked
from crawler.items import ArticleItem
from crawler.spiders.ingest import IngestSpider
from pipelines.db.store import ArchiveReader
from pipelines.page import PageOptions, process_text
from tests.conftest import ROOT, run_scrapy
from tests.inprocess import run_spider

KEYS = Keys()


def article(n: int, options: PageOptions = PageOptions()) -> dict:
    """An article record's data, as a worker's RecordPushPipeline pushes it (text seeds' fields)."""
    url = f"https://tin.example.vn/bai-{n}.html"
    result = process_text(
        {"title": f"Tin số {n}", "text": f"Bài số {n}: mưa lớn ở Hà Nội, quận {n} ngập sâu sáng nay."},
        options, url,
    )
    assert result.kind == "article"
    return dataclasses.asdict(ArticleItem(**{**result.fields, "url": url, "site": "tin.example.vn"}))


def queue(url: str) -> RecordQueue:
    return RecordQueue(redis.Redis.from_url(url), KEYS)


async def ingest(db: Path, url: str, **settings):
    return await run_spider(IngestSpider, db, {"REDIS_URL": url, **settings}, idle="0.1")


@deferred_f_from_coro_f
async def test_records_become_articles_failures_and_runs(redis_url, db_path):
    records = queue(redis_url)
    records.push("run", {"event": "start", "worker": "w1:42:ab", "host": "w1", "pid": 42, "sites": ["tin"],
                         "started": "2026-01-01T00:00:00+00:00"})
    records.push("article", article(1))
    records.push("article", article(2))
    records.push("failure", {"url": "https://tin.example.vn/x", "stage": "fetch", "reason": "HTTP 500",
                             "site": "tin.example.vn", "skipped": False})
    records.push("run", {"event": "finish", "worker": "w1:42:ab", "host": "w1", "pid": 42, "sites": ["tin"],
                         "started": "2026-01-01T00:00:00+00:00", "status": "finished",
                         "counts": {"pages": 5, "failed": 1, "not_a_column": 3}, "site_counts": {"tin": {"pages": 5}},
                         "validators": {"https://tin.example.vn/rss": ['"e1"', "Mon, 01 Jan 2026 00:00:00 GMT", 200]}})
    crawler = await ingest(db_path, redis_url)
    assert crawler.stats.get_value("finish_reason") == "finished"

    db = Database(db_path)
    assert sorted(r["url"] for r in db["articles"].rows) == [article(1)["url"], article(2)["url"]]
    assert [(f["url"], f["stage"]) for f in db["failures"].rows] == [("https://tin.example.vn/x", "fetch")]
    runs = {r["command"]: r for r in db["crawl_runs"].rows}
    assert runs["ingest"]["status"] == "finished" and runs["ingest"]["new"] == 2
    worker = runs[WORKER_COMMAND]
    assert (worker["status"], worker["worker"], worker["host"], worker["pid"], worker["pages"], worker["failed"]) == (
        "finished", "w1:42:ab", "w1", 42, 5, 1)
    assert worker["started"] == "2026-01-01T00:00:00+00:00" and worker["finished"]
    # Everything acknowledged after the commit; the mirrors follow the database.
    server = redis.Redis.from_url(redis_url)
    assert server.llen(KEYS.records) == 0 and server.llen(KEYS.pending) == 0
    shared, reader = SharedArchive(redis.Redis.from_url(redis_url), KEYS), ArchiveReader.open_readonly(db_path)
    for url in (article(1)["url"], "https://tin.example.vn/rss", "https://tin.example.vn/nothing"):
        assert shared.knows_url(url) == reader.knows_url(url)
        assert shared.fetch_state(url) == reader.fetch_state(url)
    assert shared.fetch_state("https://tin.example.vn/rss") == {"etag": '"e1"',
                                                                "last_modified": "Mon, 01 Jan 2026 00:00:00 GMT"}
    shared.close()
    reader.close()
    # The crawl-health query shows a worker of one site under that site, beside the writer's line.
    health = db.execute("select coalesce(site, command), status from crawl_runs order by id").fetchall()
    assert ("tin", "finished") in health


@deferred_f_from_coro_f
async def test_a_record_delivered_twice_is_stored_once(redis_url, db_path):
    records = queue(redis_url)
    raw = encode("article", article(7))
    records.server.lpush(KEYS.records, raw, raw)
    records.push("run", {"event": "finish", "worker": "w2:1:x", "host": "w2", "pid": 1, "status": "finished",
                         "counts": {}, "validators": {}})
    records.push("run", {"event": "finish", "worker": "w2:1:x", "host": "w2", "pid": 1, "status": "failed",
                         "counts": {}, "validators": {}})
    crawler = await ingest(db_path, redis_url)
    db = Database(db_path)
    assert db["articles"].count == 1 and db["article_urls"].count == 1
    assert crawler.stats.get_value("dedupe/unchanged") == 1
    # A finish whose start was lost opens the row; the same finish again changes nothing.
    assert [r["status"] for r in db["crawl_runs"].rows_where("worker = ?", ["w2:1:x"])] == ["finished"]
    assert records.server.llen(KEYS.pending) == 0


@deferred_f_from_coro_f
async def test_a_bad_record_is_a_failure_and_the_rest_is_stored(redis_url, db_path):
    records = queue(redis_url)
    records.server.lpush(KEYS.records, b"\x00not a record")
    records.push("run", {"event": "finish"})  # no worker
    records.push("article", {**article(3), "no_such_field": 1})
    records.push("article", article(4))
    crawler = await ingest(db_path, redis_url)
    db = Database(db_path)
    assert [r["url"] for r in db["articles"].rows] == [article(4)["url"]]
    failures = list(db["failures"].rows)
    assert [f["stage"] for f in failures] == ["ingest"] * 3
    assert "not a record: b'\\x00not a record'" in failures[0]["reason"]
    assert crawler.stats.get_value("ingest/bad") == 3
    assert records.server.llen(KEYS.pending) == 0 and records.server.llen(KEYS.records) == 0


@deferred_f_from_coro_f
async def test_pending_left_by_a_killed_writer_is_recovered(redis_url, db_path):
    records = queue(redis_url)
    records.push("article", article(5))
    # A writer killed after taking records and before committing them left them in pending.
    records.server.lpush(KEYS.pending, encode("article", article(6)), encode("article", article(5)))
    crawler = await ingest(db_path, redis_url)
    assert crawler.stats.get_value("ingest/recovered") == 2
    assert Database(db_path)["articles"].count == 2
    assert records.server.llen(KEYS.pending) == 0


@deferred_f_from_coro_f
async def test_mirrors_are_filled_from_the_database_at_start(redis_url, db_path):
    records = queue(redis_url)
    records.push("article", {**article(8), "aliases": ["https://tin.example.vn/amp/bai-8.html"]})
    records.push("run", {"event": "finish", "worker": "w3:1:x", "status": "finished", "counts": {},
                         "validators": {"https://tin.example.vn/sitemap.xml": [None, "Tue, 02 Jan 2026", 200]}})
    await ingest(db_path, redis_url)
    server = records.server
    expected = {article(8)["url"].encode(), b"https://tin.example.vn/amp/bai-8.html"}
    assert server.smembers(KEYS.stored) == expected
    server.delete(KEYS.stored, KEYS.validators)  # a new Redis
    await ingest(db_path, redis_url)
    assert server.smembers(KEYS.stored) == expected
    shared = SharedArchive(redis.Redis.from_url(redis_url), KEYS)
    assert shared.fetch_state("https://tin.example.vn/sitemap.xml") == {
        "etag": None, "last_modified": "Tue, 02 Jan 2026"}
    shared.close()


@deferred_f_from_coro_f
async def test_a_second_writer_is_refused(redis_url, db_path):
    server = redis.Redis.from_url(redis_url)
    server.set(KEYS.writer, "otherhost:123")
    settings = Settings({"REDIS_URL": redis_url})
    with pytest.raises(WriterLocked, match="otherhost:123 holds vnnews:writer"):
        IngestSpider.check_arguments(settings)
    with pytest.raises(WriterLocked, match="otherhost:123"):
        await ingest(db_path, redis_url)
    assert server.get(KEYS.writer) == b"otherhost:123"
    # A writer of this machine whose process is gone (killed) is taken over at once.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    server.set(KEYS.writer, f"{socket.gethostname()}:{dead.pid}")
    queue(redis_url).push("article", article(9))
    await ingest(db_path, redis_url)
    assert Database(db_path)["articles"].count == 1
    assert server.get(KEYS.writer) is None  # released at the end


def test_ingest_without_redis_says_so(db_path, tmp_path):
    result = run_scrapy("ingest", db=db_path, REDIS_URL="")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "REDIS_URL is not set" in errors[0], result.stderr[-2000:]
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_scrapy("ingest", db=db_path, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and f"REDIS_URL=redis://127.0.0.1:{port}/0: cannot reach Redis" in errors[0]
    assert not db_path.exists()


def test_a_writer_killed_mid_batch_loses_nothing_and_stores_nothing_twice(redis_url, db_path):
    """3,000 records, the writer killed (SIGKILL) between commits, a second writer: each article once."""
    count = 3000
    options = PageOptions(neardup=None)
    server = redis.Redis.from_url(redis_url)
    pipe = server.pipeline(transaction=False)
    for n in range(count):
        pipe.lpush(KEYS.records, encode("article", article(n, options)))
    pipe.execute()
    command = [sys.executable, "-m", "scrapy", "ingest", "-a", "idle=1", "-s", "STORE_BATCH_SIZE=50",
               "-s", "INGEST_BATCH_SIZE=50", "-s", "NEARDUP_ENABLED=False", "-s", "LOG_LEVEL=WARNING"]
    env = {**os.environ, "NEWS_DB": str(db_path), "REDIS_URL": redis_url}
    writer = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    stored = 0
    while time.monotonic() < deadline and writer.poll() is None:
        if db_path.exists():
            try:
                stored = sqlite3.connect(db_path).execute("select count(*) from articles").fetchone()[0]
            except sqlite3.OperationalError:  # not migrated yet
                stored = 0
            if stored >= 500:
                break
        time.sleep(0.02)
    assert writer.poll() is None, writer.communicate()[1][-3000:]
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert 0 < stored < count
    assert server.llen(KEYS.pending) > 0 or server.llen(KEYS.records) > 0

    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    db = sqlite3.connect(db_path)
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert db.execute("select count(*), count(distinct url), count(distinct content_hash) from articles").fetchone() \
        == (count, count, count)
    assert db.execute("select count(*) from article_urls").fetchone()[0] == count
    assert server.llen(KEYS.records) == 0 and server.llen(KEYS.pending) == 0
    assert server.scard(KEYS.stored) == count
    assert db.execute("select status from crawl_runs order by id").fetchall() == [("failed",), ("finished",)]


def test_workers_ask_the_archive_in_redis(redis_url, db_path):
    """A worker's spider and conditional GET read Redis's mirrors; without REDIS_URL, the database."""
    from scrapy import Request
    from scrapy.utils.test import get_crawler

    from crawler.distributed.archive import open_archive
    from crawler.middlewares import ConditionalGetMiddleware
    from crawler.spiders.news import NewsSpider

    server = redis.Redis.from_url(redis_url)
    server.sadd(KEYS.stored, "https://tin.example.vn/a.html")
    server.hset(KEYS.validators, "https://tin.example.vn/rss", '["\\"e2\\"", null, 200]')
    worker = get_crawler(NewsSpider, {"REDIS_URL": redis_url, "NEWS_DB": str(db_path)})
    archive = open_archive(worker)
    assert isinstance(archive, SharedArchive)
    assert archive.knows_url("https://tin.example.vn/a.html") and not archive.knows_url("https://tin.example.vn/b")
    archive.close()
    middleware = ConditionalGetMiddleware.from_crawler(worker)
    request = Request("https://tin.example.vn/rss", meta={"conditional": True})
    middleware.process_request(request)
    assert request.headers.get(b"If-None-Match") == b'"e2"' and b"If-Modified-Since" not in request.headers
    middleware.close()
    alone = open_archive(get_crawler(NewsSpider, {"REDIS_URL": "", "NEWS_DB": str(db_path)}))
    assert isinstance(alone, ArchiveReader) and not alone.knows_url("https://tin.example.vn/a.html")
    alone.close()


@deferred_f_from_coro_f
async def test_a_writer_that_lost_its_lock_stops(redis_url, db_path):
    from twisted.internet import reactor

    from crawler.spiders.ingest import LOCK_LOST

    server = redis.Redis.from_url(redis_url)
    reactor.callLater(0.5, server.set, KEYS.writer, "otherhost:9")  # type: ignore[attr-defined]
    crawler = await run_spider(IngestSpider, db_path, {"REDIS_URL": redis_url, "INGEST_LOCK_SECONDS": 0.3})
    assert crawler.stats.get_value("finish_reason") == LOCK_LOST
    assert server.get(KEYS.writer) == b"otherhost:9"


def test_sigterm_stops_the_writer_cleanly(redis_url, db_path):
    queue(redis_url).push("article", article(10))
    env = {**os.environ, "NEWS_DB": str(db_path), "REDIS_URL": redis_url}
    writer = subprocess.Popen([sys.executable, "-m", "scrapy", "ingest"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and writer.poll() is None and server.scard(KEYS.stored) == 0:
        time.sleep(0.05)
    writer.send_signal(signal.SIGTERM)
    out, err = writer.communicate(timeout=30)
    assert writer.returncode == 0, err[-3000:]
    assert "Ingested 1 records" in out
    db = Database(db_path)
    assert db["articles"].count == 1
    assert [r["status"] for r in db["crawl_runs"].rows] == ["interrupted"]
    assert server.llen(KEYS.pending) == 0 and server.get(KEYS.writer) is None
