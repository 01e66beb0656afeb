"""The LSH buckets of every signed article, in memory: band key -> the articles in that bucket.

Why in memory rather than an indexed SQLite table (the first design): a table of
42 rows per article is a B-tree of 4.2 million random keys at 100,000 articles;
each new article then dirties about 42 pages of it on commit and its lookups
leave the page cache, so the cost per article grew with the archive (1.3x the
lookup, 10x the commit from 1,000 to 100,000 articles; see
``bench/bench_neardup.py``). Here a lookup is a binary search in a sorted numpy
array and a new article only appends its signature row to the database.

The index is derived from ``neardup_signatures`` (the band keys are a function
of a signature) and is saved in ``neardup_index`` as a snapshot with the
signature sequence number it covers, so a crawl starts by loading the snapshot
and catching up on the signatures written since (see
:class:`~pipelines.neardup.NearDupIndex`). 12 bytes per bucket entry: about
0.5 KB per article, 50 MB at 100,000 articles.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

KEY = np.dtype("<u8")
ID = np.dtype("<u4")
# New entries wait in a dict and are merged into the sorted arrays when there
# are this many, or an eighth of the arrays (so a merge, which costs the size of
# the whole index, happens once per 12 % growth: constant time per article).
MERGE_AT_LEAST = 50_000
# Keys per block of the two-step search (see BucketIndex._first_at_or_after).
BLOCK = 16
_OFFSETS = np.arange(BLOCK)


class BucketIndex:
    """Band keys (uint64) of articles (uint32 ids): sorted arrays plus a dict of recent additions."""

    def __init__(self, keys: np.ndarray | None = None, ids: np.ndarray | None = None) -> None:
        # Sorted by key, then by article id (so a bucket's most recent articles come last).
        self.keys = np.empty(0, KEY) if keys is None else keys
        self.ids = np.empty(0, ID) if ids is None else ids
        self.recent: dict[int, list[int]] = {}
        self.recent_entries = 0
        self._fences: np.ndarray | None = None  # every BLOCK-th key, made at the first lookup

    def __len__(self) -> int:
        return len(self.keys) + self.recent_entries

    def add(self, article_id: int, keys: Iterable[int]) -> None:
        """Put ``article_id`` in the bucket of each band key."""
        for key in keys:
            self.recent.setdefault(int(key), []).append(article_id)
            self.recent_entries += 1
        if self.recent_entries >= max(MERGE_AT_LEAST, len(self.keys) // 8):
            self.merge()

    def extend(self, article_ids: np.ndarray, keys: np.ndarray) -> None:
        """Add many articles at once: ``keys`` has one row of band keys per id."""
        if len(article_ids) * keys.shape[1] < MERGE_AT_LEAST // 10:
            for article_id, row in zip(article_ids.tolist(), keys.tolist()):
                self.add(article_id, row)
            return
        self.merge(np.repeat(article_ids.astype(ID), keys.shape[1]), keys.astype(KEY).ravel())

    def merge(self, ids: np.ndarray | None = None, keys: np.ndarray | None = None) -> None:
        """Fold the recent dict (and ``ids``/``keys``, if given) into the sorted arrays."""
        parts_keys, parts_ids = [self.keys], [self.ids]
        if self.recent:
            counts = [len(members) for members in self.recent.values()]
            parts_keys.append(np.repeat(np.fromiter(self.recent, KEY, len(self.recent)), counts))
            parts_ids.append(np.fromiter((i for members in self.recent.values() for i in members), ID, sum(counts)))
        if ids is not None and keys is not None:
            parts_keys.append(keys)
            parts_ids.append(ids)
        all_keys, all_ids = np.concatenate(parts_keys), np.concatenate(parts_ids)
        order = np.lexsort((all_ids, all_keys))
        self.keys, self.ids = all_keys[order], all_ids[order]
        self.recent, self.recent_entries, self._fences = {}, 0, None

    def members(self, keys: Iterable[int], limit: int = 0) -> set[int]:
        """The articles sharing a bucket with ``keys``; with ``limit``, at most that many per bucket, the latest.

        A bucket shared by very many articles comes from shingles common to
        unrelated texts; its latest members are enough (a real copy shares
        several buckets with its source), and the limit keeps the candidates per
        new article from growing with the archive.
        """
        keys = np.fromiter((int(k) for k in keys), KEY)
        found: set[int] = set()
        starts = self._first_at_or_after(keys)
        # Most keys are in no bucket: the end of a bucket is searched for only when it is found.
        hits = self.keys[np.minimum(starts, len(self.keys) - 1)] == keys if len(self.keys) else np.zeros(len(keys), bool)
        for key, start, hit in zip(keys.tolist(), starts.tolist(), hits.tolist()):
            members = self.recent.get(key, [])
            if hit:
                end = start + int(np.searchsorted(self.keys[start : start + 4096], np.uint64(key), side="right"))
                if end == start + 4096:  # a bucket this crowded: search the rest too
                    end = int(np.searchsorted(self.keys, np.uint64(key), side="right"))
                members = self.ids[start:end].tolist() + members
            if limit and len(members) > limit:
                members = sorted(members)[-limit:]
            found.update(members)
        return found

    def _first_at_or_after(self, keys: np.ndarray) -> np.ndarray:
        """``np.searchsorted(self.keys, keys)``, in two steps that stay in the CPU caches.

        A plain binary search in 4 million keys misses the caches at each of its
        last dozen steps, which doubled the lookup time at 100,000 articles. Here
        the search runs on every ``BLOCK``-th key (a small array), then one
        vectorized comparison scans the block found.
        """
        if len(self.keys) == 0:
            return np.zeros(len(keys), np.int64)
        if self._fences is None:
            self._fences = self.keys[::BLOCK].copy()
        # The last block whose first key is below the searched one: every key before it is below too.
        blocks = np.maximum(np.searchsorted(self._fences, keys) - 1, 0)
        window = self.keys.take(blocks[:, np.newaxis] * BLOCK + _OFFSETS, mode="clip")
        below = window < keys[:, np.newaxis]
        return np.minimum(blocks * BLOCK + below.sum(axis=1), len(self.keys))

    # --- the snapshot in the database --------------------------------------------

    def parts(self, part_entries: int = 4_000_000) -> Iterator[tuple[bytes, bytes]]:
        """(keys, ids) blobs of at most ``part_entries`` entries each (an SQLite value stays under 1 GB)."""
        self.merge()
        for start in range(0, len(self.keys), part_entries):
            end = start + part_entries
            yield self.keys[start:end].tobytes(), self.ids[start:end].tobytes()

    @classmethod
    def from_parts(cls, parts: Iterable[tuple[bytes, bytes]]) -> BucketIndex:
        keys, ids = [], []
        for key_blob, id_blob in parts:
            keys.append(np.frombuffer(key_blob, KEY))
            ids.append(np.frombuffer(id_blob, ID))
        if not keys:
            return cls()
        return cls(np.concatenate(keys), np.concatenate(ids))
