"""The writer (the store pipeline), in process: one transaction per batch, duplicates, failures, runs."""

from __future__ import annotations

import sqlite3

import pytest
from scrapy import Spider
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from bench.neardup_texts import BASES
from crawler.items import ArticleItem
from crawler.signals import fetch_validated, report_failure
from pipelines.page import PageOptions, process_text
from pipelines.store import StorePipeline

TEXTS = list(BASES.values())


def committed(db_path, sql: str) -> int:
    """What another process would see (only committed rows)."""
    with sqlite3.connect(db_path) as other:
        return other.execute(sql).fetchone()[0]


def record(url: str, text: str, **fields) -> ArticleItem:
    """A finished record, as the per-page function makes it."""
    result = process_text({"text": text, "site": "a.example"}, PageOptions())
    return ArticleItem(**{**result.fields, "url": url, **fields})


@pytest.fixture
def writer(tmp_path):
    """An open store pipeline of a crawler (batches of one article), and its database path."""
    db_path = tmp_path / "news.db"
    crawler = get_crawler(Spider, {"NEWS_DB": str(db_path), "STORE_BATCH_SIZE": 1, "LOG_LEVEL": "WARNING"})
    crawler.spider = spider = Spider("test")
    crawler.stats.open_spider()
    pipeline = StorePipeline.from_crawler(crawler)
    pipeline.open_spider()
    yield pipeline, db_path
    if pipeline.store is not None:
        pipeline.spider_closed(spider, "finished")


def test_article_and_its_signature_land_in_one_transaction(writer):
    pipeline, db_path = writer
    for number, text in enumerate(TEXTS[:2], start=1):
        item = record(f"https://a.example/{number}", text)
        pipeline.process_item(item)
        assert committed(db_path, "SELECT count(*) FROM articles") == number
        assert committed(db_path, "SELECT count(*) FROM neardup_signatures") == number
        assert committed(db_path, f"SELECT seq FROM neardup_signatures WHERE article_id = {item.article_id}") == number
        assert committed(db_path, f"SELECT new FROM crawl_runs WHERE id = {pipeline.run_id}") == number


def test_a_failing_item_leaves_nothing_of_itself(writer, monkeypatch):
    pipeline, db_path = writer
    pipeline.store.batch_size = 100  # the batch stays open: what it holds is what counts

    def broken(*args, **kwargs):
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(pipeline.neardup, "link", broken)
    with pytest.raises(RuntimeError):
        pipeline.process_item(record("https://a.example/1", TEXTS[0]))
    monkeypatch.undo()
    pipeline.process_item(record("https://a.example/2", TEXTS[1]))
    pipeline.store.commit()
    assert committed(db_path, "SELECT group_concat(url) FROM articles") == "https://a.example/2"
    assert committed(db_path, "SELECT count(*) FROM article_urls") == 1
    assert committed(db_path, "SELECT count(*) FROM articles_fts") == 1


def test_duplicates_become_aliases_and_edits_update(writer):
    pipeline, db_path = writer
    first = record("https://a.example/1", TEXTS[0])
    pipeline.process_item(first)
    with pytest.raises(DropItem, match="kept as an alias"):
        pipeline.process_item(record("https://b.example/copy", TEXTS[0]))
    with pytest.raises(DropItem, match="unchanged"):
        pipeline.process_item(record("https://a.example/1", TEXTS[0]))
    edited = record("https://a.example/1", TEXTS[0] + "\nMột đoạn mới được thêm vào bài.")
    pipeline.process_item(edited)
    assert edited.article_id == first.article_id
    assert committed(db_path, "SELECT count(*) FROM articles") == 1
    assert committed(db_path, "SELECT group_concat(url) FROM (SELECT url FROM article_urls ORDER BY url)") == (
        "https://a.example/1,https://b.example/copy"
    )
    assert "Một đoạn mới" in committed(db_path, "SELECT text FROM articles")
    counts = committed(db_path, f"SELECT new || ',' || duplicate || ',' || unchanged || ',' || updated "
                                f"FROM crawl_runs WHERE id = {pipeline.run_id}")
    assert counts == "1,1,1,1"


