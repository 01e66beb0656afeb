"""Benchmark of the extract stage (run by `make bench`).

Prints, per page and in total, the time our extraction takes
(:func:`pipelines.vietnamese.extract.extract_article`: trafilatura plus the Vietnamese
layer) as a ratio of trafilatura's ``bare_extraction`` alone, measured in the
same run on the same pages; then the throughput of the worker pool
(:class:`pipelines.extract_pool.ExtractPool`, ``EXTRACT_WORKERS`` processes)
against extraction in one process.

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

from pipelines.vietnamese.encoding import decode_html  # noqa: E402
from pipelines.extract_pool import ExtractPool  # noqa: E402
from pipelines.vietnamese.extract import extract_article  # noqa: E402

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
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def through_pool(pool: ExtractPool, jobs: list[tuple[str, str]]) -> None:
    await asyncio.gather(*(pool.extract(html, url) for html, url in jobs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=60)
    options = parser.parse_args()
    source, pages = load_pages()
    config = use_config()
    url = "https://example.vn/bai-viet-1000001.html"
    print(f"Extraction time per page, {source}; median of {options.repeat} runs")
    print(f"{'page':40} {'trafilatura ms':>15} {'ours ms':>9} {'ratio':>6}")
    total_base = total_ours = 0.0
    for name, html in pages:
        base = median_seconds(lambda: trafilatura.bare_extraction(  # noqa: B023
            html, url=url, with_metadata=True, include_comments=False, include_tables=True, config=config
        ), options.repeat)
        ours = median_seconds(lambda: extract_article(html, url, config), options.repeat)  # noqa: B023
        total_base += base
        total_ours += ours
        print(f"{name[:40]:40} {base * 1000:15.1f} {ours * 1000:9.1f} {ours / base:6.2f}")
    print(f"{'all pages':40} {total_base * 1000:15.1f} {total_ours * 1000:9.1f} {total_ours / total_base:6.2f}")

    jobs = [(pages[n % len(pages)][1], url) for n in range(options.batch)]
    start = time.perf_counter()
    for html, page_url in jobs:
        extract_article(html, page_url, config)
    one_process = time.perf_counter() - start
    pool = ExtractPool(options.workers, timeout=60)
    try:
        asyncio.run(through_pool(pool, jobs[: options.workers]))  # start the workers outside the timing
        start = time.perf_counter()
        asyncio.run(through_pool(pool, jobs))
        pooled = time.perf_counter() - start
    finally:
        pool.close()
    print(
        f"\n{options.batch} pages: one process {one_process:.2f}s ({options.batch / one_process:.1f} pages/s), "
        f"{options.workers} workers {pooled:.2f}s ({options.batch / pooled:.1f} pages/s): "
        f"speed-up {one_process / pooled:.2f}x"
    )


if __name__ == "__main__":
    main()
