"""Benchmark and evaluation of near-duplicate detection (run by `make bench`).

Prints:
1. precision and recall per edit kind on the labelled evaluation set, and the
   shingle-size sweep the default was chosen from;
2. the near-duplicate stage's time per new article with 1,000, 10,000 and
   100,000 stored articles (synthetic texts), as a ratio of trafilatura's
   extraction time per page measured in the same run (real pages from
   ../shared/data when present, else pages made from our own texts);
3. the start-up time of the index at 100,000 articles, beside the time
   datasketch's in-memory MinHashLSH takes to load the same signatures.

Options: ``--sizes 1000,10000,100000`` and ``--probes 1000``.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.neardup_eval import build_set, evaluate, report
from bench.spin_eval import HELD_OUT_SEED, TUNED_SEED, SpinSet, build_spin_set, evaluate_spin
from bench.spin_eval import report as spin_report
from bench.neardup_texts import BASES
from crawler.items import ArticleItem
from pipelines.neardup.minhash import Thresholds
from pipelines.neardup.index import NearDupSettings

SHARED = ROOT.parent / "shared" / "data"
DEFAULTS = NearDupSettings()
MODES = ("today", "both")


# --- 1. quality ----------------------------------------------------------------------


def quality() -> None:
    docs = build_set()
    print(f"== Evaluation set: {len(docs)} articles "
          f"({sum(d.kind == 'base' for d in docs)} bases, real pages {'in' if SHARED.is_dir() else 'absent'})")
    result = evaluate(docs, DEFAULTS.shingle_size, DEFAULTS.num_perm, DEFAULTS.candidate_threshold,
                      DEFAULTS.thresholds)
    print(f"-- default settings: shingle {DEFAULTS.shingle_size}, {DEFAULTS.thresholds}")
    print(report(result))
    print("-- shingle size sweep (candidate threshold 0.25; jaccard/containment thresholds per size)")
    print(f"{'size':>4}{'jaccard':>9}{'contain':>9}{'recall':>8}{'syn20':>7}{'syn30':>7}{'precision':>11}")
    for size, jaccard, contained in [(1, 0.6, 0.85), (2, 0.3, 0.6), (3, 0.25, 0.6), (4, 0.2, 0.5), (5, 0.15, 0.5)]:
        swept = evaluate(docs, size, DEFAULTS.num_perm, 0.25, Thresholds(jaccard, contained))
        total = swept.total()
        print(f"{size:>4}{jaccard:>9}{contained:>9}{total.recall:>8.2f}{swept.scores['synonyms_20'].recall:>7.2f}"
              f"{swept.scores['synonyms_30'].recall:>7.2f}{total.precision:>11.2f}")
    both = evaluate_spin(SpinSet(docs, []))
    print("-- the same set with both signals (the spun-copy signal too): recall per edit kind")
    print("  ".join(f"{kind} {score.recall:.2f}" for kind, score in both.scores.items() if kind != "base")
          + f"; false links {sum(score.wrong_links for score in both.scores.values())}")
    spin_quality()


def spin_quality() -> None:
    """The spun-copy evaluation set (bench/spin_eval.py) on the tuned seed and the held-out one."""
    for seed in (TUNED_SEED, HELD_OUT_SEED):
        spin_set = build_spin_set(seed)
        print(f"== Spun copies, seed {seed} ({'tuned on' if seed == TUNED_SEED else 'held out, never tuned on'}): "
              f"{len(spin_set.docs)} articles, {len(spin_set.hard_pairs)} same-subject pairs")
        for label, spun in (("shingle MinHash only", False), ("both signals (defaults)", True)):
            result = evaluate_spin(spin_set, spun=spun)
            total = [s for k, s in result.scores.items()]
            links, wrong = sum(s.links for s in total), sum(s.wrong_links for s in total)
            print(f"-- {label}: precision of every link {(links - wrong) / max(links, 1):.2f}")
            print(spin_report(spin_set, result))


# --- 2. extraction baseline ------------------------------------------------------------


def pages() -> list[tuple[str, str]]:
    """(url, html) of real article pages when ../shared/data is present, else our own pages."""
    found = []
    fixtures = SHARED / "tracking-news-mcp-fixtures"
    for path in sorted(fixtures.glob("*_article*.html")) if fixtures.is_dir() else []:
        found.append((f"https://{path.stem.split('_')[0]}.example/{path.stem}", path.read_text("utf-8", "replace")))
    for path in sorted((SHARED / "fundus").rglob("*.html.gz")) if SHARED.is_dir() else []:
        found.append((f"https://fundus.example/{path.stem}", gzip.decompress(path.read_bytes()).decode("utf-8", "replace")))
    if found:
        return found
    return [
        (f"https://own.example/{key}", "<html><head><title>{0}</title></head><body><nav>Trang chủ | Thời sự</nav>"
         "<article><h1>{0}</h1>{1}</article><footer>Bản quyền</footer></body></html>".format(
             key, "".join(f"<p>{p}</p>" for p in text.split("\n"))))
        for key, text in BASES.items()
    ]


def extraction_ms_per_page() -> tuple[float, int]:
    from trafilatura.settings import use_config

    from pipelines.vietnamese.extract import extract_article

    config = use_config()
    found = pages()
    for url, html in found:  # warm up
        extract_article(html, url, config)
    times = []
    for _ in range(3):
        for url, html in found:
            started = time.perf_counter()
            extract_article(html, url, config)
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, len(found)


# --- 3. the stage at scale ---------------------------------------------------------------

VOCABULARY = sorted({word for text in BASES.values() for word in text.lower().replace(",", " ").split()})
# Anchors for the spun-copy signal, as news has them: names (capitalized syllable pairs) and
# figures, drawn with a Zipf-like skew too, so that common ones ("Hà Nội", "2024") recur.
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Phan")
_GIVEN = tuple(sorted({w.capitalize() for w in VOCABULARY if w.isalpha()}))[:150]
ANCHORS = [f"{a} {b}" for a in _FAMILY for b in _GIVEN] + [str(n) for n in range(1, 3000)]
_ANCHOR_ORDER = np.random.default_rng(0).permutation(len(ANCHORS))


def synthetic_texts(start: int, count: int, words: int = 300) -> list[str]:
    """Texts drawn from a Vietnamese vocabulary with a Zipf-like skew, so common shingles recur;
    one word in twelve is an anchor (a name or a figure), from a skewed pool of 5,000."""
    rng = np.random.default_rng(start)
    weights = 1.0 / np.arange(1, len(VOCABULARY) + 1)
    choice = rng.choice(len(VOCABULARY), size=(count, words), p=weights / weights.sum())
    anchor_weights = 1.0 / np.arange(1, len(ANCHORS) + 1) ** 0.8
    anchors = _ANCHOR_ORDER[rng.choice(len(ANCHORS), size=(count, words // 12), p=anchor_weights / anchor_weights.sum())]
    texts = []
    for row, marks in zip(choice, anchors):
        tokens = [VOCABULARY[i] for i in row]
        for place, anchor in zip(range(5, words, 12), marks):
            tokens[place] = ANCHORS[anchor]
        texts.append("\n".join(" ".join(tokens[j : j + 60]) for j in range(0, words, 60)))
    return texts


def _sign_batch(args: tuple[int, int]) -> list[tuple[str, bytes, int, bytes, int, str]]:
    from pipelines.neardup.minhash import Signer
    from pipelines.neardup.spin import SpinSigner, anchors

    signer, spin_signer = Signer(DEFAULTS.num_perm, DEFAULTS.shingle_size), SpinSigner()
    out = []
    # Short stored texts sign faster; the index holds the same number of buckets per article.
    for text in synthetic_texts(*args, words=150):
        found = anchors(text)
        signature, spun = signer.sign(text), spin_signer.sign_anchors(found)
        out.append((text, signature.to_blob(), signature.size, spun.to_blob(), spun.anchors, "\n".join(sorted(found))))
    return out


def fill(store, target: int, pool: ProcessPoolExecutor) -> None:
    """Add synthetic articles with their signatures until ``target`` are stored.

    A bulk load for the benchmark (the stage itself is timed through the index):
    rows with sqlite-utils' insert_all; the bucket index is built when a crawl opens.
    """
    from pipelines.vietnamese.dates import utc_now

    have = store.db.execute("SELECT count(*) FROM articles").fetchone()[0]
    chunks = [(n, min(5000, target - n)) for n in range(have, target, 5000)]
    for batch in pool.map(_sign_batch, chunks):
        ids = range(have + 1, have + len(batch) + 1)
        rows = [
            {"id": i, "story_id": i, "content_hash": f"synthetic-{i}", "url": f"https://synthetic.example/{i}",
             "site": "synthetic.example", "text": text, "word_count": len(text.split()), "first_seen": utc_now()}
            for i, (text, *_) in zip(ids, batch)
        ]
        store.begin()
        store.db["articles"].insert_all(rows)
        store.db["neardup_signatures"].insert_all(
            {"article_id": i, "shingles": size, "signature": blob, "signed": utc_now(), "seq": i,
             "anchors": anchors, "anchor_count": count, "anchor_words": words}  # as a crawl saves them (m120)
            for i, (_, blob, size, anchors, count, words) in zip(ids, batch)
        )
        store.commit()
        have += len(batch)


def probe_items(size: int, count: int, seed: int, store) -> list[tuple[ArticleItem, int | None]]:
    """New articles for the stage, each with the stored article it copies (or None).

    Fresh synthetic texts, and a fifth copies of stored ones, old and new alike: lightly edited,
    or spun (30 % of the syllables swapped for synonyms, sentences shuffled), in turn.
    """
    import random

    from bench.neardup_eval import edit
    from bench.spin_eval import spin_edit

    rng = random.Random(seed)
    fresh = synthetic_texts(10_000_000 + seed, count - count // 5)
    texts: list[tuple[str, int | None]] = [(text, None) for text in fresh]
    stored = store.db.execute(
        "SELECT id, text FROM articles WHERE id <= ? ORDER BY random() LIMIT ?", [size, count // 5]
    )
    texts += [(edit(text, "synonyms_10", rng) if n % 2 else spin_edit(text, "spun_30_reordered", rng)[0], source)
              for n, (source, text) in enumerate(stored)]
    items = []
    for number, (text, source) in enumerate(texts):
        item = ArticleItem(url=f"https://probe.example/{seed}/{number}", text=text, site="probe.example")
        item.content_hash = f"probe-{seed}-{number}"
        items.append((item, source))
    return items


def memory_lsh_load_seconds(store) -> float:
    """How long datasketch's in-memory MinHashLSH takes to index every stored signature."""
    from datasketch import MinHashLSH

    from pipelines.neardup.minhash import Signature

    started = time.perf_counter()
    lsh = MinHashLSH(threshold=DEFAULTS.candidate_threshold, num_perm=DEFAULTS.num_perm)
    with lsh.insertion_session() as session:
        for article_id, blob, size in store.db.execute("SELECT article_id, signature, shingles FROM neardup_signatures"):
            session.insert(article_id, Signature.from_blob(blob, size).minhash, check_duplication=False)
    return time.perf_counter() - started


