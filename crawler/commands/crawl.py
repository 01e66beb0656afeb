"""``scrapy crawl SPIDER``: Scrapy's own command, with arguments checked before the crawl starts.

A spider class may define ``check_arguments(settings, **spider_args)``; its
ValueError (SitesError included) is printed as one ``Error:`` line naming the
file, site and field, with exit status 1, instead of a traceback from inside
the crawler. A crawl closed because its database could not be opened
(:data:`pipelines.runs.STORE_FAILED`) exits with status 1 too.
"""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from crawler.commands import start_spider


class Command(ScrapyCrawlCommand):
    def short_desc(self) -> str:
        return "Crawl the sites of SITES_FILE with the spider news: all, one of them, or any site from a URL"

    def long_desc(self) -> str:
        return (
            "scrapy crawl news crawls every site of the sites file, one crawl_runs row each. Spider "
            "arguments: -a site=NAME crawls one site of the sites file; -a url=URL crawls any site from "
            "that URL alone; -a since=DAYS or since=DATE skips articles published earlier; -a FIELD=VALUE "
            "sets any field of the sites file for this run. The sites file and the arguments are checked "
            "before the crawl starts: a mistake prints one Error: line naming the file, the site and the "
            "field, and the exit status is 1. With -s JOBDIR=DIR, Ctrl-C stops cleanly and the same "
            "command resumes."
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        spidercls = None
        if len(args) == 1 and self.crawler_process is not None:
            try:
                spidercls = self.crawler_process.spider_loader.load(args[0])
            except KeyError:
                pass
        if spidercls is None:  # Scrapy's own command reports the usage error or the unknown name
            super().run(args, opts)
            return
        start_spider(self, spidercls, **opts.spargs)
