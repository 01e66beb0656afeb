"""Datasette keeps answering while another process writes the database (WAL, batched commits)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from tests.browse_support import fetch, serve_datasette
from tests.conftest import ROOT

# A crawl's writer, as the store runs it: NewsStore in batches, until the stop file appears.
WRITER = r"""
import sys, time
from pathlib import Path
from crawler.items import ArticleItem
from pipelines.page import content_hash
from pipelines.db.store import NewsStore

store = NewsStore.open(sys.argv[1], batch_size=20, commit_seconds=0.1)
stop = Path(sys.argv[2])
run = store.start_run("crawl news", site="baomau.example.vn")
print("writing", flush=True)
deadline = time.monotonic() + 60  # a safety net: the test stops it long before
written = 0
while not stop.exists() and time.monotonic() < deadline:
    text = "\n".join(f"Đoạn {line} của bài số {written}: Đảng ủy xã họp bàn kế hoạch năm mới." for line in range(30))
    store.add_article(ArticleItem(
        url=f"https://baomau.example.vn/tin-{written}.html", site="baomau.example.vn", language="vi",
        title=f"Tin thử số {written}", text=text, content_hash=content_hash(text), word_count=len(text.split()),
        published=f"2024-05-{1 + written % 28:02d}T08:00:00+07:00",
    ))
    written += 1
    time.sleep(0.002)  # a busy crawl's pace, and CPU left for the server
store.finish_run(run, "finished", {"new": written})
store.close()
print(written)
"""

ROUNDS = 5
PAGES = [
    "/",
    "/news/articles",
    "/news/articles?_search=dang+uy+xa",
    "/news/articles/1",
    "/news/latest_articles",
    "/news/crawl_health",
    "/news/search?q=%C4%91%E1%BA%A3ng+%E1%BB%A7y",
]


def article_count(base: str) -> int:
    status, body = fetch(f"{base}/news.json?sql=select+count(*)+as+n+from+articles&_shape=array")
    assert status == 200, body[-1000:]
    return json.loads(body)[0]["n"]


def test_pages_answer_while_a_crawl_writes(seeded_db, tmp_path):
    db, stop = tmp_path / "live.db", tmp_path / "stop"
    db.write_bytes(seeded_db.read_bytes())
    with serve_datasette(db) as base:
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), str(stop)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        reads, counts, problems = 0, [], []
        try:
            assert writer.stdout.readline().strip() == "writing", writer.stderr.read()[-2000:]
            # Rounds of page reads while the writer commits batch after batch.
            for _ in range(ROUNDS):
                for path in PAGES:
                    status, body = fetch(base + path)
                    reads += 1
                    if status != 200 or "database is locked" in body or "<h1>Error" in body:
                        error = re.search(r'border: 3px solid red;">(.*?)</div>', body, re.DOTALL)
                        problems.append(f"{path}: {status} {error[1] if error else body[-300:]}")
                counts.append(article_count(base))
                assert writer.poll() is None, writer.stderr.read()[-2000:]
        finally:
            stop.touch()
            output, errors = writer.communicate(timeout=60)
        assert writer.returncode == 0, errors[-2000:]
        final = article_count(base)
    assert problems == []
    written = int(output.split()[-1])
    assert final == 2 + written
    # Each round saw more articles than the one before: the commits land while pages are read.
    assert counts == sorted(counts) and len(set(counts)) >= ROUNDS - 1, counts
