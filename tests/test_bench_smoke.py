"""The benchmarks still run (at a tiny scale): `make bench` is not part of `make test`."""

from __future__ import annotations

import re

from bench import bench_neardup


def test_the_scale_benchmark_runs_and_finds_the_copies(capsys):
    bench_neardup.scale([200, 400], probes=25, extraction_ms=35.0)
    out = capsys.readouterr().out
    rows = {match[0]: match for match in re.findall(r"^\s+([\d,]+(?: again)?)\s+([\d.]+)\s+([\d.]+)x.*?(\d+)/(\d+)",
                                                   out, re.MULTILINE)}
    assert set(rows) == {"200", "400", "200 again"}
    for label, ms, ratio, found, copies in rows.values():
        assert float(ms) > 0 and float(ratio) > 0
        assert int(copies) == 5 and int(found) >= 4, label  # the edited copies are found
    assert "datasketch's in-memory MinHashLSH needs" in out


def test_the_crawl_benchmark_runs_and_stores_every_page(shared_data, capsys):
    """bench/bench_crawl.py at a tiny scale: 18 copies of the real pages, 50 text seeds."""
    from bench import bench_crawl

    assert bench_crawl.main(["--pages", "18", "--seeds", "50"]) == 0
    out = capsys.readouterr().out
    steps = dict(re.findall(r"^([A-F])  (.+?)\s+\d+\.\d\s", out, re.MULTILINE))
    assert set(steps) == set("ABCDEF"), out
    assert re.search(r"^   C: 18 article pages fetched, .*, 18 articles in the database$", out, re.MULTILINE), out
    assert re.search(r"^   E: 0 article pages fetched, .*, 18 articles in the database$", out, re.MULTILINE), out
    assert re.search(r"^   F: Replayed 50 files .*: 50 new", out, re.MULTILINE), out
    assert re.search(r"^C / A \(pages per second\)\s+\d+\.\d\dx", out, re.MULTILINE), out
    assert "WARNING" not in out and "FAILED" not in out
