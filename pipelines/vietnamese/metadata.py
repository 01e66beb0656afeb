"""Article metadata from a Vietnamese news page: our layer over trafilatura's.

trafilatura loses the time and zone of ``published``, takes site names for
authors and ``og:title`` for the headline. Here each field is read from the
page's own sources in a fixed order of trust: the visible headline and byline,
JSON-LD, meta tags, visible date lines. The selectors are data (tuples of
XPath below): a new site's markup is one more line.

Everything works on an lxml tree, read-only, and returns plain values.
"""

from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from pipelines.vietnamese.bylines import is_site_name, person_names
from pipelines.vietnamese.text import clean_line, fold
from pipelines.vietnamese.dates import has_time, parse_datetime

__all__ = ["json_ld", "json_ld_types", "page_metadata", "strip_site_suffix"]


def has_class(name: str) -> str:
    """An XPath test for one CSS class among several (``class="a b c"``).

    The plain ``contains(@class, ...)`` first rules out almost every element at the cost
    of one substring search: the exact test builds two strings per element, and these
    tests run over every element of pages of thousands.
    """
    return f"(contains(@class, '{name}') and contains(concat(' ', normalize-space(@class), ' '), ' {name} '))"


@lru_cache(maxsize=None)
def _compiled(expression: str) -> etree.XPath:
    return etree.XPath(expression)


_CLASS_TEST = re.compile(r"\(contains\(@class, '([^']+)'\) and contains\(concat\(' ', normalize-space\(@class\), ' '\), "
                         r"' \1 '\)\)")
_NEVER = re.compile(r"\[false\(\)(?: or false\(\))*\]")
# The class names of the last tree asked about (a worker reads one page at a time).
_classes: tuple[Any, frozenset[str]] = (None, frozenset())


def select(tree: Any, expression: str) -> list[Any]:
    """What the XPath ``expression`` selects in ``tree``, faster: compiled once per process (lxml
    compiles a string on every call), and without the class tests (:func:`has_class`) of classes
    the page does not use.

    Each site family uses its own few classes, so most tests of a selector can never
    match on a given page, and each costs a look at every element of the page. The
    page's classes are read once (one XPath); a test of an absent class becomes
    ``false()``, and a path whose step can then never match is dropped.
    """
    global _classes
    names = _class_names(expression)
    if names:
        if _classes[0] is not tree:
            _classes = (tree, frozenset(" ".join(_compiled("//@class")(tree)).split()))
        expression = _pruned(expression, tuple(name in _classes[1] for name in names))
        if not expression:
            return []
    return _compiled(expression)(tree)


@lru_cache(maxsize=None)
def _class_names(expression: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(match[1] for match in _CLASS_TEST.finditer(expression)))


@lru_cache(maxsize=None)
def _pruned(expression: str, present: tuple[bool, ...]) -> str:
    """``expression`` with the tests of absent classes as ``false()``, less the paths that can match nothing."""
    used = {name for name, here in zip(_class_names(expression), present) if here}
    expression = _CLASS_TEST.sub(lambda match: match[0] if match[1] in used else "false()", expression)
    return " | ".join(path for path in _union_paths(expression) if not _NEVER.search(path))


def _union_paths(expression: str) -> list[str]:
    """The paths of an XPath union (``a | b``), split outside brackets and quotes."""
    paths, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(expression):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "|" and depth == 0:
            paths.append(expression[start:index].strip())
            start = index + 1
    return [*paths, expression[start:].strip()]


# --- Where each field lives, most trusted first ------------------------------------

