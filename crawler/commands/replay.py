"""``scrapy replay [PATH ...]``: run seed files through the pipelines, offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands import describe_counts, run_spider_to_end
from crawler.spiders.replay import NOT_AN_ARTICLE, ReplaySpider


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_LEVEL": "INFO"}

    def syntax(self) -> str:
        return "[options] [PATH ...]"

    def short_desc(self) -> str:
        return "Replay seed files, saved pages and folders (default: SEEDS_DIR) into NEWS_DB, offline"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--url",
            metavar="URL",
            help="the URL of a single saved page (.html, .html.gz) that has no canonical link or og:url",
        )

    def long_desc(self) -> str:
        return (
            "Run seed files (.txt) and saved pages (.html, .htm, .html.gz) through the same "
            "pipelines as a crawl; a saved page is extracted as if fetched from its URL "
            "(canonical link, og:url, or --url). Folders are read recursively. Replay is idempotent: a second run adds nothing. Unreadable "
            "files are reported by name and recorded in the failures table; the exit "
            "status is 1 when any file failed."
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        paths = args or [self.settings.get("SEEDS_DIR")]
        if opts.url:
            if len(paths) != 1 or Path(paths[0]).is_dir():
                raise UsageError("--url names the URL of one saved page: give exactly one file with it")
            if not opts.url.startswith(("http://", "https://")):
                raise UsageError(f"--url must start with http:// or https://, got {opts.url!r}")
        outcome = run_spider_to_end(self, ReplaySpider, paths=paths, url=opts.url)
        if outcome is None:
            return
        crawler, counts = outcome
        files = crawler.stats.get_value("replay/files", 0)
        skipped = f" ({NOT_AN_ARTICLE})" if counts["skipped"] else ""
        print(
            f"Replayed {files} files into {self.settings.get('NEWS_DB')}: "
            + describe_counts(counts, "new", "duplicate", "unchanged", "updated", "failed", "skipped")
            + skipped
        )
