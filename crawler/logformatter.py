"""Scrapy's log messages, with a stored article named by its URL and ids.

An item carries the article's whole text, its folded copy, its signature and its
gzipped page: Scrapy's own "Scraped from" line would print all of it at DEBUG.

Below ``LOG_LEVEL`` the per-page and per-item lines are not built at all: Scrapy
leaves the root logger open to every level and filters in its handler, so each
"Crawled" and "Stored article" record was made, then dropped (2 % of the engine's
time in ``scrapy replay``).
"""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy.logformatter import LogFormatter, LogFormatterResult


class ArticleLogFormatter(LogFormatter):
    """Setting ``LOG_FORMATTER``."""

    debug = True  # whether DEBUG lines are shown (LOG_LEVEL), read by from_crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArticleLogFormatter:
        formatter = cls()
        level = crawler.settings.get("LOG_LEVEL", "DEBUG")
        formatter.debug = (level if isinstance(level, int) else logging.getLevelName(str(level).upper())) <= logging.DEBUG
        return formatter

    def crawled(self, request: Any, response: Any, spider: Any) -> LogFormatterResult | None:
        return super().crawled(request, response, spider) if self.debug else None

    def scraped(self, item: Any, response: Any, spider: Any) -> LogFormatterResult | None:
        if not self.debug:
            return None
        result = super().scraped(item, response, spider)
        adapter = ItemAdapter(item)
        result["msg"] = "Stored article %(id)s (story %(story)s) from %(url)s"
        result["args"] = {"id": adapter.get("article_id"), "story": adapter.get("story_id"), "url": adapter.get("url")}
        return result
