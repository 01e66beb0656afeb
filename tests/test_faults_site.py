"""Faults of a hostile site (tests/hostilesite.py): nothing lost, nothing stored half, no crash, no hang.

One in-process crawl of the four hostile sites, then one row per fault: the page is stored whole,
or is in ``failures`` with a reason a person understands, or is skipped on purpose (and counted),
never silently gone. docs/faults.md is this table in words.
"""

from __future__ import annotations

import gzip
import html
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from scrapy.crawler import Crawler
from sqlite_utils import Database

from crawler.discovery import parse_feed
from pipelines.compression import gzip_complete
from crawler.spiders.news import NewsSpider
from tests.hostilesite import (
    BIG_SITEMAP, FAULTS, FEED, GOOD, OTHER_SCHEMES, ROBOTS_DISALLOWED, SELF_INDEX, SITEMAP_URLS, HostileSite,
)
from tests.inprocess import run_spider_blocking
from tests.newsite import windows_1258

# A hang fails the test instead of blocking the suite (the crawl itself takes about 10 s).
pytestmark = pytest.mark.timeout(60)

MAX_BYTES = 6 * 1024 * 1024  # over the 5 MB robots.txt, under the 7 MB pages
SETTINGS = {
    # Shorter than the drips (DRIP_FOR), and long enough that a loaded machine's pause in the
    # reactor (the big sitemap and the pages are processed in this process) times nothing out.
    "DOWNLOAD_TIMEOUT": 2, "DOWNLOAD_MAXSIZE": MAX_BYTES, "DOWNLOAD_WARNSIZE": 0,
    # 429/503 storms: two short waits each (test_crawl.py checks that Retry-After is waited for).
    "BACKOFF_TIMES": 2, "BACKOFF_SECONDS": 0.05, "BACKOFF_MAX_SECONDS": 0.1,
    "AUTOTHROTTLE_START_DELAY": 0, "AUTOTHROTTLE_MAX_DELAY": 0.5,
}
BIG_MAX_PAGES = 6


@dataclass
class Crawl:
    site: HostileSite
    db: Database
    crawler: Crawler
    seconds: float

    def stat(self, name: str) -> int:
        return self.crawler.stats.get_value(name, 0)

    def stored(self, url: str) -> dict | None:
        row = self.db.execute("select a.* from article_urls u join articles a on a.id = u.article_id "
                              "where u.url = ?", [url]).fetchone()
        columns = [c.name for c in self.db["articles"].columns]
        return dict(zip(columns, row)) if row else None

    def failures(self, url: str) -> list[str]:
        return [row["reason"] for row in self.db["failures"].rows_where("url = ?", [url])]


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory):
    folder: Path = tmp_path_factory.mktemp("faults")
    with HostileSite() as site:
        sites = {"defaults": {"delay": 0, "max_depth": 1}, "sites": [
            {"name": "main", "home": site.url("/"), "feeds": [site.url(FEED)], "sitemaps": [site.url(SELF_INDEX)]},
            {"name": "hang", "home": site.url("/", "hang")},
            {"name": "huge", "home": site.url("/", "huge")},
            {"name": "big", "home": site.url("/", "big"), "max_pages": BIG_MAX_PAGES},
        ]}
        (folder / "sites.yml").write_text(yaml.safe_dump(sites), encoding="utf-8")
        started = time.monotonic()
        crawler = run_spider_blocking(NewsSpider, folder / "news.db", {**SETTINGS, "SITES_FILE": str(folder / "sites.yml")})
        yield Crawl(site, Database(folder / "news.db"), crawler, time.monotonic() - started)


def paragraphs(page: bytes) -> tuple[str, list[str]]:
    """The headline and paragraphs of the undamaged page."""
    text = page.decode("utf-8")
    return html.unescape(re.search(r"<h1>(.*?)</h1>", text)[1]), [html.unescape(p) for p in re.findall(r"<p>(.*?)</p>", text)]


