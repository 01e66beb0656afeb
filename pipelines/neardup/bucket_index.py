"""The LSH buckets of every signed article, in memory: band key -> the articles in that bucket.

Why in memory rather than an indexed SQLite table (the first design): a table of
42 rows per article is a B-tree of 4.2 million random keys at 100,000 articles;
each new article then dirties about 42 pages of it on commit and its lookups
leave the page cache, so the cost per article grew with the archive (1.3x the
lookup, 10x the commit from 1,000 to 100,000 articles; see
``bench/bench_neardup.py``). Here a lookup is two or three memory reads in
sorted numpy arrays and a new article only appends its signature row to the
database.

The index is derived from ``neardup_signatures`` (the band keys and sketches
are functions of a signature) and is saved in ``neardup_index`` as a snapshot
with the signature sequence number it covers, so a crawl starts by loading the
snapshot and catching up on the signatures written since (see
:class:`~pipelines.neardup.index.NearDupIndex`). Memory: 8 bytes per bucket entry
(42 per article) and a 256-byte sketch per article, about 0.6 KB per article,
66 MB at 100,000 articles.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable

import numpy as np

from pipelines.neardup.minhash import Signature, Thresholds, containment, sorted_distinct, sorted_firsts

# Band keys are kept by their top 32 bits: half the memory and cache misses of the
# full 64. Two keys that share them make a candidate too many, which the sketches
# then rule out (about one new article in 25 at 100,000 stored).
KEY = np.dtype("<u4")
ID = np.dtype("<u4")
SKETCH = np.dtype("<u2")
# New entries wait in a dict and are merged into the sorted arrays when there
# are this many, or a thirty-second of the arrays (so a merge, which costs the size of
# the whole index, happens once per 3 % growth: constant time per article). The dict
# takes some 100 bytes an entry, twelve times the arrays: at 20,000 articles it held
# up to 6 MB with merges at a sixteenth and 50,000 entries, for 0.3 s less of merging.
MERGE_AT_LEAST = 20_000
# Candidates judged one by one by Sketches.may_match; more are judged in array operations.
LOOP_AT_MOST = 8
# Entries of a directory slot compared in one vectorized step (see BucketIndex._find);
# a slot holds four on average, more only with a crowded bucket.
_WINDOW = np.arange(16)


def narrow_keys(keys: np.ndarray) -> np.ndarray:
    """The top 32 bits of uint64 band keys (keys narrowed already stay as they are)."""
    if keys.dtype == KEY:
        return keys
    return (keys.astype(np.uint64) >> np.uint64(32)).astype(KEY)


def _as_keys(keys: Iterable[int]) -> np.ndarray:
    """Band keys as a uint64 array (a row of :meth:`Banding.keys` as it is, else a list of ints)."""
    return keys if isinstance(keys, np.ndarray) else np.fromiter((int(key) for key in keys), np.uint64)


def _as_list(members: int | list[int]) -> list[int]:
    """A bucket's recent members (see ``BucketIndex.recent``) as a list."""
    return [members] if isinstance(members, int) else members


