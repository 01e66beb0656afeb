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

Options: ``--sizes 1000,10000,100000`` and ``--probes 200``.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.neardup_eval import build_set, evaluate, report  # noqa: E402
from bench.neardup_texts import BASES  # noqa: E402
from crawler.items import ArticleItem  # noqa: E402
from pipelines.minhash import Thresholds  # noqa: E402
from pipelines.neardup import NearDupSettings  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
DEFAULTS = NearDupSettings()


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
    from pipelines.extract import extract_article
    from trafilatura.settings import use_config

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


def synthetic_texts(start: int, count: int, words: int = 300) -> list[str]:
    """Texts drawn from a Vietnamese vocabulary with a Zipf-like skew, so common shingles recur."""
    rng = np.random.default_rng(start)
    weights = 1.0 / np.arange(1, len(VOCABULARY) + 1)
    choice = rng.choice(len(VOCABULARY), size=(count, words), p=weights / weights.sum())
    return ["\n".join(" ".join(VOCABULARY[i] for i in row[j : j + 60]) for j in range(0, words, 60)) for row in choice]


def _sign_batch(args: tuple[int, int]) -> list[tuple[str, bytes, int, list[int]]]:
    from pipelines.minhash import Banding, Signer

    signer, banding = Signer(DEFAULTS.num_perm, DEFAULTS.shingle_size), Banding(DEFAULTS.num_perm,
                                                                                DEFAULTS.candidate_threshold)
    out = []
    # Short stored texts sign faster; the index holds the same number of buckets per article.
    for text in synthetic_texts(*args, words=150):
        signature = signer.sign(text)
        out.append((text, signature.to_blob(), signature.size, banding.buckets(signature)))
    return out


def fill(store, target: int, pool: ProcessPoolExecutor) -> None:
    """Store synthetic articles with their signatures until ``target`` are stored.

    Rows go in with sqlite-utils' bulk insert (no search index: the stage does not read it),
    signatures and buckets through the store, as the stage writes them.
    """
    from pipelines.minhash import Signature
    from pipelines.store import utc_now

    have = store.db.execute("SELECT count(*) FROM articles").fetchone()[0]
    chunks = [(have + n, min(1000, target - have - n)) for n in range(0, target - have, 1000)]
    for batch in pool.map(_sign_batch, chunks):
        rows = [
            {"id": have + n + 1, "story_id": have + n + 1, "content_hash": f"synthetic-{have + n}",
             "url": f"https://synthetic.example/{have + n}", "site": "synthetic.example", "text": text,
             "word_count": len(text.split()), "first_seen": utc_now()}
            for n, (text, _, _, _) in enumerate(batch)
        ]
        store._write()
        store.db["articles"].insert_all(rows)
        for row, (_, blob, size, buckets) in zip(rows, batch):
            store.save_signature(row["id"], Signature.from_blob(blob, size), buckets)
        store.commit()
        have += len(batch)


def stage_ms_per_article(crawler, store, pipeline, probes: int, round_: int) -> tuple[float, float]:
    """Median time of NearDupPipeline.process_item on fresh articles and on edited copies of stored ones."""
    from bench.neardup_eval import edit
    import random

    rng = random.Random(round_)
    fresh = synthetic_texts(10_000_000 + round_ * probes, probes)
    stored = [row[0] for row in store.db.execute("SELECT text FROM articles ORDER BY random() LIMIT ?", [probes // 4])]
    copies = [edit(text, "synonyms_10", rng) for text in stored]
    times = []
    for number, text in enumerate(fresh + copies):
        item = ArticleItem(url=f"https://probe.example/{round_}/{number}", text=text, site="probe.example")
        item.content_hash = f"probe-{round_}-{number}"
        item.article_id = store.add_article(item)
        started = time.perf_counter()
        pipeline.process_item(item)
        times.append(time.perf_counter() - started)
    store.commit()
    linked = crawler.stats.get_value("neardup/linked", 0)
    return statistics.median(times) * 1000, linked


def memory_lsh_load_seconds(store) -> float:
    """How long datasketch's in-memory MinHashLSH takes to index every stored signature."""
    from datasketch import MinHashLSH

    from pipelines.minhash import Signature

    started = time.perf_counter()
    lsh = MinHashLSH(threshold=DEFAULTS.candidate_threshold, num_perm=DEFAULTS.num_perm)
    with lsh.insertion_session() as session:
        for article_id, blob, size in store.db.execute("SELECT article_id, signature, shingles FROM neardup_signatures"):
            session.insert(article_id, Signature.from_blob(blob, size).minhash, check_duplication=False)
    return time.perf_counter() - started


def scale(sizes: list[int], probes: int, extraction_ms: float) -> None:
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from pipelines.neardup import NearDupPipeline

    print(f"== Near-duplicate stage per new article ({probes} fresh + {probes // 4} edited copies per size)")
    print(f"{'stored':>8}{'ms/article':>12}{'vs 1st size':>13}{'% of extraction':>17}{'open s':>8}")
    with tempfile.TemporaryDirectory() as folder, ProcessPoolExecutor(2) as pool:
        db = Path(folder) / "news.db"
        first = None
        for round_, size in enumerate(sizes):
            crawler = get_crawler(Spider, {"NEWS_DB": str(db), "LOG_LEVEL": "WARNING"})
            from pipelines.store import store_for

            store = store_for(crawler)
            fill(store, size, pool)
            store.close()
            # Start-up: open the database and the stage as a crawl does.
            crawler = get_crawler(Spider, {"NEWS_DB": str(db), "LOG_LEVEL": "WARNING"})
            started = time.perf_counter()
            pipeline = NearDupPipeline.from_crawler(crawler)
            pipeline.open_spider()
            opened = time.perf_counter() - started
            store = pipeline.index.store
            ms, _linked = stage_ms_per_article(crawler, store, pipeline, probes, round_)
            first = first or ms
            print(f"{size:>8}{ms:>12.3f}{ms / first:>12.2f}x{100 * ms / extraction_ms:>16.1f}%{opened:>8.3f}")
            if size == sizes[-1]:
                loaded = memory_lsh_load_seconds(store)
                print(f"-- index start-up at {size} articles: {opened:.3f} s (buckets in SQLite) vs "
                      f"{loaded:.1f} s to load datasketch's in-memory MinHashLSH: {loaded / max(opened, 1e-6):.0f}x")
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="stored-article counts, comma separated")
    parser.add_argument("--probes", type=int, default=200, help="new articles timed per size")
    args = parser.parse_args()
    quality()
    extraction_ms, count = extraction_ms_per_page()
    print(f"== Baseline: trafilatura extraction {extraction_ms:.1f} ms per page (median over {count} pages)")
    scale([int(s) for s in args.sizes.split(",")], args.probes, extraction_ms)


if __name__ == "__main__":
    main()
