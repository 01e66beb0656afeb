"""``scrapy reextract [--site NAME]``: run extraction again over the stored pages, offline."""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand

from crawler.commands import describe_counts, run_spider_to_end
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
        assert self.settings is not None
        outcome = run_spider_to_end(self, ReextractSpider, site=opts.site)
        if outcome is None:
            return
        crawler, counts = outcome
        pages = crawler.stats.get_value("reextract/pages", 0)
        where = f" of site {opts.site}" if opts.site else ""
        print(
            f"Re-extracted {pages} pages{where} in {self.settings.get('NEWS_DB')}: "
            + describe_counts(counts, "updated", "unchanged", "new", "duplicate", "failed")
        )
