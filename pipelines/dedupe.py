"""Exact deduplication by content hash, keeping every URL as an alias."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem, NotConfigured

from pipelines.store import ARTICLE_COLUMNS, inc_stat, store_for

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def content_hash(text: str) -> str:
    """sha256 of the normalized body text, one paragraph a line.

    The text must come from the normalize stage, so that Unicode form,
    whitespace and boilerplate do not change the hash.
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class DuplicateArticle(DropItem):
    """The text is stored already; the URL was kept as an alias."""


class DedupePipeline:
    """Give each item its ``content_hash`` and resolve it against the store.

    - new text: passes on to the store;
    - known URL, same text: dropped as ``unchanged``;
    - known URL, new text (the page was edited): passes on to update that article;
    - known text under another URL: the URL becomes an alias of the stored
      article and the item is dropped as ``duplicate``; nothing is lost;
    - a stored page extracted again (``via="reextract"``) with the same text:
      passes on to update the article when any other field changed (a better
      title, author or date), else dropped as ``unchanged``.

    Settings: ``DEDUPE_ENABLED``. Stats: ``dedupe/duplicate``, ``dedupe/unchanged``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.store = store_for(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        if not crawler.settings.getbool("DEDUPE_ENABLED", True):
            raise NotConfigured("DEDUPE_ENABLED is off")
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        digest = content_hash(adapter["text"])
        adapter["content_hash"] = digest
        url, via = adapter["url"], adapter.get("via") or "crawl"
        existing_id = self.store.article_id_for_hash(digest)
        if existing_id is None:
            known = self.store.article_for_url(url)
            if known:  # same URL, new text: update that article
                adapter["article_id"] = known["id"]
            return item
        adapter["article_id"] = existing_id
        if via == "reextract":
            return self._reextracted(adapter, existing_id)
        new_urls = [u for u in [url, *adapter.get("aliases", [])] if self.store.add_url(u, existing_id, via)]
        if not new_urls:
            inc_stat(self.crawler, "dedupe/unchanged", adapter.get("site"))
            raise DuplicateArticle(f"unchanged: {url} is article {existing_id} already", log_level="DEBUG")
        inc_stat(self.crawler, "dedupe/duplicate", adapter.get("site"))
        logger.info("Duplicate of article %s: %s kept as an alias", existing_id, url)
        raise DuplicateArticle(f"duplicate of article {existing_id}: {url} kept as an alias", log_level="DEBUG")

    def _reextracted(self, adapter: ItemAdapter, article_id: int) -> ItemAdapter:
        stored = self.store.article_row(article_id) or {}
        if all(adapter.get(column) == stored.get(column) for column in ARTICLE_COLUMNS if column != "url"):
            self.crawler.stats.inc_value("dedupe/unchanged")
            raise DuplicateArticle(f"unchanged: {adapter['url']} extracts as before", log_level="DEBUG")
        return adapter.item
