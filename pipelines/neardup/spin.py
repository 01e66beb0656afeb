"""The second near-duplicate signal, made for spun copies (words swapped for synonyms, sentences shuffled).

A content farm's rewriter swaps common words for synonyms, shuffles sentences
and adds lines; each swapped syllable breaks ``k`` shingles, so at a third of
the words swapped the MinHash of 3-syllable shingles no longer finds the copy.
What a spinner keeps are the article's *anchors*: numbers, dates, amounts and
names (runs of capitalized syllables inside a sentence). So:

- **Candidates** (in the workers: :class:`SpinSigner`): a small MinHash of the
  anchor set, banded (:data:`BANDS` bands of :data:`ROWS` values) into keys that
  live in the same in-memory bucket index as the shingle bands (another salt, so
  the two never meet). A stored article is a candidate when it shares at least
  ``min_bands`` of them, which a copy with most of its anchors does.
- **Verification** (in the writer: :func:`verify`): an alignment of the two
  syllable sequences, sentence by sentence (each sentence of the shorter text
  against its best match in the other, by rapidfuzz's Indel distance on one
  character per syllable), so a substitution in place costs only its syllables
  and a shuffled sentence still finds its partner. Plus the anchors themselves:
  two reports of the same ministry, club or weather service share most prose
  and names, but not their dates and figures.

Pure functions, no Scrapy and no SQLite, like :mod:`pipelines.neardup.minhash`.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from pipelines.neardup.minhash import Banding, Match, Signer

# 24 MinHash values of the anchor set, in 12 bands of 2. A candidate shares 3 bands
# (SpinThresholds.min_bands): a copy that keeps most anchors (Jaccard 0.8: 0.64 a band)
# does so 99.9 % of the time, one with Jaccard 0.6 86 %, an article sharing a fifth of
# them 1 % (2 bands would be 8 %, and as many more texts to read and verify).
NUM_PERM, BANDS, ROWS = 24, 12, 2
ANCHOR_SEED, SALT_SEED = 2, 13  # not the shingle MinHash's: other permutations, other bucket keys
# Fewer anchors than this: no keys (a text without figures or names gives none to trust).
MIN_ANCHORS = 4

_SENTENCE_END = re.compile(r"(?<=[.!?…;:])\s+|\n+")
_WORD = re.compile(r"\w+", re.UNICODE)
_EDGE = ".,;:!?…\"'“”‘’()[]«»"
# A figure: any token with a digit (dates, scores, amounts, percentages).
_FIGURE = re.compile(r"(?<!\S)\S*\d\S*")
# Vietnamese (and Latin) capitals, for the names: a run of capitalized words, letters only.
_UPPER = "".join(c for c in map(chr, range(0x41, 0x1F00)) if c.isupper() and c.isalpha())
# The capital first and the look-behind after it (not before a non-word character: the first is a
# word character), so that the engine skips to the capitals rather than trying every place: 3x faster.
_NAME = re.compile(rf"[{_UPPER}](?<!\w\w)[^\W\d_]*(?:[ \t]+[{_UPPER}][^\W\d_]*)+(?![\w])")
# What comes before the first word of a sentence, which is capitalized whatever it is.
_SENTENCE_START = frozenset(".!?…;:\n\"“(")


def _sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(unicodedata.normalize("NFC", text)) if part.strip()]


def anchors(text: str) -> set[str]:
    """The tokens a spinner keeps: numbers and dates (any token with a digit), and names.

    A name is a run of two or more capitalized words ("Nguyễn Văn Thắng", "Tiền
    Giang"), without the first word of a sentence, which is capitalized whatever
    it is (a spinner may swap it). Regular expressions over the whole text: the
    writer computes this for each candidate it verifies.
    """
    text = unicodedata.normalize("NFC", text)
    found = {figure.strip(_EDGE).lower() for figure in _FIGURE.findall(text)}
    for match in _NAME.finditer(text):
        name, before = match.group().lower(), text[max(0, match.start() - 2) : match.start()].rstrip(" \t")
        if not before or before[-1] in _SENTENCE_START:
            name = name.partition(" ")[2].lstrip(" \t")
        if " " in name or "\t" in name:
            found.add(" ".join(name.split()))
    found.discard("")
    return found


@dataclass(frozen=True)
class SpinSignature:
    """The MinHash values (uint32) of an article's anchors, and how many anchors it has."""

    values: np.ndarray
    anchors: int

    def to_blob(self) -> bytes:
        return self.values.astype("<u4").tobytes()

    @classmethod
    def from_blob(cls, blob: bytes, anchors: int) -> SpinSignature:
        return cls(np.frombuffer(blob, dtype="<u4").astype(np.uint32), anchors)


class SpinSigner:
    """Sign an article's anchors and band them into bucket keys (made once per process)."""

    def __init__(self) -> None:
        self.signer = Signer(NUM_PERM, 1, seed=ANCHOR_SEED)
        self.banding = Banding(NUM_PERM, bands_rows=(BANDS, ROWS), seed=SALT_SEED)

    def sign(self, text: str) -> SpinSignature:
        return self.sign_anchors(anchors(text))

    def sign_anchors(self, found: AbstractSet[str]) -> SpinSignature:
        """The signature of an article's anchors (:func:`anchors`)."""
        return SpinSignature(self.signer.sign_set(found).values, len(found))

    def keys(self, signatures: Iterable[SpinSignature]) -> np.ndarray:
        """One row of uint64 bucket keys per signature (an empty row for one with too few anchors)."""
        signatures = list(signatures)
        if not signatures:
            return np.zeros((0, BANDS), np.uint64)
        return self.banding.keys(np.stack([signature.values for signature in signatures]))

    def article_keys(self, signature: SpinSignature) -> np.ndarray:
        """The bucket keys of one article: none when it has fewer than :data:`MIN_ANCHORS` anchors."""
        if signature.anchors < MIN_ANCHORS:
            return np.zeros(0, np.uint64)
        return self.banding.keys(signature.values[np.newaxis, :])[0]


# --- verification --------------------------------------------------------------------


@dataclass(frozen=True)
class SpinThresholds:
    """When a candidate is a spun copy (settings ``NEARDUP_SPIN_*``)."""

    alignment: float = 0.5  # share of the shorter text aligned with the other, syllable by syllable
    anchors: float = 0.6  # share of the anchors (and of the figures) of the one with fewer found in the other
    min_bands: int = 3  # anchor bands a candidate must share
    min_syllables: int = 80  # the shorter text: on a few lines, anything aligns


@lru_cache(maxsize=1 << 16)
def _code(syllable: str) -> str:
    # One character per syllable, so that rapidfuzz aligns syllables; outside the BMP,
    # where a collision between two of a text's few hundred syllables is one in millions.
    return chr(0x10000 + zlib.crc32(syllable.encode("utf-8")) % 0xE0000)


def encode(text: str) -> list[str]:
    """The text's sentences, each as a string of one character per lower-cased syllable."""
    encoded = ("".join(map(_code, _WORD.findall(sentence.lower()))) for sentence in _sentences(text))
    return [sentence for sentence in encoded if sentence]


def alignment(shorter: list[str], longer: list[str]) -> float:
    """The share of ``shorter``'s syllables aligned with ``longer``: each sentence with its best match.

    Indel similarity per pair of sentences (``1 - (insertions + deletions) / (m + n)``),
    weighted by the sentence's length; rapidfuzz's ``cdist`` computes the whole matrix in C.
    """
    from rapidfuzz.distance import Indel
    from rapidfuzz.process import cdist

    if not shorter or not longer:
        return 0.0
    matrix = cdist(shorter, longer, scorer=Indel.normalized_similarity, dtype=np.float32)
    lengths = np.fromiter(map(len, shorter), np.float32, len(shorter))
    return float((matrix.max(axis=1) * lengths).sum() / lengths.sum())


def anchor_overlap(a: set[str], b: set[str]) -> float:
    """The share of the smaller anchor set found in the other."""
    smaller = min(len(a), len(b))
    return len(a & b) / smaller if smaller else 0.0


_DIGIT = re.compile(r"\d")


def _figures(found: AbstractSet[str]) -> set[str]:
    search = _DIGIT.search  # a figure is a token with a digit (see _FIGURE); names have none
    return {anchor for anchor in found if search(anchor)}


# Figures are compared when both texts have at least this many.
MIN_FIGURES = 2


def same_event(a: set[str], b: set[str], threshold: float) -> bool:
    """Whether two anchor sets can be one event: most anchors, and most figures (dates, scores, amounts), shared.

    Same-subject articles (one club's match reports, one service's weather bulletins)
    share their names and much of their prose, never their dates and figures. Texts
    with too few anchors to say pass (the text comparison decides alone).
    """
    if min(len(a), len(b)) < MIN_ANCHORS:
        return True
    if anchor_overlap(a, b) < threshold:
        return False
    figures_a, figures_b = _figures(a), _figures(b)
    if min(len(figures_a), len(figures_b)) < MIN_FIGURES:
        return True
    return anchor_overlap(figures_a, figures_b) >= threshold


def keep_same_event(
    text: str | SpinText, matches: list[Match], texts: Callable[[list[int]], dict[int, Any]],
    thresholds: SpinThresholds,
) -> list[Match]:
    """The shingle-MinHash ``matches`` whose texts can be the same event as ``text`` (see :func:`same_event`).

    ``texts`` gives the stored texts by id, as strings or :class:`SpinText`.
    """
    if not matches:
        return matches
    own, found = SpinText.of(text).anchors, texts([match.similar_id for match in matches])
    return [m for m in matches if m.similar_id not in found
            or same_event(own, SpinText.of(found[m.similar_id]).anchors, thresholds.anchors)]


class SpinText:
    """What verification needs of one text, each part computed once and only when asked
    (most candidates fail on their anchors, before their sentences are encoded).

    A stored article can come with its anchors known (the writer keeps the recent ones)
    and its text read only when the anchors pass: ``load`` reads it.
    """

    def __init__(self, text: str | None = None, *, anchors: frozenset[str] | None = None,
                 load: Callable[[], str] | None = None, sentences: list[str] | None = None) -> None:
        if text is not None:
            self.__dict__["text"] = text
        if anchors is not None:
            self.__dict__["anchors"] = anchors
        if sentences is not None:
            self.__dict__["sentences"] = sentences
        self._load = load

    @property
    def encoded(self) -> list[str] | None:
        """:attr:`sentences` if they were encoded (or given) already, else None."""
        return self.__dict__.get("sentences")

    @cached_property
    def text(self) -> str:
        assert self._load is not None, "a SpinText needs its text or a way to read it"
        return self._load()

    @cached_property
    def anchors(self) -> frozenset[str]:
        return frozenset(anchors(self.text))

    @cached_property
    def sentences(self) -> list[str]:
        return encode(self.text)

    @cached_property
    def syllables(self) -> int:
        return sum(map(len, self.sentences))

    @classmethod
    def of(cls, text: str | SpinText) -> SpinText:
        return text if isinstance(text, SpinText) else cls(text)


def verify(new: SpinText, other: SpinText, other_id: int, thresholds: SpinThresholds) -> Match | None:
    """A :class:`Match` (method ``"spun"``) when ``other`` is the same text reworded, else None."""
    if not same_event(new.anchors, other.anchors, thresholds.anchors):
        return None
    shorter, longer = sorted((new, other), key=lambda text: text.syllables)
    if shorter.syllables < thresholds.min_syllables:
        return None
    overlap = anchor_overlap(new.anchors, other.anchors)
    aligned = alignment(shorter.sentences, longer.sentences)
    if aligned < thresholds.alignment:
        return None
    return Match(other_id, round(overlap, 4), round(aligned, 4), "spun")


def find_spun(
    text: str | SpinText, candidates: Iterable[int], texts: Callable[[list[int]], dict[int, Any]],
    thresholds: SpinThresholds,
) -> list[Match]:
    """The ``candidates`` (their texts read through ``texts``) that are spun copies of ``text``, or its source."""
    ordered = sorted(candidates)
    if not ordered:
        return []
    new = SpinText.of(text)
    found = texts(ordered)
    matches = (verify(new, SpinText.of(found[key]), key, thresholds) for key in ordered if key in found)
    return [match for match in matches if match]
