"""MinHash signatures of Vietnamese text and the LSH banding over them.

Pure functions and small classes, no Scrapy and no SQLite: the per-page
function in the workers signs, the writer looks up, and the ``scrapy neardup``
command, the tests and the benchmark share them.

The signature of a set of strings (:meth:`Signer.sign_set`, the anchors of
:mod:`pipelines.neardup.spin`) is exactly datasketch's (``MinHash(scheme="affine32",
seed=1)``: SHA-1 of each string, then its permutations), computed here with numpy alone:
importing datasketch brings in scipy, 46 MB in every extraction worker;
``tests/test_neardup_minhash.py`` checks it value for value. A text's shingles are signed
otherwise (:meth:`Signer.sign`, :data:`SHINGLE_HASH`): hashed from the hashes of their
syllables, each syllable hashed once per process, in array operations (SHA-1 of each
shingle string was 0.45 ms of a 1.1 ms text seed), then sampled by one-permutation
hashing instead of 128 permutations (the workers' CPU in a replay of text seeds -16 %).
The band parameters are datasketch's ``MinHashLSH`` optimum, computed the same way
(see :func:`optimal_bands`).

Vietnamese writes one syllable per space-separated token and most words are
two syllables, so a shingle is ``k`` consecutive syllables of the lower-cased
text without punctuation. ``k = 3`` was chosen by measurement (see
``bench/bench_neardup.py`` and docs/benchmarks.md): 2 lets unrelated articles about the
same institution share too much ("Tổng cục Kỹ thuật", "Đảng ủy"...), 4 and more
lose reworded copies, where every substituted syllable breaks ``k`` shingles.
"""

from __future__ import annotations

import hashlib
import re
from hashlib import blake2b
import unicodedata
from collections.abc import Callable, Iterable, Set as AbstractSet
from dataclasses import dataclass
from operator import methodcaller
from typing import TYPE_CHECKING

import numpy as np

from pipelines.neardup import seeded

if TYPE_CHECKING:
    from datasketch import LeanMinHash

SCHEME = "affine32"  # datasketch's default since 2.0: uint32 hash values
SEED = 1
# A syllable: letters and digits (Vietnamese letters carry their marks after NFC).
SYLLABLE = re.compile(r"\w+", re.UNICODE)


def syllables(text: str) -> list[str]:
    """The lower-cased syllables of ``text``, punctuation dropped."""
    return SYLLABLE.findall(unicodedata.normalize("NFC", text).lower())


def shingles(text: str, size: int) -> set[str]:
    """The set of ``size``-syllable shingles of ``text`` (the whole text when shorter)."""
    words = syllables(text)
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return set(map(" ".join, zip(*(words[i:] for i in range(size)))))


# How a text's shingles are hashed and sampled; kept in neardup_config with the signatures
# (signatures made otherwise are signed again when the writer opens: NearDupIndex.check_config).
# Before one-permutation hashing (Signer.sign), "syllable-blake2b": 128 affine permutations.
SHINGLE_HASH = "syllable-blake2b-oph"
# Before it, SHA-1 of each shingle's text (what neardup_config without the name means).
LEGACY_SHINGLE_HASH = "sha1"
# Syllables whose hash a process keeps: Vietnamese news uses a few tens of thousands (names and
# figures included); at this many (some 12 MB) the memo starts again.
SYLLABLE_MEMO = 100_000
_syllable_hash: dict[str, int] = {}
# Shingle hash: each syllable's 64-bit hash times this, plus the next one's (a polynomial in the
# hashes, so that order counts), then the splitmix64 finalizer.
_STEP = np.uint64(0x9E3779B97F4A7C15)


def signing(num_perm: int, shingle_size: int, candidate_threshold: float) -> str:
    """What a signature and its band keys depend on, in one string: a record carries it, and the
    writer takes a record's signature only when it signs the same way (a worker of another version
    or other ``NEARDUP_*`` settings, in a distributed crawl, would otherwise link nonsense)."""
    return f"{SHINGLE_HASH} num_perm={num_perm} shingle_size={shingle_size} candidate_threshold={candidate_threshold}"


