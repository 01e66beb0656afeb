"""The per-page function in worker processes: same results, a time limit per page, workers replaced."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_f_from_coro_f
from sqlite_utils import Database

from crawler.spiders.news import NewsSpider
from crawler.spiders.replay import ReplaySpider
from pipelines.db.store import ARTICLE_COLUMNS
from pipelines.page import Fetched, PageOptions, process_page, process_text
from pipelines.workers import PagePool, PageTimeout, WorkerFailed
from tests.conftest import run_scrapy
from tests.inprocess import crawler_settings, exit_status, run_spider

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


@asynccontextmanager
async def pool_of(workers: int = 1, timeout: float = 30):
    """A pool of real workers in the running event loop (the reactor's: tests/inprocess.py), closed after."""
    pool = PagePool(workers=workers, timeout=timeout, options=OPTIONS)
    try:
        yield pool
    finally:
        pool.close()


@deferred_f_from_coro_f
async def test_workers_run_at_the_niceness_asked_above_the_engines() -> None:
    pool = PagePool(workers=2, timeout=30, options=OPTIONS, niceness=7)
    try:
        await pool.process({"url": URL, "text": "Một đoạn văn bản đủ dài để làm bài báo thử nghiệm hôm nay."})
        for worker in pool.workers:
            assert os.getpriority(os.PRIO_PROCESS, worker.process.pid) == os.getpriority(os.PRIO_PROCESS, 0) + 7
    finally:
        pool.close()


@deferred_f_from_coro_f
async def test_workers_spawned_early_take_the_options_of_their_first_job() -> None:
    """spawn() starts the processes with no job (and no event loop needed); the options may change
    until the first job, which brings them."""
    seed = {"url": URL, "text": "Một đoạn văn bản đủ dài để làm bài báo thử nghiệm hôm nay."}
    pool = PagePool(workers=2, timeout=30, options=OPTIONS, niceness=3)
    try:
        pool.spawn()
        assert len(pool.workers) == 2 and all(worker.alive() for worker in pool.workers) and not pool.serving
        for worker in pool.workers:  # set by the engine at once, before the worker's imports
            assert os.getpriority(os.PRIO_PROCESS, worker.process.pid) == os.getpriority(os.PRIO_PROCESS, 0) + 3
        pool.options = no_neardup = PageOptions(neardup=None)
        result = await pool.process(seed)
        assert pool.serving and result == process_text(seed, no_neardup) != process_text(seed, OPTIONS)
    finally:
        pool.close()


def test_workers_spawned_and_never_used_are_stopped_at_close() -> None:
    pool = PagePool(workers=2, timeout=30, options=OPTIONS)
    pool.spawn()
    processes = [worker.process for worker in pool.workers]
    pool.close()
    assert all(process.poll() is not None for process in processes) and pool.workers == []


@deferred_f_from_coro_f
async def test_the_workers_start_with_the_crawl_before_the_spider_opens(tmp_path: Path) -> None:
    """Their imports overlap the engine's start: they run when the spider opens, before its first
    job, and are stopped when it closes."""
    seed = tmp_path / "seed.txt"
    seed.write_text("Một đoạn văn bản đủ dài để làm bài báo thử nghiệm hôm nay.\n", encoding="utf-8")
    crawler = Crawler(ReplaySpider, crawler_settings(tmp_path / "news.db", {"EXTRACT_WORKERS": 2}))
    started = []

    def opened(spider: ReplaySpider) -> None:
        started.extend(w.process for w in spider.extractor.pool.workers if w.alive() and w.loop is None)

    crawler.signals.connect(opened, signal=signals.spider_opened)
    await crawler.crawl_async(paths=[str(seed)])
    assert exit_status(crawler) == 0 and crawler.stats.get_value("extract/ok") == 1
    assert len(started) == 2 and all(process.poll() is not None for process in started)


def children() -> set[int]:
    return {int(pid) for task in Path("/proc/self/task").iterdir() for pid in (task / "children").read_text().split()}


@deferred_f_from_coro_f
async def test_a_crawl_that_cannot_start_leaves_no_worker(tmp_path: Path) -> None:
    before = children()
    with pytest.raises(ValueError, match="since"):
        await run_spider(NewsSpider, tmp_path / "news.db", {"EXTRACT_WORKERS": 2}, since="garbage")
    assert children() <= before


def test_a_spider_made_outside_a_crawl_starts_no_worker(tmp_path: Path) -> None:
    crawler = Crawler(ReplaySpider, crawler_settings(tmp_path / "news.db", {"EXTRACT_WORKERS": 2}))
    spider = ReplaySpider.from_crawler(crawler, paths=[str(tmp_path)])
    assert spider.extractor._pool is None


@deferred_f_from_coro_f
async def test_pool_gives_what_the_function_gives_in_process() -> None:
    seed = {"url": URL, "text": "Một đoạn văn bản  đủ dài\u00a0để làm bài báo thử nghiệm hôm nay."}
    async with pool_of() as pool:
        assert await pool.process(page("jsonld_article.html")) == process_page(page("jsonld_article.html"), OPTIONS)
        text = await pool.process(seed)
        assert text == process_text(seed, OPTIONS) and await pool.process([seed]) == [text]


@deferred_f_from_coro_f
async def test_jobs_are_answered_in_order_two_workers_two_jobs_each() -> None:
    names = ["jsonld_article.html", "meta_only_article.html", "dateline_article.html"] * 3
    async with pool_of(workers=2) as pool:
        results = await asyncio.gather(*(pool.process(page(name)) for name in names))
    assert [r.fields["title"] for r in results] == [process_page(page(n), OPTIONS).fields["title"] for n in names]


@deferred_f_from_coro_f
async def test_slow_page_times_out_and_its_worker_is_replaced() -> None:
    async with pool_of(timeout=0.5) as pool:  # the heavy page needs seconds
        await pool.process(page("jsonld_article.html"))  # the worker is up
        worker_pid = pool.workers[0].process.pid
        heavy = pool.process(Fetched(URL, HEAVY_PAGE.encode(), kind="article"))
        queued = pool.process(page("jsonld_article.html"))  # behind it in the same worker: goes elsewhere
        heavy, queued = await asyncio.gather(heavy, queued, return_exceptions=True)
        assert isinstance(heavy, PageTimeout)
        assert pool.workers[0].process.pid != worker_pid
        assert queued.fields["author"] == "Vũ Dung"  # the new worker served the page that waited


@deferred_f_from_coro_f
async def test_a_worker_that_dies_fails_its_page_and_is_replaced() -> None:
    async with pool_of() as pool:
        await pool.process(page("meta_only_article.html"))  # make sure the worker is up
        heavy = asyncio.ensure_future(pool.process(Fetched(URL, HEAVY_PAGE.encode(), kind="article")))
        await asyncio.sleep(0.3)  # the worker is at it (the page takes seconds)
        os.kill(pool.workers[0].process.pid, signal.SIGKILL)
        with pytest.raises(WorkerFailed, match="died"):
            await heavy
        result = await pool.process(page("meta_only_article.html"))
    assert result.fields["title"] == "Giá rau xanh tăng mạnh sau đợt mưa lớn ở miền Tây"


@deferred_f_from_coro_f
async def test_replay_in_workers_equals_in_process(tmp_path: Path) -> None:
    rows = []
    for workers in (0, 2):
        db = tmp_path / f"workers-{workers}.db"
        crawler = await run_spider(ReplaySpider, db, {"EXTRACT_WORKERS": workers}, paths=[str(PAGES)])
        assert exit_status(crawler) == 0
        rows.append(list(Database(db)["articles"].rows_where(select=", ".join(ARTICLE_COLUMNS), order_by="url")))
    assert rows[0] == rows[1] and len(rows[0]) == 3


def test_time_limit_records_the_slow_page_and_the_run_goes_on(tmp_path: Path, db_path: Path) -> None:
    """End to end through `scrapy replay`: the workers, the exit status and the summary line."""
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


@deferred_f_from_coro_f
async def test_bad_pool_settings_are_refused(db_path: Path) -> None:
    with pytest.raises(ValueError, match="EXTRACT_WORKERS must be 0 or more"):
        await run_spider(ReplaySpider, db_path, {"EXTRACT_WORKERS": -1}, paths=[str(PAGES)])
    with pytest.raises(ValueError, match="EXTRACT_WORKERS_NICENESS must be between 0 and 19, got 20"):
        await run_spider(ReplaySpider, db_path, {"EXTRACT_WORKERS_NICENESS": 20}, paths=[str(PAGES)])


@deferred_f_from_coro_f
async def test_text_seed_files_are_read_by_the_workers_and_bad_ones_recorded(tmp_path: Path) -> None:
    """The engine hands a worker the files' paths; what cannot be a seed comes back as a failure with
    its reason, named by its file, and the others are stored, in order."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    text = "Một đoạn văn bản đủ dài để làm bài báo thử nghiệm.\n"
    (folder / "a.txt").write_text(f"URL: https://www.qdnd.vn/a-1\n\n{text}", encoding="utf-8")
    (folder / "b.txt").write_bytes(b"")
    (folder / "c.txt").write_bytes("Văn bản cũ".encode("utf-8") + b"\xff\xfe old bytes")
    (folder / "d.txt").write_text("Đoạn văn thứ hai đủ dài để làm một bài báo khác hôm nay.\n", encoding="utf-8")
    db = tmp_path / "news.db"
    crawler = await run_spider(ReplaySpider, db, {"EXTRACT_WORKERS": 2}, paths=[str(folder)])
    assert crawler.stats.get_value("extract/ok") == 2 and crawler.stats.get_value("replay/files") == 4
    urls = [row["url"] for row in Database(db)["articles"].rows_where(order_by="id")]
    assert urls == ["https://www.qdnd.vn/a-1", "seed:d.txt"]
    failures = {row["url"]: row["reason"] for row in Database(db)["failures"].rows}
    assert failures[str(folder / "b.txt")].startswith("empty file")
    assert failures[str(folder / "c.txt")].startswith("not UTF-8 text")
