"""Extract article text and metadata from HTML with trafilatura.

Items that arrive with ``html`` (fetched or saved pages) are extracted here,
once per page; items that arrive with ``text`` (text seeds) pass through.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import TYPE_CHECKING, Any

import trafilatura
from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem, NotConfigured
from trafilatura.settings import use_config
from trafilatura.utils import load_html

from pipelines.store import report_failure
from pipelines.vnbody import clean_body, focus_body
from pipelines.vndates import parse_datetime
from pipelines.vnmeta import page_metadata, person_names, strip_site_suffix

if TYPE_CHECKING:
    from configparser import ConfigParser

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class ExtractionFailed(DropItem):
    """The page has no article text that trafilatura could find."""


# Fields our Vietnamese layer reads from the page; trafilatura's values fill the gaps.
FIELDS = ("title", "author", "published", "modified", "description", "category", "tags", "image", "language")


def _trafilatura_fields(document: Any) -> dict[str, Any]:
    return {
        "title": document.title,
        "author": document.author,
        "published": document.date,
        "description": document.description,
        "category": ", ".join(document.categories or []) or None,
        "tags": ", ".join(document.tags or []) or None,
        "image": document.image,
        "language": document.language,
    }


def extract_article(html: str, url: str, config: ConfigParser | None = None) -> dict[str, Any] | None:
    """The article text and metadata of one page, as item fields, or None when it has no text.

    Our layer reads the metadata from the intact page (:func:`pipelines.vnmeta.page_metadata`)
    and narrows the page to its body (:func:`pipelines.vnbody.focus_body`); then trafilatura's
    ``bare_extraction`` runs once, with metadata, and fills what our layer did not find.
    """
    tree = load_html(unicodedata.normalize("NFC", html))
    if tree is None:
        return None
    ours = page_metadata(tree, url)
    focus_body(tree)
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        config=config or use_config(),
    )
    if document is None or not getattr(document, "text", None):
        return None
    theirs = _trafilatura_fields(document)
    fields: dict[str, Any] = {name: ours.get(name) or theirs.get(name) for name in FIELDS}
    # trafilatura's author is often the site's name: keep only the people in it.
    if not ours.get("author"):
        fields["author"] = ", ".join(person_names(theirs["author"], url)) or None
    if fields["published"] and not ours.get("published"):
        fields["published"] = parse_datetime(fields["published"])
    fields["title"] = strip_site_suffix(fields["title"], url) if fields["title"] else None
    fields["text"] = clean_body(document.text, fields["title"], fields["description"], fields["author"])
    return fields if fields["text"] else None


class ExtractPipeline:
    """Settings: ``EXTRACT_ENABLED``. Stats: ``extract/ok``, ``extract/failed``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config = use_config()  # built once; never mutate trafilatura's DEFAULT_CONFIG

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        if not crawler.settings.getbool("EXTRACT_ENABLED", True):
            raise NotConfigured("EXTRACT_ENABLED is off")
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        html = adapter.get("html")
        if not html:
            return item
        fields = extract_article(html, adapter["url"], self.config)
        if fields is None:
            self.crawler.stats.inc_value("extract/failed")
            report_failure(self.crawler, adapter["url"], "extract", "no article text found in the page")
            raise ExtractionFailed(f"no article text: {adapter['url']}")
        for name, value in fields.items():
            if value and not adapter.get(name):
                adapter[name] = value
        self.crawler.stats.inc_value("extract/ok")
        return item
