"""``scrapy ingest``: the one writer of a distributed crawl (crawler/spiders/ingest.py)."""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.utils.conf import arglist_to_dict

from crawler.commands import describe_counts, start_spider
from crawler.spiders.ingest import IngestSpider
from pipelines.runs import run_counts

# Close reasons of a writer that did its job: idle (-a idle) or stopped (Ctrl-C, SIGTERM).
CLEAN_ENDS = ("finished", "shutdown")


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_LEVEL": "INFO"}

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Store into NEWS_DB the records that the workers of a distributed crawl push to Redis (REDIS_URL)"

    def long_desc(self) -> str:
        return (
            "The one writer of a distributed crawl: it takes the finished records of the workers "
            "(scrapy crawl news with REDIS_URL set, on any machine) from Redis and stores them through "
            "the same writer as a crawl on one machine. A record leaves Redis only after the "
            "transaction that stored it committed: a writer killed at any moment loses nothing, and "
            "the next one stores what was left once. It runs until Ctrl-C or SIGTERM, or with "
            "-a idle=SECONDS until no record came for SECONDS, no worker is alive and no run is under "
            "way. One writer per REDIS_PREFIX: a second one exits with status 1 naming the first."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "-a", dest="spargs", action="append", default=[], metavar="idle=SECONDS",
            help="stop once no record came for SECONDS, no worker is alive and no run is under way "
                 "(default INGEST_IDLE_SECONDS; 0: until stopped)",
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        try:
            opts.spargs = arglist_to_dict(opts.spargs)
        except ValueError:
            raise UsageError("Invalid -a value, use -a idle=SECONDS", print_help=False) from None
        unknown = set(opts.spargs) - {"idle"}
        if unknown:
            raise UsageError(f"unknown argument {', '.join(sorted(unknown))}: only -a idle=SECONDS", print_help=False)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None and self.crawler_process is not None
        if args:
            raise UsageError("scrapy ingest takes no arguments")
        crawler = start_spider(self, IngestSpider, **opts.spargs)
        if crawler is None:
            return
        reason = crawler.stats.get_value("finish_reason")
        if reason not in CLEAN_ENDS:
            self.exitcode = 1
        records = crawler.stats.get_value("ingest/records", 0)
        print(
            f"Ingested {records} records into {self.settings.get('NEWS_DB')}: "
            + describe_counts(run_counts(crawler.stats), "new", "duplicate", "unchanged", "updated", "failed")
        )
