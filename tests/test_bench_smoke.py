"""The near-duplicate benchmark still runs (at a tiny scale): `make bench` is not part of `make test`."""

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
