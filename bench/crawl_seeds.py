"""Synthetic text seeds for the replay part of the crawl benchmark (bench/bench_crawl.py).

Realistic Vietnamese articles of 400 to 900 words, made of whole sentences drawn
with a seeded random generator from real texts: each seed is distinct (its own
content hash), and seeds share sentences now and then, as news articles on the
same events do, so near-duplicate detection has real candidates to judge.
The format is that of crawler/seeds.py: header lines, a blank line, a headline,
a blank line, the paragraphs.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable
from pathlib import Path

SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
SITE = "tin-thu-toc-do.example"


def sentences(texts: Iterable[str]) -> list[str]:
    """The whole sentences of 8 to 60 words in ``texts`` (one paragraph a line), each once."""
    found: dict[str, None] = {}
    for text in texts:
        for paragraph in text.splitlines():
            for sentence in SENTENCE_END.split(paragraph.strip()):
                if 8 <= len(sentence.split()) <= 60 and sentence[-1] in ".!?…":
                    found[sentence] = None
    return list(found)


def headline(pool: list[str], rng: random.Random) -> str:
    """The first 8 to 14 words of a sentence, without a final stop (how crawler/seeds.py tells a headline)."""
    words = rng.choice(pool).split()[: rng.randint(8, 14)]
    return " ".join(words).rstrip(".,;:!?…")


def body(pool: list[str], rng: random.Random) -> str:
    """Paragraphs of 2 to 5 sentences, until 400 to 900 words."""
    target, words, paragraphs = rng.randint(400, 900), 0, []
    while words < target:
        paragraph = " ".join(rng.choice(pool) for _ in range(rng.randint(2, 5)))
        paragraphs.append(paragraph)
        words += len(paragraph.split())
    return "\n\n".join(paragraphs)


def write_seeds(folder: Path, count: int, pool: list[str], seed: int = 1) -> None:
    """Write ``count`` distinct text seeds ``NNNNN.txt`` into ``folder``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[bytes] = set()
    for number in range(count):
        text = body(pool, rng)
        while (digest := hashlib.sha1(text.encode()).digest()) in seen:
            text = body(pool, rng)
        seen.add(digest)
        published = f"2026-03-{1 + number % 28:02d}T{number % 24:02d}:{number % 60:02d}:00+07:00"
        header = f"URL: https://{SITE}/thoi-su/bai-viet-{number}-{20_000_000 + number}.html\nSite: {SITE}\n"
        (folder / f"{number:05d}.txt").write_text(
            f"{header}Published: {published}\n\n{headline(pool, rng)}\n\n{text}\n", encoding="utf-8")
