"""Normalize article text: Unicode NFC, whitespace, boilerplate, other outlets' source lines, byline to author."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem, NotConfigured

from pipelines.vietnamese.text import (
    clean_line,
    detect_language,
    drop_source_lines,
    extract_byline,
    lead_title,
    remove_boilerplate,
    split_paragraphs,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

TEXT_FIELDS = ("title", "author", "description", "category", "tags", "site")


class EmptyArticle(DropItem):
    """Nothing of the article is left after cleaning."""


def normalize_text(text: str) -> tuple[str, str | None]:
    """Clean body text; return it (one paragraph a line) and the byline author, if any."""
    paragraphs = drop_source_lines(remove_boilerplate(split_paragraphs(text)))
    paragraphs, author = extract_byline(paragraphs)
    return "\n".join(paragraphs), author


class NormalizePipeline:
    """Settings: ``NORMALIZE_ENABLED``, ``NORMALIZE_MIN_WORDS``. Stats: ``normalize/byline_author``."""

    def __init__(self, crawler: Crawler, min_words: int) -> None:
        self.crawler = crawler
        self.min_words = min_words

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        if not crawler.settings.getbool("NORMALIZE_ENABLED", True):
            raise NotConfigured("NORMALIZE_ENABLED is off")
        return cls(crawler, crawler.settings.getint("NORMALIZE_MIN_WORDS", 1))

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        text, byline_author = normalize_text(adapter.get("text") or "")
        word_count = len(text.split())
        if word_count < self.min_words:
            raise EmptyArticle(f"no article text after cleaning: {adapter['url']}")
        adapter["text"] = text
        adapter["word_count"] = word_count
        for name in TEXT_FIELDS:
            value = adapter.get(name)
            if isinstance(value, str):
                adapter[name] = clean_line(value) or None
        if byline_author:
            self.crawler.stats.inc_value("normalize/byline_author")
            # The byline in the text names the writer; it wins over page metadata,
            # which on Vietnamese sites is often the site's own name.
            adapter["author"] = byline_author
        if not adapter.get("title"):
            adapter["title"] = lead_title(text.split("\n"))
        if not adapter.get("language"):
            adapter["language"] = detect_language(text)
        return item
