"""The pure parts of the crawl: URL rules, feed and sitemap parsing, page kinds and links, Retry-After."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone

import pytest
from lxml.html import HtmlElement, document_fromstring

from crawler.discovery import parse_date, parse_feed, parse_since, parse_sitemap
from crawler.middlewares import retry_after_seconds
from crawler.urls import clean_url, is_asset, looks_like_article_url, same_site, url_shape
from pipelines.pageinfo import canonical_url, page_kind, page_links

NOW = datetime(2026, 3, 7, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "url, clean",
    [
        ("https://vnexpress.net/a-123.html?utm_source=fb&utm_medium=x#box", "https://vnexpress.net/a-123.html"),
        ("HTTPS://Tuoitre.VN:443/b.htm?fbclid=1&gclid=2&id=7", "https://tuoitre.vn/b.htm?id=7"),
        ("http://x.vn/c?zarsrc=31&gidzl=abc&page=2", "http://x.vn/c?page=2"),
        ("https://x.vn", "https://x.vn/"),
    ],
)
def test_clean_url(url, clean):
    assert clean_url(url) == clean


def test_url_rules():
    assert looks_like_article_url("https://vnexpress.net/gia-vang-tang-4812345.html")
    assert looks_like_article_url("https://qdnd.vn/quoc-phong/tong-cuc-ky-thuat-trien-khai-nhiem-vu-nam-moi")
    assert looks_like_article_url("https://nhandan.vn/tin-post812345.html")
    assert not looks_like_article_url("https://vnexpress.net/thoi-su")
    assert not looks_like_article_url("https://vnexpress.net/the-thao/bong-da")
    assert is_asset("https://x.vn/files/bao-cao.PDF") and not is_asset("https://x.vn/bao-cao-10012")
    assert same_site("https://www.qdnd.vn/a", "qdnd.vn") and same_site("https://m.qdnd.vn/a", "qdnd.vn")
    assert not same_site("https://notqdnd.vn/a", "qdnd.vn")
    assert url_shape("https://x.vn/lich/2026-01-02?ngay=3") == url_shape("https://x.vn/lich/2025-12-31?ngay=9")
    assert url_shape("https://x.vn/lich/2026-01-02") != url_shape("https://x.vn/tag/2026-01-02")


def test_dates_and_since():
    assert parse_date("Sat, 07 Mar 2026 08:47:00 +0700") == datetime(2026, 3, 7, 8, 47, tzinfo=timezone(timedelta(hours=7)))
    assert parse_date("2026-03-07T01:47:00Z") == datetime(2026, 3, 7, 1, 47, tzinfo=timezone.utc)
    assert parse_date("2026-03-07").utcoffset() == timedelta(hours=7)  # naive means Vietnam time
    assert parse_date("hôm qua") is None
    assert parse_since("2", NOW) == NOW - timedelta(days=2)
    assert parse_since("1.5d", NOW) == NOW - timedelta(days=1.5)
    assert parse_since("2026-03-01", NOW) == datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=7)))
    assert parse_since(None) is None
    with pytest.raises(ValueError, match="since='last week'"):
        parse_since("last week")


def test_news_sitemap_and_index():
    news = """<?xml version="1.0"?>
    <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
      <url><loc>https://x.vn/a-10001.html</loc><lastmod>2026-01-01</lastmod>
        <news:news><news:publication><news:name>X</news:name></news:publication>
        <news:publication_date>2026-03-07T08:47:00+07:00</news:publication_date>
        <news:title>Tin mới</news:title></news:news></url>
      <url><loc>/b-10002.html</loc></url>
    </urlset>""".encode("utf-8")
    a, b = parse_sitemap(news, "https://x.vn/sitemap.xml")
    assert (a.url, a.title, a.is_sitemap) == ("https://x.vn/a-10001.html", "Tin mới", False)
    assert a.published.isoformat() == "2026-03-07T08:47:00+07:00"  # publication_date wins over lastmod
    assert (b.url, b.published) == ("https://x.vn/b-10002.html", None)
    index = gzip.decompress(gzip.compress(
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>https://x.vn/s1.xml.gz</loc>'
        b"<lastmod>2026-03-01T00:00:00+00:00</lastmod></sitemap></sitemapindex>"))
    [child] = parse_sitemap(index, "https://x.vn/")
    assert child.is_sitemap and child.url == "https://x.vn/s1.xml.gz"
    assert parse_sitemap(b"<html><body>not a sitemap</body></html>", "https://x.vn/") == []


def test_rss_and_atom_feeds():
    rss = b"""<rss version="2.0"><channel><item><title>Mot</title><link>https://x.vn/mot-1.html</link>
      <pubDate>Sat, 07 Mar 2026 08:47:00 +0700</pubDate></item>
      <item><title>Hai</title><guid>https://x.vn/hai-2.html</guid></item></channel></rss>"""
    assert [(e.url, e.title) for e in parse_feed(rss, "https://x.vn/rss")] == [
        ("https://x.vn/mot-1.html", "Mot"), ("https://x.vn/hai-2.html", "Hai")]
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>Ba</title>
      <link rel="alternate" href="/ba-3.html"/><link rel="enclosure" href="/ba.jpg"/>
      <updated>2026-03-07T01:00:00Z</updated></entry></feed>"""
    [entry] = parse_feed(atom, "https://x.vn/atom")
    assert entry.url == "https://x.vn/ba-3.html" and entry.published == datetime(2026, 3, 7, 1, tzinfo=timezone.utc)


URL = "https://x.vn/a-10001.html"


def page(body: str) -> HtmlElement:
    return document_fromstring(f"<html><head></head><body>{body}</body></html>")


def test_page_kinds_and_canonical():
    text = "<p>" + "Nội dung bài viết dài. " * 40 + "</p>"
    assert page_kind(page('<meta property="og:type" content="article">'), False) == "article"
    assert page_kind(page('<script type="application/ld+json">{"@graph": [{"@type": "WebPage"}, '
                          '{"@type": ["NewsArticle"]}]}</script>'), False) == "article"
    assert page_kind(page('<meta property="og:type" content="website">' + text), True) == "listing"
    assert page_kind(page(text), True) == "article"
    assert page_kind(page(text), False) == "listing"
    assert page_kind(page("<p>Ngắn.</p>"), True) == "listing"
    head = ('<link rel="canonical" href="/goc-10001.html"><link rel="alternate" type="application/rss+xml" '
            'href="/rss/home.rss"><link rel="alternate" hreflang="en" href="/en">')
    assert canonical_url(page(head), URL) == "https://x.vn/goc-10001.html"
    assert canonical_url(page(head)) is None  # a saved page: only an absolute URL counts
    assert canonical_url(page('<meta property="og:url" content="https://x.vn/og-1.html">')) == "https://x.vn/og-1.html"
    assert page_links(page(head), URL).feeds == ["https://x.vn/rss/home.rss"]


def test_page_links_are_absolute_without_fragments_in_order():
    links = page_links(page(
        '<base href="https://x.vn/muc/"><a href="a-1.html#top">A</a><a href="/b-2.html">B</a>'
        '<a href="a-1.html">A again</a><a rel="next nofollow" href="?trang=2">Tiếp</a>'
        '<link rel="next" href="https://x.vn/muc/?trang=2">'
    ), URL)
    assert links.links == ["https://x.vn/muc/a-1.html", "https://x.vn/b-2.html", "https://x.vn/muc/?trang=2"]
    assert links.next_pages == ["https://x.vn/muc/?trang=2"]
    assert links.feeds == []


def test_retry_after():
    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds(b"Sat, 07 Mar 2026 12:00:30 GMT", NOW) == 30.0
    assert retry_after_seconds(b"soon") is None and retry_after_seconds(None) is None
