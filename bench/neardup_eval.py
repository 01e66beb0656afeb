"""A labelled evaluation set for near-duplicate detection, and its scoring.

Base articles come from our own writing (``neardup_texts``), the seeds, and,
when ``../shared/data`` is present, the real article bodies of
``qdnd-crawler-bodies`` (read at run time, never copied). Each base gets copies
with known edits; unrelated articles on the same topic (our own twins, the two
seeds, and the real articles of one military news site among themselves) must
not link. Everything is generated deterministically from a random seed.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.neardup_texts import BASES, BOILERPLATE, FILLERS, LEADS, SAME_TOPIC, SYNONYMS
from pipelines.neardup.bucket_index import BucketIndex
from pipelines.neardup.minhash import Banding, Signer, Thresholds, find_matches
from pipelines.vietnamese.normalize import normalize_text

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
QDND_BODIES = ROOT.parent / "shared" / "data" / "qdnd-crawler-bodies" / "articles.json"

EDIT_KINDS = (
    "lead_rewritten", "tail_cut", "reordered", "synonyms_10", "synonyms_20", "synonyms_30", "boilerplate", "excerpt",
)
SAME_TOPIC_KIND = "same_topic"


@dataclass
class Doc:
    """One article of the evaluation set: ``story`` is its true cluster."""

    key: str
    story: str
    kind: str  # "base", an edit kind, or "same_topic"
    text: str


# --- base material -------------------------------------------------------------------


def seed_texts() -> dict[str, str]:
    """The seeds' text (their first line is the title, kept as part of the article)."""
    return {f"seed_{path.name[:3]}": path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))}


def real_texts(path: Path = QDND_BODIES, limit: int = 30) -> dict[str, str]:
    """Body text of the real articles in ``path`` (one per title), or {} when absent."""
    if not path.is_file():
        return {}
    import lxml.html

    texts: dict[str, str] = {}
    for article in json.loads(path.read_text(encoding="utf-8")):
        title = article.get("title") or ""
        if title in texts or not article.get("article_text"):
            continue
        tree = lxml.html.fromstring(article["article_text"])
        paragraphs = [" ".join(p.text_content().split()) for p in tree.iter("p")]
        text = "\n".join(p for p in paragraphs if p)
        if len(text.split()) >= 150:
            texts[title] = text
        if len(texts) >= limit:
            break
    return {f"real_{i:02d}": text for i, text in enumerate(texts.values())}


# --- edits ---------------------------------------------------------------------------


