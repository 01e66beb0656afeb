"""The project's own Scrapy signals: how spiders tell the writer what is not an article item.

The store pipeline (the only writer, :mod:`pipelines.store`) connects to them;
a spider or component sends them with ``crawler.signals.send_catch_log``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

# A page or file that could not become an article: url, stage, reason, site (or None), and
# skipped (True: not an article, say a listing page replayed; counted apart from failures).
page_failed = object()
# A feed or sitemap answered with validators for the next run's conditional GET:
# url, etag, last_modified, status. Stored only when the run finishes (see the writer).
fetch_validated = object()
# The writer opened the database: store (a pipelines.db.store.NewsStore). For `scrapy ingest`,
# which records workers' runs in the writer's transactions and acknowledges Redis after commits.
store_opened = object()
# A request's errback ran (request): a distributed crawl's scheduler files the request as done
# (crawler/distributed/scheduler.py); nothing listens on one machine.
request_finished = object()


def report_failure(
    crawler: Crawler, url: str, stage: str, reason: str, site: str | None = None, skipped: bool = False
) -> None:
    """Record a page or file that could not become an article (stage: fetch, extract, replay...);
    ``skipped``: one that is not an article at all, counted as skipped rather than failed."""
    crawler.signals.send_catch_log(page_failed, url=url, stage=stage, reason=reason, site=site, skipped=skipped)


def inc_stat(crawler: Crawler, stat: str, site: str | None = None) -> None:
    """Count ``stat``, and ``stat/<site>`` too, so that a crawl of several sites can report each."""
    crawler.stats.inc_value(stat)
    if site:
        crawler.stats.inc_value(f"{stat}/{site}")
