"""``scrapy replay [PATH ...]``: run seed files through the pipelines, offline."""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand

from crawler.extensions import run_counts
from crawler.spiders.replay import ReplaySpider


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_LEVEL": "INFO"}

    def syntax(self) -> str:
        return "[options] [PATH ...]"

    def short_desc(self) -> str:
        return "Replay seed files and folders (default: SEEDS_DIR) into NEWS_DB, offline"

    def long_desc(self) -> str:
        return (
            "Run seed files through the same pipelines as a crawl. Folders are read "
            "recursively. Replay is idempotent: a second run adds nothing. Unreadable "
            "files are reported by name and recorded in the failures table; the exit "
            "status is 1 when any file failed."
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process is not None and self.settings is not None
        paths = args or [self.settings.get("SEEDS_DIR")]
        crawler = self.crawler_process.create_crawler(ReplaySpider)
        self.crawler_process.crawl(crawler, paths=paths)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed or crawler.stats is None:
            self.exitcode = 1
            return
        counts = run_counts(crawler)
        files = crawler.stats.get_value("replay/files", 0)
        print(
            f"Replayed {files} files into {self.settings.get('NEWS_DB')}: {counts['new']} new, "
            f"{counts['duplicate']} duplicate, {counts['unchanged']} unchanged, "
            f"{counts['updated']} updated, {counts['failed']} failed"
        )
        if counts["failed"] or crawler.stats.get_value("finish_reason") != "finished":
            self.exitcode = 1
