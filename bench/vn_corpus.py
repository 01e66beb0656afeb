"""Synthetic Vietnamese articles for the search benchmark and the browsing tests.

Words are drawn from the vocabulary of real texts (the seeds, the near-duplicate evaluation
set, and the real article bodies in ../shared/data when present) with their real frequencies,
so that common words are as common as in the news and rare words as rare; lengths are those
of news articles: an 8 to 16 word headline, a lead of 25 to 45 words, and a body of 150 to
1,500 words (about 560 on average) in paragraphs of 30 to 120 words. Each word's folded form
(:func:`pipelines.vietnamese.text.fold`) is computed once, so a million articles need no
folding of their own.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from bench.crawl_site import PARAGRAPH, TAG
from bench.neardup_eval import real_texts, seed_texts
from bench.neardup_texts import BASES
from pipelines.vietnamese.text import detect_language, fold

WORD = re.compile(r"\w+")
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def page_paragraphs(folder: Path = SHARED) -> list[str]:
    """The paragraph text of the real Vietnamese pages (``*.html``, ``*.html.gz``) under ``folder``."""
    texts = []
    for path in sorted([*folder.rglob("*.html"), *folder.rglob("*.html.gz")]):
        raw = path.read_bytes()
        html = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8", "replace")
        text = "\n".join(TAG.sub(" ", paragraph) for paragraph in PARAGRAPH.findall(html))
        if detect_language(text) == "vi":  # ../shared/data has pages in other languages too
            texts.append(text)
    return texts


def vietnamese_texts(shared: bool = True) -> list[str]:
    """The seeds, the evaluation set's bases and, with ``shared``, the real bodies and pages of
    ../shared/data (read at run time, never copied)."""
    texts = [*seed_texts().values(), *BASES.values()]
    if shared and SHARED.is_dir():
        texts += [*real_texts(limit=10_000).values(), *page_paragraphs()]
    return texts


class Corpus:
    """A word list with real frequencies, and articles drawn from it with a seeded generator."""

    def __init__(self, texts: Iterable[str], seed: int = 1) -> None:
        counts = Counter(word for text in texts for word in WORD.findall(text) if not word.isdigit())
        self.words = [word for word, _ in counts.most_common()]
        self.lower = [word.lower() for word in self.words]
        self.folded = [fold(word) for word in self.lower]
        weights = np.array([count for _, count in counts.most_common()], dtype=float)
        self.cumulative = np.cumsum(weights / weights.sum())
        self.rng = np.random.default_rng(seed)

    def _indexes(self, count: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cumulative, self.rng.random(count)), len(self.words) - 1)

    def article(self) -> tuple[str, str, str, str, str]:
        """``(title, lead, text, title_folded, text_folded)``; the text one paragraph a line."""
        title_words, lead_words = int(self.rng.integers(8, 17)), int(self.rng.integers(25, 46))
        body_words = int(np.clip(self.rng.lognormal(6.25, 0.45), 150, 1500))
        indexes = self._indexes(title_words + lead_words + body_words)
        title = " ".join(self.lower[i] for i in indexes[:title_words]).capitalize()
        lead = " ".join(self.lower[i] for i in indexes[title_words : title_words + lead_words]).capitalize() + "."
        body = indexes[title_words + lead_words :]
        breaks = np.cumsum(self.rng.integers(30, 121, size=body_words // 30 + 1))
        paragraphs = np.split(body, breaks[breaks < body_words])
        text = "\n".join(" ".join(self.words[i] for i in paragraph) + "." for paragraph in paragraphs if len(paragraph))
        folded = "\n".join(" ".join(self.folded[i] for i in paragraph) for paragraph in paragraphs if len(paragraph))
        return title, lead, text, fold(title), folded

    def articles(self, count: int) -> Iterator[tuple[str, str, str, str, str]]:
        for _ in range(count):
            yield self.article()
