"""Everything at once on one database: a crawl, a replay, a re-extraction and the scheduler write
the same SQLite file while Datasette serves it under a read load. No "database is locked", no
article lost, every page answered; the read latency while writing is reported.

``make test`` runs it for a few seconds of work; the soak (``make soak``) keeps the readers and the
scheduler (every second) going for a minute, ``SOAK_SECONDS`` (default 60) long.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlite_utils import Database

from tests.browse_support import fetch, serve_datasette
from tests.conftest import ROOT
from tests.manysite import ManySite

READS = ["/", "/news/articles?_search=uy+ban", "/news/articles/{id}", "/news/latest_articles",
         "/news/crawl_health", "/news/search?q=%C4%91%E1%BA%A1i+bi%E1%BB%83u", "/news/articles.json?_size=5"]


def scrapy(*args: str, db: Path, log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "scrapy", *args], cwd=ROOT, env={**os.environ, "NEWS_DB": str(db)},
                            stdout=subprocess.DEVNULL, stderr=log.open("w"), text=True)


def text_seeds(folder: Path, count: int) -> Path:
    folder.mkdir()
    for n in range(count):
        (folder / f"seed-{n:04d}.txt").write_text(
            f"URL: https://hat-giong.example.vn/bai-{n}.html\nSite: hat-giong.example.vn\n"
            f"Published: 2026-11-20T08:00:00+07:00\nTitle: Hạt giống số {n}\n\n"
            + "\n\n".join(f"Đoạn {p} của bài số {n}: Ủy ban nhân dân xã họp bàn kế hoạch {n * 7 + p} công trình."
                          for p in range(6)) + "\n", encoding="utf-8")
    return folder


def sites_file(path: Path, site: ManySite) -> Path:
    path.write_text("defaults:\n  delay: 0\n  concurrency: 4\n  since_days: 0\nsites:\n"
                    f"  - name: lich.example\n    home: {site.base}/\n    schedule: 'every 1s'\n", encoding="utf-8")
    return path


def test_a_crawl_a_replay_a_reextract_and_the_scheduler_while_datasette_reads(seeded_db, tmp_path):
    everything_at_once(seeded_db, tmp_path, soak_seconds=0)


@pytest.mark.soak
def test_soak_everything_at_once_for_a_minute(seeded_db, tmp_path):
    everything_at_once(seeded_db, tmp_path, soak_seconds=float(os.environ.get("SOAK_SECONDS", "60")))


def everything_at_once(seeded_db: Path, tmp_path: Path, soak_seconds: float) -> None:
    """The writers on one database, Datasette read meanwhile; ``soak_seconds``: how long the
    scheduler keeps crawling (every second) and the readers reading (0: one scheduler pass)."""
    SOAK_SECONDS = soak_seconds
    db = tmp_path / "news.db"
    db.write_bytes(seeded_db.read_bytes())
    seeded = Database(db)["articles"].count
    seeds = text_seeds(tmp_path / "seeds", 100)
    latencies, problems = [], []
    with ManySite(60) as crawled, ManySite(40, salt="b") as scheduled, serve_datasette(db) as base:
        writers = {
            "crawl": scrapy("crawl", "news", "-a", f"url={crawled.base}/", "-a", "delay=0", "-a", "since=0",
                            "-s", "STORE_BATCH_SIZE=7", db=db, log=tmp_path / "crawl.log"),
            "replay": scrapy("replay", str(seeds), "-s", "STORE_BATCH_SIZE=11", db=db, log=tmp_path / "replay.log"),
            "reextract": scrapy("reextract", db=db, log=tmp_path / "reextract.log"),
            "schedule": scrapy("schedule", *(["--once"] if not SOAK_SECONDS else []), "-s",
                               f"SITES_FILE={sites_file(tmp_path / 'sites.yml', scheduled)}", db=db,
                               log=tmp_path / "schedule.log"),
        }
        started, article, stopping = time.monotonic(), 1, False
        deadline = started + max(SOAK_SECONDS, 120)
        # Reads until every writer is done (the scheduler: after SOAK_SECONDS), at least a few rounds.
        while time.monotonic() < deadline:
            for path in READS:
                before = time.perf_counter()
                status, body = fetch(base + path.format(id=article))
                latencies.append(time.perf_counter() - before)
                if status != 200 or "database is locked" in body:
                    problems.append(f"{path}: {status} {body[-300:]}")
            article = article % max(seeded, 1) + 1
            if SOAK_SECONDS and not stopping and time.monotonic() - started > SOAK_SECONDS:
                writers["schedule"].send_signal(signal.SIGINT)  # Ctrl-C, once: it stops its crawl and itself
                stopping = True
            if all(process.poll() is not None for process in writers.values()) and len(latencies) >= 5 * len(READS):
                break
        for name, process in writers.items():
            process.wait(60)
    logs = {name: (tmp_path / f"{name}.log").read_text(errors="replace") for name in writers}
    for name, process in writers.items():
        assert process.returncode == 0, f"{name}: {logs[name][-3000:]}"
        assert "database is locked" not in logs[name], name
    assert problems == []
    database = Database(db)
    urls = {row["url"] for row in database.query("SELECT url FROM articles")}
    expected = {*crawled.article_urls(), *scheduled.article_urls(), *(f"https://hat-giong.example.vn/bai-{n}.html"
                                                                      for n in range(100))}
    assert expected <= urls, f"lost: {sorted(expected - urls)[:5]}"
    assert database["articles"].count == seeded + len(expected)
    assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not list(database.query("SELECT id FROM crawl_runs WHERE status = 'running'"))
    p50, p95 = statistics.median(latencies), statistics.quantiles(latencies, n=20)[-1]
    print(f"\n{len(latencies)} Datasette requests while writing: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