def _hashes_of(words: list[str]) -> np.ndarray:
    """The 64-bit hash of each syllable (blake2b's first 8 bytes), from the process's memo."""
    memo = _syllable_hash
    hashes = list(map(memo.get, words))
    if None in hashes:
        if len(memo) >= SYLLABLE_MEMO:
            memo.clear()
        for number, word in enumerate(words):
            if hashes[number] is None:
                hashes[number] = memo[word] = int.from_bytes(blake2b(word.encode(), digest_size=8).digest(), "little")
    return np.array(hashes, np.uint64)


def shingle_hashes(text: str, size: int) -> np.ndarray:
    """The distinct 64-bit hashes of ``text``'s ``size``-syllable shingles (of the whole text when shorter),
    sorted: one for each shingle :func:`shingles` gives, barring a collision in 2^64."""
    words = syllables(text)
    if not words:
        return np.empty(0, np.uint64)
    hashes = _hashes_of(words)
    width = min(size, len(words))
    count = len(words) - width + 1
    mixed = hashes[:count].copy()
    for offset in range(1, width):
        mixed *= _STEP
        mixed += hashes[offset : offset + count]
    return sorted_distinct(_splitmix64(mixed))


def sorted_firsts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` sorted, and a mask of the first place of each distinct value among them: the work of
    ``np.unique`` without its overheads, which cost more than the work on the few hundred values of a
    text's shingles or of a bucket lookup (3 against 31 µs)."""
    values = np.sort(values)
    return values, run_starts(values)


def run_starts(values: np.ndarray) -> np.ndarray:
    """A mask of the first place of each run of equal values in sorted ``values``."""
    first = np.empty(len(values), bool)
    first[:1] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    return first


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)``, by :func:`sorted_firsts`."""
    values, first = sorted_firsts(values)
    return values[first]


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer, in place: every bit of the result depends on every bit of the input."""
    values ^= values >> _SHIFT_30
    values *= _MIX_1
    values ^= values >> _SHIFT_27
    values *= _MIX_2
    values ^= values >> _SHIFT_31
    return values


@dataclass(frozen=True)
class Signature:
    """A text's MinHash values (uint32) and the number of distinct shingles they were built from.

    Plain values rather than datasketch objects: candidates are read and compared
    by the dozen per new article, and building a ``LeanMinHash`` for each costs
    more than the comparison (see ``bench/bench_neardup.py``).
    """

    values: np.ndarray
    size: int

    @property
    def minhash(self) -> LeanMinHash:
        """The values as datasketch's MinHash, for its other tools (e.g. ``MinHashLSH``; their Jaccard
        estimate is the share of equal values, whichever way the values were sampled)."""
        from datasketch import LeanMinHash

        return LeanMinHash(seed=SEED, hashvalues=self.values, scheme=SCHEME)

    def jaccard(self, other: Signature) -> float:
        """Estimated Jaccard similarity: the share of equal hash values (as ``MinHash.jaccard``)."""
        if len(self.values) != len(other.values):
            raise ValueError(f"signatures of {len(self.values)} and {len(other.values)} permutations: rebuild")
        return int(np.count_nonzero(self.values == other.values)) / len(self.values)

    def to_blob(self) -> bytes:
        """The hash values as little-endian uint32 bytes, for the database."""
        return self.values.astype("<u4").tobytes()

    @classmethod
    def from_blob(cls, blob: bytes, size: int) -> Signature:
        return cls(np.frombuffer(blob, dtype="<u4").astype(np.uint32), size)


_DIGEST = methodcaller("digest")
# Bins an empty bin tries before it takes the next filled one (see Signer.sign): for a text of 13
# shingles (a tenth of the bins filled), 3 % of the empty ones get that far; from 100, none.
BORROW_ATTEMPTS = 32
# The MurmurHash3 32-bit finalizer, which datasketch's affine32 scheme applies to each input hash.
_FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


def permutations(num_perm: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations ``h -> a*h + b mod 2^32`` (``a`` odd) of datasketch's affine32 scheme
    (those of the default settings kept in :mod:`pipelines.neardup.seeded`)."""
    if (known := seeded.PERMUTATIONS.get((num_perm, seed))) is not None:
        a, b = (np.frombuffer(bytes.fromhex(part), "<u4").astype(np.uint32) for part in known)
        return a, b
    return generated_permutations(num_perm, seed)


def generated_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`permutations` as datasketch makes them, from numpy's Mersenne Twister."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def band_salts(bands: int, seed: int) -> np.ndarray:
    """A uint64 salt per band (those of the default settings kept in :mod:`pipelines.neardup.seeded`)."""
    if (known := seeded.SALTS.get((bands, seed))) is not None:
        return np.frombuffer(bytes.fromhex(known), "<u8").astype(np.uint64)
    return generated_salts(bands, seed)


def generated_salts(bands: int, seed: int) -> np.ndarray:
    """:func:`band_salts` from numpy's default generator."""
    return np.random.default_rng(seed).integers(1, 2**63, size=bands, dtype=np.uint64)


class Signer:
    """Build signatures with fixed parameters (the permutations are made once)."""

    def __init__(self, num_perm: int = 128, shingle_size: int = 3, seed: int = SEED) -> None:
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self.seed = seed
        self._a, self._b = permutations(num_perm, seed)  # for sign_set
        self._borrowing: np.ndarray | None = None

    def sign(self, text: str) -> Signature:
        """The signature of ``text``'s shingles (:func:`shingle_hashes`), by one-permutation hashing.

        Each distinct shingle hash falls in one of ``num_perm`` bins by its top bits, and a bin's
        value is the low 32 bits of its smallest hash: one pass over the shingles, where 128
        permutations of each cost a third of signing (Li, Owen and Zhang, 2012). A bin no shingle
        falls in (a short text's) borrows the value of another, the first that is filled along a
        sequence of bins fixed for it, the same for every text (Shrivastava's optimal densification,
        2017): two texts' values agree as often as their shingle sets do (the Jaccard similarity),
        as with the permutations. The labelled set's estimates are as close (tests).
        """
        hashed = shingle_hashes(text, self.shingle_size)  # sorted, distinct
        values = np.full(self.num_perm, np.uint32(0xFFFFFFFF), np.uint32)
        if not len(hashed):
            return Signature(values, 0)
        # The bin of a hash: its top 32 bits scaled to num_perm, so bins rise with the sorted hashes
        # and the first hash of each run of equal bins is the bin's smallest.
        bins = ((hashed >> _SHIFT_32) * np.uint64(self.num_perm) >> _SHIFT_32).astype(np.intp)
        first = run_starts(bins)
        filled = bins[first]
        values[filled] = hashed[first].astype(np.uint32)  # the low 32 bits
        if len(filled) < self.num_perm:
            self._densify(values, filled)
        return Signature(values, len(hashed))

    def _densify(self, values: np.ndarray, filled: np.ndarray) -> None:
        """Give each empty bin the value of the first filled bin of its borrowing sequence (in place)."""
        is_filled = np.zeros(self.num_perm, bool)
        is_filled[filled] = True
        empty = np.flatnonzero(~is_filled)
        choices = self._borrow[empty]
        hits = is_filled[choices]
        attempt = hits.argmax(axis=1)
        source = choices[np.arange(len(empty)), attempt]
        missed = ~hits[np.arange(len(empty)), attempt]
        if missed.any():  # no filled bin among its attempts (a text of a few shingles): the next filled one
            source[missed] = filled[np.searchsorted(filled, empty[missed]) % len(filled)]
        values[empty] = values[source]

    @property
    def _borrow(self) -> np.ndarray:
        """For each bin, the bins it borrows from in turn (:data:`BORROW_ATTEMPTS`), from splitmix64 of
        the bin and attempt numbers: fixed for all texts, and no ``numpy.random`` (3 MB a process)."""
        if self._borrowing is None:
            numbers = np.arange(self.num_perm * BORROW_ATTEMPTS, dtype=np.uint64) + np.uint64(self.seed << 32)
            draws = _splitmix64(numbers) >> _SHIFT_32
            self._borrowing = (draws * np.uint64(self.num_perm) >> _SHIFT_32).astype(np.intp).reshape(
                self.num_perm, BORROW_ATTEMPTS)
        return self._borrowing

    def sign_set(self, grams: AbstractSet[str]) -> Signature:
        """The signature of any set of strings (the anchors of :mod:`pipelines.neardup.spin`): datasketch's."""
        # SHA-1's first four bytes, little-endian: datasketch's sha1_hash32 (map() keeps the loop in C).
        digests = b"".join(map(_DIGEST, map(hashlib.sha1, map(str.encode, grams))))
        hashed = np.frombuffer(digests, np.uint8).reshape(-1, 20)[:, :4].copy().view("<u4").reshape(-1)
        return Signature(self._min_hashes(hashed.astype(np.uint32)), len(grams))

    def _min_hashes(self, hashed: np.ndarray) -> np.ndarray:
        """The minimum of each permutation over the uint32 ``hashed``, as datasketch's affine32 scheme makes it."""
        values = np.full(self.num_perm, np.uint32(0xFFFFFFFF), np.uint32)
        if not len(hashed):
            return values
        s1, m1, s2, m2, s3 = _FMIX
        hashed = hashed[:, np.newaxis].copy()
        hashed ^= hashed >> s1
        hashed *= m1
        hashed ^= hashed >> s2
        hashed *= m2
        hashed ^= hashed >> s3
        permuted = hashed * self._a
        # In place: for a temporary over 256 KB (512 shingles and more), `hashed * a + b` has numpy
        # check who called it (glibc's backtrace) before reusing it: 0.15 ms, 5 times the addition.
        permuted += self._b
        return np.minimum(values, permuted.min(axis=0))


@dataclass(frozen=True)
class Match:
    """A stored article found similar to a new one."""

    similar_id: int
    jaccard: float  # estimated by MinHash
    containment: float  # estimated share of the smaller text's shingles found in the other
    method: str  # "jaccard" or "containment": which threshold it passed; "spun": pipelines/neardup/spin.py

    @property
    def score(self) -> float:
        """The score of the method that found it (for ``spun``, the aligned share kept in ``containment``)."""
        return self.jaccard if self.method == "jaccard" else self.containment


def containment(jaccard: float, size_a: int, size_b: int) -> float:
    """Estimate |A∩B| / min(|A|, |B|) from the Jaccard estimate and the set sizes.

    |A∩B| = J·|A∪B| and |A∪B| = (|A| + |B|) / (1 + J).
    """
    smaller = min(size_a, size_b)
    if smaller == 0:
        return 0.0
    return min(1.0, jaccard * (size_a + size_b) / ((1.0 + jaccard) * smaller))


class Banding:
    """LSH banding: ``bands`` bucket keys per signature, each from ``rows`` hash values.

    The number of bands and rows are those datasketch's :class:`MinHashLSH`
    chooses for ``threshold`` (:func:`optimal_bands`) (the Jaccard similarity a pair must reach to be
    likely to share a bucket). The buckets themselves live in our own compact
    index (:mod:`pipelines.neardup.bucket_index`), not in datasketch's dicts of Python
    objects, which take seconds and hundreds of megabytes to load at 100,000
    articles (see ``bench/bench_neardup.py``).
    """

    def __init__(
        self, num_perm: int = 128, threshold: float = 0.3, bands_rows: tuple[int, int] | None = None, seed: int = SEED
    ) -> None:
        # Bands are consecutive runs of ``rows`` values, as datasketch's.
        self.bands, self.rows = bands_rows or optimal_bands(threshold, num_perm)
        # A different start per band, so equal values in two bands give two keys (and another
        # ``seed``, another key space: the spun-copy bands share the bucket index).
        self._salts = band_salts(self.bands, seed)

    def keys(self, values: np.ndarray) -> np.ndarray:
        """The uint64 bucket keys of many signatures at once: one row of ``bands`` keys per row of ``values``.

        A multiply-xorshift mix of each band's values (the splitmix64 finalizer),
        vectorized so that a whole archive is keyed in a fraction of a second.
        """
        banded = values[:, : self.bands * self.rows].astype(np.uint64).reshape(len(values), self.bands, self.rows)
        keys = np.repeat(self._salts[np.newaxis, :], len(values), axis=0)  # a copy (broadcast_to's costs 3x)
        for row in range(self.rows):
            keys ^= banded[:, :, row]
            keys *= _MIX_1
            keys ^= keys >> _SHIFT_31
        keys ^= keys >> _SHIFT_30
        keys *= _MIX_2
        keys ^= keys >> _SHIFT_27
        return keys

    def buckets(self, signature: Signature) -> list[int]:
        """The bucket keys of one signature."""
        return self.keys(signature.values[np.newaxis, :])[0].tolist()


def _legendre(degree: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Legendre polynomial of ``degree`` (1 or more) at ``x``, and its derivative there."""
    before, current = np.ones_like(x), x.copy()
    for n in range(2, degree + 1):
        before, current = current, ((2 * n - 1) * x * current - (n - 1) * before) / n
    return current, degree * (x * current - before) / (x * x - 1)


def gauss_legendre(points: int) -> tuple[np.ndarray, np.ndarray]:
    """The nodes (ascending) and weights of Gauss-Legendre quadrature on [-1, 1]: numpy's ``leggauss``,
    by Newton's method on the Legendre recurrence. ``leggauss`` solves an eigenvalue problem, which
    loads LAPACK's code into every process that signs (3 MB more in the engine and in each worker).
    """
    # Tricomi's approximation of the roots, then Newton steps until they no longer move.
    x = np.cos(np.pi * (np.arange(points, 0, -1) - 0.25) / (points + 0.5))
    for _ in range(100):
        value, slope = _legendre(points, x)
        step = value / slope
        x = x - step
        if np.abs(step).max() < 1e-15:
            break
    slope = _legendre(points, x)[1]
    return x, 2 / ((1 - x * x) * slope * slope)


def optimal_bands(threshold: float, num_perm: int, false_positive_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) with the least weighted sum of false positive and negative probabilities.

    datasketch's ``MinHashLSH`` optimizer (weights 0.5 and 0.5), without scipy:
    the integrands are polynomials of degree ``bands * rows <= num_perm``, so
    Gauss-Legendre quadrature with ``num_perm // 2 + 1`` points is exact.
    """
    nodes, weights = gauss_legendre(num_perm // 2 + 1)

    def integral(function: Callable[[np.ndarray], np.ndarray], low: float, high: float) -> float:
        half = (high - low) / 2
        return float(half * np.sum(weights * function(half * nodes + (high + low) / 2)))

    best, best_error = (0, 0), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            false_positive = integral(lambda s: 1 - (1 - s**rows) ** bands, 0.0, threshold)
            false_negative = integral(lambda s: (1 - s**rows) ** bands, threshold, 1.0)
            error = false_positive * false_positive_weight + false_negative * (1 - false_positive_weight)
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


_MIX_1, _MIX_2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_SHIFT_27, _SHIFT_30, _SHIFT_31, _SHIFT_32 = np.uint64(27), np.uint64(30), np.uint64(31), np.uint64(32)


@dataclass(frozen=True)
class Thresholds:
    """When two texts are near-duplicates (settings ``NEARDUP_*``)."""

    jaccard: float = 0.25
    containment: float = 0.6
    # Containment links need this many shingles in the smaller text: on a few
    # lines the estimate is too noisy.
    min_shingles: int = 30


def judge(signature: Signature, other: Signature, other_id: int, thresholds: Thresholds) -> Match | None:
    """A :class:`Match` when the two texts are near-duplicates, else None."""
    jaccard = signature.jaccard(other)
    contained = containment(jaccard, signature.size, other.size)
    if jaccard >= thresholds.jaccard:
        method = "jaccard"
    elif contained >= thresholds.containment and min(signature.size, other.size) >= thresholds.min_shingles:
        method = "containment"
    else:
        return None
    return Match(other_id, round(jaccard, 4), round(contained, 4), method)


def find_matches(
    signature: Signature, candidates: Iterable[int], signatures: Callable[[list[int]], dict[int, Signature]],
    thresholds: Thresholds,
) -> list[Match]:
    """The ``candidates`` (read through ``signatures``) that are near-duplicates of ``signature``."""
    ordered = sorted(candidates)
    if not ordered:
        return []
    found = signatures(ordered)
    matches = (judge(signature, found[key], key, thresholds) for key in ordered if key in found)
    return [match for match in matches if match]
