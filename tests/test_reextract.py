"""Raw pages kept with their articles, and `scrapy reextract` over them, offline."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from sqlite_utils import Database

from tests.conftest import SEEDS, run_scrapy

PAGES = Path(__file__).parent / "pages"


def replayed(tmp_path: Path, db: Path) -> Database:
    folder = tmp_path / "saved"
    folder.mkdir()
    for page in PAGES.glob("*.html"):
        shutil.copy(page, folder / page.name)
    shutil.copy(SEEDS / "002_290e18c0390ff467.txt", folder)  # a text seed: no page to keep
    result = run_scrapy("replay", str(folder), db=db)
    assert result.returncode == 0, result.stderr[-2000:]
    return Database(db)


def test_pages_are_kept_gzipped_with_their_articles(tmp_path: Path, db_path: Path) -> None:
    db = replayed(tmp_path, db_path)
    pages = {row["url"]: row for row in db["pages"].rows}
    articles = {row["url"]: row for row in db["articles"].rows}
    assert len(articles) == 4 and len(pages) == 3  # the text seed has no page
    for url, page in pages.items():
        assert articles[url]["id"] == page["article_id"]
        html = gzip.decompress(page["html_gz"]).decode("utf-8")
        assert page["size"] == len(html.encode("utf-8")) > len(page["html_gz"])
        assert "<html" in html


def test_reextract_restores_what_a_worse_extraction_stored(tmp_path: Path, db_path: Path) -> None:
    db = replayed(tmp_path, db_path)
    good = {row["id"]: row for row in db["articles"].rows}
    qdnd_id = db.execute("SELECT id FROM articles WHERE site = 'qdnd.vn'").fetchone()[0]
    tuoitre_id = db.execute("SELECT id FROM articles WHERE site = 'tuoitre.vn'").fetchone()[0]
    # What an older extraction left: a site name as author, a date without time, junk in the text.
    db["articles"].update(qdnd_id, {"author": "QDND VN", "published": "2026-03-05"})
    db["articles"].update(tuoitre_id, {"text": good[tuoitre_id]["text"] + "\nTin liên quan", "author": None})
    db.conn.commit()
    db.close()

    result = run_scrapy("reextract", "--site", "qdnd.vn", db=db_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Re-extracted 1 pages of site qdnd.vn" in result.stdout and "1 updated, 0 unchanged" in result.stdout

    result = run_scrapy("reextract", db=db_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Re-extracted 3 pages" in result.stdout and "1 updated, 2 unchanged, 0 new" in result.stdout

    db = Database(db_path)
    now = {row["id"]: row for row in db["articles"].rows}
    for article_id in (qdnd_id, tuoitre_id):
        for column in ("author", "published", "text", "content_hash", "title"):
            assert now[article_id][column] == good[article_id][column]
    hits = db.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", ['"chợ đầu mối Bình Điền"']
    ).fetchall()
    assert [row[0] for row in hits] == [tuoitre_id]  # re-indexed once, not twice
    runs = list(db["crawl_runs"].rows_where("command = 'reextract'", order_by="id"))
    assert [(run["site"], run["status"], run["updated"], run["unchanged"]) for run in runs] == [
        ("qdnd.vn", "finished", 1, 0),
        (None, "finished", 1, 2),
    ]

    again = run_scrapy("reextract", db=db_path)
    assert "0 updated, 3 unchanged" in again.stdout


def test_reextract_records_a_page_that_no_longer_extracts(tmp_path: Path, db_path: Path) -> None:
    db = replayed(tmp_path, db_path)
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
