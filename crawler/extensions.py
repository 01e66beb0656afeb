"""Record each run in ``crawl_runs``: start, end, status and counts, one row per site of a crawl."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import Spider, signals
from scrapy.exceptions import NotConfigured

from pipelines.store import store_for

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# crawl_runs column -> the stat that counts it (per site: the stat + "/<site>").
RUN_COUNTS = {
    "new": "store/new",
    "updated": "store/updated",
    "duplicate": "dedupe/duplicate",
    "unchanged": "dedupe/unchanged",
    "failed": "failures/count",
    "pages": "news/pages",
    "not_modified": "news/not_modified",
    "robots_skipped": "news/robots_skipped",
    "http_errors": "news/http_errors",
    "extract_failed": "failures/extract",
}
# Scrapy's close reason -> crawl_runs.status.
RUN_STATUS = {"finished": "finished", "shutdown": "interrupted", "cancelled": "interrupted"}


def run_counts(crawler: Crawler, site: str | None = None) -> dict[str, int]:
    """The counts of a run so far, by ``crawl_runs`` column; of one site when ``site`` is given."""
    suffix = f"/{site}" if site else ""
    return {column: crawler.stats.get_value(stat + suffix, 0) for column, stat in RUN_COUNTS.items()}


class CrawlRunsExtension:
    """Settings: ``CRAWL_RUNS_ENABLED``, ``CRAWL_RUN_ID`` (a row to fill in instead of adding one).

    A spider with a ``sites`` list (the news spider) gets one row per site, and
    failures are filed under the run of their URL's site
    (``crawler.news_run_for``); other spiders get one row.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run_id: int | None = None
        self.site_runs: dict[str, int] = {}
        # `scrapy schedule` creates the row itself (so that even a crawl that dies
        # before it opens has one) and passes its id: the crawl's run takes it.
        self.adopt_run_id = crawler.settings.getint("CRAWL_RUN_ID", 0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRunsExtension:
        if not crawler.settings.getbool("CRAWL_RUNS_ENABLED", True):
            raise NotConfigured("CRAWL_RUNS_ENABLED is off")
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def start_run(self, spider: Spider, site: str | None) -> int:
        if self.adopt_run_id:
            run_id, self.adopt_run_id = self.adopt_run_id, 0
            return run_id
        command = getattr(spider, "command", None) or f"crawl {spider.name}"
        return store_for(self.crawler).start_run(command, site)

    def spider_opened(self, spider: Spider) -> None:
        # Keep the rows' counts current with every committed batch: a crawl that
        # is killed still leaves the counts of what it stored.
        store_for(self.crawler).before_commit.append(self.save_counts)
        sites = getattr(spider, "sites", None)
        if not sites:
            self.run_id = self.start_run(spider, getattr(spider, "site_name", None))
            self.crawler.news_run_id = self.run_id  # type: ignore[attr-defined]
            return
        self.site_runs = {site.name: self.start_run(spider, site.name) for site in sites}
        if len(sites) == 1:
            self.crawler.news_run_id = self.site_runs[sites[0].name]  # type: ignore[attr-defined]

        def run_for(url: str) -> tuple[str | None, int | None]:
            site = spider.site_for_url(url)  # type: ignore[attr-defined]
            return (site.name, self.site_runs.get(site.name)) if site else (None, None)

        self.crawler.news_run_for = run_for  # type: ignore[attr-defined]

    def save_counts(self) -> None:
        table = store_for(self.crawler).db["crawl_runs"]
        if self.run_id is not None:
            table.update(self.run_id, run_counts(self.crawler))
        for site, run_id in self.site_runs.items():
            table.update(run_id, run_counts(self.crawler, site))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        status = RUN_STATUS.get(reason, reason)
        store = store_for(self.crawler)
        if self.run_id is not None:
            counts = run_counts(self.crawler)
            store.finish_run(self.run_id, status, counts)
            logger.info("Run %s %s: %s", self.run_id, status, describe(counts))
        for site, run_id in self.site_runs.items():
            counts = run_counts(self.crawler, site)
            # Nothing fetched and something failed: the site was unreachable.
            site_status = "failed" if status == "finished" and counts["failed"] and not counts["pages"] else status
            store.finish_run(run_id, site_status, counts)
            self.log_site(site, run_id, site_status, counts, store.failure_reasons(run_id))

    @staticmethod
    def log_site(site: str, run_id: int, status: str, counts: dict[str, int], reasons: list[Any]) -> None:
        """One line per site, saying what happened and, on failures, the most frequent reason."""
        line = f"{site}: run {run_id} {status}: {describe(counts)}"
        if reasons:
            line += f"; most failures: {reasons[0][0]} (see the failures table)"
        if status == "failed":
            logger.warning("%s", line)
        else:
            logger.info("%s", line)


def describe(counts: dict[str, int]) -> str:
    """``"3 new, 1 duplicate, ..."``: the counts that are not zero, and always ``new``."""
    shown = [f"{value} {name.replace('_', ' ')}" for name, value in counts.items() if value or name == "new"]
    return ", ".join(shown)
