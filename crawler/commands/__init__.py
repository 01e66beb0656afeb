"""Project commands: one Scrapy command per module (``scrapy <module name>``)."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING, Any

from crawler.checks import check_settings

from pipelines.runs import describe_counts, run_counts, store_failed

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.commands import ScrapyCommand
    from scrapy.crawler import Crawler


def start_spider(command: ScrapyCommand, spidercls: type[Spider], **spider_args: Any) -> Crawler | None:
    """Check the settings and the spider's arguments, run the spider to its end and return its crawler.

    A setting or argument mistake (a ValueError from :func:`check_settings` or the spider's own
    ``check_arguments(settings, **spider_args)``, when it has one) is one ``Error:`` line, not a
    traceback from inside the crawler. Sets the command's exit status to 1 and returns None when
    the spider could not start or could not open (or write) the database.
    """
    assert command.crawler_process is not None
    check = getattr(spidercls, "check_arguments", None)
    try:
        check_settings(command.settings)
        if check is not None:
            check(command.settings, **spider_args)
    except ValueError as exc:  # SettingError, SitesError, RedisUnavailable...
        print(f"Error: {exc}", file=sys.stderr)
        command.exitcode = 1
        return None
    crawler = command.crawler_process.create_crawler(spidercls)
    command.crawler_process.crawl(crawler, **spider_args)
    command.crawler_process.start()
    # The command ends once the crawl has: the interpreter's teardown would run the cycle collector
    # over every object of Scrapy, Twisted and the crawl, several times (0.08 s); frozen, it skips them.
    gc.freeze()
    if command.crawler_process.bootstrap_failed or store_failed(crawler.stats):  # nothing to sum up
        command.exitcode = 1
        print_store_error(crawler)
        return None
    return crawler


def run_spider_to_end(
    command: ScrapyCommand, spidercls: type[Spider], **spider_args: Any
) -> tuple[Crawler, dict[str, int]] | None:
    """Run one offline spider (replay, reextract) to its end and return its crawler and run counts.

    As :func:`start_spider`; the exit status is also 1 when the spider failed on some input or
    did not finish.
    (Functions, not a base class: Scrapy would list a command class here as a command.)
    """
    crawler = start_spider(command, spidercls, **spider_args)
    if crawler is None:
        return None
    counts = run_counts(crawler.stats)
    if counts["failed"] or crawler.stats.get_value("finish_reason") != "finished":
        command.exitcode = 1
    return crawler, counts


def print_store_error(crawler: Crawler) -> None:
    """The line of a write to NEWS_DB that failed (stat ``store/error``), on stderr: with the log in a
    file (``make replay``, ``make crawl``), the terminal would show nothing but the exit status."""
    message = crawler.stats.get_value("store/error") if crawler.stats is not None else None
    if message:
        print(f"Error: {message}", file=sys.stderr)


__all__ = ["describe_counts", "print_store_error", "run_spider_to_end", "start_spider"]
