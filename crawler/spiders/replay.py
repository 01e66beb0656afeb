"""Replay seed files offline through the same pipelines as a crawl."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import scrapy

from crawler.seeds import SeedError, iter_seed_paths, read_seed
from pipelines.store import report_failure

logger = logging.getLogger(__name__)


class ReplaySpider(scrapy.Spider):
    """Yield one item per seed file or saved page; unreadable files are recorded as failures.

    Arguments: ``paths`` (files and folders), ``url`` (the URL of a single saved
    page that does not state its own). Settings: ``SEEDS_MAX_BYTES``.
    """

    name = "replay"
    command = "replay"

    def __init__(self, paths: list[str] | str = (), url: str | None = None, **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(**kwargs)
        self.paths = [paths] if isinstance(paths, str) else list(paths)
        self.url = url

    async def start(self) -> AsyncIterator[Any]:
        max_bytes = self.settings.getint("SEEDS_MAX_BYTES")
        stats = self.crawler.stats
        for path in iter_seed_paths(self.paths):
            stats.inc_value("replay/files")
            try:
                item = read_seed(path, max_bytes, url=self.url)
            except SeedError as exc:
                logger.error("Skipped seed %s: %s", path, exc)
                report_failure(self.crawler, str(path), "replay", str(exc))
                continue
            logger.debug("Replaying %s as %s", path, item.url)
            yield item
