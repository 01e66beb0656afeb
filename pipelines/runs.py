"""Runs in ``crawl_runs``: which stats a row counts, how a run's outcome reads in one line.

The writer (:mod:`pipelines.store`) opens the rows when the spider opens, keeps
their counts current in every batch it commits, and closes them with the
spider's close reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector

# crawl_runs column -> the stat that counts it (per site: the stat + "/<site>").
RUN_COUNTS = {
    "new": "store/new",
    "updated": "store/updated",
    "duplicate": "dedupe/duplicate",
    "unchanged": "dedupe/unchanged",
    "failed": "failures/count",
    "skipped": "skipped/count",
    "pages": "news/pages",
    "not_modified": "news/not_modified",
    "robots_skipped": "news/robots_skipped",
    "http_errors": "news/http_errors",
    "extract_failed": "failures/extract",
}
# The close reason of a crawl whose database could not be opened: it stops before its first
# request, and the commands exit with status 1.
STORE_FAILED = "store_failed"


def store_failed(stats: StatsCollector | None) -> bool:
    """The crawl could not open NEWS_DB (close reason STORE_FAILED) or a write to it failed (stat
    ``store/error``, set by the store pipeline, which then stops the crawl as Ctrl-C does)."""
    return stats is None or stats.get_value("finish_reason") == STORE_FAILED or bool(stats.get_value("store/error"))


# Scrapy's close reason -> crawl_runs.status.
RUN_STATUS = {"finished": "finished", "shutdown": "interrupted", "cancelled": "interrupted"}


def run_counts(stats: StatsCollector, site: str | None = None) -> dict[str, int]:
    """The counts of a run so far, by ``crawl_runs`` column; of one site when ``site`` is given."""
    suffix = f"/{site}" if site else ""
    return {column: stats.get_value(stat + suffix, 0) for column, stat in RUN_COUNTS.items()}


def describe_counts(counts: dict[str, int], *names: str) -> str:
    """``"3 new, 1 duplicate"``: the ``names`` given, in that order; without names, ``new`` and
    every count that is not zero."""
    shown = names or [name for name, value in counts.items() if value or name == "new"]
    return ", ".join(f"{counts.get(name, 0)} {name.replace('_', ' ')}" for name in shown)
