"""Crawls in the test's own process, the way Scrapy's own test suite runs them.

pytest-twisted installs the asyncio reactor for the whole session (``--reactor=asyncio`` in
pyproject.toml; the worker pool watches its pipes with the asyncio loop's ``add_reader``) and runs
every test inside it. A test that crawls is a coroutine function marked with
:func:`scrapy.utils.defer.deferred_f_from_coro_f` that awaits :func:`run_spider`; a fixture, which
pytest runs outside the reactor, blocks on :func:`run_spider_blocking` instead.

The crawler is built from the project's settings (``crawler/settings.py``, found through
``scrapy.cfg`` in the working directory, the project root under pytest) with the test's overrides
on top, as ``scrapy ... -s NAME=VALUE`` puts them; the spider comes from its ``from_crawler``,
the writer opens the test's database and closes it when the spider closes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest_twisted
from scrapy.crawler import Crawler
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.project import get_project_settings

from pipelines.runs import run_counts

if TYPE_CHECKING:
    from scrapy import Spider

# Pages are processed in the engine's process unless a test asks for workers: spawning two
# worker processes (each importing trafilatura) would cost more than most of these crawls.
# tests/test_workers.py and the end-to-end tests through `scrapy` run the worker pool.
TEST_SETTINGS = {"EXTRACT_WORKERS": 0, "LOG_LEVEL": "INFO"}


def project_settings() -> dict[str, Any]:
    """The settings ``crawler/settings.py`` sets, without Scrapy's defaults.

    Scrapy fills those in itself; passed along as the project's own, its deprecated defaults
    (``RANDOMIZE_DOWNLOAD_DELAY``) would read as set by the project and warn.
    """
    settings = get_project_settings()
    default = SETTINGS_PRIORITIES["default"]
    return {name: settings[name] for name in settings if (settings.getpriority(name) or 0) > default}


def crawler_settings(db: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The project's settings, then :data:`TEST_SETTINGS`, the database ``db`` and ``overrides``."""
    return {**project_settings(), **TEST_SETTINGS, "NEWS_DB": str(db), **(overrides or {})}


async def run_spider(
    spidercls: type[Spider], db: Path, settings: dict[str, Any] | None = None, **spider_args: Any
) -> Crawler:
    """Crawl with ``spidercls`` to its end against the database ``db``; the crawler, for its stats.

    ``pipelines.runs.run_counts(crawler.stats)`` gives the counts the commands summarize.
    An exception of the spider's ``from_crawler`` or of the writer's opening propagates.
    """
    # A Crawler as the commands' CrawlerProcess makes it, not Scrapy's get_crawler: that one applies
    # and freezes the settings at once, before the spider's from_crawler, which may still set some
    # (the news spider gives each site its download slot); the crawl applies them after it.
    crawler = Crawler(spidercls, crawler_settings(db, settings))
    await crawler.crawl_async(**spider_args)
    return crawler


def run_spider_blocking(
    spidercls: type[Spider], db: Path, settings: dict[str, Any] | None = None, **spider_args: Any
) -> Crawler:
    """:func:`run_spider` for fixtures, which pytest runs outside the reactor: block until the crawl ends."""
    return pytest_twisted.blockon(deferred_from_coro(run_spider(spidercls, db, settings, **spider_args)))


def exit_status(crawler: Crawler) -> int:
    """The exit status ``scrapy replay`` and ``scrapy reextract`` give a crawl (crawler/commands/__init__.py):
    1 when some input failed or the crawl did not finish, else 0."""
    finished = crawler.stats.get_value("finish_reason") == "finished"
    return 0 if finished and not run_counts(crawler.stats)["failed"] else 1


@contextmanager
def logged(level: int = logging.INFO) -> Iterator[list[str]]:
    """The messages logged in the block at ``level`` and above, as a command's stderr shows them.

    For fixtures, which have no ``caplog``: ``scrapy`` logs at INFO, the root logger of an
    in-process crawl stays at WARNING unless told otherwise.
    """
    messages: list[str] = []
    handler = logging.Handler(level)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(min(previous, level))
    try:
        yield messages
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
