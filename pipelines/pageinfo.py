"""What a page says about itself: its kind, its own URL, the links and feeds it offers.

Pure functions over the page's lxml tree (the one the per-page function parses
once, :mod:`pipelines.page`), so that the crawl's engine process never parses
HTML: the spider decides what to follow from the plain lists these return.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urldefrag, urljoin

from lxml.html import HtmlElement

from pipelines.vietnamese.metadata import json_ld, json_ld_types

__all__ = ["ARTICLE_TYPES", "FEED_TYPES", "Links", "canonical_url", "page_kind", "page_links"]

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/xml")
ARTICLE_TYPES = {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "blogposting",
                 "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "liveblogposting"}
LISTING_TYPES = {"website", "collectionpage", "webpage", "itemlist", "searchresultspage"}
_REL = "contains(concat(' ', normalize-space(@rel), ' '), ' {} ')"


def base_url(tree: HtmlElement, url: str) -> str:
    """The URL relative links are resolved against: ``<base href>`` if the page has one, else ``url``."""
    base = tree.xpath("//base/@href")
    return urljoin(url, base[0].strip()) if base and base[0].strip() else url


def canonical_url(tree: HtmlElement, url: str | None = None) -> str | None:
    """The page's own idea of its URL: ``<link rel="canonical">``, else ``og:url``; absolute http(s) or None.

    Relative values are resolved against ``url`` (the page's address); without one,
    as for a saved page, only an absolute URL counts.
    """
    candidates = tree.xpath(
        f"//link[{_REL.format('canonical')}]/@href | //meta[@property='og:url' or @name='og:url']/@content"
    )
    for candidate in candidates:
        candidate = candidate.strip()
        if candidate and url:
            candidate = urljoin(base_url(tree, url), candidate)
        if candidate.startswith(("http://", "https://")):
            return candidate
    return None


def page_kind(tree: HtmlElement, url_says_article: bool, min_chars: int = 500) -> str:
    """``"article"`` or ``"listing"``.

    The page's own type wins (``og:type``, JSON-LD ``NewsArticle``); without
    one, a page is an article when its URL looks like one and it has at least
    ``min_chars`` characters of paragraph text.
    """
    og_type = next((value.strip().lower() for value in tree.xpath("//meta[@property='og:type']/@content")), "")
    types = json_ld_types(json_ld(tree))
    if og_type == "article" or types & ARTICLE_TYPES:
        return "article"
    if og_type in LISTING_TYPES or types & LISTING_TYPES:
        return "listing"
    if url_says_article:
        paragraphs = " ".join(tree.xpath("//p//text()"))
        if len(" ".join(paragraphs.split())) >= min_chars:
            return "article"
    return "listing"


class Links(NamedTuple):
    """What a page links to: absolute URLs without fragments, in page order."""

    links: list[str]
    next_pages: list[str]  # marked rel="next"
    feeds: list[str]  # announced with <link rel="alternate" type="application/rss+xml"> and the like


def page_links(tree: HtmlElement, url: str) -> Links:
    """The ``<a href>`` links of a page, those marked ``rel="next"``, and the feeds it announces."""
    base = base_url(tree, url)

    def absolute(hrefs: list[str]) -> list[str]:
        return list(dict.fromkeys(urldefrag(urljoin(base, href.strip()))[0] for href in hrefs))

    links = absolute(tree.xpath("//a/@href"))
    next_pages = absolute(tree.xpath(f"//link[{_REL.format('next')}]/@href | //a[{_REL.format('next')}]/@href"))
    feeds = absolute([
        link.get("href") for link in tree.xpath(f"//link[{_REL.format('alternate')}][@href]")
        if (link.get("type") or "").lower() in FEED_TYPES
    ])
    return Links(links, next_pages, feeds)
