"""A full disk and a read-only database: one line naming the file and the fix, exit status 1, nothing
corrupt, and the next run carries on where the failed one stopped."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from crawler.spiders.replay import ReplaySpider
from pipelines.db.store import NewsStore, StoreError
from tests.conftest import run_scrapy
from tests.inprocess import exit_status, run_spider
from tests.manysite import NAMES, PLACES, SENTENCES, SUBJECTS, ManySite
from tests.test_store_open import migrated_file, read_only


def write_seeds(folder: Path, count: int) -> Path:
    """``count`` text seeds of their own text each (about 2 KB), with their URLs."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        rng = random.Random(n)
        paragraphs = []
        for _ in range(5):
            words = {"subject": rng.choice(SUBJECTS), "place": rng.choice(PLACES), "n": n, "m": rng.randint(10, 99999),
                     "k": rng.randint(2, 12), "name": rng.choice(NAMES), "year": 2026}
            paragraphs.append(" ".join(rng.choice(SENTENCES).format(**words) for _ in range(4)))
        (folder / f"{n:04d}.txt").write_text(
            f"URL: https://x.vn/bai/{n}.html\n\nTin số {n}\n\n" + "\n\n".join(paragraphs), encoding="utf-8")
    return folder


def check_database(path: Path) -> tuple[int, list[str]]:
    """Integrity of the file and of the search index (raises if broken); the articles and the runs' statuses."""
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        connection.execute("INSERT INTO articles_fts(articles_fts) VALUES('integrity-check')")
        articles = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
        assert articles == connection.execute("SELECT count(DISTINCT url) FROM articles").fetchone()[0]
        statuses = [row[0] for row in connection.execute("SELECT status FROM crawl_runs ORDER BY id")]
    finally:
        connection.close()
    return articles, statuses


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB filesystem (tmpfs) of its own, emptied and unmounted after the test."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a 2 MB tmpfs here (needs root and mount rights): {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_disk_that_fills_up_mid_replay(small_disk, tmp_path):
    seeds = write_seeds(tmp_path / "seeds", 600)  # some 4 MB in the database: twice the disk
    db = small_disk / "news.db"
    full = run_scrapy("replay", "-s", "STORE_BATCH_SIZE=20", "-s", "EXTRACT_WORKERS=0", str(seeds), db=db)
    assert full.returncode == 1, full.stderr[-3000:]
    line = (f"Error: NEWS_DB={db} could not be written (database or disk is full): free space on its disk "
            "(or move NEWS_DB to a larger one), then run the command again")
    assert line in full.stderr.splitlines()[-1]
    assert "Traceback" not in full.stderr and "Replayed" not in full.stdout  # no summary counting lost articles
    # Before: each item's error was logged, the replay went on, counted 600 new and exited with status 0.
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)  # space freed
    stored, statuses = check_database(db)
    assert 0 < stored < 600 and statuses in (["failed"], ["running"])
    # The run counts what was committed, not the batch the failed write rolled back.
    assert sqlite3.connect(db).execute("SELECT new FROM crawl_runs").fetchone()[0] == stored
    again = run_scrapy("replay", "-s", "EXTRACT_WORKERS=0", str(seeds), db=db)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{600 - stored} new, 0 duplicate, {stored} unchanged" in again.stdout
    assert check_database(db) == (600, ["failed", "finished"])


@deferred_f_from_coro_f
async def test_a_read_only_database_then_a_writable_one(tmp_path):
    seeds = write_seeds(tmp_path / "seeds", 20)
    db = migrated_file(tmp_path / "news.db")
    with read_only(db):
        refused = await run_spider(ReplaySpider, db, paths=[str(seeds)])
    assert exit_status(refused) == 1 and check_database(db) == (0, [])
    carried_on = await run_spider(ReplaySpider, db, paths=[str(seeds)])
    assert exit_status(carried_on) == 0
    assert check_database(db) == (20, ["finished"])


def test_a_disk_that_fills_up_mid_crawl(small_disk):
    """The same in `scrapy crawl news`, with requests in flight: it stops at once, one line, status 1."""
    db = small_disk / "news.db"
    with ManySite(400) as site:
        full = run_scrapy("crawl", "news", "-a", f"url={site.base}/", "-a", "delay=0", "-a", "since=0",
                          "-a", "concurrency=8", "-s", "EXTRACT_WORKERS=0", "-s", "STORE_BATCH_SIZE=20", db=db)
        fetched = sum(1 for path in site.fetched() if path.startswith("/bai/"))
    assert full.returncode == 1, full.stderr[-3000:]
    assert full.stderr.splitlines()[-1].startswith(f"Error: NEWS_DB={db} could not be written (database or disk is full)")
    assert fetched < 400  # stopped, not crawled to the end with nothing stored
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    stored, statuses = check_database(db)
    assert 0 < stored < 400 and statuses in (["failed"], ["running"])


def test_a_read_only_folder_is_named(tmp_path):
    """The file is fine, its folder is not writable: SQLite said "unable to open database file"."""
    folder = tmp_path / "archive"
    folder.mkdir()
    db = migrated_file(folder / "news.db")
    folder.chmod(0o555)
    immutable = False
    try:
        if os.access(folder, os.W_OK):  # root: modes do not stop it
            immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
            if not immutable:
                pytest.skip("running as root where chattr cannot make a folder immutable")
        with pytest.raises(StoreError, match=f"NEWS_DB={db} cannot be written: its folder {folder} is read-only"):
            NewsStore.open(db)
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)
    NewsStore.open(db).close()
    assert check_database(db) == (0, [])
