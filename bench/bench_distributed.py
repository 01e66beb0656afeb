"""Benchmark of the distributed crawl (run by `make bench`): 1, 2 and 3 workers, and the writer alone.

A real ``redis-server`` on a free loopback port (tests/redis_server.py; Debian's package, `make
redis`) and a loopback site of N generated articles (tests/manysite.py, served by a thread of this
process). In one run:

- for 1, 2 and 3 workers: a fresh database and Redis, ``scrapy ingest -a idle=0.5`` (the writer)
  and that many ``scrapy crawl news -a url=<site>`` workers at once, politeness off
  (``delay=0``, ``concurrency=16``), each with one extraction process: the time until the writer
  has stored every article, articles per second, the ratio to one worker, and the peak RSS of all
  their processes together (sampled every 0.1 s);
- the writer's ceiling: M article records (text seeds' fields) pushed to Redis first, then
  ``scrapy ingest`` alone drains them: records per second, start-up included.

This machine has two cores: workers beyond two share them with each other and with the writer, so
the ratios say how the work spreads here, not what more machines would add. The exit status is 1
only when a command fails or the database does not hold every article exactly once.

Options: ``--pages 600`` (N), ``--records 5000`` (M), ``--workers 1,2,3``, ``--keep`` (keep the work folder).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import BenchFailure, PeakRss  # noqa: E402
from crawler.distributed.connection import Keys  # noqa: E402
from crawler.distributed.records import RecordQueue  # noqa: E402
from crawler.items import ArticleItem  # noqa: E402
from pipelines.page import PageOptions, process_text  # noqa: E402
from tests.manysite import ManySite  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

SCRAPY = [sys.executable, "-m", "scrapy"]


def start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*SCRAPY, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))


def wait_all(processes: list[tuple[subprocess.Popen[bytes], Path]], timeout: float) -> None:
    for process, log in processes:
        if process.wait(timeout) != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise BenchFailure(f"{' '.join(map(str, process.args[2:5]))}... exited with {process.returncode}:\n{tail}")


def stored_once(db: Path, expected: int) -> None:
    with sqlite3.connect(db) as connection:
        count, distinct = connection.execute("SELECT count(*), count(DISTINCT url) FROM articles").fetchone()
    if count != expected or distinct != expected:
        raise BenchFailure(f"{db}: {count} articles ({distinct} URLs), expected {expected} once each")


def crawl(workers: int, site: ManySite, server: RedisServer, work: Path) -> tuple[float, float]:
    """Seconds until every article is stored, and the peak RSS (MB) of the workers and the writer."""
    redis.Redis.from_url(server.url).flushall()
    db = work / f"workers-{workers}.db"
    env = {**os.environ, "NEWS_DB": str(db), "REDIS_URL": server.url}
    arguments = ["crawl", "news", "-a", f"url={site.base}/", "-a", "delay=0", "-a", "concurrency=16", "-a", "since=0",
                 "-s", "EXTRACT_WORKERS=1", "-s", "AUTOTHROTTLE_ENABLED=False"]
    started = time.perf_counter()
    with PeakRss() as peak:
        writer = (start(["ingest", "-a", "idle=0.5"], work / f"ingest-{workers}.log", env), work / f"ingest-{workers}.log")
        crawlers = [(start(arguments, work / f"worker-{workers}-{n}.log", env), work / f"worker-{workers}-{n}.log")
                    for n in range(workers)]
        peak.roots = [process.pid for process, _ in [writer, *crawlers]]
        wait_all(crawlers, 600)
        wait_all([writer], 600)
    seconds = time.perf_counter() - started
    stored_once(db, site.count)
    return seconds, peak.peak


def writer_ceiling(records: int, server: RedisServer, work: Path) -> tuple[float, float]:
    """Seconds ``scrapy ingest`` takes to store ``records`` records pushed beforehand, and its peak RSS."""
    client = redis.Redis.from_url(server.url)
    client.flushall()
    queue, options = RecordQueue(client, Keys()), PageOptions()
    for n in range(records):
        url = f"https://tin.example.vn/bai-{n}.html"
        result = process_text({"title": f"Tin số {n}", "text": f"Bài số {n}: mưa lớn ở Hà Nội, quận {n} ngập sâu "
                               f"sáng nay, {n % 97} tuyến phố bị ảnh hưởng và {n % 13} trường học cho học sinh nghỉ."},
                              options, url)
        queue.push("article", dataclasses.asdict(ArticleItem(**{**result.fields, "url": url, "site": "tin.example.vn"})))
    db = work / "writer.db"
    env = {**os.environ, "NEWS_DB": str(db), "REDIS_URL": server.url}
    started = time.perf_counter()
    with PeakRss() as peak:
        writer = start(["ingest", "-a", "idle=0.3"], work / "writer.log", env)
        peak.roots = [writer.pid]
        wait_all([(writer, work / "writer.log")], 600)
    seconds = time.perf_counter() - started
    stored_once(db, records)
    return seconds, peak.peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not RedisServer.available():
        print("redis-server is not installed: `make redis` installs Debian's package.", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    server = RedisServer(work).start()
    try:
        with ManySite(args.pages) as site:
            print(f"Site of {args.pages} articles at {site.base}; Redis at {server.url}; {os.cpu_count()} cores")
            print(f"{'workers':>8} {'seconds':>8} {'articles/s':>11} {'vs 1 worker':>12} {'peak RSS MB':>12}")
            base = None
            for workers in [int(n) for n in args.workers.split(",")]:
                seconds, peak = crawl(workers, site, server, work)
                rate = args.pages / seconds
                base = base or rate
                print(f"{workers:>8} {seconds:>8.1f} {rate:>11.1f} {rate / base:>11.2f}x {peak:>12.0f}")
        seconds, peak = writer_ceiling(args.records, server, work)
        print(f"Writer alone: {args.records} records in {seconds:.1f} s = {args.records / seconds:.0f} records/s "
              f"(start-up included), peak RSS {peak:.0f} MB")
    except BenchFailure as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        server.stop()
        if args.keep:
            print(f"Work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
