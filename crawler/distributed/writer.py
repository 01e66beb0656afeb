"""What the one writer (``scrapy ingest``) keeps in Redis: its lock, and the mirrors of the archive.

- :class:`WriterLock`: one writer per prefix. Two writers would each take records and commit them
  to the same database (fine for SQLite) but each would recover the other's ``pending`` records
  as if left by a killed writer: every record could be stored, and acknowledged, twice over.
- :class:`Mirror`: the set of stored URLs (``article_urls``) and the hash of validators
  (``fetch_state``) that workers read instead of the database (:mod:`.archive`).
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING

from crawler.distributed.connection import Keys
from crawler.schedule.state import process_alive
from pipelines.db.store import ArchiveReader

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

# Rows read from the database per Redis command when a mirror is filled.
FILL_CHUNK = 10_000

# Refresh the lock's expiry, or take over a lock whose holder is gone: only if it is still `old`.
_REFRESH = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) end "
    "return false"
)
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class WriterLocked(ValueError):
    """Another ``scrapy ingest`` writes this prefix's records; the message names it."""


class WriterLock:
    """``<prefix>:writer``: ``host:pid`` of the writer, expiring after ``seconds`` unless refreshed."""

    def __init__(self, server: redis.Redis, keys: Keys, seconds: float) -> None:
        self.server, self.key, self.seconds = server, keys.writer, seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}"

    @property
    def ttl_ms(self) -> int:
        return max(int(self.seconds * 1000), 1000)

    def acquire(self) -> None:
        """Take the lock, or raise :class:`WriterLocked`. A holder on this machine whose process
        is gone (a writer killed with SIGKILL) is taken over at once, not after its expiry."""
        if self.server.set(self.key, self.holder, nx=True, px=self.ttl_ms):
            return
        held = self.server.get(self.key)
        other = held.decode() if held is not None else ""
        if other and self._gone(other) and self.server.eval(_REFRESH, 1, self.key, other, self.holder, self.ttl_ms):
            logger.warning("Ingest: took over the writer lock %s of %s, a process that is gone", self.key, other)
            return
        if held is None and self.server.set(self.key, self.holder, nx=True, px=self.ttl_ms):
            return  # expired between the two calls
        raise self.locked(other)

    def check(self) -> None:
        """:class:`WriterLocked` when another live writer holds the lock (what acquire() would say)."""
        other = self.holding()
        if other and other != self.holder and not self._gone(other):
            raise self.locked(other)

    def locked(self, other: str) -> WriterLocked:
        return WriterLocked(
            f"another scrapy ingest is the writer of these records: {other or 'unknown'} holds {self.key} "
            f"(it expires {self.seconds:g} s after that writer stops); stop it, or wait"
        )

    def holding(self) -> str | None:
        """Who holds the lock now (None: nobody)."""
        held = self.server.get(self.key)
        return held.decode() if held is not None else None

    @staticmethod
    def _gone(holder: str) -> bool:
        host, _, pid = holder.rpartition(":")
        return host == socket.gethostname() and pid.isdigit() and not process_alive(int(pid))

    def refresh(self) -> bool:
        """Keep the lock (a LoopingCall, every third of its expiry); False when another writer has it now.

        Expired (the writer stalled longer than its expiry, or Redis restarted) and free: taken again."""
        if self.server.eval(_REFRESH, 1, self.key, self.holder, self.holder, self.ttl_ms):
            return True
        if self.server.set(self.key, self.holder, nx=True, px=self.ttl_ms):
            logger.warning("Ingest: the writer lock %s had expired: taken again", self.key)
            return True
        logger.error("Ingest: lost the writer lock %s to %s: stopping", self.key, self.holding())
        return False

    def release(self) -> None:
        self.server.eval(_RELEASE, 1, self.key, self.holder)


def _validator(etag: str | None, last_modified: str | None, status: int | None) -> str:
    return json.dumps([etag, last_modified, status])


class Mirror:
    """The archive's state workers need, in Redis: stored URLs (a set), validators (a hash)."""

    def __init__(self, server: redis.Redis, keys: Keys) -> None:
        self.server, self.keys = server, keys

    def fill(self, archive: ArchiveReader) -> tuple[int, int]:
        """Fill a mirror the Redis lacks (a new Redis, a new prefix) from the database, in chunks;
        built under a temporary key and renamed, so a writer killed mid-way leaves none half-full.
        Returns the URLs and validators copied."""
        urls = validators = 0
        if not self.server.exists(self.keys.stored):
            urls = self._fill(self.keys.stored, archive, "SELECT url FROM article_urls",
                              lambda key, rows: self.server.sadd(key, *(row[0] for row in rows)))
        if not self.server.exists(self.keys.validators):
            validators = self._fill(
                self.keys.validators, archive, "SELECT url, etag, last_modified, status FROM fetch_state",
                lambda key, rows: self.server.hset(key, mapping={row[0]: _validator(*row[1:]) for row in rows}),
            )
        return urls, validators

    def _fill(self, key: str, archive: ArchiveReader, sql: str, add) -> int:  # type: ignore[no-untyped-def]
        temporary = f"{key}:filling"
        self.server.delete(temporary)
        cursor = archive.db.execute(sql)
        count = 0
        while rows := cursor.fetchmany(FILL_CHUNK):
            add(temporary, rows)
            count += len(rows)
        if count:
            self.server.rename(temporary, key)
        return count

    def add(self, pipe: redis.client.Pipeline, urls: Iterable[str],
            validators: dict[str, tuple[str | None, str | None, int]]) -> None:
        """Queue on ``pipe`` what a commit stored: URLs, and validators."""
        urls = list(urls)
        if urls:
            pipe.sadd(self.keys.stored, *urls)
        if validators:
            pipe.hset(self.keys.validators, mapping={url: _validator(*v) for url, v in validators.items()})
