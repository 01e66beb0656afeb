"""The benchmarks still run (at a tiny scale): `make bench` is not part of `make test`."""

from __future__ import annotations

import re
import sqlite3

from bench import bench_neardup


def test_the_scale_benchmark_runs_and_finds_the_copies(capsys):
    bench_neardup.scale([200, 400], probes=25, extraction_ms=35.0)
    out = capsys.readouterr().out
    # stored, ms today (shingles only), ms both (the spun-copy signal too), both/today, ..., copies found by each
    rows = {match[0]: match for match in re.findall(
        r"^\s+([\d,]+(?: again)?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x.*?(\d+)/(\d+)\s+(\d+)/(\d+)", out, re.MULTILINE
    )}
    assert set(rows) == {"200", "400", "200 again"}
    for label, today, both, ratio, found_today, copies_today, found_both, copies_both in rows.values():
        assert float(today) > 0 and float(both) > 0 and float(ratio) > 0
        assert int(copies_today) + int(copies_both) == 5, label
        assert int(found_both) == int(copies_both), label  # the edited and spun copies are found
    assert "datasketch's in-memory MinHashLSH needs" in out


def test_the_crawl_benchmark_runs_and_stores_every_page(shared_data, capsys):
    """bench/bench_crawl.py at a tiny scale: 18 copies of the real pages, 50 text seeds."""
    from bench import bench_crawl

    assert bench_crawl.main(["--pages", "18", "--seeds", "50", "--spin-seconds", "0.2"]) == 0
    out = capsys.readouterr().out
    steps = dict(re.findall(r"^([A-F])  (.+?)\s+\d+\.\d\s", out, re.MULTILINE))
    assert set(steps) == set("ABCDEF"), out
    assert re.search(r"^   C: 18 article pages fetched, .*, 18 articles in the database$", out, re.MULTILINE), out
    assert re.search(r"^   E: 0 article pages fetched, .*, 18 articles in the database$", out, re.MULTILINE), out
    assert re.search(r"^   F: Replayed 50 files .*: 50 new", out, re.MULTILINE), out
    assert re.search(r"^C / A \(pages per second\)\s+\d+\.\d\dx", out, re.MULTILINE), out
    assert "WARNING" not in out and "FAILED" not in out


def test_the_search_benchmark_fills_serves_and_times_every_kind_of_query(tmp_path, capsys):
    """bench/bench_search.py at a small scale: 600 articles, each query timed once."""
    from bench import bench_search

    assert bench_search.main(["--sizes", "600", "--rounds", "1", "--folder", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^(JSON API, ranked search|JSON, articles table searched|HTML, search page)\s+"
                      r"(.+?)\s+([\d.]+)\s+([\d.]+)", out, re.MULTILINE)
    kinds = {kind for _, kind, _, _ in rows}
    assert len(rows) == 3 * 7 and "all queries" in kinds and {"rare, no accents", "two common words"} <= kinds
    assert all(0 < float(p50) <= float(p95) for _, _, p50, p95 in rows)
    with sqlite3.connect(tmp_path / "search-600.db") as db:
        assert db.execute("select count(*) from articles").fetchone()[0] == 600
        assert db.execute("select count(*) from articles_fts").fetchone()[0] == 600
        words = db.execute("select avg(word_count) from articles").fetchone()[0]
    assert 400 < words < 750  # news lengths