HEADLINE_XPATHS = (
    f"//h1[{has_class('title-detail')} or {has_class('detail-title')} or {has_class('article__title')}"
    f" or {has_class('content-detail-title')} or {has_class('title-page')} or {has_class('post-title')}]",
    "//article//h1",
    "//*[@itemprop='headline']",
    "//h1[not(ancestor::header) and not(ancestor::a) and not(.//img)]",
)
SAPO_XPATHS = (
    f"//*[@class][{has_class('detail-sapo')} or {has_class('sapo')} or {has_class('content-detail-sapo')}"
    f" or {has_class('singular-sapo')} or {has_class('article__sapo')} or {has_class('description')}"
    f" or {has_class('logo-online')}][not(ancestor::a)][not(ancestor::li)]",
    "//article[h1]/h2",
)
BYLINE_XPATHS = (
    # VnExpress: the last right-aligned paragraph of the body, name in <strong>.
    "//article[contains(@class, 'fck_detail')]/p[contains(@style, 'right')][last()]/strong",
    f"//*[@class][{has_class('detail-author-bot')}]",
    f"//*[@class][{has_class('author-top')} or {has_class('article__author')} or {has_class('detail-author')}"
    f" or {has_class('article-detail-author__info')} or {has_class('author-name')} or {has_class('block-sc-author')}]",
    # Links to the author's page (dantri, vietnamnet, baodautu ...), outside related lists.
    "//a[contains(@href, '/tac-gia/') or contains(@href, '/author/')][not(ancestor::li)]",
    f"//p[{has_class('author')}] | //a[{has_class('author')}] | //span[{has_class('author')}]",
    "//*[@itemprop='author']//*[@itemprop='name']",
)
DATE_LINE_XPATHS = (
    "//time[@datetime]/@datetime",
    f"//*[@class][{has_class('date')} or {has_class('detail-time')} or {has_class('publish-date')} or {has_class('time-public')}"
    f" or {has_class('author-share-top')} or {has_class('datetime')} or {has_class('post-time')}]"
    "[not(ancestor::li)][not(ancestor::a)]",
)
BREADCRUMB_XPATHS = (
    f"//*[@class][{has_class('breadcrumb')} or {has_class('breadcrumbs')} or {has_class('detail-cate')}]//a[normalize-space()]",
    "//nav//a[contains(concat(' ', normalize-space(@class), ' '), ' active ')]",
)
PUBLISHED_META = ("article:published_time", "datePublished", "pubdate", "og:published_time", "publishdate",
                  "dc.date.issued", "date")
MODIFIED_META = ("article:modified_time", "dateModified", "og:updated_time", "lastmod")
AUTHOR_META = ("dable:author", "article:author", "author", "dc.creator")
TAG_META = ("news_keywords", "keywords", "article:tag")
SECTION_META = ("article:section", "articleSection")

_OUTLET_PREFIX = re.compile(r"^\s*\([^()]{2,30}\)\s*[-–—:]*\s*")
_TITLE_SEPARATORS = re.compile(r"\s+[-|–—]\s+")
ARTICLE_TYPES = {"newsarticle", "article", "reportagenewsarticle", "analysisnewsarticle", "blogposting",
                 "opinionnewsarticle", "webpage"}  # lower-cased, as json_ld_types gives them


# --- Small readers -------------------------------------------------------------------

def _text(element: Any) -> str:
    """An element's text as a reader sees it, one clean line (:func:`clean_line`)."""
    if isinstance(element, str):
        return clean_line(element)
    if element.find(".//br") is not None:  # a <br> shows a break between words: a space, not nothing
        element = copy.deepcopy(element)  # the tree is read-only here
        for br in element.iter("br"):
            br.tail = " " + (br.tail or "")
    return clean_line(element.text_content())


def _unescape(value: str) -> str:
    """JSON-LD strings are sometimes HTML-escaped once or twice (``&amp;#7871;``)."""
    for _ in range(2):
        if "&" not in value:
            break
        value = html.unescape(value)
    return clean_line(value)


def meta(tree: HtmlElement, *names: str) -> Iterator[str]:
    """The non-empty ``content`` of ``<meta>`` tags named (property, name or itemprop), in order of ``names``."""
    wanted = [name.lower() for name in names]
    found: dict[str, list[str]] = {}
    for element in tree.iter("meta"):
        key = (element.get("property") or element.get("name") or element.get("itemprop") or "").lower()
        if key in wanted and (element.get("content") or "").strip():
            found.setdefault(key, []).append(clean_line(element.get("content")))
    for name in wanted:
        yield from found.get(name, [])


