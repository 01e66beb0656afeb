"""One page's article text and metadata: trafilatura plus our Vietnamese layer.

A pure function, without Scrapy or the database, so that worker processes
(:mod:`pipelines.workers`, running :func:`pipelines.page.process_page`) import
little and start fast.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

import trafilatura
from lxml.html import HtmlElement
from trafilatura.settings import use_config
from trafilatura.utils import line_processing, load_html, trim

from pipelines.vietnamese.body import clean_body, focus_body
from pipelines.vietnamese.dates import parse_datetime
from pipelines.vietnamese.bylines import person_names
from pipelines.vietnamese.metadata import page_metadata, strip_site_suffix
from pipelines.vietnamese.normalize import AUTHOR_GUESS
from pipelines.vietnamese.text import clean_line

if TYPE_CHECKING:
    from configparser import ConfigParser

__all__ = ["FIELDS", "extract_article"]

# Fields our Vietnamese layer reads from the page; trafilatura's values fill the gaps.
FIELDS = ("title", "author", "published", "modified", "description", "category", "tags", "image", "language")


def _trafilatura_fields(document: Any) -> dict[str, Any]:
    """trafilatura's metadata, each string cleaned as ours are (:func:`clean_line`) before our rules read it."""
    values = {
        "title": document.title,
        "author": document.author,
        "published": document.date,
        "description": document.description,
        "category": ", ".join(document.categories or []) or None,
        "tags": ", ".join(document.tags or []) or None,
        "image": document.image,
        "language": document.language,
    }
    return {name: (clean_line(value) or None) if isinstance(value, str) else value for name, value in values.items()}


def _forget_paragraphs() -> None:
    """Empty trafilatura's memos of whole lines of text (``trim``, ``line_processing``: 1,024 each).

    They pay off within a page (the same lines pass through several steps) but hardly across
    pages, where every paragraph is new: kept, they held about 20 MB in each worker process.
    """
    trim.cache_clear()
    line_processing.cache_clear()


def extract_article(
    page: str | HtmlElement, url: str, config: ConfigParser | None = None
) -> dict[str, Any] | None:
    """The article text and metadata of one page (HTML, or its parsed tree), as item fields, or None.

    Our layer reads the metadata from the intact page (:func:`pipelines.vietnamese.metadata.page_metadata`)
    and narrows the page to its body (:func:`pipelines.vietnamese.body.focus_body`); then trafilatura's
    ``bare_extraction`` runs once, with metadata, on the same tree, and fills what our layer did not
    find. A tree given is changed in place (narrowed to the body).
    """
    tree = page if isinstance(page, HtmlElement) else load_html(unicodedata.normalize("NFC", page))
    if tree is None:
        return None
    ours = page_metadata(tree, url)
    container = focus_body(tree)
    _forget_paragraphs()
    # trafilatura's metadata only fills the gaps ours leaves (it has no ``modified``): on most
    # pages there is none, and reading it (htmldate, author heuristics) costs a millisecond.
    gaps = any(not ours.get(name) for name in FIELDS if name != "modified")
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=gaps,
        # Our layer found the article's own body container: trafilatura's fallbacks (readability,
        # jusText), there to find a body its own rules miss, have nothing left to find.
        fast=container is not None,
        include_comments=False,
        include_tables=True,
        config=config or use_config(),
    )
    if document is None or not getattr(document, "text", None):
        return None
    theirs = _trafilatura_fields(document) if gaps else {}
    fields: dict[str, Any] = {name: ours.get(name) or theirs.get(name) for name in FIELDS}
    if not ours.get("author"):
        # trafilatura's author is a guess (often the site's name: only the people in it count), taken
        # last, after a credit line closing the text (read in the normalize step).
        fields["author"] = None
        fields[AUTHOR_GUESS] = ", ".join(person_names(theirs["author"], url)) or None
    if fields["published"] and not ours.get("published"):
        fields["published"] = parse_datetime(fields["published"])
    # Our headline is the <h1> as shown (page_metadata strips only its <title>/og:title fallbacks).
    if not ours.get("title") and fields["title"]:
        fields["title"] = strip_site_suffix(fields["title"], url)
    author = fields["author"] or fields.get(AUTHOR_GUESS)
    fields["text"] = clean_body(document.text, fields["title"], fields["description"], author)
    return fields if fields["text"] else None
