"""What a worker asks of the archive, answered from Redis: workers may run on machines without the
database, so the writer (``scrapy ingest``) keeps two mirrors of it there (:mod:`.writer`):
the URLs that led to a stored article (``article_urls``) and the feeds' validators (``fetch_state``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Union

from crawler.distributed.connection import Keys, connect, is_worker
from pipelines.db.store import ArchiveReader, database_path

if TYPE_CHECKING:
    import redis


class SharedArchive:
    """The questions of :class:`~pipelines.db.store.ArchiveReader` that a worker asks, from Redis."""

    def __init__(self, server: redis.Redis, keys: Keys) -> None:
        self.server, self.keys = server, keys

    def knows_url(self, url: str) -> bool:
        return bool(self.server.sismember(self.keys.stored, url))

    def known_urls(self, urls: list[str]) -> set[str]:
        """Those of ``urls`` that led to a stored article: one round trip for a whole sitemap's chunk."""
        if not urls:
            return set()
        return {url for url, known in zip(urls, self.server.smismember(self.keys.stored, urls)) if known}

    def fetch_state(self, url: str) -> dict[str, Any] | None:
        """The ``ETag`` and ``Last-Modified`` of ``url`` when last fetched, if any (as ArchiveReader says)."""
        raw = self.server.hget(self.keys.validators, url)
        if raw is None:
            return None
        etag, last_modified, _status = json.loads(raw)
        return {"etag": etag, "last_modified": last_modified}

    def close(self) -> None:
        self.server.close()


Archive = Union[ArchiveReader, SharedArchive]


def open_archive(crawler: Any) -> Archive:
    """The archive a spider or middleware of ``crawler`` asks: Redis's mirrors for a worker of a
    distributed crawl, else a read-only connection to ``NEWS_DB``."""
    if is_worker(crawler):
        return SharedArchive(connect(crawler.settings), Keys.from_settings(crawler.settings))
    return ArchiveReader.open_readonly(database_path(crawler.settings))
