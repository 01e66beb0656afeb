"""``scrapy schedule [--once]``: crawl the configured sites on their schedules."""

from __future__ import annotations

import argparse
import sys

from scrapy.commands import ScrapyCommand
from pipelines.db.store import StoreError
from scrapy.utils.log import configure_logging

from crawler.checks import SettingError, check_settings
from crawler.schedule.scheduler import ScheduleOptions, Scheduler
from crawler.sites import SitesError, load_sites


class Command(ScrapyCommand):
    requires_project = True
    # The crawls run in their own processes; this one needs no Twisted reactor.
    requires_crawler_process = False
    default_settings = {"LOG_LEVEL": "INFO"}

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Crawl each site of SITES_FILE on its schedule (--once: the due ones, then exit)"

    def long_desc(self) -> str:
        return (
            "Run in the foreground and crawl each site of the sites file whenever its schedule "
            "says, each crawl in its own process (scrapy crawl news -a site=NAME) with the -s "
            "settings given here, at most SCHEDULE_MAX_CRAWLS at a time, never two of one site. "
            "When a site is due is read from the crawl_runs table: a site whose slots were missed "
            "is crawled once. SIGTERM or Ctrl-C stops the running crawls cleanly (a second one "
            "kills them). With --once, crawl the sites due now and exit: status 0 when every "
            "crawl succeeded, 1 otherwise; for cron and systemd timers."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--once", action="store_true", help="crawl the sites that are due now, then exit (for cron and timers)"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        configure_logging(self.settings)
        try:
            check_settings(self.settings)  # the crawls it starts get the same -s values
            options = ScheduleOptions.from_settings(self.settings, opts.set or [])
            sites = load_sites(options.sites_file)
            scheduler = Scheduler(sites, options)
        except (SitesError, StoreError, SettingError) as exc:
            print(f"Error: {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        if opts.once:
            self.exitcode = 0 if scheduler.run_once() else 1
        else:
            scheduler.run_forever()
