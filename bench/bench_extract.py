"""Benchmark of the per-page function (run by `make bench`).

Prints, per page and in total, the CPU time the whole per-page work takes
(:func:`pipelines.page.process_page`: decode, parse once, our Vietnamese layer,
trafilatura, normalize, hash, sign, gzip) as a ratio of trafilatura's
``bare_extraction`` alone, measured in the same run on the same pages; then the
throughput of the worker pool (:class:`pipelines.workers.PagePool`,
``EXTRACT_WORKERS`` processes) against the function in one process.

Pages: the real article pages of ../shared/data when present, else our own
fixture pages (tests/pages). Options: ``--repeat 5`` (timings per page, the
median is kept), ``--workers 2``, ``--batch 60`` (pages through the pool).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402
from trafilatura.settings import use_config  # noqa: E402

from pipelines.page import Fetched, PageOptions, process_page  # noqa: E402
from pipelines.vietnamese.encoding import decode_html  # noqa: E402
from pipelines.workers import PagePool  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
REAL_PAGES = [
    *(f"tracking-news-mcp-fixtures/{name}_article.html" for name in (
        "baochinhphu", "baodautu", "cafef", "dantri", "nld", "tuoitre", "vietnamnet", "vnexpress")),
    "fundus/vn/VnExpress_2025_10_22.html.gz",
    "htmldate-vnexpress/VnExpress.net-Kinh-doanh.html",
]


def load_pages() -> tuple[str, list[tuple[str, str]]]:
    """(where the pages come from, [(name, html)])."""
    if SHARED.is_dir():
        pages = []
        for relative in REAL_PAGES:
            data = (SHARED / relative).read_bytes()
            pages.append((Path(relative).name, decode_html(gzip.decompress(data) if relative.endswith(".gz") else data)))
        return f"{len(pages)} real pages from {SHARED}", pages
    pages = [(path.name, path.read_text(encoding="utf-8")) for path in sorted((ROOT / "tests/pages").glob("*.html"))]
    return f"{len(pages)} fixture pages from tests/pages ({SHARED} is absent)", pages


def median_seconds(function, repeat: int) -> float:
    """The median CPU time of ``function`` (CPU, not wall: the machine may be shared)."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return statistics.median(times)


def fetched(html: str, url: str) -> Fetched:
    return Fetched(url, html.encode("utf-8"), "text/html; charset=utf-8", kind="article", canonical="never")


async def through_pool(workers: int, jobs: list[Fetched]) -> float:
    """Seconds for ``jobs`` through a pool of ``workers`` (started, and warmed, outside the timing)."""
    pool = PagePool(workers, timeout=60, options=OPTIONS)
    try:
        await asyncio.gather(*(pool.process(job) for job in jobs[:workers]))
        start = time.perf_counter()
        await asyncio.gather(*(pool.process(job) for job in jobs))
        return time.perf_counter() - start
    finally:
        pool.close()


OPTIONS = PageOptions()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=60)
    options = parser.parse_args()
    source, pages = load_pages()
    config = use_config()
    url = "https://example.vn/bai-viet-1000001.html"
    print(f"CPU time per page, {source}; median of {options.repeat} runs")
    print(f"{'page':40} {'trafilatura ms':>15} {'ours ms':>9} {'ratio':>6}")
    total_base = total_ours = 0.0
    for name, html in pages:
        base = median_seconds(lambda: trafilatura.bare_extraction(  # noqa: B023
            html, url=url, with_metadata=True, include_comments=False, include_tables=True, config=config
        ), options.repeat)
        ours = median_seconds(lambda: process_page(fetched(html, url), OPTIONS), options.repeat)  # noqa: B023
        total_base += base
        total_ours += ours
        print(f"{name[:40]:40} {base * 1000:15.1f} {ours * 1000:9.1f} {ours / base:6.2f}")
    print(f"{'all pages':40} {total_base * 1000:15.1f} {total_ours * 1000:9.1f} {total_ours / total_base:6.2f}")

    jobs = [fetched(pages[n % len(pages)][1], url) for n in range(options.batch)]
    start = time.perf_counter()
    for job in jobs:
        process_page(job, OPTIONS)
    one_process = time.perf_counter() - start
    pooled = asyncio.run(through_pool(options.workers, jobs))
    print(
        f"\n{options.batch} pages: one process {one_process:.2f}s ({options.batch / one_process:.1f} pages/s), "
        f"{options.workers} workers {pooled:.2f}s ({options.batch / pooled:.1f} pages/s): "
        f"speed-up {one_process / pooled:.2f}x"
    )


if __name__ == "__main__":
    main()