# fault -> (outcome, reason pattern for a failure / stat for a skip). Every page the home links to is one row.
PAGES = {
    "good": ("stored", None),
    "reset_mid_body": ("failure", r"^connection lost mid-page: fewer bytes came than the server announced"),
    "truncated_gzip": ("failure", r"^truncated: the gzip-compressed page is cut short or corrupt"),
    "gzip_without_trailer": ("stored", None),  # its text is whole: Scrapy reads it, as it always did
    "gzip_whole": ("stored", None),
    "gzip_bomb": ("failure", rf"^too large: the page is over DOWNLOAD_MAXSIZE={MAX_BYTES} bytes once decompressed"),
    "gzip_legacy_charset": ("stored", None),
    "drip": ("failure", r"^timed out: the page took longer than DOWNLOAD_TIMEOUT=2 s"),
    "429_storm": ("failure", r"^HTTP 429: still refused after 2 waits"),
    "429_retry_after_seconds": ("failure", r"^HTTP 429: still refused after 2 waits"),
    "503_retry_after_date": ("failure", r"^HTTP 503: still refused after 2 waits"),
    "503_storm": ("failure", r"^HTTP 503: still refused after 2 waits"),
    "500_then_200": ("stored", None),
    "redirect_loop": ("failure", r"^too many redirects: over REDIRECT_MAX_TIMES=20"),
    "redirect_other_host": ("failure", r"^redirected to another site \(http://127\.0\.0\.2:\d+/f/.*\): not stored as main's"),
    "redirect_file": ("failure", r"^HTTP 302: redirect to file:///etc/passwd not followed \(only http and https"),
    "redirect_ftp": ("failure", r"^HTTP 302: redirect to ftp://127\.0\.0\.1/bai\.html not followed"),
    "redirect_data": ("failure", r"^HTTP 302: redirect to data:text/html,<h1>hi</h1> not followed"),
    "oversize_with_length": ("failure", rf"^too large: the page is over DOWNLOAD_MAXSIZE={MAX_BYTES} bytes"),
    "oversize_without_length": ("failure", rf"^too large: the page is over DOWNLOAD_MAXSIZE={MAX_BYTES} bytes"),
    "article_as_octet_stream": ("stored", None),
    "pdf_as_html": ("failure", r"^not an HTML page$"),
    "pdf_as_pdf": ("skipped", "news/not_html/main"),
    "charset_mismatch": ("stored", None),
    "unclosed_tags": ("stored", None),
    "deep_nesting": ("failure", r"^too deeply nested: over 256 levels of HTML tags"),
    "nul_byte": ("stored", None),
    "canonical_javascript": ("stored", None),  # under the URL it was fetched from, never javascript:
    "feed_item": ("stored", None),  # announced twice under one GUID by an invalid feed
}
assert set(PAGES) == set(FAULTS)


@pytest.mark.parametrize("fault", list(PAGES))
def test_fault_page(crawl, fault):
    outcome, detail = PAGES[fault]
    url = crawl.site.url(FAULTS[fault])
    article, reasons = crawl.stored(url), crawl.failures(url)
    if outcome == "stored":
        assert article is not None and reasons == [], reasons
        title, texts = paragraphs(crawl.site.page(FAULTS[fault]))
        assert article["title"] == title  # the charset the bytes are in, not the one declared
        assert article["site"] == "main" and article["url"] == url
        for paragraph in texts:  # whole: nothing cut by a bad encoding, deep nesting or unclosed tags
            assert paragraph in article["text"], paragraph
        assert "\x00" not in article["text"] + article["title"]
    elif outcome == "failure":
        assert article is None
        assert len(reasons) == 1 and re.search(detail, reasons[0]), reasons
        assert "Error: " not in reasons[0] and "<twisted" not in reasons[0]  # a sentence, not an exception
    else:
        assert article is None and reasons == []
        assert crawl.stat(detail) == 1


def test_the_crawl_finished_in_time_without_a_crash(crawl):
    assert crawl.stat("finish_reason") == "finished"
    assert not [name for name in crawl.crawler.stats.get_stats() if name.startswith("spider_exceptions")]
    assert crawl.seconds < 30
    runs = {row["site"]: row["status"] for row in crawl.db["crawl_runs"].rows}
    assert set(runs) == {"main", "hang", "huge", "big"}
    # Every article stored once: no duplicates, whatever came twice.
    assert crawl.db.execute("select count(*) from articles").fetchone()[0] == \
        crawl.db.execute("select count(distinct content_hash) from articles").fetchone()[0]


def test_nothing_lost_every_linked_page_has_an_outcome(crawl):
    """Each fault page is stored, in failures or counted as skipped: never none of these."""
    stored = sum(crawl.stored(crawl.site.url(path)) is not None for path in FAULTS.values())
    failed = sum(bool(crawl.failures(crawl.site.url(path))) for path in FAULTS.values())
    skipped = crawl.stat("news/not_html/main")
    assert stored + failed + skipped == len(FAULTS)


def test_robots_txt_that_errors_hangs_or_is_huge_stops_nothing(crawl):
    # 500 on the main site: everything allowed, the crawl went on (the main site's rows above).
    assert crawl.stored(crawl.site.url(GOOD["hang"], "hang"))  # robots.txt dripping past the timeout
    assert crawl.stored(crawl.site.url(GOOD["huge"], "huge"))  # robots.txt of 5 MB: read, and obeyed
    assert crawl.stat("robotstxt/truncated") == 1  # its first 500 KiB (tests/test_crawl.py)
    assert crawl.stat("news/robots_skipped/huge") == 1
    assert crawl.site.hits(ROBOTS_DISALLOWED, "huge") == 0
    assert crawl.failures(crawl.site.url(ROBOTS_DISALLOWED, "huge")) == []


