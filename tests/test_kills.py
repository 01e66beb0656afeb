"""Kill anywhere, run again, exact result: `scrapy crawl news`, `scrapy replay` and `scrapy reextract`
killed with SIGKILL at random moments (small batches, so that kills land inside them), then run to
their end: every article once, the database and its search index intact, no run left `running`.

The kill moments come from a random seed printed in every assertion message; ``KILL_SEED=N`` runs the
same kill points again (the timing within a batch still varies). ``make soak`` (``pytest -m soak``)
runs the long variants: 20 kills of a 300-article crawl, 10 of a replay, 5 of a re-extraction. The
crawled site also serves a fifth of its articles under short URLs that redirect to them: each must end
up an alias of its article.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.manysite import ManySite
from tests.test_disk_faults import write_seeds

# Small batches and quick commits: a kill lands inside a batch, and progress shows between them.
FAST = ["-s", "EXTRACT_WORKERS=0", "-s", "STORE_BATCH_SIZE=4", "-s", "STORE_COMMIT_SECONDS=0.1"]


def kill_seed() -> int:
    return int(os.environ.get("KILL_SEED") or random.randrange(2**32))


def run_progress(db: Path, pid: int) -> int:
    """Records the run of process ``pid`` has committed (its crawl_runs rows' counts, written with each batch)."""
    if not db.exists():
        return 0
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            row = connection.execute(
                "SELECT sum(coalesce(new, 0) + coalesce(duplicate, 0) + coalesce(unchanged, 0) + coalesce(updated, 0))"
                " FROM crawl_runs WHERE pid = ?", [pid]).fetchone()
        finally:
            connection.close()
    except sqlite3.OperationalError:  # not migrated yet
        return 0
    return int(row[0] or 0)


def kill_and_finish(command: list[str], db: Path, kills: int, rng: random.Random, work: Callable[[], int],
                    shrinking: bool = False, timeout: float = 120) -> list[str]:
    """Run ``command`` ``kills`` times, each killed (SIGKILL) once its run committed a random share of
    ``work()`` (what this run has to do) and a random instant more; then once to its end. The kills' story.

    ``shrinking``: each run does only what the others left (a crawl skips stored URLs), so each kill
    aims within twice its fair share of what is left, for the kills to spread over the whole crawl.
    """
    environment = {**os.environ, "NEWS_DB": str(db)}
    story = []
    for done in range(kills):
        left = work()
        share = min(left, 2 * left // (kills - done + 1)) if shrinking else left
        target = rng.randint(0, max(0, share - 1))
        extra = rng.uniform(0, 0.05)
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while process.poll() is None and run_progress(db, process.pid) < target and time.monotonic() < deadline:
            time.sleep(0.003)
        time.sleep(extra)
        ended = process.poll() is not None
        process.kill()
        process.wait()
        story.append(f"{'ended itself' if ended else 'killed'} at {run_progress(db, process.pid)}/{left} "
                     f"(target {target} + {extra:.3f} s)")
    print(story)  # shown with the failure
    final = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=timeout)
    assert final.returncode == 0, f"{story}\n{final.stderr[-3000:]}"
    return story


def check_archive(db: Path, urls: set[str], why: str) -> sqlite3.Connection:
    """Exactly ``urls``, each one article once; the file and search index intact; no run `running`."""
    connection = sqlite3.connect(db)
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)], why
    connection.execute("INSERT INTO articles_fts(articles_fts) VALUES('integrity-check')")
    stored = [row[0] for row in connection.execute("SELECT url FROM articles")]
    assert sorted(stored) == sorted(urls), why
    assert connection.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == len(urls), why
    assert connection.execute("SELECT count(*) FROM article_urls WHERE url IN (SELECT url FROM articles)"
                              ).fetchone()[0] == len(urls), why
    running = connection.execute("SELECT id, command FROM crawl_runs WHERE status = 'running'").fetchall()
    assert running == [], why
    return connection


def crawl_command(site: ManySite, jobdir: Path | None) -> list[str]:
    command = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"url={site.base}/", "-a", "delay=0",
               "-a", "since=0", "-a", "concurrency=4", *FAST]
    return command + (["-s", f"JOBDIR={jobdir}"] if jobdir else [])


def stored_count(db: Path) -> int:
    if not db.exists():
        return 0
    connection = sqlite3.connect(db)
    try:
        return connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        connection.close()


