"""Raw pages kept with their articles, and re-extraction over them, offline.

In process (tests/inprocess.py), but for one run of `scrapy reextract` as a user runs it."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from scrapy.utils.defer import deferred_f_from_coro_f
from sqlite_utils import Database

from crawler.spiders.reextract import ReextractSpider
from crawler.spiders.replay import ReplaySpider
from pipelines.runs import run_counts
from pipelines.vietnamese.text import fold
from tests.conftest import SEEDS, run_scrapy
from tests.inprocess import exit_status, run_spider

PAGES = Path(__file__).parent / "pages"


async def replayed(tmp_path: Path, db: Path) -> Database:
    folder = tmp_path / "saved"
    folder.mkdir()
    for page in PAGES.glob("*.html"):
        shutil.copy(page, folder / page.name)
    shutil.copy(SEEDS / "002_290e18c0390ff467.txt", folder)  # a text seed: no page to keep
    assert exit_status(await run_spider(ReplaySpider, db, paths=[str(folder)])) == 0
    return Database(db)


async def reextract(db: Path, site: str | None = None) -> tuple[int, dict[str, int]]:
    """Re-extract the pages of ``db`` (of one ``site``): the pages read and the run's counts."""
    crawler = await run_spider(ReextractSpider, db, site=site)
    assert exit_status(crawler) == 0
    return crawler.stats.get_value("reextract/pages"), run_counts(crawler.stats)


@deferred_f_from_coro_f
async def test_pages_are_kept_gzipped_with_their_articles(tmp_path: Path, db_path: Path) -> None:
    db = await replayed(tmp_path, db_path)
    pages = {row["url"]: row for row in db["pages"].rows}
    articles = {row["url"]: row for row in db["articles"].rows}
    assert len(articles) == 4 and len(pages) == 3  # the text seed has no page
    for url, page in pages.items():
        assert articles[url]["id"] == page["article_id"]
        html = gzip.decompress(page["html_gz"]).decode("utf-8")
        assert page["size"] == len(html.encode("utf-8")) > len(page["html_gz"])
        assert "<html" in html


@deferred_f_from_coro_f
async def test_reextract_restores_what_a_worse_extraction_stored(tmp_path: Path, db_path: Path) -> None:
    db = await replayed(tmp_path, db_path)
    good = {row["id"]: row for row in db["articles"].rows}
    qdnd_id = db.execute("SELECT id FROM articles WHERE site = 'qdnd.vn'").fetchone()[0]
    tuoitre_id = db.execute("SELECT id FROM articles WHERE site = 'tuoitre.vn'").fetchone()[0]
    # What an older extraction left: a site name as author, a date without time, junk in the text.
    db["articles"].update(qdnd_id, {"author": "QDND VN", "published": "2026-03-05"})
    db["articles"].update(tuoitre_id, {"text": good[tuoitre_id]["text"] + "\nTin liên quan", "author": None})
    db.conn.commit()
    db.close()

    pages, counts = await reextract(db_path, site="qdnd.vn")
    assert (pages, counts["updated"], counts["unchanged"]) == (1, 1, 0)

    pages, counts = await reextract(db_path)
    assert (pages, counts["updated"], counts["unchanged"], counts["new"]) == (3, 1, 2, 0)

    db = Database(db_path)
    now = {row["id"]: row for row in db["articles"].rows}
    for article_id in (qdnd_id, tuoitre_id):
        for column in ("author", "published", "text", "content_hash", "title"):
            assert now[article_id][column] == good[article_id][column]
    hits = db.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [f'"{fold("chợ đầu mối Bình Điền")}"']
    ).fetchall()
    assert [row[0] for row in hits] == [tuoitre_id]  # re-indexed once, not twice
    runs = list(db["crawl_runs"].rows_where("command = 'reextract'", order_by="id"))
    assert [(run["site"], run["status"], run["updated"], run["unchanged"]) for run in runs] == [
        ("qdnd.vn", "finished", 1, 0),
        (None, "finished", 1, 2),
    ]

    _, again = await reextract(db_path)
    assert (again["updated"], again["unchanged"]) == (0, 3)


@deferred_f_from_coro_f
async def test_reextract_records_a_page_that_no_longer_extracts(tmp_path: Path, db_path: Path) -> None:
    """`scrapy reextract` as a user runs it: exit status 1 and the summary line name the failure."""
    db = await replayed(tmp_path, db_path)
    article_id, url = db.execute("SELECT article_id, url FROM pages ORDER BY article_id LIMIT 1").fetchone()
    links = "".join(f"<li><a href='/tin-{n}.html'>Tin thứ {n} trong ngày</a></li>" for n in range(20))
    db["pages"].update(article_id, {"html_gz": gzip.compress(f"<html><body><ul>{links}</ul></body></html>".encode())})
    db.conn.commit()
    db.close()
    result = run_scrapy("reextract", db=db_path)
    assert result.returncode == 1
    assert "1 failed" in result.stdout and "2 unchanged" in result.stdout
    failure = next(Database(db_path)["failures"].rows_where("stage = 'extract'"))
    assert failure["url"] == url
