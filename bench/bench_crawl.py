"""Benchmark of whole crawls against trafilatura alone (run by `make bench`).

A loopback site (bench/crawl_site.py, a child process on 127.0.0.1) serves N copies of
the nine real article pages of ../shared/data/tracking-news-mcp-fixtures, each with a
sentence and a URL of its own, listed by its sitemaps, gzip-compressed to clients that accept
it, as news sites send them (``--plain``: uncompressed). In one run:

A. trafilatura's ``bare_extraction(html, with_metadata=True)`` in this process, on one
   core, over copies already in memory; measured first and again after E (how far the
   two differ is the noise of the machine); the ratios use both;
B. trafilatura's command line over the copies' URLs (``--parallel 2``, no sleep);
C. ``scrapy crawl news -a url=<site>`` into a fresh database: articles stored per second;
D. ``scrapy reextract`` of that database;
E. the same crawl again, the site unchanged: its time, and the article pages it fetched;
F. ``scrapy replay`` of synthetic text seeds (bench/crawl_seeds.py) into a fresh database.

Each step reports its wall time, its rate, the CPU time and the peak RSS of its whole
process tree (sampled from /proc every 0.1 s; for A, the growth of this process), and
the CPU time the rest of the machine used meanwhile: the site's (which shares the cores)
and any other load's, which makes the figures noisy. The targets are printed
beside the figures; a missed target is a measurement, not an error: the exit status is 1
only when a command fails or stores the wrong number of articles.

Options: ``--pages 720`` (N), ``--seeds 10000``, ``--only C,E`` (D and E bring C along:
they need its database), ``--baseline-pages 720`` (A's pages at most), ``--keep`` (keep
the work folder: databases, logs), ``--plain`` (the site sends its pages uncompressed),
``--spin-seconds 2`` (how long the check of the cores
two busy processes get takes).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from bench.crawl_seeds import sentences, write_seeds  # noqa: E402
from bench.crawl_site import FIXTURES, BasePage, SiteProcess, load_bases, paragraph_ends, write_site  # noqa: E402
from bench.measure import BenchFailure, Cost, PeakRss, metered, rss_mb, run_command, usable_cores  # noqa: E402
from bench.neardup_texts import BASES  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
STEPS = "ABCDEF"
RSS_TARGET_MB = 300
# Added to a paragraph to see whether trafilatura keeps it.
MARK = " Câu đánh dấu 987654321."


@dataclass
class Step:
    """What one step did (``count`` pages or articles, or None) and what it cost."""

    key: str
    label: str
    count: int | None
    unit: str
    cost: Cost
    note: str = ""
    fetched: int = 0  # article pages the site served (B, C, E)
    stored: int = 0  # articles in the database afterwards (C, D, E, F)

    @property
    def seconds(self) -> float:
        return self.cost.seconds

    @property
    def rate(self) -> float | None:
        return self.count / self.seconds if self.count is not None else None


def count_rows(db: Path, table: str = "articles") -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# --- preparing the pages and seeds ------------------------------------------------------------


def place_sentences(bases: list[BasePage]) -> list[str]:
    """Choose where each page's copies get their sentence; return the pages' extracted texts.

    The longest paragraph whose added text trafilatura keeps: otherwise the copies of a
    page would all have one text and be stored as one article. Also warms trafilatura up.
    """
    texts = []
    for base in bases:
        for end in paragraph_ends(base.html)[:10]:
            document = trafilatura.bare_extraction(base.html[:end] + MARK + base.html[end:], with_metadata=True)
            if document is not None and MARK.strip() in (document.text or ""):
                base.insert_at = end
                texts.append(document.text.replace(MARK.strip(), ""))
                break
        else:
            raise BenchFailure(f"{base.name}: no paragraph of the page is in trafilatura's text")
    return texts


def read_copies(folder: Path, urls: list[str], limit: int) -> list[str]:
    """The first ``limit`` copies, decoded (the copies go round the pages: any run has the same mix)."""
    return [(folder / url.split("/", 3)[3]).read_text(encoding="utf-8") for url in urls[:limit]]


# --- the steps ----------------------------------------------------------------------------------


def extraction_baseline(pages: list[str], label: str) -> Step:
    """A: ``bare_extraction`` in this process; its memory is this process's growth during the loop."""
    before = rss_mb([os.getpid()])
    with metered(time.process_time) as cost, PeakRss(os.getpid(), tree=False) as peak:
        for html in pages:
            trafilatura.bare_extraction(html, with_metadata=True)
    cost.peak_mb = max(peak.peak - before, 0)
    return Step("A", label, len(pages), "pages/s", cost)


