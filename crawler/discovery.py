"""Find article URLs: sitemaps, RSS/Atom feeds and pages, with the dates they announce.

Pure functions over bytes and Scrapy responses; the spider decides what to fetch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin

import lxml.etree
from scrapy.http import Response, TextResponse

# The one date parser of the project, under the name callers of this module use: feeds, sitemaps and
# ``since`` read dates as the extraction does.
from pipelines.vietnamese.dates import parse_moment as parse_date

__all__ = [
    "Entry",
    "canonical_url",
    "feed_links",
    "is_feed",
    "page_kind",
    "parse_date",
    "parse_feed",
    "parse_since",
    "parse_sitemap",
]

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/xml")
ARTICLE_TYPES = {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "blogposting",
                 "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "liveblogposting"}
LISTING_TYPES = {"website", "collectionpage", "webpage", "itemlist", "searchresultspage"}


@dataclass(frozen=True)
class Entry:
    """One URL announced by a feed or sitemap, with what it says about it."""

    url: str
    published: datetime | None = None
    title: str | None = None
    is_sitemap: bool = False  # an entry of a sitemap index


def parse_since(text: str | float | None, now: datetime | None = None) -> datetime | None:
    """``-a since=``: a date (``2026-03-01``), a timestamp, or a number of days (``3``, ``3d``)."""
    if text is None or text == "":
        return None
    now = now or datetime.now(timezone.utc)
    days = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*d?\s*", str(text))
    if days:
        return now - timedelta(days=float(days[1]))
    value = parse_date(str(text))
    if value is None:
        raise ValueError(f"since={text!r}: expected a date such as 2026-03-01 or a number of days such as 3")
    return value


def _local(tag: object) -> str:
    return tag.rpartition("}")[2].lower() if isinstance(tag, str) else ""


def _child_text(element: lxml.etree._Element, *names: str) -> str | None:
    """The text of the first descendant named one of ``names`` (namespace ignored)."""
    for node in element.iter():
        if _local(node.tag) in names and node.text and node.text.strip():
            return node.text.strip()
    return None


def _xml_root(body: bytes) -> lxml.etree._Element | None:
    parser = lxml.etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return lxml.etree.fromstring(body.lstrip(), parser=parser)
    except lxml.etree.XMLSyntaxError:
        return None


def parse_sitemap(body: bytes, base_url: str) -> list[Entry]:
    """The URLs of a sitemap or sitemap index, with ``news:publication_date`` or ``lastmod`` and ``news:title``."""
    root = _xml_root(body)
    if root is None or _local(root.tag) not in ("urlset", "sitemapindex"):
        return []
    index = _local(root.tag) == "sitemapindex"
    entries = []
    for element in root:
        if _local(element.tag) not in ("url", "sitemap"):
            continue
        loc = _child_text(element, "loc")
        if not loc:
            continue
        published = parse_date(_child_text(element, "publication_date") or _child_text(element, "lastmod"))
        entries.append(Entry(urljoin(base_url, loc), published, _child_text(element, "title"), is_sitemap=index))
    return entries


def parse_feed(body: bytes, base_url: str) -> list[Entry]:
    """The items of an RSS 2.0, RSS 1.0 or Atom feed."""
    root = _xml_root(body)
    if root is None:
        return []
    entries = []
    for element in root.iter():
        if _local(element.tag) not in ("item", "entry"):
            continue
        link = None
        for child in element:
            if _local(child.tag) != "link":
                continue
            if child.get("href") and child.get("rel", "alternate") == "alternate":
                link = child.get("href")  # Atom
                break
            if child.text and child.text.strip():
                link = child.text.strip()  # RSS
                break
        link = link or _child_text(element, "guid", "id")
        if not link or not link.startswith(("http", "/")):
            continue
        date = _child_text(element, "pubdate", "published", "updated", "date")
        entries.append(Entry(urljoin(base_url, link), parse_date(date), _child_text(element, "title")))
    return entries


def is_feed(body: bytes) -> bool:
    head = body[:512].lower()
    return b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head


def feed_links(response: TextResponse) -> list[str]:
    """Feeds announced by ``<link rel="alternate" type="application/rss+xml">`` in a page."""
    links = []
    for link in response.css('link[rel~="alternate"]'):
        if (link.attrib.get("type") or "").lower() in FEED_TYPES and link.attrib.get("href"):
            links.append(response.urljoin(link.attrib["href"]))
    return links


def canonical_url(response: TextResponse) -> str | None:
    """The page's own idea of its URL: ``<link rel="canonical">``, else ``og:url``."""
    href = response.css('link[rel="canonical"]::attr(href)').get() or response.css(
        'meta[property="og:url"]::attr(content)'
    ).get()
    return response.urljoin(href.strip()) if href and href.strip() else None


def _json_ld_types(response: TextResponse) -> Iterator[str]:
    for script in response.css('script[type="application/ld+json"]::text').getall():
        try:
            data = json.loads(script)
        except ValueError:
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                kinds = node.get("@type")
                for kind in kinds if isinstance(kinds, list) else [kinds]:
                    if isinstance(kind, str):
                        yield kind.lower()
                stack.extend(node.get("@graph") or [])


def page_kind(response: Response, url_says_article: bool, min_chars: int = 500) -> str:
    """``"article"``, ``"listing"`` or ``"other"`` (not HTML).

    The page's own type wins (``og:type``, JSON-LD ``NewsArticle``); without
    one, a page is an article when its URL looks like one and it has at least
    ``min_chars`` characters of paragraph text.
    """
    if not isinstance(response, TextResponse) or b"html" not in (response.headers.get("Content-Type") or b"html"):
        return "other"
    og_type = (response.css('meta[property="og:type"]::attr(content)').get() or "").strip().lower()
    types = set(_json_ld_types(response))
    if og_type == "article" or types & ARTICLE_TYPES:
        return "article"
    if og_type in LISTING_TYPES or types & LISTING_TYPES:
        return "listing"
    if url_says_article:
        paragraphs = " ".join(response.css("p ::text").getall())
        if len(" ".join(paragraphs.split())) >= min_chars:
            return "article"
    return "listing"
