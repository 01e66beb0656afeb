"""Serving the archive with the real Datasette for tests, and the database the browsing tests read."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.vn_corpus import Corpus, vietnamese_texts
from crawler.spiders.replay import ReplaySpider
from pipelines.db.store import NewsStore
from pipelines.vietnamese.dates import VIETNAM
from tests.conftest import ROOT, SEEDS
from tests.inprocess import exit_status, run_spider_blocking

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
            output = ""
            if process.stdout:
                process.stdout.seek(0)
                output = process.stdout.read()
            raise AssertionError(f"the server exited with {process.returncode}: {output[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@contextmanager
def serve(command: list[str], url: str, **popen_options) -> Iterator[subprocess.Popen]:
    """Run a server command until the block ends; it must answer at ``url`` first.

    Its output goes to a temporary file, never a pipe: nobody reads a pipe while the server runs,
    and a full one (a few tracebacks of error pages) would block the server.
    """
    output = tempfile.TemporaryFile("w+", encoding="utf-8")
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True, **popen_options)
    process.stdout = output
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
        output.close()


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


def write_copy_of_seed_002(folder: Path) -> Path:
    """A trimmed re-publication of seed 002 on another site, as a seed file: the near-duplicate stage links it."""
    paragraphs = [p for p in (SEEDS / "002_290e18c0390ff467.txt").read_text(encoding="utf-8").split("\n\n") if p.strip()]
    headers = (
        f"URL: {COPY_ARTICLE}\nSite: tinmau.example.vn\nPublished: 2023-01-12T14:00:00+07:00\n"
        "Author: Trần Duy Hưng\nTitle: Xây dựng Đảng bộ Tổng cục trong sạch, vững mạnh (bản đăng lại)\n\n"
    )
    body = "\n\n".join([*paragraphs[2:-3], "Bài đăng lại trên một trang khác, lược bớt một số đoạn."])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "copy_of_seed_002.txt"
    path.write_text(headers + body + "\n", encoding="utf-8")
    return path


def build_browse_db(db: Path) -> Path:
    """The seeds, ``tests/browse_seeds`` and a copy of seed 002 replayed (the near-duplicate stage
    makes them one story), plus per-site crawl runs with failures. For a fixture: the replay runs in process."""
    copy = write_copy_of_seed_002(db.parent / "copies")
    assert exit_status(run_spider_blocking(ReplaySpider, db, paths=[str(SEEDS), str(BROWSE_SEEDS), str(copy)])) == 0
    store = NewsStore.open(db)
    try:
        run = store.start_run("crawl news", site="tinmau.example.vn")
        store.record_failure("https://tinmau.example.vn/video/clip.html", "extraction found no article text", "extract", run)
        store.finish_run(run, "finished", {"new": 2, "duplicate": 0, "unchanged": 1, "updated": 0, "failed": 1})
        run = store.start_run("crawl news", site="baomau.example.vn")
        store.record_failure("https://baomau.example.vn/loi.html", "HTTP 503", "fetch", run)
        store.finish_run(run, "finished", {"new": 3, "duplicate": 1, "unchanged": 0, "updated": 0, "failed": 1})
    finally:
        store.close()
    return db


# The front page's archive: three sites publishing over the last weeks, one story copied on two of
# them yesterday and today, and crawl runs over the last days, one site failing.
FRONT_SITES = ("baomau.example.vn", "tinmau.example.vn", "hongmau.example.vn")
HEALTHY_SITE, FAILING_SITE = "baomau.example.vn", "hongmau.example.vn"
STORY_FIRST = "https://tinmau.example.vn/thoi-su/lu-lon-mien-trung.html"
STORY_COPY = "https://baomau.example.vn/xa-hoi/lu-lon-mien-trung-ban-dang-lai.html"


def seed_file(folder: Path, name: str, url: str, site: str, published: datetime, title: str, text: str) -> None:
    headers = f"URL: {url}\nSite: {site}\nPublished: {published.isoformat(timespec='seconds')}\nTitle: {title}\n"
    (folder / name).write_text(f"{headers}Author: Phóng viên Mẫu\n\n{text}\n", encoding="utf-8")


def build_front_db(db: Path, articles: int = 36) -> Path:
    """``articles`` synthetic articles of three sites, two a day back from today (Vietnam time), a
    story copied on two sites, and crawl runs on four days: what the front page and charts show."""
    folder = db.parent / "front_seeds"
    folder.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(vietnamese_texts(shared=False), seed=3)
    now = datetime.now(VIETNAM).replace(microsecond=0)
    for number in range(articles):
        site = FRONT_SITES[number % 3]
        title, _, text, _, _ = corpus.article()
        published = now - timedelta(days=number // 2, minutes=10 + number)
        seed_file(folder, f"{number:03d}.txt", f"https://{site}/tin/bai-{number}.html", site, published, title, text)
    title, _, text, _, _ = corpus.article()
    seed_file(folder, "story_first.txt", STORY_FIRST, "tinmau.example.vn", now - timedelta(hours=20), title, text)
    seed_file(folder, "story_copy.txt", STORY_COPY, "baomau.example.vn", now - timedelta(minutes=5),
              title + " (đăng lại)", "Bài đăng lại từ một báo khác.\n" + text)
    assert exit_status(run_spider_blocking(ReplaySpider, db, paths=[str(folder)])) == 0
    store = NewsStore.open(db)
    try:
        for days_ago in (3, 2, 1, 0):
            for site in (HEALTHY_SITE, FAILING_SITE):
                run = store.start_run("crawl news", site=site)
                failing = site == FAILING_SITE and days_ago < 2
                if failing:
                    store.record_failure(f"https://{site}/", "CannotResolveHostError: DNS lookup failed", "fetch", run)
                counts = {"new": 0 if failing else 4 - days_ago, "duplicate": 0, "unchanged": 0, "updated": 0,
                          "failed": 1 if failing else 0}
                store.finish_run(run, "failed" if failing else "finished", counts)
                started = (datetime.now(timezone.utc) - timedelta(days=days_ago, hours=1)).replace(microsecond=0).isoformat()
                store.db.execute("UPDATE crawl_runs SET started = ?, finished = ? WHERE id = ?", [started, started, run])
        store.db.conn.commit()
    finally:
        store.close()
    return db
