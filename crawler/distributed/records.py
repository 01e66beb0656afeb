"""Finished records on their way from the workers to the one writer, through a Redis list.

A record is JSON (bytes fields base64): ``{"kind": ..., "id": ..., "data": {...}}``, where kind
is ``article`` (an :class:`~crawler.items.ArticleItem`'s fields), ``failure`` (the arguments of
:data:`crawler.signals.page_failed`) or ``run`` (a worker's run starting or finishing). JSON, not
pickle: the writer must never run code that someone with access to Redis put there.

Reliable queue: workers push on the left of ``records``; the writer moves records from its right
to ``pending`` (one atomic LMOVE each), stores them, and removes them from ``pending`` only after
the transaction that stored them has committed. A writer killed mid-batch leaves them in
``pending``; the next writer moves them back first (:meth:`RecordQueue.recover`). A record can so
be delivered twice, never lost; the writer's exact dedupe stores it once.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import TYPE_CHECKING, Any

from crawler.distributed.connection import Keys

if TYPE_CHECKING:
    import redis

KINDS = ("article", "failure", "run")


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _revive(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$b64" in value:
            return base64.b64decode(value["$b64"])
        return {key: _revive(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_revive(item) for item in value]
    return value


def encode(kind: str, data: dict[str, Any]) -> bytes:
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r} (one of {', '.join(KINDS)})")
    return json.dumps({"kind": kind, "id": uuid.uuid4().hex, "data": _plain(data)}, ensure_ascii=False).encode("utf-8")


def decode(raw: bytes) -> tuple[str, str, dict[str, Any]]:
    """``(kind, id, data)`` of a record; ValueError for anything that is not one."""
    try:
        record = json.loads(raw)
        kind, record_id, data = record["kind"], record["id"], record["data"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a record: {raw[:80]!r}") from exc
    if kind not in KINDS or not isinstance(data, dict):
        raise ValueError(f"not a record: {raw[:80]!r}")
    return kind, record_id, _revive(data)


class RecordQueue:
    """The ``records`` list (workers push) and the writer's ``pending`` list."""

    def __init__(self, server: redis.Redis, keys: Keys) -> None:
        self.server, self.keys = server, keys

    # --- workers -------------------------------------------------------------------
    def push(self, kind: str, data: dict[str, Any], finished: tuple[str, str] | None = None) -> None:
        """Queue a record; ``finished`` (an in-flight hash and a token) is removed in the same
        transaction: the request that made the record is done exactly when its record is queued."""
        pipe = self.server.pipeline(transaction=True)
        pipe.lpush(self.keys.records, encode(kind, data))
        if finished is not None:
            pipe.hdel(*finished)
        pipe.execute()

    def backlog(self) -> int:
        """Records waiting for the writer."""
        return int(self.server.llen(self.keys.records))

    # --- the writer ------------------------------------------------------------------
    def recover(self) -> int:
        """Move back to the queue the records a killed writer took but never committed; how many."""
        moved = 0
        while self.server.lmove(self.keys.pending, self.keys.records, "LEFT", "RIGHT") is not None:
            moved += 1
        return moved

    def take(self, count: int) -> list[bytes]:
        """Up to ``count`` records, oldest first, each moved to ``pending`` atomically (no wait)."""
        pipe = self.server.pipeline(transaction=False)
        for _ in range(count):
            pipe.lmove(self.keys.records, self.keys.pending, "RIGHT", "LEFT")
        return [raw for raw in pipe.execute() if raw is not None]

    def done(self, raws: list[bytes]) -> None:
        """Forget records whose transaction committed."""
        if not raws:
            return
        pipe = self.server.pipeline(transaction=False)
        for raw in raws:
            pipe.lrem(self.keys.pending, 1, raw)
        pipe.execute()
