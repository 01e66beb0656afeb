"""Record each run in ``crawl_runs``: start, end, status and counts."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import Spider, signals
from scrapy.exceptions import NotConfigured

from pipelines.store import store_for

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# crawl_runs column -> the stat that counts it.
RUN_COUNTS = {
    "new": "store/new",
    "updated": "store/updated",
    "duplicate": "dedupe/duplicate",
    "unchanged": "dedupe/unchanged",
    "failed": "failures/count",
}
# Scrapy's close reason -> crawl_runs.status.
RUN_STATUS = {"finished": "finished", "shutdown": "interrupted", "cancelled": "interrupted"}


def run_counts(crawler: Crawler) -> dict[str, int]:
    """The counts of a run so far, by ``crawl_runs`` column."""
    return {column: crawler.stats.get_value(stat, 0) for column, stat in RUN_COUNTS.items()}


class CrawlRunsExtension:
    """Settings: ``CRAWL_RUNS_ENABLED``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRunsExtension:
        if not crawler.settings.getbool("CRAWL_RUNS_ENABLED", True):
            raise NotConfigured("CRAWL_RUNS_ENABLED is off")
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        command = getattr(spider, "command", None) or f"crawl {spider.name}"
        self.run_id = store_for(self.crawler).start_run(command, getattr(spider, "site_name", None))
        self.crawler.news_run_id = self.run_id  # type: ignore[attr-defined]

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.run_id is None:
            return
        counts = run_counts(self.crawler)
        status = RUN_STATUS.get(reason, reason)
        store_for(self.crawler).finish_run(self.run_id, status, counts)
        logger.info(
            "Run %s %s: %s",
            self.run_id,
            status,
            ", ".join(f"{value} {name}" for name, value in counts.items()),
        )
