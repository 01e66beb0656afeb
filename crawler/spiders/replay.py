"""Replay seed files offline through the same per-page function and writer as a crawl."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Any

from crawler.seeds import Seed, SeedError, iter_seed_paths, read_seed, site_of
from crawler.spiders.base import ArchiveSpider, in_order
from pipelines.page import Fetched, PageResult

logger = logging.getLogger(__name__)


class ReplaySpider(ArchiveSpider):
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

    def jobs(self) -> Iterator[tuple[tuple[Path, Seed | None], Awaitable[PageResult] | None]]:
        """Each seed file read, with the work the workers do on it (None: the file is unusable)."""
        max_bytes = self.settings.getint("SEEDS_MAX_BYTES")
        for path in iter_seed_paths(self.paths):
            self.crawler.stats.inc_value("replay/files")
            try:
                seed = read_seed(path, max_bytes, url=self.url)
            except SeedError as exc:
                logger.error("Skipped seed %s: %s", path, exc)
                self.report_failure(str(path), "replay", str(exc))
                yield (path, None), None
                continue
            work = self.extractor.page(seed) if isinstance(seed, Fetched) else self.extractor.text(seed)
            yield (path, seed), work

    async def start(self) -> AsyncIterator[Any]:
        async for (path, seed), result in in_order(self.jobs(), self.window):
            if seed is None or result is None:
                continue
            if result.kind == "article":
                if isinstance(seed, Fetched):
                    item = self.article_item(result, via="page", site=site_of(result.url))
                else:
                    item = self.article_item(result, url=seed["url"], via="seed")
                logger.debug("Replaying %s as %s", path, item.url)
                yield item
            elif result.kind == "failed" and result.stage == "url":  # a saved page that names no URL
                logger.error("Skipped seed %s: %s", path, result.reason)
                self.report_failure(str(path), "replay", result.reason or "failed")
            elif result.kind == "failed":  # named by its URL, or by its file when the URL was not read
                self.report_failure(result.url or str(path), result.stage, result.reason or "failed")
            else:
                logger.warning("No article text left after cleaning: %s", path)
