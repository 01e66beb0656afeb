"""The per-page function in worker processes: same results, a time limit per page, workers replaced."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipelines.db.store import ARTICLE_COLUMNS
from pipelines.page import Fetched, PageOptions, process_page, process_text
from pipelines.workers import PagePool, PageTimeout, WorkerFailed
from tests.conftest import run_scrapy

PAGES = Path(__file__).parent / "pages"
URL = "https://www.qdnd.vn/xa-hoi/bo-doi-bien-phong-1052001"


# A page heavy enough to take seconds of CPU to extract, on any machine.
PARAGRAPH = (
    "<p>Sáng 5-3, Đồn Biên phòng Ia Lốp phối hợp với chính quyền xã tổ chức hai tổ công tác, mỗi tổ mười lăm "
    "cán bộ, chiến sĩ, xuống từng thôn giúp các hộ neo đơn thu hoạch cà phê, đợt {}.</p>"
)
HEAVY_PAGE = (
    "<html><head><link rel='canonical' href='https://www.qdnd.vn/xa-hoi/bai-rat-dai-1052003'></head><body>"
    "<h1>Một bài báo rất dài để thử giới hạn thời gian</h1><div itemprop='articleBody'>"
    + "".join(PARAGRAPH.format(n) for n in range(18000))
    + "</div></body></html>"
)


OPTIONS = PageOptions()


def page(name: str) -> Fetched:
    return Fetched(URL, (PAGES / name).read_bytes(), kind="article", canonical="never")


def in_pool(steps, workers: int = 1, timeout: float = 30):
    """Run ``steps(pool)`` (a coroutine function) against a pool in one event loop; return what it returns."""
    async def run():
        pool = PagePool(workers=workers, timeout=timeout, options=OPTIONS)
        try:
            return await steps(pool)
        finally:
            pool.close()

    return asyncio.run(run())


def test_pool_gives_what_the_function_gives_in_process() -> None:
    seed = {"url": URL, "text": "Một đoạn văn bản  đủ dài\u00a0để làm bài báo thử nghiệm hôm nay."}

    async def steps(pool):
        return await pool.process(page("jsonld_article.html")), await pool.process(seed), await pool.process([seed])

    fetched, text, texts = in_pool(steps)
    assert fetched == process_page(page("jsonld_article.html"), OPTIONS)
    assert text == process_text(seed, OPTIONS) and texts == [text]


def test_jobs_are_answered_in_order_two_workers_two_jobs_each() -> None:
    names = ["jsonld_article.html", "meta_only_article.html", "dateline_article.html"] * 3

    async def steps(pool):
        return await asyncio.gather(*(pool.process(page(name)) for name in names))

    results = in_pool(steps, workers=2)
    assert [r.fields["title"] for r in results] == [process_page(page(n), OPTIONS).fields["title"] for n in names]


def test_slow_page_times_out_and_its_worker_is_replaced() -> None:
    async def steps(pool):
        await pool.process(page("jsonld_article.html"))  # the worker is up
        worker_pid = pool.workers[0].process.pid
        pool.timeout = 0.5  # the heavy page needs seconds
        for worker in pool.workers:
            worker.timeout = 0.5
        heavy = pool.process(Fetched(URL, HEAVY_PAGE.encode(), kind="article"))
        queued = pool.process(page("jsonld_article.html"))  # behind it in the same worker: goes elsewhere
        outcomes = await asyncio.gather(heavy, queued, return_exceptions=True)
        return worker_pid, pool.workers[0].process.pid, outcomes

    before, after, (heavy, queued) = in_pool(steps)
    assert isinstance(heavy, PageTimeout)
    assert before != after
    assert queued.fields["author"] == "Vũ Dung"  # the new worker served the page that waited


def test_a_worker_that_dies_fails_its_page_and_is_replaced() -> None:
    async def steps(pool):
        await pool.process(page("meta_only_article.html"))  # make sure the worker is up
        heavy = asyncio.ensure_future(pool.process(Fetched(URL, HEAVY_PAGE.encode(), kind="article")))
        await asyncio.sleep(0.3)  # the worker is at it (the page takes seconds)
        os.kill(pool.workers[0].process.pid, signal.SIGKILL)
        with pytest.raises(WorkerFailed, match="died"):
            await heavy
        return await pool.process(page("meta_only_article.html"))

    assert in_pool(steps).fields["title"] == "Giá rau xanh tăng mạnh sau đợt mưa lớn ở miền Tây"


def test_replay_in_workers_equals_in_process(tmp_path: Path) -> None:
    rows = []
    for workers in ("0", "2"):
        db = tmp_path / f"workers-{workers}.db"
        result = run_scrapy("replay", "-s", f"EXTRACT_WORKERS={workers}", str(PAGES), db=db)
        assert result.returncode == 0, result.stderr[-2000:]
        rows.append(list(Database(db)["articles"].rows_where(select=", ".join(ARTICLE_COLUMNS), order_by="url")))
    assert rows[0] == rows[1] and len(rows[0]) == 3


def test_time_limit_records_the_slow_page_and_the_run_goes_on(tmp_path: Path, db_path: Path) -> None:
    folder = tmp_path / "saved"
    shutil.copytree(PAGES, folder)
    (folder / "heavy.html").write_text(HEAVY_PAGE, encoding="utf-8")
    result = run_scrapy("replay", "-s", "EXTRACT_TIMEOUT=1", str(folder), db=db_path)
    assert result.returncode == 1
    assert "Replayed 4 files" in result.stdout and "3 new" in result.stdout and "1 failed" in result.stdout
    db = Database(db_path)
    failure = next(db["failures"].rows)
    # The worker was stopped before it read the page's own URL: the failure names the file.
    assert failure["url"] == str(folder / "heavy.html")
    assert "EXTRACT_TIMEOUT=1" in failure["reason"]
    assert next(db["crawl_runs"].rows)["status"] == "finished"


def test_bad_pool_settings_are_refused(db_path: Path) -> None:
    result = run_scrapy("replay", "-s", "EXTRACT_WORKERS=-1", str(PAGES), db=db_path)
    assert result.returncode != 0
    assert "EXTRACT_WORKERS must be 0 or more" in result.stderr