def test_sitemap_index_naming_itself_is_read_once(crawl):
    assert crawl.site.hits(SELF_INDEX) == 1


def test_sitemap_of_50000_urls_is_read_and_the_budget_kept(crawl):
    assert crawl.site.hits(BIG_SITEMAP, "big") == 1
    fetched = [path for host, path in crawl.site.log if host == "big" and path.startswith("/t/")]
    assert 0 < len(fetched) < BIG_MAX_PAGES and len(set(fetched)) == len(fetched)
    # Every URL of the sitemap was read: those beyond the budget were counted, not fetched.
    assert len(fetched) + crawl.stat("news/over_budget/big") >= SITEMAP_URLS


def test_invalid_feed_with_duplicate_guids_gives_its_article_once(crawl):
    assert crawl.site.hits(FEED) == 1
    assert crawl.site.hits(FAULTS["feed_item"]) == 1
    assert crawl.db.execute("select count(*) from article_urls where url = ?",
                            [crawl.site.url(FAULTS["feed_item"])]).fetchone()[0] == 1


def test_429_and_503_storms_were_retried_then_given_up(crawl):
    for fault in ("429_storm", "429_retry_after_seconds", "503_retry_after_date", "503_storm"):
        assert crawl.site.hits(FAULTS[fault]) == 1 + SETTINGS["BACKOFF_TIMES"], fault
    assert crawl.site.hits(FAULTS["500_then_200"]) == 2
    assert crawl.stat("backoff/gave_up") == 4


def test_links_to_other_schemes_are_never_followed(crawl):
    """javascript:, file:, ftp:, data: and mailto: links on the home page: no request, no row."""
    requested = crawl.stat("downloader/request_count")
    schemes = [name for name in crawl.crawler.stats.get_stats() if "UnsupportedURLScheme" in name or "NotSupported" in name]
    assert requested and not schemes
    for table in ("article_urls", "failures"):
        urls = [row[0] for row in crawl.db.execute(f"select url from {table}")]
        assert urls and all(url.startswith("http://") for url in urls), table
        assert not {url for url in urls if any(link in url for link in OTHER_SCHEMES)}


def test_gzip_pages_reach_the_workers_as_they_came(crawl):
    """The engine decompresses no article page; a whole gzip file of UTF-8 is stored as it came, others anew."""
    def page_gz(fault: str) -> bytes:
        article = crawl.stored(crawl.site.url(FAULTS[fault]))
        return crawl.db.execute("select html_gz from pages where article_id = ?", [article["id"]]).fetchone()[0]

    came = crawl.site.page(FAULTS["gzip_whole"])
    assert page_gz("gzip_whole") == gzip.compress(came, mtime=0)
    # No trailer, or a charset only the header gave: compressed anew, as UTF-8, a whole gzip file.
    assert gzip.decompress(page_gz("gzip_without_trailer")) == crawl.site.page(FAULTS["gzip_without_trailer"])
    legacy = gzip.decompress(page_gz("gzip_legacy_charset")).decode("utf-8")
    assert paragraphs(crawl.site.page(FAULTS["gzip_legacy_charset"]))[0] in legacy
    # Scrapy decompressed none of the six gzip article pages (only the big sitemap); the workers refused two.
    assert crawl.stat("httpcompression/response_count") == 1
    assert crawl.stat("truncated/gzip") == 1


@pytest.mark.parametrize("cut, complete", [(None, True), (-8, True), (-4, True), (0.5, False), (12, False)])
def test_gzip_complete_asks_for_the_end_of_the_compressed_data(cut, complete):
    data = gzip.compress("Tin mới nhất. ".encode() * 3000)
    if isinstance(cut, float):
        data = data[: int(len(data) * cut)]
    elif cut is not None:
        data = data[:cut]
    assert gzip_complete(data) is complete
    assert gzip_complete(b"<html>not gzip</html>") is False


ITEMS = "".join(f"<item><title>Tin số {n} & lỗi</title><link>http://x.vn/bai-{n}.html</link><guid>g</guid></item>"
                for n in range(3))


@pytest.mark.parametrize("body", [
    f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>{ITEMS}</channel></rss>'.encode(),
    windows_1258(f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>{ITEMS}</channel></rss>'),
    f'<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel>{ITEMS}</channel></rss>'.encode(),
    f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>{ITEMS}</channel></rss>'.encode("utf-16"),
], ids=["raw-ampersand", "windows-1258-declared-utf-8", "utf-8-declared-iso-8859-1", "utf-16"])
def test_an_invalid_feed_still_gives_its_links(body):
    """The feeds of the hostile site, without a crawl: every item's link, whatever the encoding says."""
    assert [entry.url for entry in parse_feed(body, "http://x.vn/rss")] == [f"http://x.vn/bai-{n}.html" for n in range(3)]
