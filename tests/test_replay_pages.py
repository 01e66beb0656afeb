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

    # An article's URL: the page states no type, so its URL and text must say it, as for a crawled page.
    url = "https://thoisu.example.vn/ha-noi-xe-buyt-dien-d5001.html"
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


def section_page(url: str, head: str = "") -> str:
    """A section page of our own: forty headlines with their summaries, each in its own item."""
    items = "".join(
        f'<div class="item"><h3><a href="/thoi-su/tin-so-{n}-{10000 + n}.html">Tin thứ {n} trong ngày</a></h3>'
        f"<p>Tóm tắt ngắn của tin thứ {n}, đủ để người đọc biết chuyện gì đã xảy ra.</p></div>" for n in range(40)
    )
    return (f'<html lang="vi"><head><meta charset="utf-8"><title>Thời sự - Báo Mẫu</title>'
            f'<link rel="canonical" href="{url}">{head}</head><body><h1>Thời sự</h1>{items}</body></html>')


LISTINGS = {
    "website.html": section_page("https://baomau.example.vn/thoi-su", '<meta property="og:type" content="website">'),
    # Some CMSs say og:type=article on every page, their sections too.
    "section.html": section_page("https://baomau.example.vn/thoi-su", '<meta property="og:type" content="article">'),
    # ... and mark up each item's date: not the page's own.
    "dated-items.html": section_page("https://baomau.example.vn/xa-hoi", '<meta property="og:type" content="article">')
    .replace('<div class="item">', '<div class="item"><meta itemprop="datePublished" content="2026-03-07T08:00:00">'),
    "collection.html": section_page("https://baomau.example.vn/kinh-te", '<script type="application/ld+json">'
                                    '{"@type": "CollectionPage", "name": "Kinh tế"}</script>'),
    "untyped.html": section_page("https://baomau.example.vn/the-thao"),
}


@deferred_f_from_coro_f
async def test_saved_listing_pages_are_skipped_not_stored(tmp_path: Path, db_path: Path) -> None:
    from tests.articlepage import URL, article_html

    folder = tmp_path / "saved"
    folder.mkdir()
    for name, page in LISTINGS.items():
        (folder / name).write_text(page, encoding="utf-8")
    # Articles: one whose URL does not look like an article's but whose page says og:type=article,
    # one saying nothing with an article's URL and text.
    dated = '<meta property="article:published_time" content="2026-03-07T08:00:00+07:00">'
    short = "https://baomau.example.vn/bai/1234"
    (folder / "dated.html").write_text(article_html(head=dated + f'<link rel="canonical" href="{short}">'), "utf-8")
    untyped = article_html(head=f'<link rel="canonical" href="{URL}">').replace(
        '<meta property="og:type" content="article">', "").replace("Sáng 10-1", "Chiều 12-1")  # another text
    (folder / "untyped-article.html").write_text(untyped, encoding="utf-8")

    crawler = await run_spider(ReplaySpider, db_path, paths=[str(folder)])
    counts = run_counts(crawler.stats)
    assert exit_status(crawler) == 0  # skipping is not failing
    assert (counts["new"], counts["skipped"], counts["failed"]) == (2, len(LISTINGS), 0)
    db = Database(db_path)
    assert sorted(row["url"] for row in db["articles"].rows) == sorted([short, URL])
    skipped = {Path(row["url"]).name: row["reason"] for row in db["failures"].rows}
    assert sorted(skipped) == sorted(LISTINGS)
    assert all(reason.startswith("not an article: ") for reason in skipped.values())
    assert "og:type website" in skipped["website.html"] and "section page" in skipped["section.html"]
    run = next(db["crawl_runs"].rows)
    assert (run["new"], run["skipped"], run["failed"], run["status"]) == (2, len(LISTINGS), 0, "finished")


def test_the_summary_line_counts_the_skipped_pages(tmp_path: Path, db_path: Path) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    shutil.copy(PAGES / "jsonld_article.html", folder / "qdnd.html")
    (folder / "section.html").write_text(LISTINGS["section.html"], encoding="utf-8")
    result = run_scrapy("replay", str(folder), db=db_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 new, 0 duplicate, 0 unchanged, 0 updated, 0 failed, 1 skipped (not an article)" in result.stdout
    said = f"Skipped {folder / 'section.html'}: not an article: og:type article, but no publication date"
    assert said in result.stderr


@deferred_f_from_coro_f
async def test_the_shared_fixtures_lists_are_skipped(shared_data: Path, db_path: Path) -> None:
    """The real section pages saved beside their articles (some say og:type=article) are not articles."""
    folder = shared_data / "tracking-news-mcp-fixtures"
    lists = sorted(path.name for path in folder.glob("*_list.html"))
    articles = sorted(path.name for path in folder.glob("*.html") if path.name not in lists)
    crawler = await run_spider(ReplaySpider, db_path, paths=[str(folder)])
    counts = run_counts(crawler.stats)
    assert exit_status(crawler) == 0
    assert (counts["new"], counts["skipped"]) == (len(articles), len(lists))
    assert sorted(Path(row["url"]).name for row in Database(db_path)["failures"].rows) == lists