def _recent_arrays(recent: dict[int, int | list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The entries of ``BucketIndex.recent`` as arrays of keys and ids, without a list per entry."""
    counts = np.fromiter((1 if isinstance(members, int) else len(members) for members in recent.values()),
                         np.intp, len(recent))
    ids = np.fromiter((i for members in recent.values() for i in _as_list(members)), ID, int(counts.sum()))
    return np.repeat(np.fromiter(recent, KEY, len(recent)), counts), ids


def _counted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``values`` in order and how often each occurs: ``np.unique(return_counts=True)``
    without its overheads, which cost more than the work on the hundred values of a lookup."""
    values, first = sorted_firsts(values)
    starts = np.flatnonzero(first)
    counts = np.empty(len(starts), np.intp)
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1:] = len(values) - starts[-1:]
    return values[starts], counts


def _latest(members: list[int], limit: int) -> list[int]:
    """The latest ``limit`` articles of a bucket's recent list (kept in order; 0: all)."""
    if not limit or len(members) <= limit:
        return members
    tail = members[-limit:]
    # An article twice in a bucket (a band key repeated, or a re-signed article) takes one place.
    return tail if len(set(tail)) == limit else sorted(set(members))[-limit:]


class BucketIndex:
    """Band keys (uint64, kept by their top 32 bits) of articles (uint32 ids).

    Sorted arrays, plus a dict of the entries added since they were last merged.
    """

    def __init__(self, keys: np.ndarray | None = None, ids: np.ndarray | None = None) -> None:
        # Sorted by key, then by article id (so a bucket's most recent articles come last).
        self.keys = np.empty(0, KEY) if keys is None else keys
        self.ids = np.empty(0, ID) if ids is None else ids
        # Key -> its one article id, or a list of them (in order) when the key is shared: most keys
        # are an article's own, and a list for each would double the memory of the dict.
        self.recent: dict[int, int | list[int]] = {}
        self.recent_entries = 0
        self._directory: np.ndarray | None = None  # made at the first lookup (see _find)
        self._bits = 0
        # The buckets of more entries than a directory window: their keys, starts and ends (see _find).
        self._crowded = (np.empty(0, KEY), np.empty(0, np.int64), np.empty(0, np.int64))

    def __len__(self) -> int:
        return len(self.keys) + self.recent_entries

    def add(self, article_id: int, keys: Iterable[int]) -> None:
        """Put ``article_id`` in the bucket of each band key."""
        recent = self.recent
        for key in narrow_keys(_as_keys(keys)).tolist():
            members = recent.get(key)
            if members is None:
                recent[key] = article_id
            elif isinstance(members, int):
                recent[key] = [members, article_id] if members <= article_id else [article_id, members]
            elif members[-1] <= article_id:
                members.append(article_id)
            else:  # kept in order, so a crowded bucket's latest are its last (a re-signed article)
                bisect.insort(members, article_id)
            self.recent_entries += 1
        if self.recent_entries >= max(MERGE_AT_LEAST, len(self.keys) // 32):
            self.merge()

    def extend(self, article_ids: np.ndarray, keys: np.ndarray) -> None:
        """Add many articles at once: ``keys`` has one row of band keys per id (uint64, or narrowed already)."""
        if len(article_ids) * keys.shape[1] < MERGE_AT_LEAST // 10:
            for article_id, row in zip(article_ids.tolist(), keys):  # rows keep their dtype (narrowed or not)
                self.add(article_id, row)
            return
        self.merge(np.repeat(article_ids.astype(ID), keys.shape[1]), narrow_keys(keys).ravel())

    def merge(self, ids: np.ndarray | None = None, keys: np.ndarray | None = None) -> None:
        """Fold the recent dict (and ``ids``/``keys``, if given) into the sorted arrays."""
        parts_keys, parts_ids = [], []
        if self.recent:
            recent_keys, recent_ids = _recent_arrays(self.recent)
            parts_keys.append(recent_keys)
            parts_ids.append(recent_ids)
        # The dict is let go before the arrays grow (some 100 bytes an entry).
        self.recent, self.recent_entries, self._directory = {}, 0, None
        if ids is not None and keys is not None:
            parts_keys.append(keys)
            parts_ids.append(ids)
        if parts_keys:
            # The new (key, id) pairs packed in a uint64, sorted, then put in their places among the
            # sorted arrays: a sort of the whole index took 29 MB more for the moment of each merge
            # at 20,000 articles (the engine's peak), this 14 MB, and half the time.
            pairs = np.concatenate(parts_keys).astype(np.uint64) << np.uint64(32)
            pairs |= np.concatenate(parts_ids).astype(np.uint64)
            pairs.sort()
            new_keys, new_ids = (pairs >> np.uint64(32)).astype(KEY), pairs.astype(ID)  # ids: the low 32 bits
            places = self._places(new_keys, new_ids)
            self.keys = np.insert(self.keys, places, new_keys)
            self.ids = np.insert(self.ids, places, new_ids)

    def _places(self, keys: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Where each (key, id) pair (sorted) goes in the sorted arrays: after the entries of its key with a
        smaller or equal id (nearly always after all of them: new articles have the largest ids)."""
        places = np.searchsorted(self.keys, keys, side="right")
        behind = np.flatnonzero(places > 0)
        last = places[behind] - 1  # the last entry of the pair's key, if the arrays have that key
        behind = behind[(self.keys[last] == keys[behind]) & (self.ids[last] > ids[behind])]
        if len(behind):  # a bucket of a later article (a re-signed one, another crawl's): search its run
            firsts = np.searchsorted(self.keys, keys[behind])
            for number, first in zip(behind.tolist(), firsts.tolist()):
                if first < places[number]:
                    places[number] = first + np.searchsorted(self.ids[first : places[number]], ids[number], "right")
        return places

    def members(self, keys: Iterable[int], limit: int = 0) -> set[int]:
        """The articles sharing a bucket with ``keys``; with ``limit``, at most that many per bucket, the latest.

        A bucket shared by very many articles comes from shingles common to
        unrelated texts; its latest members are enough (a real copy shares
        several buckets with its source), and the limit keeps the candidates per
        new article from growing with the archive.
        """
        keys = narrow_keys(_as_keys(keys))
        return self._members(keys, limit, self._find(keys) if len(self.keys) else None)

    def lookup(self, keys: Iterable[int], shared_keys: Iterable[int], at_least: int, limit: int = 0) -> tuple[set[int], list[int]]:
        """``members(keys, limit)`` and ``sharing(shared_keys, at_least, limit)`` with one search of the arrays.

        The writer's lookup of a new article: its shingle bands and its anchor bands together.
        """
        keys, shared_keys = narrow_keys(_as_keys(keys)), sorted_distinct(narrow_keys(_as_keys(shared_keys)))
        spans = self._find(np.concatenate([keys, shared_keys])) if len(self.keys) else None
        mine, shared = (None, None) if spans is None else (
            (spans[0][: len(keys)], spans[1][: len(keys)]), (spans[0][len(keys) :], spans[1][len(keys) :]))
        ids, counts = self._shared(shared_keys, limit, shared)
        return self._members(keys, limit, mine), ids[counts >= at_least].tolist()

    def _members(self, keys: np.ndarray, limit: int, spans: tuple[np.ndarray, np.ndarray] | None) -> set[int]:
        """:meth:`members` of narrowed ``keys``, with their ``spans`` in the sorted arrays (see :meth:`_find`)."""
        found: set[int] = set()
        in_arrays = self._sorted_members(keys, spans, limit) if spans is not None else {}
        for key in keys.tolist():
            members, recent = in_arrays.get(key, ()), self.recent.get(key)
            if recent is not None:  # both parts in order: the latest of the two are among their latest
                members = [*members, *(_as_list(recent)[-limit:] if limit else _as_list(recent))]
            if limit and len(members) > limit:
                members = sorted(members)[-limit:]
            found.update(members)
        return found

    def member_counts(self, keys: Iterable[int], limit: int = 0) -> Counter[int]:
        """How many of ``keys``' buckets each article shares (``limit`` as in :meth:`members`)."""
        ids, counts = self._shared_keys(keys, limit)
        return Counter(dict(zip(ids.tolist(), counts.tolist())))

    def sharing(self, keys: Iterable[int], at_least: int, limit: int = 0) -> list[int]:
        """The articles that share at least ``at_least`` of ``keys``' buckets (``limit`` as in :meth:`members`).

        The spun-copy candidates: an article in 3 of a new one's 12 anchor buckets.
        """
        ids, counts = self._shared_keys(keys, limit)
        return ids[counts >= at_least].tolist()

    def _shared_keys(self, keys: Iterable[int], limit: int) -> tuple[np.ndarray, np.ndarray]:
        keys = sorted_distinct(narrow_keys(_as_keys(keys)))
        return self._shared(keys, limit, self._find(keys) if len(self.keys) else None)

    def _shared(
        self, keys: np.ndarray, limit: int, spans: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The articles in ``keys``' buckets (the latest ``limit`` of each), and in how many each.

        A fixed number of array operations whatever the buckets hold: the anchor buckets
        this serves fill up (to ``limit``) as the archive grows, and a Python step per bucket
        or per member made the spun-copy lookup 1.7x slower from 1,000 to 100,000 articles.
        """
        buckets, members = [], []
        if spans is not None:  # where ``keys`` (distinct, narrowed) are in the sorted arrays (see _find)
            starts, runs = spans
            starts = starts.astype(np.int64)
            ends = starts + runs
            if limit:  # a bucket's ids are sorted: its latest come last
                starts = np.maximum(starts, ends - limit)
            lengths = (ends - starts).astype(np.intp)
            total = int(lengths.sum())
            if total:
                places = np.repeat(starts.astype(np.intp) - (np.cumsum(lengths) - lengths), lengths)
                members.append(self.ids[places + np.arange(total)])
                buckets.append(np.repeat(np.arange(len(keys), dtype=np.uint64), lengths))
        if self.recent:
            newer: list[int] = []
            numbers: list[int] = []
            for number, key in enumerate(keys.tolist()):
                if (recent := self.recent.get(key)) is not None:
                    newer += _latest(_as_list(recent), limit)
                    numbers += [number] * (len(newer) - len(numbers))
            if newer:
                members.append(np.array(newer, ID))
                buckets.append(np.array(numbers, np.uint64))
        if not members:
            return np.empty(0, ID), np.empty(0, np.intp)
        # (bucket, article) pairs, each once (a re-signed article may be in a bucket twice), in order.
        pairs, _ = _counted((np.concatenate(buckets) << np.uint64(32)) | np.concatenate(members).astype(np.uint64))
        if limit:  # the latest ``limit`` of each bucket across the sorted arrays and the recent dict
            bucket = pairs >> np.uint64(32)
            pairs = pairs[np.arange(len(pairs)) >= np.searchsorted(bucket, bucket, side="right") - limit]
        return _counted((pairs & np.uint64(0xFFFFFFFF)).astype(ID))

    def _sorted_members(
        self, keys: np.ndarray, spans: tuple[np.ndarray, np.ndarray], limit: int = 0
    ) -> dict[int, list[int]]:
        """The ids of each of ``keys`` found in the sorted arrays (``spans``: see :meth:`_find`), the
        latest ``limit`` of each (a crowded bucket's thousands are not made into a list)."""
        starts, runs = spans
        ends = starts.astype(np.int64) + runs
        firsts = np.maximum(starts, ends - limit) if limit else starts
        return {
            key: self.ids[first:end].tolist()
            for key, first, end in zip(keys[runs > 0].tolist(), firsts[runs > 0].tolist(), ends[runs > 0].tolist())
        }

    def _find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each of ``keys`` starts in the sorted arrays, and how many entries it has (0: absent).

        Keys are uniform 64-bit hashes, so a directory by their top bits (about
        four keys a slot) finds a key with two or three memory reads. A binary
        search in 4 million keys misses the CPU caches at each of its last dozen
        steps, which doubled the lookup time from 1,000 to 100,000 articles.
        """
        if self._directory is None:
            self._index_directory()
        slot = (keys >> np.uint32(32 - self._bits)).astype(np.intp)
        first = self._directory[slot].astype(np.int64)
        # Keys after the slot are larger and clipped places repeat the last key, so the
        # window needs no mask: it is only unsure when what it saw reaches its end.
        window = self.keys.take(first[:, np.newaxis] + _WINDOW, mode="clip")
        below = (window < keys[:, np.newaxis]).sum(axis=1)
        starts, runs = first + below, (window == keys[:, np.newaxis]).sum(axis=1)
        unsure = np.flatnonzero(below + runs == len(_WINDOW))
        crowded_keys, crowded_starts, crowded_ends = self._crowded
        if len(unsure) and len(crowded_keys):
            # A crowded bucket (common anchors fill some by the thousand): its bounds are kept.
            place = np.minimum(np.searchsorted(crowded_keys, keys[unsure]), len(crowded_keys) - 1)
            hit = crowded_keys[place] == keys[unsure]
            starts[unsure[hit]] = crowded_starts[place[hit]]
            runs[unsure[hit]] = crowded_ends[place[hit]] - crowded_starts[place[hit]]
            unsure = unsure[~hit]
        for number in unsure.tolist():
            # A slot crowded by other keys: search it alone (a search of the whole array misses the caches).
            low, high = int(self._directory[slot[number]]), int(self._directory[slot[number] + 1])
            part = self.keys[low:high]
            starts[number] = low + np.searchsorted(part, keys[number])
            runs[number] = low + np.searchsorted(part, keys[number], side="right") - starts[number]
        return starts, runs

    def _index_directory(self) -> None:
        """Make the directory of :meth:`_find` (where each slot of top bits starts) and the bounds of
        the crowded buckets, once per merge: an array pass, some 30 ms at 100,000 articles.

        Without those bounds, a crowded bucket cost two binary searches at each lookup, and
        the anchor buckets of common names and years are crowded by the thousand at 100,000.
        """
        self._bits = max(1, int(np.ceil(np.log2(max(len(self.keys) / 4, 2)))))
        # A slot starts at the first key of its top bits or above: searched for, a part of the slots at a
        # time, not counted (counting made a slot number per entry: 31 MB more for a moment at 20,000
        # articles, the engine's peak, against 4 MB; the search takes some 20 ms more).
        slots, step, shift = 2**self._bits, 1 << 16, np.uint32(32 - self._bits)
        self._directory = np.empty(slots + 1, np.uint32)
        for start in range(0, slots, step):
            firsts = np.arange(start, min(start + step, slots), dtype=KEY) << shift
            self._directory[start : start + len(firsts)] = np.searchsorted(self.keys, firsts)
        self._directory[-1] = len(self.keys)
        span = len(_WINDOW) - 1  # a bucket of a window's length or more has two equal keys this far apart
        crowded = np.unique(self.keys[:-span][self.keys[:-span] == self.keys[span:]]) if len(self.keys) > span else []
        crowded = np.asarray(crowded, KEY)
        self._crowded = (crowded, np.searchsorted(self.keys, crowded).astype(np.int64),
                         np.searchsorted(self.keys, crowded, side="right").astype(np.int64))

    # --- the snapshot in the database --------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        """The index as named arrays, to save (recent entries merged in first)."""
        self.merge()
        return {"keys": self.keys, "ids": self.ids}

    @classmethod
    def from_arrays(cls, arrays: dict[str, bytes]) -> BucketIndex:
        """The index saved by :meth:`arrays`; ValueError when the saved arrays do not fit together."""
        if not arrays.get("keys"):
            return cls()
        entries = len(arrays["keys"]) // KEY.itemsize
        if len(arrays["keys"]) % KEY.itemsize or entries != len(arrays.get("ids", b"")) // ID.itemsize:
            raise ValueError("band keys and article ids differ in length")
        # Copies into arrays numpy allocates: those get huge pages (fewer TLB misses), bytes do not.
        keys, ids = np.frombuffer(arrays["keys"], KEY).copy(), np.frombuffer(arrays["ids"], ID).copy()
        if np.any(keys[1:] < keys[:-1]):
            raise ValueError("band keys out of order")
        return cls(keys, ids)


class Sketches:
    """The low 16 bits of each article's MinHash values and its shingle count, by article id.

    A first test of the LSH candidates, in memory: two equal hash values have
    equal low bits, so the share of equal low bits is never below the Jaccard
    estimate the full signatures give, and a candidate that fails here would
    fail there. Only the candidates that pass are read from the database: reading
    each took most of the time per article on a large archive, where unrelated
    articles that share a bucket become more common. 256 bytes per article.
    """

    def __init__(self, num_perm: int, values: np.ndarray | None = None, sizes: np.ndarray | None = None) -> None:
        self.num_perm = num_perm
        self.values = np.zeros((0, num_perm), SKETCH) if values is None else values
        self.sizes = np.zeros(0, ID) if sizes is None else sizes  # 0: not known here

    def put(self, ids: np.ndarray, values: np.ndarray, sizes: np.ndarray) -> None:
        """Keep the sketch of each of ``ids`` (rows of ``values``: their uint32 MinHash values)."""
        needed = int(ids.max()) + 1 if len(ids) else 0
        if needed > len(self.sizes):
            # Growth by a quarter at least: appends stay cheap, and little memory is idle.
            capacity = max(needed, len(self.sizes) + len(self.sizes) // 4, 1024)
            grown_values = np.zeros((capacity, self.num_perm), SKETCH)
            grown_values[: len(self.values)] = self.values
            grown_sizes = np.zeros(capacity, ID)
            grown_sizes[: len(self.sizes)] = self.sizes
            self.values, self.sizes = grown_values, grown_sizes
        self.values[ids] = values.astype(SKETCH)  # the low 16 bits
        self.sizes[ids] = sizes

    def known(self, article_id: int) -> bool:
        """Whether ``article_id`` has a sketch here already."""
        return article_id < len(self.sizes) and bool(self.sizes[article_id])

    def any_known(self, ids: np.ndarray) -> bool:
        """Whether any of ``ids`` has a sketch here already (its signature is being replaced)."""
        ids = ids[ids < len(self.sizes)]
        return bool(len(ids) and self.sizes[ids].any())

    def may_match(self, signature: Signature, ids: Iterable[int], thresholds: Thresholds) -> list[int]:
        """The ``ids`` that could be near-duplicates of ``signature`` (the unknown ones included).

        A loop for a few candidates (most articles have one or two), where it costs less than
        array operations; those for more (articles sharing sentences with many others).
        """
        ids = ids if isinstance(ids, list) else list(ids)
        if len(ids) > LOOP_AT_MOST:
            return self._may_match_arrays(signature, ids, thresholds)
        low, known, kept = signature.values.astype(SKETCH), len(self.sizes), []
        for article_id in ids:
            size = int(self.sizes[article_id]) if article_id < known else 0
            if size:
                upper = np.count_nonzero(self.values[article_id] == low) / self.num_perm
                if upper < thresholds.jaccard and (
                    min(size, signature.size) < thresholds.min_shingles
                    or containment(upper, size, signature.size) < thresholds.containment
                ):
                    continue
            kept.append(article_id)
        return kept

    def _may_match_arrays(self, signature: Signature, ids: list[int], thresholds: Thresholds) -> list[int]:
        """:meth:`may_match` in array operations: the same test on all candidates at once."""
        wanted = np.array(ids, np.int64)
        known = wanted < len(self.sizes)
        sizes = np.zeros(len(wanted), np.int64)
        sizes[known] = self.sizes[wanted[known]]
        upper = np.zeros(len(wanted))
        upper[known] = np.count_nonzero(self.values[wanted[known]] == signature.values.astype(SKETCH), axis=1)
        upper /= self.num_perm
        smaller = np.minimum(sizes, signature.size)
        with np.errstate(divide="ignore", invalid="ignore"):  # containment() of a size 0 is 0
            contained = np.minimum(1.0, upper * (sizes + signature.size) / ((1.0 + upper) * smaller))
        contained[smaller == 0] = 0.0
        ruled_out = (sizes > 0) & (upper < thresholds.jaccard) & (
            (smaller < thresholds.min_shingles) | (contained < thresholds.containment))
        return wanted[~ruled_out].tolist()

    def arrays(self) -> dict[str, np.ndarray]:
        """The sketches to save, up to the last article known (not the room grown for the next ones)."""
        known = np.flatnonzero(self.sizes)
        end = int(known[-1]) + 1 if len(known) else 0
        return {"sketches": self.values[:end], "sizes": self.sizes[:end]}

    @classmethod
    def from_arrays(cls, arrays: dict[str, bytes], num_perm: int) -> Sketches:
        """The sketches saved by :meth:`arrays`; ValueError when they do not fit ``num_perm`` or each other."""
        if not arrays.get("sizes"):
            return cls(num_perm)
        rows = len(arrays["sizes"]) // ID.itemsize
        if len(arrays.get("sketches", b"")) != rows * num_perm * SKETCH.itemsize:
            raise ValueError(f"sketches do not hold {num_perm} values for each of {rows} articles")
        values = np.frombuffer(arrays["sketches"], SKETCH).reshape(-1, num_perm)
        # Copies: the loaded buffers are read-only, and put() writes in place.
        return cls(num_perm, values.copy(), np.frombuffer(arrays["sizes"], ID).copy())
