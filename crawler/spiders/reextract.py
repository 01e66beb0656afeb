"""Re-extract stored pages offline through the same per-page function and writer as a crawl."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from crawler.spiders.base import ArchiveSpider, in_order
from pipelines.page import Fetched


class ReextractSpider(ArchiveSpider):
    """Yield one item per stored page (table ``pages``) that still extracts, optionally for one site.

    Each page goes through the per-page function again (in the workers, as it
    was stored: gzipped), and its record carries ``via="reextract"``: the writer
    updates the articles whose extraction changed. Nothing is fetched. Arguments: ``site``.
    """

    name = "reextract"
    command = "reextract"

    def __init__(self, site: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site_name = site

    def progress_total(self) -> int:
        """The pages to re-extract, for the progress bar (crawler/progress.py)."""
        return self.archive.page_count(self.site_name)

    async def start(self) -> AsyncIterator[Any]:
        stats = self.crawler.stats

        def jobs():
            for page in self.archive.iter_pages(self.site_name):
                stats.inc_value("reextract/pages")
                fetched = Fetched(page["url"], page["html_gz"], kind="article", canonical="never", gzipped=True)
                yield page, self.extractor.page(fetched)

        async for page, result in in_order(jobs(), self.window):
            if result.kind == "article":
                yield self.article_item(result, via="reextract", site=page["site"])
            else:
                self.not_an_article(result, page["url"], page["site"])
