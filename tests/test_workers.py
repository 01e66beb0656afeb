"""The per-page function in worker processes: same results, a time limit per page, workers replaced."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def pool():
    pool = PagePool(workers=1, timeout=30, options=OPTIONS)
    yield pool
    pool.close()


def test_pool_gives_what_the_function_gives_in_process(pool: PagePool) -> None:
    assert pool.run(page("jsonld_article.html")) == process_page(page("jsonld_article.html"), OPTIONS)
    seed = {"url": URL, "text": "Một đoạn văn bản  đủ dài\u00a0để làm bài báo thử nghiệm hôm nay."}
    assert pool.run(seed) == process_text(seed, OPTIONS)


def test_slow_page_times_out_and_its_worker_is_replaced(pool: PagePool) -> None:
    worker_pid = pool.idle[0].process.pid
    pool.timeout = 0.5  # the heavy page needs seconds
    try:
        with pytest.raises(PageTimeout):
            pool.run(Fetched(URL, HEAVY_PAGE.encode(), kind="article"))
    finally:
        pool.timeout = 30
    assert pool.idle[0].process.pid != worker_pid
    assert pool.run(page("jsonld_article.html")).fields["author"] == "Vũ Dung"  # the new worker serves


def test_dead_worker_is_reported_and_replaced(pool: PagePool) -> None:
    pool.run(page("meta_only_article.html"))  # make sure the worker is up
    os.kill(pool.idle[0].process.pid, signal.SIGKILL)
    pool.idle[0].process.wait()
    with pytest.raises(WorkerFailed, match="died"):
        pool.run(page("meta_only_article.html"))
    assert pool.run(page("meta_only_article.html")).fields["title"] == (
        "Giá rau xanh tăng mạnh sau đợt mưa lớn ở miền Tây"
    )


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