def trafilatura_cli(site: SiteProcess, urls: list[str], work: Path) -> Step:
    """B: trafilatura's CLI over the URL list, with no sleep between requests and loopback allowed."""
    (work / "urls.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
    config = (Path(trafilatura.__file__).parent / "settings.cfg").read_text(encoding="utf-8")
    config = re.sub(r"^SLEEP_TIME\s*=.*$", "SLEEP_TIME = 0", config, flags=re.MULTILINE)
    # Versions that block non-public addresses have this setting; older ones fetch loopback anyway.
    config = re.sub(r"^SSRF_PROTECTION\s*=.*$", "SSRF_PROTECTION = off", config, flags=re.MULTILINE)
    (work / "trafilatura.cfg").write_text(config, encoding="utf-8")
    hits = site.hits()
    cost, _ = run_command(
        [sys.executable, "-m", "trafilatura.cli", "--parallel", "2", "-i", str(work / "urls.txt"),
         "-o", str(work / "trafilatura-out"), "--config-file", str(work / "trafilatura.cfg"), "--with-metadata"],
        work / "trafilatura.log", ROOT)
    # Its exit status says whether every URL gave a text; its files cannot: it names them by a hash
    # of their words, which the copies of one page share.
    fetched = (site.hits() - hits)["article 200"]
    return Step("B", "trafilatura CLI --parallel 2", len(urls), "pages/s", cost, f"{fetched} article pages fetched",
                fetched=fetched)


def crawl(site: SiteProcess, db: Path, log: Path, pages: int, key: str, label: str) -> Step:
    """C and E: the news spider from the site's home page, without delays or age limit.

    ``since_days=0``, not ``since=0``: ``since=0`` means "since now", which would skip
    every sitemap entry dated before the crawl started. ``max_pages`` covers every copy.
    """
    hits = site.hits()
    cost, _ = run_command(
        [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"url={site.base}/", "-a", "delay=0",
         "-a", "concurrency=16", "-a", "since_days=0", "-a", f"max_pages={pages + 1000}",
         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=INFO"], log, ROOT, NEWS_DB=str(db))
    served = site.hits() - hits
    fetched, stored = served["article 200"] + served["article 304"], count_rows(db)
    others = sum(n for kind, n in served.items() if kind.startswith("other"))
    note = (f"{fetched} article pages fetched, {others} other requests ({served['other 304']} answered 304), "
            f"{stored} articles in the database")
    rate_count = stored if key == "C" else None
    return Step(key, label, rate_count, "articles/s", cost, note, fetched, stored)


def reextract(db: Path, log: Path) -> Step:
    """D: extraction again over the pages the crawl stored (one per article)."""
    pages = count_rows(db, "pages")
    cost, out = run_command([sys.executable, "-m", "scrapy", "reextract"], log, ROOT, NEWS_DB=str(db))
    summary = out.strip().splitlines()[-1] if out.strip() else ""
    return Step("D", "scrapy reextract", pages, "pages/s", cost, summary, stored=count_rows(db))


def replay(seeds: Path, db: Path, log: Path) -> Step:
    """F: text seeds through the pipelines (no extraction: normalize, dedupe, store, near-duplicates)."""
    cost, out = run_command([sys.executable, "-m", "scrapy", "replay", str(seeds)], log, ROOT, NEWS_DB=str(db))
    stored = count_rows(db)
    summary = out.strip().splitlines()[-1] if out.strip() else ""
    return Step("F", "scrapy replay of text seeds", stored, "articles/s", cost, summary, stored=stored)


# --- the report -------------------------------------------------------------------------------------


def print_steps(steps: list[Step]) -> None:
    print(f"\n{'step':46}{'wall s':>8}{'rate':>10} {'unit':11}{'CPU s':>7}{'main':>6}{'cores':>7}{'others':>8}"
          f"{'peak RSS MB':>13}")
    for step in steps:
        cost = step.cost
        rate = f"{step.rate:10.1f}" if step.rate is not None else f"{'-':>10}"
        unit = step.unit if step.rate is not None else ""
        peak = f"+{cost.peak_mb:.0f} (own)" if step.key == "A" else f"{cost.peak_mb:.0f}"
        main = f"{cost.main_cpu:6.1f}" if step.key != "A" else f"{'-':>6}"
        print(f"{step.key}  {step.label:43}{cost.seconds:8.1f}{rate} {unit:11}{cost.cpu:7.1f}{main}"
              f"{cost.cpu / cost.seconds:7.2f}{cost.others:8.1f}{peak:>13}")
    for step in steps:
        if step.note:
            print(f"   {step.key}: {step.note}")
    print("   CPU s: user + system time of the command's process tree (A: this process); main: of that, the\n"
          "   command's own process (engine and writer; the rest is its workers); cores = CPU s / wall s;\n"
          "   others: CPU s the rest of the machine used meanwhile (the site, anything else running: where it is\n"
          "   high, the figures are noisy); peak RSS: the sum over the tree, sampled every 0.1 s (A: what this\n"
          "   process grew by).")


def print_targets(steps: list[Step], pages: int, spin_seconds: float = 2.0) -> None:
    """The figures the issue sets targets for, beside them; a missing step shows '-'."""
    by_key = {step.key: step for step in steps if step.key != "A"}
    baseline = [step for step in steps if step.key == "A"]
    rates = {key: step.rate for key, step in by_key.items()}
    if baseline:  # both runs of A, pooled
        rates["A"] = sum(step.count or 0 for step in baseline) / sum(step.seconds for step in baseline)

    def ratio(top: str, bottom: str) -> float | None:
        high, low = rates.get(top), rates.get(bottom)
        return high / low if high is not None and low else None

    e_share = by_key["E"].seconds / by_key["C"].seconds if "E" in by_key else None
    project_rss = [step.cost.peak_mb for step in steps if step.key in "CDEF"]
    rows = [
        ("C / A (pages per second)", ratio("C", "A"), "{:.2f}x", ">= 1.7x", lambda v: v >= 1.7),
        ("C / B (pages per second)", ratio("C", "B"), "{:.2f}x", ">= 2x", lambda v: v >= 2),
        ("D / A (pages per second)", ratio("D", "A"), "{:.2f}x", ">= 1.7x", lambda v: v >= 1.7),
        ("E / C (time)", e_share, "{:.1%}", f"< 5 % at N=20,000 (N={pages:,} here)", lambda v: v < 0.05),
        ("E: article pages fetched", by_key["E"].fetched if "E" in by_key else None, "{}", "0",
         lambda v: v == 0),
        ("F articles per second", rates.get("F"), "{:.0f}", ">= 1,000", lambda v: v >= 1000),
        ("peak RSS of C-F's process trees (MB)", max(project_rss) if project_rss else None, "{:.0f}",
         f"<= {RSS_TARGET_MB}", lambda v: v <= RSS_TARGET_MB),
    ]
    print(f"\n{'figure':40}{'measured':>10}   {'target':36}{'met':>4}")
    for name, value, form, target, met in rows:
        shown = form.format(value) if value is not None else "-"
        verdict = ("yes" if met(value) else "no") if value is not None else "-"
        print(f"{name:40}{shown:>10}   {target:36}{verdict:>4}")
    if baseline:
        print(f"(A: {rates['A']:.1f} pages/s over its {len(baseline)} runs)")
    cores = usable_cores(seconds=spin_seconds)
    print(f"(cores that two busy processes got together just now: {cores:.2f} of {os.cpu_count()}; the "
          f"crawl's ratios to one-core A cannot exceed about that)")


# --- the run --------------------------------------------------------------------------------------


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=720, help="copies on the site, N (default 720)")
    parser.add_argument("--seeds", type=int, default=10_000, help="text seeds for F (default 10,000)")
    parser.add_argument("--only", default=STEPS, help="steps to run, e.g. A,C,E (default all: A-F)")
    parser.add_argument("--baseline-pages", type=int, default=720, help="A's pages at most (default 720)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (databases, logs)")
    parser.add_argument("--plain", action="store_true",
                        help="the site sends its pages uncompressed (default: gzip, to clients that accept it)")
    parser.add_argument("--spin-seconds", type=float, default=2.0,
                        help="how long to measure the cores two busy processes get (default 2)")
    options = parser.parse_args(argv)
    only = set(options.only.upper().replace(",", ""))
    if not only or only - set(STEPS) or options.pages < 1 or options.seeds < 1:
        parser.error(f"--only takes letters of {STEPS}; --pages and --seeds take numbers above 0")
    options.only = only | ({"C"} if only & {"D", "E"} else set())
    return options


def run_steps(options: argparse.Namespace, work: Path, problems: list[str]) -> list[Step]:
    """Prepare everything, then measure the steps chosen, A again after E; ``problems`` gets wrong counts."""
    only, pages = options.only, options.pages
    bases = load_bases(SHARED)
    started = time.perf_counter()
    texts = place_sentences(bases)
    if "F" in only:
        write_seeds(work / "seeds", options.seeds, sentences([*texts, *BASES.values()]))
    steps: list[Step] = []

    def record(step: Step, expected_articles: int | None = None) -> None:
        """Keep the step, say it is done (a run takes minutes), check how many articles the database holds."""
        steps.append(step)
        print(f"  {step.key} {step.label}: {step.seconds:.1f} s", flush=True)
        if expected_articles is not None and step.stored != expected_articles:
            problems.append(f"{step.key}: {step.stored:,} articles in the database, expected {expected_articles:,}")
            print(f"WARNING: {problems[-1]}", flush=True)

    (work / "site").mkdir()
    with SiteProcess(work / "site") if only - {"F"} else nullcontext() as site:
        urls = write_site(work / "site", site.base, bases, pages, compress=not options.plain) if site else []
        baseline = read_copies(work / "site", urls, options.baseline_pages) if "A" in only else []
        prepared = [f"{pages:,} copies of {len(bases)} pages of {SHARED / FIXTURES} on {site.base}"
                    f" ({'uncompressed' if options.plain else 'gzip'})"] if site else []
        prepared += [f"{options.seeds:,} text seeds"] if "F" in only else []
        print(f"{', '.join(prepared)}: prepared in {time.perf_counter() - started:.1f} s; {os.cpu_count()} cores",
              flush=True)
        if "A" in only:
            record(extraction_baseline(baseline, "trafilatura bare_extraction, 1 core"))
        if "B" in only:
            record(trafilatura_cli(site, urls, work))
        if "C" in only:
            record(crawl(site, work / "crawl.db", work / "crawl-c.log", pages, "C", "scrapy crawl news"), pages)
        if "D" in only:
            record(reextract(work / "crawl.db", work / "reextract.log"), pages)
        if "E" in only:
            record(crawl(site, work / "crawl.db", work / "crawl-e.log", pages, "E",
                         "scrapy crawl news again, site unchanged"), pages)
        if "A" in only:
            record(extraction_baseline(baseline, "trafilatura bare_extraction, again"))
    if "F" in only:
        record(replay(work / "seeds", work / "replay.db", work / "replay.log"), options.seeds)
    return steps


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    if not (SHARED / FIXTURES).is_dir():
        print(f"Skipped: the crawl benchmark needs the real pages of {SHARED / FIXTURES}, which is absent")
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    problems: list[str] = []
    try:
        steps = run_steps(options, work, problems)
    except BenchFailure as exc:
        print(f"FAILED: {exc}")
        return 1
    finally:
        if options.keep:
            print(f"Work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print_steps(steps)
    print_targets(steps, options.pages, options.spin_seconds)
    for problem in problems:
        print(f"WARNING: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
