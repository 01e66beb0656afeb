"""An article and its near-duplicate records are committed together: a kill between them is not possible."""

from __future__ import annotations

import sqlite3

from scrapy import Spider
from scrapy.utils.test import get_crawler

from bench.neardup_texts import BASES
from crawler.items import ArticleItem
from pipelines.dedupe import content_hash
from pipelines.neardup.index import NearDupPipeline
from pipelines.store import StorePipeline


def committed(db_path, sql: str) -> int:
    """What another process would see (only committed rows)."""
    with sqlite3.connect(db_path) as other:
        return other.execute(sql).fetchone()[0]


def test_article_and_its_signature_land_in_one_transaction(tmp_path):
    db_path = tmp_path / "news.db"
    crawler = get_crawler(Spider, {"NEWS_DB": str(db_path), "STORE_BATCH_SIZE": 1, "LOG_LEVEL": "WARNING"})
    store_stage, neardup_stage = StorePipeline.from_crawler(crawler), NearDupPipeline.from_crawler(crawler)
    neardup_stage.open_spider()
    for number, text in enumerate(list(BASES.values())[:2], start=1):
        item = ArticleItem(url=f"https://a.example/{number}", text=text, site="a.example")
        item.content_hash = content_hash(text)
        store_stage.process_item(item)
        # The batch is full (size 1), yet the article waits for the stage that signs it.
        assert committed(db_path, "SELECT count(*) FROM articles") == number - 1
        neardup_stage.process_item(item)
        assert committed(db_path, "SELECT count(*) FROM articles") == number
        assert committed(db_path, "SELECT count(*) FROM neardup_signatures") == number
        assert committed(db_path, f"SELECT seq FROM neardup_signatures WHERE article_id = {item.article_id}") == number
    store_stage.close_spider()
    neardup_stage.close_spider()


def test_without_the_stage_the_store_commits_on_its_own(tmp_path):
    db_path = tmp_path / "news.db"
    crawler = get_crawler(Spider, {"NEWS_DB": str(db_path), "STORE_BATCH_SIZE": 1, "LOG_LEVEL": "WARNING"})
    store_stage = StorePipeline.from_crawler(crawler)
    item = ArticleItem(url="https://a.example/1", text=BASES["mua_lu_hue"], site="a.example")
    item.content_hash = content_hash(item.text)
    store_stage.process_item(item)
    assert committed(db_path, "SELECT count(*) FROM articles") == 1
    store_stage.close_spider()