def _walk_json(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for entry in data:
            yield from _walk_json(entry)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _walk_json(data["@graph"])


def json_ld(tree: HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page, the members of each ``@graph`` included; broken blocks are skipped.

    Flat, so that a reader finds the ``NewsArticle`` whether the site puts it at
    the top, in a list or in a ``@graph`` (Yoast). Only ``tree.xpath`` is used: a
    Scrapy response's ``response.selector.root`` serves as well as an ``lxml.html`` tree.
    """
    objects = []
    for script in select(tree, "//script[@type='application/ld+json']"):
        raw = (script.text or "").strip()
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            continue
        objects.extend(_walk_json(data))
    return objects


def json_ld_types(objects: Iterable[dict[str, Any]]) -> set[str]:
    """The ``@type`` values of ``objects`` (as :func:`json_ld` gives them, ``@graph`` members included), lower-cased.

    Lower-cased because sites write ``NewsArticle`` and ``newsArticle`` alike (the crawler's type
    sets are lower-case too). ``@type`` may be a string or a list; what is neither, or not a string
    in the list (null, an object), is skipped rather than failing the page.
    """
    types = set()
    for entry in objects:
        kinds = entry.get("@type")
        for kind in kinds if isinstance(kinds, list) else [kinds]:
            if isinstance(kind, str):
                types.add(kind.lower())
    return types


def _strings(value: Any, key: str = "name") -> Iterator[str]:
    """Strings in a JSON-LD value that may be a string, an object or a list of them."""
    if isinstance(value, str):
        yield _unescape(value)
    elif isinstance(value, dict):
        if value.get("@type") not in (None, "Person") and key == "name":
            return  # an Organization as author is the site, not a person
        if isinstance(value.get(key), str):
            yield _unescape(value[key])
    elif isinstance(value, list):
        for entry in value:
            yield from _strings(entry, key)


def _first(values: Iterable[str | None]) -> str | None:
    return next((value for value in values if value), None)


# --- Fields -----------------------------------------------------------------------------

def strip_site_suffix(title: str, url: str = "") -> str:
    """``Headline - Báo VnExpress Kinh doanh`` -> ``Headline``."""
    parts = _TITLE_SEPARATORS.split(title)
    while len(parts) > 1 and is_site_name(parts[-1], url):
        parts.pop()
    return " - ".join(parts)


def _headline(tree: HtmlElement, articles: list[dict[str, Any]], url: str) -> str | None:
    for xpath in HEADLINE_XPATHS:
        for element in select(tree, xpath):
            text = _text(element)
            if len(text.split()) >= 3 and not (len(text.split()) <= 5 and is_site_name(text, url)):
                return text
    candidates = [*(_strings(a.get("headline"), "") for a in articles), meta(tree, "og:title", "twitter:title")]
    for values in candidates:
        for value in values:
            return strip_site_suffix(value, url)
    title = tree.findtext(".//title")
    return strip_site_suffix(clean_line(title), url) if title and title.strip() else None


def _dates(tree: HtmlElement, articles: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    def best(values: Iterable[str]) -> str | None:
        """The first value with a time (to the second if another source has the seconds), else a date."""
        parsed = [p for p in map(parse_datetime, values) if p]
        timed = [p for p in parsed if has_time(p)]
        if not timed:
            return parsed[0] if parsed else None
        first = timed[0]
        if first[17:19] == "00":  # JSON-LD often drops the seconds that a meta tag keeps
            first = next((p for p in timed if p[:16] == first[:16] and p[17:19] != "00"), first)
        return first

    def visible() -> Iterator[str]:
        for xpath in DATE_LINE_XPATHS:
            for element in select(tree, xpath):
                yield _text(element)

    published = best([
        *(a["datePublished"] for a in articles if isinstance(a.get("datePublished"), str)),
        *meta(tree, *PUBLISHED_META),
        *visible(),
    ])
    modified = best([
        *(a["dateModified"] for a in articles if isinstance(a.get("dateModified"), str)),
        *meta(tree, *MODIFIED_META),
    ])
    return published, modified


def _authors(tree: HtmlElement, articles: list[dict[str, Any]], url: str) -> str | None:
    """The people the page names as authors: the byline shown, the author meta tags, JSON-LD, by the
    same rules (:func:`person_names`); the first that names people wins (the credit line closing the
    text comes after these: :func:`pipelines.vietnamese.normalize.normalize_article`)."""
    sources: list[Iterable[str]] = [
        (_text(element) for xpath in BYLINE_XPATHS for element in select(tree, xpath)),
        meta(tree, *AUTHOR_META),
        (name for a in articles for name in _strings(a.get("author"))),
    ]
    for source in sources:
        for value in source:
            people = person_names(value, url)
            if people:
                return ", ".join(people)
    return None


def _section(tree: HtmlElement, articles: list[dict[str, Any]]) -> str | None:
    for xpath in BREADCRUMB_XPATHS:
        crumbs = [_text(a) for a in select(tree, xpath)]
        crumbs = [c for c in crumbs if c and fold(c) not in ("trang chu", "home")]
        if crumbs:
            return crumbs[-1]
    for entry in articles:
        if "breadcrumblist" in json_ld_types([entry]):
            names = []
            for item in entry.get("itemListElement", []):
                item = item[0] if isinstance(item, list) and item else item
                if isinstance(item, dict):
                    inner = item.get("item")
                    name = item.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
                    if isinstance(name, str) and fold(_unescape(name)) not in ("trang chu", "home"):
                        names.append(_unescape(name))
            if names:
                return names[-1]
    section = _first(meta(tree, *SECTION_META))
    if section:
        return section
    for entry in articles:
        for value in _strings(entry.get("articleSection"), ""):
            return value.split(",")[-1].strip()
    return None


def _tags(tree: HtmlElement) -> str | None:
    seen: dict[str, str] = {}
    for value in meta(tree, *TAG_META):
        for tag in value.split(","):
            tag = clean_line(tag)
            if tag and tag.lower() not in seen:
                seen[tag.lower()] = tag
        if seen:
            break  # news_keywords and keywords repeat each other
    return ", ".join(seen.values()) or None


def _image(tree: HtmlElement, articles: list[dict[str, Any]]) -> str | None:
    found = _first(meta(tree, "og:image", "twitter:image", "image"))
    if found:
        return found
    for entry in articles:
        for value in _strings(entry.get("image"), "url"):
            return value
    return None


def _language(tree: HtmlElement, articles: list[dict[str, Any]]) -> str | None:
    values = [tree.get("lang"), *meta(tree, "og:locale", "language", "content-language")]
    values += [a["inLanguage"] for a in articles if isinstance(a.get("inLanguage"), str)]
    for value in values:
        if value and re.match(r"^[a-zA-Z]{2}(?:[-_,;]|$)", value.strip()):
            return value.strip()[:2].lower()
    return None


def clean_description(value: str | None) -> str | None:
    """The lead without the outlet tag it starts with: ``(Dân trí) - ``, ``(NLĐO)- ``, ``(Chinhphu.vn) - ``."""
    if not value:
        return None
    return _OUTLET_PREFIX.sub("", clean_line(value)) or None


def _description(tree: HtmlElement, articles: list[dict[str, Any]]) -> str | None:
    for xpath in SAPO_XPATHS:
        for element in select(tree, xpath):
            text = _text(element)
            if len(text.split()) >= 5:
                return clean_description(text)
    for entry in articles:
        for value in _strings(entry.get("description"), ""):
            return clean_description(value)
    return clean_description(_first(meta(tree, "description", "og:description", "twitter:description")))


def page_metadata(tree: HtmlElement, url: str) -> dict[str, str | None]:
    """The article fields this page states, by our rules (None where it states nothing)."""
    everything = json_ld(tree)
    articles = [entry for entry in everything if json_ld_types([entry]) & ARTICLE_TYPES] or everything
    published, modified = _dates(tree, articles)
    return {
        "title": _headline(tree, articles, url),
        "author": _authors(tree, articles, url),
        "published": published,
        "modified": modified,
        "description": _description(tree, articles),
        "category": _section(tree, everything),
        "tags": _tags(tree),
        "image": _image(tree, articles),
        "language": _language(tree, articles),
    }
