"""The spun-copy evaluation set: what content farms do to official press, and same-subject hard negatives.

Copies of each base article (our own writing, the seeds, the real article bodies
of ``../shared/data`` when present, read at run time and never copied), made the
way a rewriter makes them, from the project's synonym list (``spin_synonyms``):

- ``spun_10`` .. ``spun_40``: that share of the syllables swapped for synonyms;
- ``spun_30_reordered``, ``spun_40_reordered``: the same, and the sentences shuffled;
- ``added_dropped``: a fifth of the sentences dropped, three farm lines added, 20 % swapped;
- ``headline_lead``: a new headline and lead sentence, 20 % swapped.

Hard negatives: different articles on the same subject, which must never link or
share a story: the series of ``spin_texts`` (weather bulletins, one club's match
reports, one ministry's conferences), our same-topic twins (``neardup_texts``), the
two seeds, and the real articles of one military news section among themselves;
each hard negative also gets a spun copy, which must join its own story only.
Everything is generated from a random seed: the figures are reported for two
(:data:`TUNED_SEED`, on which the thresholds were chosen, and :data:`HELD_OUT_SEED`).
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from bench import neardup_eval
from bench.neardup_eval import Doc, real_texts, seed_texts
from bench.neardup_texts import BASES, BOILERPLATE, LEADS, SAME_TOPIC
from bench.spin_synonyms import LONGEST, SWAPS
from bench.spin_texts import series
from pipelines.neardup.bucket_index import BucketIndex
from pipelines.neardup.index import NearDupSettings
from pipelines.neardup.minhash import Banding, Signer, find_matches
from pipelines.neardup.spin import SpinSigner, SpinThresholds, find_spun, keep_same_event
from pipelines.vietnamese.normalize import normalize_text

TUNED_SEED, HELD_OUT_SEED = 4, 2027
SPIN_KINDS = (
    "spun_10", "spun_20", "spun_30", "spun_40", "spun_30_reordered", "spun_40_reordered", "added_dropped",
    "headline_lead",
)
HARD_KIND, HARD_COPY_KIND = "hard_negative", "hard_negative_spun"
FARM_LINES = (
    "Mời bạn đọc theo dõi thêm nhiều tin tức hấp dẫn khác trên trang của chúng tôi.",
    "Thông tin trong bài viết chỉ mang tính chất tham khảo, độc giả cần cân nhắc trước khi áp dụng.",
    "Hãy chia sẻ bài viết này nếu bạn thấy hữu ích cho người thân và bạn bè.",
    "Đừng quên để lại bình luận của bạn ở phía dưới bài viết nhé.",
    "Nội dung được tổng hợp từ nhiều nguồn tin chính thống trên mạng internet.",
)
HEADLINES = ("Tin nóng: chi tiết bất ngờ vừa được công bố", "Cập nhật mới nhất về sự việc được dư luận quan tâm",
             "Toàn cảnh sự kiện khiến nhiều người chú ý")


# --- the spinner ------------------------------------------------------------------------


def _bare(token: str) -> str:
    return token.strip(".,;:!?…\"'“”()").lower()


def spin(text: str, share: float, rng: random.Random) -> tuple[str, float]:
    """Swap about ``share`` of the syllables for synonyms; return the text and the share swapped.

    Words of the synonym list are found longest first; spans are swapped in random
    order until the share is reached (or the list has nothing more to offer). The
    case of a word's first letter and the punctuation around it are kept.
    """
    out, swapped, total = [], 0, 0
    for paragraph in text.split("\n"):
        tokens = paragraph.split()
        total += len(tokens)
        spans, i = [], 0
        while i < len(tokens):
            for length in range(min(LONGEST, len(tokens) - i), 0, -1):
                words = tokens[i : i + length]
                # A span ends at punctuation only on its last token.
                if any(_bare(t) != t.lower() for t in words[:-1]):
                    continue
                key = " ".join(_bare(t) for t in words)
                if key in SWAPS:
                    spans.append((i, length, SWAPS[key]))
                    i += length
                    break
            else:
                i += 1
        rng.shuffle(spans)
        budget = round(len(tokens) * share)
        chosen = []
        for start, length, replacement in spans:
            if budget <= 0:
                break
            chosen.append((start, length, replacement))
            budget -= length
            swapped += length
        for start, length, replacement in sorted(chosen, reverse=True):
            first, last = tokens[start], tokens[start + length - 1]
            new = replacement[0].upper() + replacement[1:] if first[:1].isupper() else replacement
            lead = first[: len(first) - len(first.lstrip("\"'“(")) ]
            tail = last[len(last.rstrip(".,;:!?…\"'”)")) :]
            tokens[start : start + length] = [lead + new + tail]
        out.append(" ".join(tokens))
    return "\n".join(out), swapped / max(total, 1)


def _sentences(paragraph: str) -> list[str]:
    parts, current = [], []
    for token in paragraph.split():
        current.append(token)
        if token.endswith((".", "!", "?")):
            parts.append(" ".join(current))
            current = []
    if current:
        parts.append(" ".join(current))
    return parts


def shuffle_sentences(text: str, rng: random.Random) -> str:
    """The sentences of each paragraph shuffled, and the paragraphs after the first too."""
    paragraphs = [p for p in text.split("\n") if p.strip()]
    shuffled = []
    for paragraph in paragraphs:
        sentences = _sentences(paragraph)
        rng.shuffle(sentences)
        shuffled.append(" ".join(sentences))
    rest = shuffled[1:]
    rng.shuffle(rest)
    return "\n".join(shuffled[:1] + rest)


def add_and_drop(text: str, rng: random.Random) -> str:
    """A fifth of the sentences dropped (not the first), three farm lines added."""
    paragraphs = [_sentences(p) for p in text.split("\n") if p.strip()]
    flat = [(n, s) for n, sentences in enumerate(paragraphs) for s in sentences]
    dropped = set(rng.sample(range(1, len(flat)), max(1, len(flat) // 5))) if len(flat) > 2 else set()
    kept: dict[int, list[str]] = defaultdict(list)
    for number, (paragraph, sentence) in enumerate(flat):
        if number not in dropped:
            kept[paragraph].append(sentence)
    lines = [" ".join(kept[n]) for n in sorted(kept)]
    for line in rng.sample(FARM_LINES, 3):
        lines.insert(rng.randint(1, len(lines)), line)
    return "\n".join(lines)


def new_headline_and_lead(text: str, rng: random.Random) -> str:
    """The first line (the headline) replaced, and the lead sentence of the next one."""
    paragraphs = [p for p in text.split("\n") if p.strip()]
    body = paragraphs[1:] if len(paragraphs) > 1 else paragraphs
    sentences = _sentences(body[0])
    body[0] = " ".join([rng.choice(LEADS), *sentences[1:]])
    return "\n".join([rng.choice(HEADLINES), *body])


def spin_edit(text: str, kind: str, rng: random.Random) -> tuple[str, float]:
    """A copy of ``text`` with the edits of ``kind``; and the share of syllables swapped."""
    if kind.startswith("spun_"):
        share = int(kind.split("_")[1]) / 100
        spun, swapped = spin(text, share, rng)
        return (shuffle_sentences(spun, rng) if kind.endswith("_reordered") else spun), swapped
    if kind == "added_dropped":
        return spin(add_and_drop(text, rng), 0.2, rng)
    if kind == "headline_lead":
        return spin(new_headline_and_lead(text, rng), 0.2, rng)
    raise ValueError(f"unknown edit kind {kind!r}: use one of {SPIN_KINDS}")


# --- the set -----------------------------------------------------------------------------


@dataclass
class SpinSet:
    docs: list[Doc]
    hard_pairs: list[tuple[str, str]]  # keys of different articles on the same subject
    swapped: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # kind -> shares swapped


def build_spin_set(seed: int = TUNED_SEED, with_real: bool = True) -> SpinSet:
    """Bases and hard negatives first (in a fixed order), then every copy, shuffled."""
    rng = random.Random(seed)
    real = real_texts() if with_real else {}
    bases = {**BASES, **seed_texts(), **real}
    groups: list[list[str]] = [list(series_docs) for series_docs in series(seed).values()]
    hard = {key: text for group in series(seed).values() for key, text in group.items()}
    twins = {f"{key}~other": text for key, text in SAME_TOPIC.items()}
    groups += [[key, f"{key}~other"] for key in SAME_TOPIC]
    groups.append(sorted(seed_texts()))
    if real:
        groups.append(sorted(real))
    pairs = [pair for group in groups for pair in itertools.combinations(group, 2)]
    result = SpinSet([], pairs)
    result.docs += [Doc(key, key, "base", text) for key, text in bases.items()]
    result.docs += [Doc(key, key, HARD_KIND, text) for key, text in {**hard, **twins}.items()]
    copies = []
    for key, text in bases.items():
        for kind in SPIN_KINDS:
            copy, swapped = spin_edit(text, kind, rng)
            result.swapped[kind].append(swapped)
            copies.append(Doc(f"{key}~{kind}", key, kind, copy))
    for key, text in {**hard, **twins}.items():
        copy, swapped = spin(text, 0.3, rng)
        result.swapped[HARD_COPY_KIND].append(swapped)
        copies.append(Doc(f"{key}~spun", key, HARD_COPY_KIND, copy))
    rng.shuffle(copies)
    result.docs = [Doc(d.key, d.story, d.kind, normalize_text(d.text)[0]) for d in result.docs + copies]
    return result


# --- scoring -----------------------------------------------------------------------------


@dataclass
class KindScore(neardup_eval.KindScore):
    """The first set's score per kind, and the links each method made."""

    by_method: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class SpinEvaluation:
    scores: dict[str, KindScore] = field(default_factory=lambda: defaultdict(KindScore))
    wrong: list[tuple[str, str, str, float, float]] = field(default_factory=list)
    hard_pairs: int = 0
    hard_linked: int = 0  # hard-negative pairs linked directly
    hard_merged: int = 0  # hard-negative pairs that ended in one story
    candidates: int = 0  # spun-signal candidates verified

    @property
    def hard_precision(self) -> float:
        """Links touching the hard negatives (and their copies) that are right."""
        links = sum(self.scores[k].links for k in (HARD_KIND, HARD_COPY_KIND))
        wrong = sum(self.scores[k].wrong_links for k in (HARD_KIND, HARD_COPY_KIND))
        return (links - wrong) / links if links else 1.0


