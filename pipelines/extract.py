"""The spiders' way to the per-page function: await it in the worker pool.

A spider callback hands a fetched page to :meth:`Extractor.page` and awaits the
finished record (or a listing's links), so the engine process does no HTML
parsing, normalizing or hashing. Scrapy's scraper keeps each response active
until its callback is done (``SCRAPER_SLOT_MAX_ACTIVE_SIZE``): that bounds the
pages waiting for a worker, and the downloader backs off when they are many.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawler.seeds import SeedFiles
from pipelines.neardup.index import NearDupSettings
from pipelines.page import Fetched, PageOptions, PageResult, SiteRules
from pipelines.workers import PagePool, PageTimeout, WorkerFailed, give_back_big_buffers, run_job

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.sites import Site

logger = logging.getLogger(__name__)


def site_rules(sites: Iterable[Site]) -> tuple[SiteRules, ...]:
    """What the per-page function needs of each site: its domain, ``allow`` and ``cleanup``."""
    return tuple(SiteRules(site.domain, tuple(site.allow), tuple(site.cleanup)) for site in sites)


def page_options(settings: Any, sites: Iterable[Site] = ()) -> PageOptions:
    """The :class:`PageOptions` of a crawler's settings (``NORMALIZE_MIN_WORDS``, ``NEARDUP_*``, ...) and sites."""
    neardup = None
    if settings.getbool("NEARDUP_ENABLED", True):
        values = NearDupSettings.from_settings(settings)
        neardup = (values.num_perm, values.shingle_size, values.candidate_threshold)
    return PageOptions(
        min_words=settings.getint("NORMALIZE_MIN_WORDS", 1),
        min_article_chars=settings.getint("NEWS_MIN_ARTICLE_CHARS", 500),
        keep_page=settings.getbool("STORE_PAGES", True),
        neardup=neardup,
        sites=site_rules(sites),
    )


class Extractor:
    """The worker pool of one crawl, started on first use and stopped when the spider closes.

    Settings: ``EXTRACT_WORKERS`` (worker processes; 0 runs the function in the
    engine's process, without a time limit), ``EXTRACT_TIMEOUT`` (seconds per
    page), ``EXTRACT_WORKERS_NICENESS`` and those of :func:`page_options`. Stats: ``extract/ok``,
    ``extract/failed``, ``extract/timeout``, ``normalize/byline_author``.
    """

    def __init__(self, crawler: Crawler, workers: int, timeout: float, options: PageOptions,
                 niceness: int = 0) -> None:
        self.crawler = crawler
        self.workers = workers
        self.timeout = timeout
        self.options = options
        self.niceness = niceness
        self._pool: PagePool | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, sites: Iterable[Site] = ()) -> Extractor:
        settings = crawler.settings
        workers, timeout = settings.getint("EXTRACT_WORKERS", 2), settings.getfloat("EXTRACT_TIMEOUT", 60.0)
        if workers < 0 or timeout <= 0:
            raise ValueError(
                f"EXTRACT_WORKERS must be 0 or more and EXTRACT_TIMEOUT above 0, got {workers} and {timeout}"
            )
        niceness = settings.getint("EXTRACT_WORKERS_NICENESS", 10)
        if not 0 <= niceness <= 19:
            raise ValueError(f"EXTRACT_WORKERS_NICENESS must be between 0 and 19, got {niceness}")
        give_back_big_buffers()  # every page passes through this process on its way to the workers
        extractor = cls(crawler, workers, timeout, page_options(settings, sites), niceness)
        crawler.signals.connect(extractor.close, signal=signals.spider_closed)
        return extractor

    def use_sites(self, sites: Iterable[Site]) -> None:
        """Process pages by these sites' rules (``allow``, ``cleanup``); before the first page (the
        workers get the options with their first job)."""
        assert self._pool is None or not self._pool.serving, "use_sites() after the first page"
        self.options = replace(self.options, sites=site_rules(sites))
        if self._pool is not None:
            self._pool.options = self.options

    def start(self) -> None:
        """Start the worker processes now, before the first page (the crawl is starting)."""
        if self.pool is not None:
            self.pool.spawn()

    @property
    def pool(self) -> PagePool | None:
        """The worker pool (None: pages are processed in this process), made on first use."""
        if self._pool is None and self.workers > 0:
            self._pool = PagePool(self.workers, self.timeout, self.options, self.niceness)
        return self._pool

    async def page(self, page: Fetched) -> PageResult:
        """The page through :func:`pipelines.page.process_page`; timeouts and crashes come back as failures."""
        return await self._run(page, page.url)

    async def seed_files(self, files: SeedFiles) -> list[PageResult]:
        """Text seed files read and processed by a worker, as one job: a seed takes a millisecond, and a
        job's round trip to a worker costs a fair part of one."""
        return await self._run(files, None)

    async def _run(self, job: Any, url: str | None) -> Any:
        stats = self.crawler.stats
        try:
            result = run_job(job, self.options) if self.pool is None else await self.pool.process(job)
        except (PageTimeout, WorkerFailed) as exc:
            if isinstance(exc, PageTimeout):
                stats.inc_value("extract/timeout")
                reason = f"extraction took longer than EXTRACT_TIMEOUT={self.timeout:g}s; the page was skipped"
            else:
                reason = f"extraction failed: {exc}"
            if isinstance(job, SeedFiles):
                result = [PageResult("failed", reason=reason) for _ in job.paths]
            else:
                result = PageResult("failed", url, reason=reason)
        for one in result if isinstance(result, list) else [result]:
            self.count(one)
        return result

    def count(self, result: PageResult) -> None:
        stats = self.crawler.stats
        if result.kind == "failed":
            stats.inc_value("extract/failed")
        elif result.kind == "article":
            stats.inc_value("extract/ok")
            if result.byline_author:
                stats.inc_value("normalize/byline_author")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
