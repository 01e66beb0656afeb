"""Extract article text and metadata from HTML with trafilatura.

Items that arrive with ``html`` (fetched or saved pages) are extracted here,
once per page; items that arrive with ``text`` (text seeds) pass through.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import trafilatura
from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem, NotConfigured
from trafilatura.settings import use_config

from pipelines.store import report_failure

if TYPE_CHECKING:
    from configparser import ConfigParser

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class ExtractionFailed(DropItem):
    """The page has no article text that trafilatura could find."""


def extract_article(html: str, url: str, config: ConfigParser | None = None) -> dict[str, Any] | None:
    """trafilatura's main text and metadata for one page, as item fields, or None."""
    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        config=config or use_config(),
    )
    if document is None or not getattr(document, "text", None):
        return None
    return {
        "text": document.text,
        "title": document.title,
        "author": document.author,
        "published": document.date,
        "description": document.description,
        "category": ", ".join(document.categories or []) or None,
        "tags": ", ".join(document.tags or []) or None,
        "image": document.image,
        "language": document.language,
    }


class ExtractPipeline:
    """Settings: ``EXTRACT_ENABLED``. Stats: ``extract/ok``, ``extract/failed``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config = use_config()  # built once; never mutate trafilatura's DEFAULT_CONFIG

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        if not crawler.settings.getbool("EXTRACT_ENABLED", True):
            raise NotConfigured("EXTRACT_ENABLED is off")
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        html = adapter.get("html")
        if not html:
            return item
        fields = extract_article(html, adapter["url"], self.config)
        if fields is None:
            self.crawler.stats.inc_value("extract/failed")
            report_failure(self.crawler, adapter["url"], "extract", "no article text found in the page")
            raise ExtractionFailed(f"no article text: {adapter['url']}")
        for name, value in fields.items():
            if value and not adapter.get(name):
                adapter[name] = value
        self.crawler.stats.inc_value("extract/ok")
        return item