def test_failures_and_validators_reach_the_writer_by_signal(writer):
    pipeline, db_path = writer
    crawler = pipeline.crawler
    report_failure(crawler, "https://a.example/broken", "fetch", "HTTP 500")
    crawler.signals.send_catch_log(fetch_validated, url="https://a.example/feed", etag='"v1"',
                                   last_modified=None, status=200)
    assert committed(db_path, "SELECT count(*) FROM fetch_state") == 0  # only when the run finishes
    pipeline.spider_closed(crawler.spider, "finished")
    assert committed(db_path, "SELECT url || ' ' || stage || ' ' || reason || ' ' || run_id FROM failures") == (
        f"https://a.example/broken fetch HTTP 500 {pipeline.run_id}"
    )
    assert committed(db_path, "SELECT etag FROM fetch_state") == '"v1"'
    assert committed(db_path, "SELECT status || ' ' || failed FROM crawl_runs") == "finished 1"


def test_an_interrupted_run_keeps_no_validators(writer):
    pipeline, db_path = writer
    pipeline.crawler.signals.send_catch_log(fetch_validated, url="https://a.example/feed", etag='"v1"',
                                            last_modified=None, status=200)
    pipeline.spider_closed(pipeline.crawler.spider, "shutdown")
    assert committed(db_path, "SELECT count(*) FROM fetch_state") == 0
    assert committed(db_path, "SELECT status FROM crawl_runs") == "interrupted"


def test_every_migration_is_in_the_ordered_list():
    """A migration written but not appended to MIGRATIONS would never run."""
    import inspect

    from pipelines.db import schema

    written = [name for name, value in vars(schema).items() if inspect.isfunction(value) and name[:1] == "m"
               and name[1:4].isdigit()]
    assert sorted(written) == sorted(step.__name__ for step in schema.MIGRATIONS)
    assert [m.name for m in schema.migrations._migrations] == [step.__name__ for step in schema.MIGRATIONS]


def test_a_failing_update_keeps_the_search_rows_queued_before_it(writer, monkeypatch):
    """An update writes the batch's queued search rows out (its old row may be among them): when the
    update then fails, the rows of the articles before it must still reach the index."""
    pipeline, db_path = writer
    pipeline.store.batch_size = 100  # one batch for all
    pipeline.process_item(record("https://a.example/1", TEXTS[0]))
    pipeline.process_item(record("https://a.example/2", TEXTS[1]))

    def broken(*args, **kwargs):
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(pipeline.neardup, "link", broken)
    with pytest.raises(RuntimeError):
        pipeline.process_item(record("https://a.example/2", TEXTS[1] + "\nMột đoạn mới được thêm vào bài."))
    monkeypatch.undo()
    pipeline.store.commit()
    assert committed(db_path, "SELECT count(*) FROM articles_fts") == 2
    assert committed(db_path, "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'doan moi'") == 0  # folded


def test_a_record_signed_another_way_is_signed_again_by_the_writer(writer, caplog):
    """A worker of another version or other NEARDUP_* settings (a distributed crawl): its signature
    is not used; the writer signs the text itself, and says so once."""
    from pipelines.neardup.minhash import Signer

    pipeline, db_path = writer
    own = record("https://a.example/own", TEXTS[0])
    pipeline.process_item(own)
    assert own.signed_with == pipeline.neardup.signed_with
    for number, signed_with in enumerate(["syllable-blake2b num_perm=128 shingle_size=3 candidate_threshold=0.25",
                                          None]):
        other = record(f"https://a.example/other-{number}", TEXTS[1 + number], signed_with=signed_with,
                       signature=bytes(512))
        pipeline.process_item(other)
        sql = f"SELECT hex(signature) FROM neardup_signatures WHERE article_id = {other.article_id}"
        stored = committed(db_path, sql)
        assert bytes.fromhex(stored) == Signer().sign(other.text).to_blob()
    assert pipeline.crawler.stats.get_value("neardup/signed_here") == 2
    assert caplog.text.count("a record signed another way") == 1
