"""Serving the archive with the real Datasette for tests, and the database the browsing tests read."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.store import NewsStore
from tests.conftest import ROOT, SEEDS, run_scrapy

DATASETTE_META = ROOT / "datasette_meta"
BROWSE_SEEDS = Path(__file__).resolve().parent / "browse_seeds"
# The seed articles the tests look for, by URL.
SEED_000 = "seed:000_cb3248bbcccbdf52.txt"
SEED_002 = "seed:002_290e18c0390ff467.txt"
SCRIPT_ARTICLE = "https://baomau.example.vn/thoi-su/bai-co-ma-html.html"
EXACT_ARTICLE = "https://baomau.example.vn/thoi-su/dai-hoi-dang-uy-xa.html"
EXACT_ALIAS = "https://baomau.example.vn/amp/dai-hoi-dang-uy-xa.html"
NEAR_ARTICLE = "https://tinmau.example.vn/doi-song/dang-uy-thac.html"
COPY_ARTICLE = "https://tinmau.example.vn/quoc-phong/xay-dung-dang-bo-tong-cuc.html"


def datasette_command(db: Path, *options: str) -> list[str]:
    """``datasette serve DB`` with the project's metadata, templates and plugins, as ``make browse`` runs it."""
    return [
        sys.executable, "-m", "datasette", "serve", str(db),
        "--metadata", str(DATASETTE_META / "metadata.yml"),
        "--template-dir", str(DATASETTE_META / "templates"),
        "--plugins-dir", str(DATASETTE_META / "plugins"),
        "--setting", "suggest_facets", "off",
        *options,
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    """Wait until ``url`` answers; fail with the server's output if it died or never answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the server exited with {process.returncode}: {output[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@contextmanager
def serve(command: list[str], url: str, **popen_options) -> Iterator[subprocess.Popen]:
    """Run a server command until the block ends; it must answer at ``url`` first."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen_options
    )
    try:
        wait_for(url, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serve_datasette(db: Path) -> Iterator[str]:
    """Datasette on 127.0.0.1 with a free port, serving ``db``; yields the base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serve(datasette_command(db, "--host", "127.0.0.1", "--port", str(port)), f"{base}/-/versions.json"):
        yield base


def fetch(url: str) -> tuple[int, str]:
    """Status and body of a GET, error pages included."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def article_ids(db: Path) -> dict[str, int]:
    """Article id by URL (aliases included)."""
    store = NewsStore.open(db)
    try:
        return dict(store.db.execute("select url, article_id from article_urls").fetchall())
    finally:
        store.close()


def apply_neardup_contract(store: NewsStore) -> None:
    """``articles.story_id`` and ``near_duplicates``, as the near-duplicate stage stores them,
    when the database does not have them yet (the stage's own migration adds them)."""
    db = store.db
    if "story_id" not in db["articles"].columns_dict:
        db["articles"].add_column("story_id", int)
    if not db["near_duplicates"].exists():
        db["near_duplicates"].create(
            {"article_id": int, "similar_id": int, "jaccard": float, "containment": float, "method": str, "found": str}
        )


def build_browse_db(db: Path) -> Path:
    """The seeds and ``tests/browse_seeds`` replayed, plus crawl runs with failures and one story in two copies."""
    result = run_scrapy("replay", str(SEEDS), str(BROWSE_SEEDS), db=db)
    assert result.returncode == 0, result.stderr[-3000:]
    ids = article_ids(db)
    store = NewsStore.open(db)
    try:
        run = store.start_run("crawl news", site="tinmau.example.vn")
        store.record_failure("https://tinmau.example.vn/video/clip.html", "extraction found no article text", "extract", run)
        store.finish_run(run, "finished", {"new": 2, "duplicate": 0, "unchanged": 1, "updated": 0, "failed": 1})
        run = store.start_run("crawl news", site="baomau.example.vn")
        store.record_failure("https://baomau.example.vn/loi.html", "HTTP 503", "fetch", run)
        store.finish_run(run, "finished", {"new": 3, "duplicate": 1, "unchanged": 0, "updated": 0, "failed": 1})
        apply_neardup_contract(store)
        original, copy = ids[SEED_002], ids[COPY_ARTICLE]
        with store.db.conn:
            store.db.execute("update articles set story_id = ? where id in (?, ?)", [original, original, copy])
            store.db.execute(
                "insert or ignore into near_duplicates (article_id, similar_id, jaccard, containment, method, found)"
                " values (?, ?, 0.42, 0.93, 'minhash', '2023-01-12T08:00:00+00:00')",
                [copy, original],
            )
    finally:
        store.close()
    return db
