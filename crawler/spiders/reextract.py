"""Re-extract stored pages offline through the same pipelines as a crawl."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import scrapy

from crawler.items import ArticleItem
from pipelines.store import store_for

logger = logging.getLogger(__name__)


class ReextractSpider(scrapy.Spider):
    """Yield one item per stored page (table ``pages``), optionally for one site.

    Each item carries the page's HTML and ``via="reextract"``: the extract stage
    runs again, normalize and dedupe follow, and the store updates the articles
    whose extraction changed. Nothing is fetched. Arguments: ``site``.
    """

    name = "reextract"
    command = "reextract"

    def __init__(self, site: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site_name = site

    async def start(self) -> AsyncIterator[Any]:
        stats = self.crawler.stats
        for page in store_for(self.crawler).iter_pages(self.site_name):
            stats.inc_value("reextract/pages")
            yield ArticleItem(url=page["url"], via="reextract", site=page["site"], html=page["html"])
