"""Replay of saved pages (.html, .html.gz): the same extraction and pipelines as a fetch.

In process (tests/inprocess.py), but for the ``--url`` option, which goes through `scrapy replay`."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from scrapy.utils.defer import deferred_f_from_coro_f
from sqlite_utils import Database

from crawler.spiders.replay import ReplaySpider
from pipelines.runs import run_counts
from tests.conftest import run_scrapy
from tests.inprocess import exit_status, run_spider

PAGES = Path(__file__).parent / "pages"
QDND_URL = "https://www.qdnd.vn/xa-hoi/bo-doi-bien-phong-giup-dan-thu-hoach-ca-phe-1052001"


@deferred_f_from_coro_f
async def test_saved_pages_plain_and_gzipped(tmp_path: Path, db_path: Path) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    shutil.copy(PAGES / "meta_only_article.html", folder / "rau.htm")
    (folder / "qdnd.html.gz").write_bytes(gzip.compress((PAGES / "jsonld_article.html").read_bytes()))
    crawler = await run_spider(ReplaySpider, db_path, paths=[str(folder)])
    assert exit_status(crawler) == 0
    assert crawler.stats.get_value("replay/files") == 2 and run_counts(crawler.stats)["new"] == 2
    db = Database(db_path)
    rows = {row["url"]: row for row in db["articles"].rows}
    qdnd = rows[QDND_URL]  # from <link rel="canonical">
    assert qdnd["site"] == "qdnd.vn"
    assert qdnd["title"] == "Bộ đội biên phòng giúp dân thu hoạch cà phê trước mùa mưa ở xã biên giới Ia Lốp"
    assert qdnd["author"] == "Vũ Dung"
    assert qdnd["published"] == "2026-03-05T14:30:00+07:00"
    assert "Mời bạn đọc" not in qdnd["text"]
    tuoitre = rows["https://tuoitre.vn/gia-rau-xanh-tang-manh-sau-dot-mua-lon-20260307101010123.htm"]  # og:url
    assert tuoitre["author"] == "Hoài Thương, Ngọc Phượng"
    vias = {row["via"] for row in db["article_urls"].rows}
    assert vias == {"page"}
    # Idempotent, like text seeds.
    again = await run_spider(ReplaySpider, db_path, paths=[str(folder)])
    counts = run_counts(again.stats)
    assert exit_status(again) == 0 and (counts["new"], counts["unchanged"]) == (0, 2)


def test_url_option_and_missing_url(tmp_path: Path, db_path: Path) -> None:
    """The command line: exit status 1 and the ``--url`` hint, then ``--url``, then its usage error."""
    page = tmp_path / "no-url.html"
    page.write_text(
        (PAGES / "dateline_article.html").read_text(encoding="utf-8").replace("rel=\"canonical\"", "rel=\"x\""),
        encoding="utf-8",
    )
    result = run_scrapy("replay", str(page), db=db_path)
    assert result.returncode == 1
    assert "no-url.html" in result.stderr and "--url URL" in result.stderr
    failure = next(Database(db_path)["failures"].rows)
    assert failure["url"] == str(page) and "canonical" in failure["reason"]

    url = "https://thoisu.example.vn/xe-buyt-dien-d5001.html"
    result = run_scrapy("replay", "--url", url, str(page), db=db_path)
    assert result.returncode == 0, result.stderr[-2000:]
    row = next(Database(db_path)["articles"].rows)
    assert row["url"] == url and row["published"] == "2026-03-07T08:47:00+07:00"

    result = run_scrapy("replay", "--url", url, str(page), str(page), db=db_path)
    assert result.returncode == 2 and "exactly one file" in result.stderr


@deferred_f_from_coro_f
async def test_broken_gzip_is_reported(tmp_path: Path, db_path: Path) -> None:
    broken = tmp_path / "broken.html.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 definitely not gzip")
    assert exit_status(await run_spider(ReplaySpider, db_path, paths=[str(broken)])) == 1
    reason = next(Database(db_path)["failures"].rows)["reason"]
    assert "gzip" in reason
