"""The log lines of each page and item: an article named by its ids and URL, built only when shown."""

from __future__ import annotations

import logging

import pytest
from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.logformatter import ArticleLogFormatter

ITEM = {"article_id": 7, "story_id": 3, "url": "https://x.vn/bai-7.html", "text": "Toàn văn bài viết. " * 500}


@pytest.mark.parametrize("level", ["DEBUG", logging.DEBUG, "debug"])
def test_at_debug_a_stored_article_is_named_not_printed(level):
    formatter = ArticleLogFormatter.from_crawler(get_crawler(Spider, {"LOG_LEVEL": level}))
    result = formatter.scraped(ITEM, Response(ITEM["url"]), Spider("s"))
    assert result["msg"] % result["args"] == "Stored article 7 (story 3) from https://x.vn/bai-7.html"
    assert formatter.crawled(Request(ITEM["url"]), Response(ITEM["url"]), Spider("s")) is not None


@pytest.mark.parametrize("level", ["INFO", "WARNING", logging.INFO])
def test_above_debug_the_lines_are_not_built(level):
    formatter = ArticleLogFormatter.from_crawler(get_crawler(Spider, {"LOG_LEVEL": level}))
    assert formatter.scraped(ITEM, Response(ITEM["url"]), Spider("s")) is None
    assert formatter.crawled(Request(ITEM["url"]), Response(ITEM["url"]), Spider("s")) is None
