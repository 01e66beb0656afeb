"""Replay seed files offline through the same per-page function and writer as a crawl."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Any

from crawler.seeds import (
    Seed, SeedError, SeedFiles, iter_seed_paths, read_seed, read_text_seed, reader_for, site_of,
)
from crawler.spiders.base import ArchiveSpider, in_order
from pipelines.page import Fetched, PageResult

logger = logging.getLogger(__name__)

# Why a saved page is skipped: the summary line and the failures table say it.
NOT_AN_ARTICLE = "not an article"
# Text seeds sent to a worker in one job: a seed takes about a millisecond there, and a
# round trip to a worker costs a fair part of one.
TEXT_BATCH = 16
# A text seed file in :meth:`ReplaySpider.seeds`: a worker reads it.
TEXT_FILE: Any = object()


class ReplaySpider(ArchiveSpider):
    """Yield one item per seed file or saved page; unreadable files are recorded as failures.

    Arguments: ``paths`` (files and folders), ``url`` (the URL of a single saved
    page that does not state its own). Settings: ``SEEDS_MAX_BYTES``.
    """

    name = "replay"
    command = "replay"

    def __init__(self, paths: list[str] | str = (), url: str | None = None,  # type: ignore[assignment]
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.paths = [paths] if isinstance(paths, str) else list(paths)
        self.url = url

    def progress_total(self) -> int:
        """The files to replay, for the progress bar (crawler/progress.py)."""
        return sum(1 for _ in iter_seed_paths(self.paths))

    def seeds(self) -> Iterator[tuple[Path, Seed | None]]:
        """Each seed file: a saved page read (None: unusable, recorded as a failure), or a text seed
        to be read by a worker (:data:`TEXT_FILE`)."""
        max_bytes = self.settings.getint("SEEDS_MAX_BYTES")
        for path, refused in iter_seed_paths(self.paths):
            self.crawler.stats.inc_value("replay/files")
            try:
                if refused:
                    raise SeedError(refused)
                if reader_for(path) is read_text_seed:
                    yield path, TEXT_FILE
                else:
                    yield path, read_seed(path, max_bytes, url=self.url)
            except SeedError as exc:
                self.skipped(path, str(exc))
                yield path, None

    def skipped(self, path: Path, reason: str) -> None:
        logger.error("Skipped seed %s: %s", path, reason)
        self.report_failure(str(path), "replay", reason)

    def jobs(self) -> Iterator[tuple[list[tuple[Path, Seed]], Awaitable[Any] | None]]:
        """The seeds in order, with the work the workers do on them: a saved page alone, text seed
        files in batches (the worker reads them: reading them here took a twentieth of the engine)."""
        texts: list[tuple[Path, Seed]] = []
        max_bytes = self.settings.getint("SEEDS_MAX_BYTES")

        def batch() -> Awaitable[Any]:
            return self.extractor.seed_files(SeedFiles([str(path) for path, _ in texts], max_bytes, self.url))

        for path, seed in self.seeds():
            if seed is TEXT_FILE:
                texts.append((path, seed))
                if len(texts) < TEXT_BATCH:
                    continue
            if texts:
                yield texts, batch()
                texts = []
            if isinstance(seed, Fetched):
                yield [(path, seed)], self.extractor.page(seed)
        if texts:
            yield texts, batch()

    async def start(self) -> AsyncIterator[Any]:
        async for seeds, results in in_order(self.jobs(), self.window):
            for (path, seed), result in zip(seeds, results if isinstance(results, list) else [results]):
                if item := self.outcome(path, seed, result):
                    yield item

    def outcome(self, path: Path, seed: Seed, result: PageResult) -> Any:
        """The item of a seed that became an article; a failure recorded, or nothing, otherwise."""
        if result.kind == "article":
            if isinstance(seed, Fetched):
                return self.article_item(result, via="page", site=site_of(result.url))
            return self.article_item(result, url=result.fields["url"], via="seed")
        # A text seed file that cannot be one, or a saved page that names no URL.
        if result.kind == "failed" and result.stage in ("seed", "url"):
            self.skipped(path, result.reason or "failed")
        elif result.kind == "listing":  # a saved page that fails the crawl's test of an article
            reason = f"{NOT_AN_ARTICLE}: {result.reason}"
            logger.warning("Skipped %s: %s", path, reason)
            self.report_failure(str(path), "replay", reason, skipped=True)
        else:  # named by its URL, or by its file when the URL was not read
            self.not_an_article(result, result.url or str(path))
        return None
