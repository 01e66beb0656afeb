"""What a page says about itself: its kind, its own URL, the links and feeds it offers.

Pure functions over the page's lxml tree (the one the per-page function parses
once, :mod:`pipelines.page`), so that the crawl's engine process never parses
HTML: the spider decides what to follow from the plain lists these return.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urldefrag, urljoin

from lxml import etree
from lxml.html import HtmlElement

from pipelines.vietnamese.metadata import PUBLISHED_META, json_ld, json_ld_types, meta

__all__ = ["ARTICLE_TYPES", "FEED_TYPES", "Links", "canonical_url", "classify_page", "page_kind", "page_links"]

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
    """``"article"`` or ``"listing"`` (see :func:`classify_page`)."""
    return classify_page(tree, url_says_article, min_chars)[0]


def classify_page(tree: HtmlElement, url_says_article: bool, min_chars: int = 500) -> tuple[str, str]:
    """``("article" | "listing", why)``: the page's kind, and what decided it, for a message.

    The page's own type decides (JSON-LD ``NewsArticle``, ``og:type``), but ``og:type=article``
    alone does not make an article: some CMSs put it on their section pages too, so a page that
    says only that and looks like a listing (no publication date, no ``min_chars`` of paragraph
    text in one block, many links) is one. A page that says nothing is an article when its URL
    looks like one and it has at least ``min_chars`` characters of paragraph text.
    """
    og_type = next((value.strip().lower() for value in tree.xpath("//meta[@property='og:type']/@content")), "")
    objects = json_ld(tree)
    types = json_ld_types(objects)
    if types & ARTICLE_TYPES:
        return "article", "its JSON-LD says it is an article"
    if og_type == "article":
        head = tree.find("head")  # the page's own date, not those of the items a listing marks up
        if any(isinstance(o.get("datePublished"), str) for o in objects) or next(
            meta(tree if head is None else head, *PUBLISHED_META), None
        ):
            return "article", "og:type article, with a publication date"
        body, links = paragraph_block(tree), len(tree.xpath("//a[@href]"))
        if body >= min_chars or links < LISTING_MIN_LINKS:
            return "article", "og:type article"
        return "listing", (f"og:type article, but no publication date, {links} links and at most {body} characters "
                           f"of paragraph text in one block (under NEWS_MIN_ARTICLE_CHARS={min_chars}): a section page")
    if og_type in LISTING_TYPES or types & LISTING_TYPES:
        said = f"og:type {og_type}" if og_type in LISTING_TYPES else "its JSON-LD type"
        return "listing", f"{said} says it is not an article"
    if not url_says_article:
        return "listing", "it does not say it is an article (og:type, JSON-LD) and its URL does not look like one"
    paragraphs = len(" ".join(" ".join(tree.xpath("//p//text()")).split()))
    if paragraphs >= min_chars:
        return "article", "an article URL and enough paragraph text"
    return "listing", f"only {paragraphs} characters of paragraph text (NEWS_MIN_ARTICLE_CHARS={min_chars})"


# A page that says og:type=article but has no date and no body is a section page when it has this many links.
LISTING_MIN_LINKS = 30
_OWN_TEXT = etree.XPath(".//text()[not(ancestor::a)]")


def paragraph_block(tree: HtmlElement) -> int:
    """The most paragraph text outside links under one element: an article's body is one run of
    paragraphs, while a listing's summaries each sit in an item of their own."""
    sizes: dict[object, int] = {}
    for paragraph in tree.iter("p"):
        parent = paragraph.getparent()
        sizes[parent] = sizes.get(parent, 0) + len(" ".join(" ".join(_OWN_TEXT(paragraph)).split()))
    return max(sizes.values(), default=0)


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
