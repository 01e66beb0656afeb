"""Live progress on a terminal (crawler/progress.py), and only the summary line without one."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys

from sqlite_utils import Database

from tests.browse_support import BROWSE_SEEDS
from tests.conftest import ROOT, SEEDS
from tests.newsite import NewsSite

SUMMARY = re.compile(r"^Replayed 6 files into \S+: 5 new, 1 duplicate, 0 unchanged, 0 updated, 0 failed, 0 skipped$")


def on_a_terminal(command: list[str], env: dict[str, str], timeout: float = 120) -> str:
    """What ``command`` writes to a pseudo-terminal (standard output and error both), until it exits."""
    master, slave = pty.openpty()
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    output = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            assert ready, f"no output for {timeout} s"
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed: the command exited
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(master)
        assert process.wait(timeout) == 0, output[-2000:]
    return output.decode("utf-8", "replace")


def test_replay_on_a_terminal_shows_a_bar_with_count_rate_and_eta(tmp_path):
    env = {**os.environ, "NEWS_DB": str(tmp_path / "news.db"), "COLUMNS": "120", "TERM": "xterm"}
    output = on_a_terminal([sys.executable, "-m", "scrapy", "replay", str(SEEDS), str(BROWSE_SEEDS)], env)
    frames = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", frame) for frame in output.split("\r")]
    bars = [frame for frame in frames if frame.startswith("Replay ") and "━" in frame]
    assert bars, output[-2000:]
    last = bars[-1]
    assert " 6/6 " in last and "100%" in last and "ETA" in last and re.search(r"\d\.\d/s", last), last
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output).splitlines()]
    assert any(SUMMARY.match(line) for line in lines), output[-2000:]


def test_make_replay_without_a_terminal_prints_its_summary_line_only(tmp_path):
    db, log = tmp_path / "news.db", tmp_path / "replay.log"
    result = subprocess.run(
        # -o: the set-up is not what is tested (a changed pyproject.toml would reinstall first).
        ["make", "-s", "-o", ".venv/.installed", "replay", f"NEWS_DB={db}", f"REPLAY_LOG={log}"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.match(rf"^Replayed 2 files into {db}: 2 new, 0 duplicate, 0 unchanged, 0 updated, 0 failed, 0 skipped$",
                    result.stdout.strip()), result.stdout  # seeds/
    assert len(result.stdout.splitlines()) == 1 and result.stderr == ""  # no bar, no start-up log
    assert "Scrapy" in log.read_text(encoding="utf-8") and "Spider closed (finished)" in log.read_text(encoding="utf-8")


def test_a_crawl_on_a_terminal_shows_a_line_per_site(tmp_path):
    """The live line of the crawled site: pages, new, duplicate, failed, rate; its last frame the run's counts."""
    env = {**os.environ, "NEWS_DB": str(tmp_path / "news.db"), "COLUMNS": "160", "TERM": "xterm"}
    with NewsSite() as site:
        output = on_a_terminal([sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"url={site.url('/')}",
                                "-a", "delay=0", "-s", "AUTOTHROTTLE_START_DELAY=0"], env)
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    lines = re.findall(r"127\.0\.0\.1\s+(\d+) pages\s+(\d+) new\s+(\d+) duplicate\s+(\d+) failed\s+\S+ pages", plain)
    assert lines, output[-2000:]
    run = Database(tmp_path / "news.db")["crawl_runs"].get(1)
    assert tuple(map(int, lines[-1])) == (run["pages"], run["new"], run["duplicate"], run["failed"])