def crawl_killed(tmp_path: Path, articles: int, kills: int, jobdir: bool) -> None:
    seed = kill_seed()
    rng = random.Random(seed)
    db = tmp_path / "news.db"
    # A fifth of the articles also have a short URL that redirects to them: each must become an alias.
    with ManySite(articles, aliases=articles // 5) as site:
        command = crawl_command(site, tmp_path / "job" if jobdir else None)
        story = kill_and_finish(command, db, kills, rng, lambda: articles - stored_count(db), shrinking=True)
        why = f"KILL_SEED={seed} jobdir={jobdir}: {story}"
        connection = check_archive(db, set(site.article_urls()), why)
        aliases = dict(connection.execute(
            "SELECT u.url, a.url FROM article_urls u JOIN articles a ON a.id = u.article_id WHERE u.url LIKE '%/r/%'"))
        assert aliases == site.alias_urls(), why
    statuses = [row[0] for row in connection.execute("SELECT status FROM crawl_runs ORDER BY id")]
    assert statuses[-1] == "finished" and set(statuses) <= {"failed", "finished"}, why


@pytest.mark.parametrize("jobdir", [False, True], ids=["no-jobdir", "jobdir"])
def test_a_crawl_killed_three_times(tmp_path, jobdir):
    crawl_killed(tmp_path, 60, 3, jobdir)


@pytest.mark.soak
@pytest.mark.parametrize("jobdir", [False, True], ids=["no-jobdir", "jobdir"])
def test_soak_a_crawl_killed_twenty_times(tmp_path, jobdir):
    crawl_killed(tmp_path, 300, 20, jobdir)


def replay_killed(tmp_path: Path, seeds: int, kills: int) -> None:
    seed = kill_seed()
    rng = random.Random(seed)
    folder = write_seeds(tmp_path / "seeds", seeds)
    db = tmp_path / "news.db"
    command = [sys.executable, "-m", "scrapy", "replay", *FAST, str(folder)]
    story = kill_and_finish(command, db, kills, rng, lambda: seeds)
    check_archive(db, {f"https://x.vn/bai/{n}.html" for n in range(seeds)}, f"KILL_SEED={seed}: {story}")


def test_a_replay_killed_twice(tmp_path):
    replay_killed(tmp_path, 200, 2)


@pytest.mark.soak
def test_soak_a_replay_killed_ten_times(tmp_path):
    replay_killed(tmp_path, 1000, 10)


def reextract_killed(tmp_path: Path, articles: int, kills: int) -> None:
    """Re-extraction after a new cleanup rule, killed: the end is what one uninterrupted run gives."""
    seed = kill_seed()
    rng = random.Random(seed)
    db = tmp_path / "news.db"
    with ManySite(articles) as site:
        subprocess.run(crawl_command(site, None), cwd=ROOT, env={**os.environ, "NEWS_DB": str(db)}, check=True,
                       capture_output=True, timeout=120)
        urls = set(site.article_urls())
        sites = tmp_path / "sites.yml"
        # Drops the paragraphs that open with this sentence: some articles change, the others do not.
        sites.write_text(f"sites:\n  - name: loopback\n    home: {site.base}/\n"
                         "    cleanup: ['Hội nghị có sự tham dự.*']\n", encoding="utf-8")
    reference = tmp_path / "reference.db"
    shutil.copy(db, reference)
    before = sqlite3.connect(db).execute("SELECT url, content_hash, text FROM articles ORDER BY url").fetchall()
    command = [sys.executable, "-m", "scrapy", "reextract", *FAST, "-s", f"SITES_FILE={sites}"]
    environment = {**os.environ, "NEWS_DB": str(reference)}
    subprocess.run(command, cwd=ROOT, env=environment, check=True, capture_output=True, timeout=120)
    story = kill_and_finish(command, db, kills, rng, lambda: articles)
    why = f"KILL_SEED={seed}: {story}"
    connection = check_archive(db, urls, why)
    query = "SELECT url, content_hash, text FROM articles ORDER BY url"
    expected = sqlite3.connect(reference).execute(query).fetchall()
    assert expected != before  # the rule changed some articles
    assert connection.execute("SELECT url, content_hash, text FROM articles ORDER BY url").fetchall() == expected, why


def test_a_reextract_killed_once(tmp_path):
    reextract_killed(tmp_path, 60, 1)


@pytest.mark.soak
def test_soak_a_reextract_killed_five_times(tmp_path):
    reextract_killed(tmp_path, 300, 5)


def test_a_replay_interrupted_with_ctrl_c_stops_and_carries_on(tmp_path):
    """Ctrl-C mid-replay: it hung for ever (Scrapy's scraper never saw itself idle, see
    StorePipeline.poke_scraper); now it stops, exit status 1, run `interrupted`, and the next one ends it."""
    folder = write_seeds(tmp_path / "seeds", 400)
    db = tmp_path / "news.db"
    command = [sys.executable, "-m", "scrapy", "replay", *FAST, str(folder)]
    environment = {**os.environ, "NEWS_DB": str(db)}
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.monotonic() + 60
    while process.poll() is None and run_progress(db, process.pid) < 20 and time.monotonic() < deadline:
        time.sleep(0.003)
    process.send_signal(signal.SIGINT)
    try:
        _, errors = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("scrapy replay did not stop after Ctrl-C")
    assert process.returncode == 1, errors[-3000:]
    final = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr[-3000:]
    connection = check_archive(db, {f"https://x.vn/bai/{n}.html" for n in range(400)}, errors[-3000:])
    assert [row[0] for row in connection.execute("SELECT status FROM crawl_runs ORDER BY id")] == [
        "interrupted", "finished"]
