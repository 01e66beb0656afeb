"""Scrapy's log messages, with a stored article named by its URL and ids.

An item carries the article's whole text, its folded copy, its signature and its
gzipped page: Scrapy's own "Scraped from" line would print all of it at DEBUG.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.logformatter import LogFormatter, LogFormatterResult


class ArticleLogFormatter(LogFormatter):
    """Setting ``LOG_FORMATTER``."""

    def scraped(self, item: Any, response: Any, spider: Any) -> LogFormatterResult:
        result = super().scraped(item, response, spider)
        adapter = ItemAdapter(item)
        result["msg"] = "Stored article %(id)s (story %(story)s) from %(url)s"
        result["args"] = {"id": adapter.get("article_id"), "story": adapter.get("story_id"), "url": adapter.get("url")}
        return result
