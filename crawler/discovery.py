"""Find article URLs: sitemaps, RSS/Atom feeds and pages, with the dates they announce.

Pure functions over bytes; the spider decides what to fetch. What a page says
about itself (its kind, canonical URL, links) is read in the workers:
:mod:`pipelines.pageinfo`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin

import lxml.etree

# The one date parser of the project, under the name callers of this module use: feeds, sitemaps and
# ``since`` read dates as the extraction does.
from pipelines.vietnamese.dates import parse_moment as parse_date

__all__ = [
    "Entry",
    "is_feed",
    "parse_date",
    "parse_feed",
    "parse_since",
    "parse_sitemap",
]



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


def _descendant_texts(element: lxml.etree._Element) -> dict[str, str]:
    """The text of the first descendant of each local name that has some, in one pass
    (:func:`_child_text` for many names: a sitemap's 50,000 entries are read once each)."""
    texts: dict[str, str] = {}
    for node in element.iter():
        if node.text and (text := node.text.strip()):
            texts.setdefault(_local(node.tag), text)
    return texts


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
        texts = _descendant_texts(element)
        if not (loc := texts.get("loc")):
            continue
        published = parse_date(texts.get("publication_date") or texts.get("lastmod"))
        entries.append(Entry(urljoin(base_url, loc), published, texts.get("title"), is_sitemap=index))
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
