"""What the project's spiders share: the worker pool that processes pages, a read-only view of
the archive, and the way failures reach the writer."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import Any, TypeVar

import scrapy
from scrapy import signals

from crawler.items import ArticleItem
from crawler.signals import report_failure
from crawler.sites import Site, SitesError, load_sites
from crawler.distributed.archive import Archive, open_archive
from pipelines.extract import Extractor
from pipelines.page import PageResult


logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


async def in_order(jobs: Iterable[tuple[T, Awaitable[R] | None]], window: int) -> AsyncIterator[tuple[T, R | None]]:
    """Run the awaitables of ``jobs`` with at most ``window`` under way, and yield each with its key
    in the order given (None stays None). For ``start()`` of the offline spiders: every worker
    stays busy, memory stays bounded, and records reach the writer in the order of the input.
    """
    pending: deque[tuple[T, asyncio.Future[R] | None]] = deque()
    for key, awaitable in jobs:
        pending.append((key, asyncio.ensure_future(awaitable) if awaitable is not None else None))
        while len(pending) > window or (pending and pending[0][1] is None):
            head, future = pending.popleft()
            yield head, (await future if future is not None else None)
    while pending:
        head, future = pending.popleft()
        yield head, (await future if future is not None else None)


def configured_sites(settings: Any) -> list[Site]:
    """The sites of ``SITES_FILE``, whose own rules (``allow``, ``cleanup``) apply to their pages;
    none, with a warning, when the file cannot be used (a replay needs no sites)."""
    try:
        return load_sites(settings.get("SITES_FILE"))
    except SitesError as exc:
        logger.warning("No site rules (allow, cleanup) for the pages: %s", exc)
        return []


class ArchiveSpider(scrapy.Spider):
    """A spider whose pages go through :class:`~pipelines.extract.Extractor` and whose records go to
    the store pipeline. ``archive`` answers read-only questions (is a URL stored?) on a connection
    of its own, opened on first use: the store pipeline creates the database when the spider opens.
    """

    command = ""  # how crawl_runs names the command
    # Whether its records come through the worker pool, which then starts with the crawl: the
    # workers' imports overlap the engine's start instead of delaying the first page.
    uses_workers = True

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> ArchiveSpider:
        spider: ArchiveSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.extractor = Extractor.from_crawler(crawler, configured_sites(crawler.settings))
        if cls.uses_workers and crawler.crawling:  # a crawl is starting, not a spider made to look at
            spider.extractor.start()
        spider._archive = None
        crawler.signals.connect(spider._close_archive, signal=signals.spider_closed)
        return spider

    @property
    def archive(self) -> Archive:
        """Read-only; for a worker of a distributed crawl, Redis's mirror of the archive."""
        if self._archive is None:
            self._archive = open_archive(self.crawler)
        return self._archive

    def _close_archive(self) -> None:
        if self._archive is not None:
            self._archive.close()
            self._archive = None

    @property
    def window(self) -> int:
        """Pages under way at once in ``start()``: enough to keep every worker busy."""
        return 16 * max(self.settings.getint("EXTRACT_WORKERS", 2), 1)

    def report_failure(self, url: str, stage: str, reason: str, site: str | None = None, skipped: bool = False) -> None:
        report_failure(self.crawler, url, stage, reason, site, skipped)

    def not_an_article(self, result: PageResult, name: str, site: str | None = None) -> None:
        """A page or seed that gave no article, named ``name``: a failure recorded with its reason,
        or, when nothing was left after cleaning, a warning."""
        if result.kind == "failed":
            self.report_failure(name, result.stage, result.reason or "failed", site)
        else:
            logger.warning("No article text left after cleaning: %s", name)

    @staticmethod
    def article_item(result: PageResult, **fields: Any) -> ArticleItem:
        """The item of a finished record (``result.fields``), with the source's own ``fields``."""
        return ArticleItem(**{**result.fields, "url": result.url, **fields})