def evaluate_spin(spin_set: SpinSet, settings: NearDupSettings | None = None, spun: bool = True) -> SpinEvaluation:
    """Run both signals over the set in order, as the writer does (``spun=False``: the shingle MinHash only)."""
    settings = settings or NearDupSettings()
    docs = spin_set.docs
    signer, banding = Signer(settings.num_perm, settings.shingle_size), Banding(settings.num_perm,
                                                                                settings.candidate_threshold)
    spin_signer, thresholds = SpinSigner(), settings.spin or SpinThresholds()
    index, signatures = BucketIndex(), {}
    texts: Callable[[list[int]], dict[int, str]] = lambda ids: {i: docs[i].text for i in ids}
    result = SpinEvaluation()
    parent = list(range(len(docs)))

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for number, doc in enumerate(docs):
        signature = signer.sign(doc.text)
        keys = banding.buckets(signature)
        matches = find_matches(signature, index.members(keys, settings.bucket_limit),
                               lambda ids: {i: signatures[i] for i in ids}, settings.thresholds)
        spin_keys = spin_signer.article_keys(spin_signer.sign(doc.text)) if spun else []
        found = {m.similar_id for m in matches} | {number}
        if spun:
            matches = keep_same_event(doc.text, matches, texts, thresholds)
        if len(spin_keys):
            shared = index.sharing(spin_keys, thresholds.min_bands, settings.bucket_limit)
            candidates = [i for i in shared if i not in found]
            result.candidates += len(candidates)
            matches += find_spun(doc.text, candidates, texts, thresholds)
        score = result.scores[doc.kind]
        score.docs += 1
        own = False
        for match in matches:
            other = docs[match.similar_id]
            score.links += 1
            score.by_method[match.method] += 1
            parent[root(number)] = root(match.similar_id)
            if other.story == doc.story:
                own = True
            else:
                score.wrong_links += 1
                result.wrong.append((doc.key, other.key, match.method, match.jaccard, match.containment))
        score.found += own
        index.add(number, [*keys, *spin_keys])
        signatures[number] = signature
    position = {doc.key: n for n, doc in enumerate(docs)}
    wrong_pairs = {frozenset((a, b)) for a, b, *_ in result.wrong}
    for a, b in spin_set.hard_pairs:
        result.hard_pairs += 1
        result.hard_linked += frozenset((a, b)) in wrong_pairs
        result.hard_merged += root(position[a]) == root(position[b])
    return result


def report(spin_set: SpinSet, result: SpinEvaluation) -> str:
    lines = [f"{'kind':<20}{'docs':>6}{'swapped':>9}{'recall':>8}{'precision':>11}{'false links':>13}  links by method"]
    for kind in (*SPIN_KINDS, HARD_COPY_KIND, HARD_KIND, "base"):
        score = result.scores[kind]
        swapped = spin_set.swapped.get(kind)
        share = f"{sum(swapped) / len(swapped):.2f}" if swapped else "-"
        methods = ", ".join(f"{m} {n}" for m, n in sorted(score.by_method.items())) or "-"
        lines.append(f"{kind:<20}{score.docs:>6}{share:>9}{score.recall:>8.2f}{score.precision:>11.2f}"
                     f"{score.wrong_links:>13}  {methods}")
    lines.append(f"hard-negative pairs {result.hard_pairs}: linked {result.hard_linked}, in one story "
                 f"{result.hard_merged}; precision of the links touching them {result.hard_precision:.2f}; "
                 f"spun-signal candidates verified {result.candidates}")
    return "\n".join(lines)
