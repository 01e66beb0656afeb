"""``scrapy crawl SPIDER``: Scrapy's own command, with arguments checked before the crawl starts.

A spider class may define ``check_arguments(settings, **spider_args)``; its
ValueError (SitesError included) is printed as one ``Error:`` line naming the
file, site and field, with exit status 1, instead of a traceback from inside
the crawler.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) == 1 and self.crawler_process is not None:
            try:
                spidercls = self.crawler_process.spider_loader.load(args[0])
            except KeyError:
                spidercls = None  # Scrapy's own command reports the unknown name
            check = getattr(spidercls, "check_arguments", None)
            if check is not None:
                try:
                    check(self.settings, **opts.spargs)
                except ValueError as exc:
                    print(f"Error: {exc}", file=sys.stderr)
                    self.exitcode = 1
                    return
        super().run(args, opts)
