"""Extract article text and metadata from HTML with trafilatura.

Items that arrive with ``html`` (fetched or saved pages) are extracted here,
once per page; items that arrive with ``text`` (text seeds) pass through.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NoReturn

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured
from trafilatura.settings import use_config

from pipelines.extract_pool import ExtractionTimeout, ExtractPool, WorkerFailed
from pipelines.vietnamese.extract import extract_article
from pipelines.store import report_failure

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class ExtractionFailed(DropItem):
    """The page has no article text that trafilatura could find."""


class ExtractPipeline:
    """Extract items that carry HTML; items with text pass through.

    Settings: ``EXTRACT_ENABLED``, ``EXTRACT_WORKERS`` (worker processes; 0 extracts in
    the engine's process, without a time limit), ``EXTRACT_TIMEOUT`` (seconds per page).
    Stats: ``extract/ok``, ``extract/failed``, ``extract/timeout``.
    """

    def __init__(self, crawler: Crawler, workers: int, timeout: float) -> None:
        self.crawler = crawler
        self.config = use_config()  # built once; never mutate trafilatura's DEFAULT_CONFIG
        self.timeout = timeout
        self.pool = ExtractPool(workers, timeout) if workers > 0 else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        settings = crawler.settings
        if not settings.getbool("EXTRACT_ENABLED", True):
            raise NotConfigured("EXTRACT_ENABLED is off")
        workers, timeout = settings.getint("EXTRACT_WORKERS", 2), settings.getfloat("EXTRACT_TIMEOUT", 60.0)
        if workers < 0 or timeout <= 0:  # an error, not NotConfigured: a crawl without extraction stores nothing
            raise ValueError(
                f"EXTRACT_WORKERS must be 0 or more and EXTRACT_TIMEOUT above 0, got {workers} and {timeout}"
            )
        pipeline = cls(crawler, workers, timeout)
        if pipeline.pool is not None:
            for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
                crawler.signals.connect(pipeline._item_done, signal=signal)
        return pipeline

    async def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        html = adapter.get("html")
        if not html:
            return item
        url = adapter["url"]
        try:
            if self.pool is None:
                fields = extract_article(html, url, self.config)
            else:
                fields = await self.pool.extract(html, url)
        except ExtractionTimeout:
            self.crawler.stats.inc_value("extract/timeout")
            self._fail(url, f"extraction took longer than EXTRACT_TIMEOUT={self.timeout:g}s; the page was skipped")
        except WorkerFailed as exc:
            self._fail(url, f"extraction failed: {exc}")
        if fields is None:
            self._fail(url, "no article text found in the page")
        for name, value in fields.items():
            if value and not adapter.get(name):
                adapter[name] = value
        self.crawler.stats.inc_value("extract/ok")
        return item

    def _item_done(self) -> None:
        """Let the engine see soon that an item from ``start()`` finished.

        Scrapy re-checks whether a spider is idle when a response or request
        moves, not when an item yielded by ``start()`` (replay, reextract)
        finishes asynchronously: without a nudge such a run waits for the
        engine's 5 s heartbeat before closing. The nudge comes a moment after
        the item signal, once the scraper has counted the item out. If Scrapy's
        internals change, the heartbeat's wait is all that is lost.
        """
        nextcall = getattr(getattr(self.crawler.engine, "_slot", None), "nextcall", None)
        if nextcall is not None:
            from twisted.internet import reactor

            reactor.callLater(0.05, nextcall.schedule)  # type: ignore[attr-defined]

    def _fail(self, url: str, reason: str) -> NoReturn:
        self.crawler.stats.inc_value("extract/failed")
        report_failure(self.crawler, url, "extract", reason)
        raise ExtractionFailed(f"{reason}: {url}")

    def close_spider(self) -> None:
        if self.pool is not None:
            self.pool.close()
