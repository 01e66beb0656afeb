"""Search speed on a large archive: Datasette's search page and JSON API at 100,000 and 1,000,000 articles.

Fills a database of synthetic Vietnamese articles (bench/vn_corpus.py: the real texts' words at
their real frequencies, news lengths) through the project's schema, in one transaction, then
serves it with `datasette serve` and the project's datasette_meta/, as `make browse` does, and
times searches over loopback: common and rare words, accented and accent-free, one and two
words, each on

- the JSON API of the ranked search (`/news/search.json?q=`),
- the JSON of the articles table searched (`/news/articles.json?_search=`),
- the search page the search box leads to (`/news/articles?_search=`),

and prints p50 and p95 per page and kind of query, and the targets (p95 < 50 ms for the JSON,
< 200 ms for the page). Databases are kept in bench/results/ and reused when they exist.

    .venv/bin/python bench/bench_search.py                        # 100,000 and 1,000,000 articles
    .venv/bin/python bench/bench_search.py --sizes 20000 --rounds 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
import urllib.parse
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.vn_corpus import Corpus, vietnamese_texts  # noqa: E402
from pipelines.db.schema import fill_recent_search  # noqa: E402
from pipelines.db.store import ARTICLE_COLUMNS, NewsStore  # noqa: E402
from pipelines.vietnamese.text import fold  # noqa: E402
from tests.browse_support import datasette_command, free_port, serve  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SITES = [f"bao{number:02d}.example.vn" for number in range(20)]
AUTHORS = ["Sơn Bình", "Trần Duy Hưng", "Lê Văn Thử", "Phạm Thị Gần", "Nguyễn Văn An", "Hoàng Minh", None]
CHUNK = 10_000
JSON_TARGET_MS, PAGE_TARGET_MS = 50.0, 200.0
PAGES = {
    "JSON API, ranked search": "/news/search.json?_shape=array&q={}",
    "JSON, articles table searched": "/news/articles.json?_shape=array&_search={}",
    "HTML, search page": "/news/articles?_search={}",
}


def fill(path: Path, count: int, seed: int = 1) -> None:
    """A database of ``count`` synthetic articles over 20 sites and three years, written in one transaction."""
    corpus = Corpus(vietnamese_texts(), seed=seed)
    rng = np.random.default_rng(seed)
    site_weights = 1.0 / np.arange(1, len(SITES) + 1)
    newest = datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=7)))
    store = NewsStore.open(path, batch_size=count + 1, commit_seconds=1e9)
    columns = ["id", *ARTICLE_COLUMNS, "first_seen", "updated", "story_id"]
    insert = f"INSERT INTO articles ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    store.begin()
    started = time.monotonic()
    search_rows: list[tuple[int, str, str]] = []
    for first in range(1, count + 1, CHUNK):
        ids = range(first, min(first + CHUNK, count + 1))
        sites = rng.choice(len(SITES), size=len(ids), p=site_weights / site_weights.sum())
        # Oldest first, as a crawl stores them: ids grow with time, over three years.
        ages = (count - np.array(ids)) / count * 3 * 365 * 86400 + rng.random(len(ids)) * 3600
        rows, urls = [], []
        for article_id, site, age in zip(ids, sites, ages):
            title, lead, text, title_folded, text_folded = corpus.article()
            published = (newest - timedelta(seconds=int(age))).isoformat()
            url = f"https://{SITES[site]}/tin-tuc/bai-{article_id}.html"
            values = {
                "content_hash": hashlib.sha256(text.encode()).hexdigest(), "url": url, "site": SITES[site],
                "title": title, "author": AUTHORS[article_id % len(AUTHORS)], "published": published,
                "modified": None, "description": lead, "category": None, "tags": None, "image": None,
                "language": "vi", "word_count": len(text.split()), "text": text,
            }
            rows.append([article_id, *(values[c] for c in ARTICLE_COLUMNS), published, published, article_id])
            urls.append((url, article_id, published, "crawl"))
            search_rows.append((article_id, title_folded, text_folded))
        store.db.conn.executemany(insert, rows)
        store.db.conn.executemany("INSERT INTO article_urls (url, article_id, first_seen, via) VALUES (?, ?, ?, ?)", urls)
        # The index of every article here; the recent one once, at the end (the store would index
        # each article in both and take the older ones out of the recent one again).
        store.db.conn.executemany("INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)", search_rows)
        search_rows.clear()
        done = ids[-1]
        rate = done / (time.monotonic() - started)
        print(f"  filled {done:,}/{count:,} articles ({rate:,.0f}/s)", end="\r", flush=True)
    fill_recent_search(store.db)
    store.db.conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('optimize')")
    store.close()
    print(f"  filled {count:,} articles in {time.monotonic() - started:.0f} s, {path.stat().st_size / 1e9:.1f} GB")


def queries(corpus: Corpus) -> dict[str, list[str]]:
    """Search words by kind: common and rare, accented and accent-free, one and two words."""
    accented = [w for w in corpus.lower if w != fold(w) and w.isalpha() and len(w) > 1]
    common, rare = accented[:4], accented[len(accented) // 3 : len(accented) // 3 + 4]
    pairs = [f"{a} {b}" for a, b in zip(common, common[1:])]
    return {
        "common, accented": common,
        "common, no accents": [fold(word) for word in common],
        "rare, accented": rare,
        "rare, no accents": [fold(word) for word in rare],
        "two common words": pairs,
        "two words, no accents": [fold(pair) for pair in pairs],
    }


@dataclass
class Timing:
    page: str
    kind: str
    times: list[float]

    def percentile(self, share: float) -> float:
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def get(url: str) -> tuple[float, bytes]:
    """The time a page took and its body (empty when Datasette gave up: over sql_time_limit_ms)."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        print(f"  {error.code} for {url}")
        body = b""
    return time.perf_counter() - started, body