def paragraphs(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def rewrite_lead(text: str, rng: random.Random) -> str:
    parts = paragraphs(text)
    return "\n".join([rng.choice(LEADS), *parts[1:]])


def cut_tail(text: str, share: float = 0.3) -> str:
    """Drop the last paragraphs, about ``share`` of the words."""
    parts = paragraphs(text)
    total = sum(len(p.split()) for p in parts)
    while len(parts) > 1 and sum(len(p.split()) for p in parts) > total * (1 - share):
        parts.pop()
    return "\n".join(parts)


def reorder(text: str, rng: random.Random) -> str:
    parts = paragraphs(text)
    shuffled = parts[:]
    while len(parts) > 1 and shuffled == parts:
        rng.shuffle(shuffled)
    return "\n".join(shuffled)


def add_boilerplate(text: str, rng: random.Random) -> str:
    lines = rng.sample(BOILERPLATE, 3)
    return "\n".join([lines[0], *paragraphs(text), *lines[1:]])


def excerpt(text: str, share: float = 0.35) -> str:
    """The first paragraphs, about ``share`` of the words (at least the first paragraph)."""
    parts = paragraphs(text)
    total = sum(len(p.split()) for p in parts)
    kept: list[str] = []
    for part in parts:
        if kept and sum(len(p.split()) for p in kept) >= total * share:
            break
        kept.append(part)
    return "\n".join(kept)


def replace_words(text: str, share: float, rng: random.Random) -> str:
    """Replace about ``share`` of the syllables by synonyms (two-syllable words first) or fillers."""
    out = []
    for paragraph in paragraphs(text):
        tokens = paragraph.split()
        budget = round(len(tokens) * share)
        positions = list(range(len(tokens)))
        rng.shuffle(positions)
        done: set[int] = set()
        for i in positions:
            if budget <= 0:
                break
            if i in done:
                continue
            pair = " ".join(tokens[i : i + 2]).lower()
            if i + 1 < len(tokens) and i + 1 not in done and pair in SYNONYMS:
                tokens[i], tokens[i + 1] = SYNONYMS[pair], ""
                done |= {i, i + 1}
                budget -= 2
                continue
            word = tokens[i].lower().strip(".,;:")
            tokens[i] = SYNONYMS.get(word) or rng.choice(FILLERS)
            done.add(i)
            budget -= 1
        out.append(" ".join(t for t in tokens if t))
    return "\n".join(out)


def edit(text: str, kind: str, rng: random.Random) -> str:
    if kind == "lead_rewritten":
        return rewrite_lead(text, rng)
    if kind == "tail_cut":
        return cut_tail(text)
    if kind == "reordered":
        return reorder(text, rng)
    if kind.startswith("synonyms_"):
        return replace_words(text, int(kind.split("_")[1]) / 100, rng)
    if kind == "boilerplate":
        return add_boilerplate(text, rng)
    if kind == "excerpt":
        return excerpt(text)
    raise ValueError(f"unknown edit kind {kind!r}: use one of {EDIT_KINDS}")


def build_set(seed: int = 4, with_real: bool = True) -> list[Doc]:
    """Bases and same-topic articles first (in a fixed order), then the shuffled copies."""
    bases = {**BASES, **seed_texts(), **(real_texts() if with_real else {})}
    rng = random.Random(seed)
    docs = [Doc(key, key, "base", text) for key, text in bases.items()]
    docs += [Doc(f"{key}~other", f"{key}~other", SAME_TOPIC_KIND, text) for key, text in SAME_TOPIC.items()]
    copies = [Doc(f"{key}~{kind}", key, kind, edit(text, kind, rng)) for key, text in bases.items() for kind in EDIT_KINDS]
    rng.shuffle(copies)
    return [Doc(d.key, d.story, d.kind, normalize_text(d.text)[0]) for d in docs + copies]


# --- scoring -------------------------------------------------------------------------


@dataclass
class KindScore:
    docs: int = 0
    found: int = 0  # copies linked to their own story
    links: int = 0
    wrong_links: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.docs if self.docs else 1.0

    @property
    def precision(self) -> float:
        return (self.links - self.wrong_links) / self.links if self.links else 1.0


@dataclass
class Evaluation:
    scores: dict[str, KindScore] = field(default_factory=lambda: defaultdict(KindScore))
    wrong: list[tuple[str, str, float, float]] = field(default_factory=list)

    def total(self) -> KindScore:
        total = KindScore()
        for kind, score in self.scores.items():
            total.links += score.links
            total.wrong_links += score.wrong_links
            if kind in EDIT_KINDS:
                total.docs += score.docs
                total.found += score.found
        return total

    def rows(self) -> Iterator[tuple[str, int, float, float, int]]:
        for kind in (*EDIT_KINDS, SAME_TOPIC_KIND, "base"):
            score = self.scores[kind]
            yield kind, score.docs, score.recall, score.precision, score.wrong_links


def evaluate(
    docs: list[Doc],
    shingle_size: int = 3,
    num_perm: int = 128,
    candidate_threshold: float = 0.3,
    thresholds: Thresholds | None = None,
    bucket_limit: int = 10,
) -> Evaluation:
    """Run the index over ``docs`` in order, as the pipeline would, and score the links per kind."""
    thresholds = thresholds or Thresholds()
    signer, banding = Signer(num_perm, shingle_size), Banding(num_perm, candidate_threshold)
    index, signatures = BucketIndex(), {}
    result = Evaluation()
    for number, doc in enumerate(docs):
        signature = signer.sign(doc.text)
        buckets = banding.buckets(signature)
        score = result.scores[doc.kind]
        score.docs += 1
        matches = find_matches(
            signature, index.members(buckets, bucket_limit), lambda ids: {i: signatures[i] for i in ids}, thresholds
        )
        linked_own_story = False
        for match in matches:
            other = docs[match.similar_id]
            score.links += 1
            if other.story == doc.story:
                linked_own_story = True
            else:
                score.wrong_links += 1
                result.wrong.append((doc.key, other.key, match.jaccard, match.containment))
        score.found += linked_own_story
        index.add(number, buckets)
        signatures[number] = signature
    return result


def report(result: Evaluation) -> str:
    lines = [f"{'kind':<16}{'docs':>6}{'recall':>9}{'precision':>11}{'false links':>13}"]
    for kind, docs, recall, precision, wrong in result.rows():
        lines.append(f"{kind:<16}{docs:>6}{recall:>9.2f}{precision:>11.2f}{wrong:>13}")
    total = result.total()
    lines.append(f"{'all copies':<16}{total.docs:>6}{total.recall:>9.2f}{total.precision:>11.2f}{total.wrong_links:>13}")
    return "\n".join(lines)
