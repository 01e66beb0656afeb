"""``scrapy reextract [--site NAME]``: run extraction again over the stored pages, offline."""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand

from crawler.extensions import run_counts
from crawler.spiders.reextract import ReextractSpider


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_LEVEL": "INFO"}

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Re-extract the stored pages of NEWS_DB (all, or one site) and update changed articles, offline"

    def long_desc(self) -> str:
        return (
            "Run the extract stage and the pipelines again over the raw pages kept in the "
            "pages table, without any network, after an extraction rule improved. Articles "
            "whose text or metadata changed are updated; the run is recorded in crawl_runs."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--site", metavar="NAME", help="only the pages of this site (the site column)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process is not None and self.settings is not None
        crawler = self.crawler_process.create_crawler(ReextractSpider)
        self.crawler_process.crawl(crawler, site=opts.site)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed or crawler.stats is None:
            self.exitcode = 1
            return
        counts = run_counts(crawler)
        pages = crawler.stats.get_value("reextract/pages", 0)
        where = f" of site {opts.site}" if opts.site else ""
        print(
            f"Re-extracted {pages} pages{where} in {self.settings.get('NEWS_DB')}: {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged, {counts['new']} new, {counts['duplicate']} duplicate, "
            f"{counts['failed']} failed"
        )
        if counts["failed"] or crawler.stats.get_value("finish_reason") != "finished":
            self.exitcode = 1