def measure(db: Path, words: dict[str, list[str]], rounds: int) -> list[Timing]:
    """Each page for each kind of query, ``rounds`` times (after one warm-up round)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    timings = {(page, kind): Timing(page, kind, []) for page in PAGES for kind in words}
    with serve(datasette_command(db, "--host", "127.0.0.1", "--port", str(port)), f"{base}/-/versions.json"):
        for round_number in range(rounds + 1):
            for (page, kind), timing in timings.items():
                for query in words[kind]:
                    seconds, body = get(base + PAGES[page].format(urllib.parse.quote(query)))
                    if round_number:
                        timing.times.append(seconds)
                    elif page.startswith("JSON API") and kind.startswith("common"):
                        assert json.loads(body), f"{query!r} found nothing"  # a search that works, not an error
    return list(timings.values())


def report(size: int, timings: list[Timing]) -> list[str]:
    """Print the p50 and p95 table; return the misses of the targets."""
    misses = []
    print(f"\n{size:,} articles: p50 / p95 in ms")
    print(f"{'page':34} {'query':24} {'p50':>8} {'p95':>8}")
    for timing in timings:
        p50, p95 = timing.percentile(0.5), timing.percentile(0.95)
        target = PAGE_TARGET_MS if timing.page.startswith("HTML") else JSON_TARGET_MS
        flag = "" if p95 < target else f"  over the {target:.0f} ms target"
        print(f"{timing.page:34} {timing.kind:24} {p50:8.1f} {p95:8.1f}{flag}")
        if flag:
            misses.append(f"{size:,}: {timing.page}, {timing.kind}: p95 {p95:.0f} ms")
    for page in PAGES:
        every = [t for timing in timings if timing.page == page for t in timing.times]
        overall = Timing(page, "all", every)
        print(f"{page:34} {'all queries':24} {overall.percentile(0.5):8.1f} {overall.percentile(0.95):8.1f}")
    return misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="articles per database, comma separated")
    parser.add_argument("--rounds", type=int, default=10, help="times each query is timed")
    parser.add_argument("--folder", type=Path, default=RESULTS, help="where the databases are kept")
    parser.add_argument("--fill-only", action="store_true", help="fill the databases, measure nothing")
    options = parser.parse_args(argv)
    words = queries(Corpus(vietnamese_texts()))
    misses: list[str] = []
    for size in [int(size) for size in options.sizes.split(",")]:
        db = options.folder / f"search-{size}.db"
        if not db.exists():
            options.folder.mkdir(parents=True, exist_ok=True)
            print(f"Filling {db} with {size:,} articles")
            partial = db.with_suffix(".partial")
            for leftover in options.folder.glob(partial.name + "*"):
                leftover.unlink()
            fill(partial, size)
            partial.rename(db)
        if not options.fill_only:
            misses += report(size, measure(db, words, options.rounds))
    print("\nTargets met." if not misses else "\nTargets missed:\n  " + "\n  ".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