def open_stage(path: Path):
    """The near-duplicate index as the writer opens it (database, settings, index); return it and the seconds."""
    from pipelines.db.store import NewsStore
    from pipelines.neardup.index import NearDupIndex

    # Commits only where the benchmark makes them, so that their cost is measured apart.
    started = time.perf_counter()
    store = NewsStore.open(path, batch_size=10**6, commit_seconds=10**6)
    index = NearDupIndex(store, DEFAULTS)
    index.check_config()
    index.load()
    store.commit()
    return index, time.perf_counter() - started


def scale(sizes: list[int], probes: int, extraction_ms: float) -> None:
    """Time the stage on databases of each size, interleaved so that load on the machine hits all alike."""
    from pipelines.db.store import NewsStore

    print(f"== Near-duplicate stage per new article ({probes} per size, a fifth edited copies of stored ones)")
    with tempfile.TemporaryDirectory() as folder, ProcessPoolExecutor(2) as pool:
        started = time.perf_counter()
        # One database grows through the sizes; a copy of it is kept at each.
        growing = Path(folder) / "growing.db"
        for size in sorted(sizes):
            store = NewsStore.open(growing)
            fill(store, size, pool)
            store.close()
            shutil.copy(growing, Path(folder) / f"{size}.db")
        print(f"-- filled {max(sizes)} synthetic articles in {time.perf_counter() - started:.0f} s")
        # The smallest database twice: how far two identical runs differ is the noise of this machine.
        runs = [(f"{size:,}", size, Path(folder) / f"{size}.db") for size in sizes]
        runs.append((f"{sizes[0]:,} again", sizes[0], Path(folder) / "again.db"))
        shutil.copy(runs[0][2], runs[-1][2])
        indexes, built, loaded = {}, {}, {}
        for label, _, path in runs:
            # The first crawl builds the index from the signatures and saves it; the next ones load it.
            first, built[label] = open_stage(path)
            first.save_snapshot_if_stale()
            first.store.close()
            indexes[label], loaded[label] = open_stage(path)
        # Two paths, article by article in turn: the shingle MinHash alone (as before the spun-copy
        # signal: "today") and both signals (signing the anchors too, their lookups and verification).
        times: dict[tuple[str, str], list[float]] = {(label, m): [] for label, _, _ in runs for m in MODES}
        commits: dict[str, float] = {label: 0.0 for label, _, _ in runs}
        candidates: dict[str, list[int]] = {label: [] for label, _, _ in runs}
        copies: dict[tuple[str, str], list[bool]] = {(label, m): [] for label, _, _ in runs for m in MODES}
        rounds = 5
        for round_ in range(rounds):
            for label, size, _ in runs:
                index = indexes[label]
                for number, (item, source) in enumerate(probe_items(size, probes // rounds, round_, index.store)):
                    mode = MODES[number % 2]
                    item.article_id = index.store.add_article(item)  # the store's work, not timed
                    # The LSH candidates it will be judged against: what could grow with the archive.
                    keys = index.banding.buckets(index.signer.sign(item.text))
                    candidates[label].append(len(index.buckets.members(keys, index.settings.bucket_limit)))
                    begin = time.perf_counter()
                    if mode == "today":  # sign the shingles, look up, judge, write: the stage before issue 13
                        signature = index.signer.sign(item.text)
                        index.link(item.article_id, signature, index.banding.keys(signature.values[np.newaxis, :])[0])
                    else:  # sign (a worker's part in a crawl) both, look up both, verify, link
                        index.add(item.article_id, item.text)
                    times[label, mode].append(time.perf_counter() - begin)
                    if source:
                        copies[label, mode].append(bool(index.store.db.execute(
                            "SELECT 1 FROM near_duplicates WHERE article_id = ? AND similar_id = ?",
                            [item.article_id, source]).fetchone()))
                begin = time.perf_counter()
                index.store.commit()  # the article rows and the stage's rows of the round
                commits[label] += time.perf_counter() - begin
        print(f"{'stored':>13}{'ms today':>10}{'ms both':>9}{'both/today':>12}{'vs smallest':>13}"
              f"{'% of extraction':>17}{'candidates':>12}{'copies today':>14}{'copies both':>13}"
              f"{'commit ms':>11}{'build s':>9}{'load s':>8}{'index MB':>10}")
        first_ms = statistics.median(times[runs[0][0], "both"]) * 1000
        for label, _, _ in runs:
            today, ms = (statistics.median(times[label, mode]) * 1000 for mode in MODES)
            index = indexes[label]
            megabytes = sum(array.nbytes for array in (index.buckets.keys, index.buckets.ids,
                                                       index.sketches.values, index.sketches.sizes)) / 1e6
            found = [f"{sum(copies[label, m])}/{len(copies[label, m])}" for m in MODES]
            print(f"{label:>13}{today:>10.3f}{ms:>9.3f}{ms / today:>11.2f}x{ms / first_ms:>12.2f}x"
                  f"{100 * ms / extraction_ms:>16.1f}%{statistics.mean(candidates[label]):>12.1f}"
                  f"{found[0]:>14}{found[1]:>13}"
                  f"{1000 * commits[label] / len(candidates[label]):>11.3f}"
                  f"{built[label]:>9.3f}{loaded[label]:>8.3f}{megabytes:>10.1f}")
        print("-- ms today: median time of the stage with the shingle MinHash alone (sign, look up, judge, "
              "write), ms both: with the spun-copy signal too (anchors signed, looked up, candidates verified, "
              "links checked for one event), on every other new article; vs smallest and % of extraction: both; "
              "candidates: mean stored articles judged per new one (shingle bands); copies found: copies (half "
              "lightly edited, half spun 30 % and shuffled) linked to the stored article they copy; "
              "commit ms: per article, the whole batch (articles, search rows and the stage's rows); build s: "
              "first start-up, index built from the signatures and saved; load s: later start-ups; "
              f"'{runs[-1][0]}': a copy of the smallest database, run alike, for the noise of the measure")
        middle = runs[len(sizes) // 2][0]
        datasketch = memory_lsh_load_seconds(indexes[middle].store)
        print(f"-- datasketch's in-memory MinHashLSH needs {datasketch:.1f} s to load the {middle} signatures: "
              f"{datasketch / max(loaded[middle], 1e-6):.0f}x our start-up at that size")
        for index in indexes.values():
            index.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="stored-article counts, comma separated")
    parser.add_argument("--probes", type=int, default=1000, help="new articles timed per size")
    args = parser.parse_args()
    quality()
    extraction_ms, count = extraction_ms_per_page()
    print(f"== Baseline: trafilatura extraction {extraction_ms:.1f} ms per page (median over {count} pages)")
    scale([int(s) for s in args.sizes.split(",")], args.probes, extraction_ms)


if __name__ == "__main__":
    main()
