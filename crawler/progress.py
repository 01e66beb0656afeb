"""Live progress on a terminal, with rich; nothing at all without one (cron, systemd, CI, pipes).

- ``scrapy replay`` and ``scrapy reextract``: one bar with the count, the rate and the time left
  (the spider's ``progress_total()`` says how many files or pages there are).
- ``scrapy crawl news``: one line per site: pages fetched, articles new and duplicate, failures, rate.
- ``scrapy neardup --rebuild``: :func:`progress_callback` gives a bar, or the log lines without a terminal.

While a display runs, the log lines Scrapy writes to standard error go above it instead of through it.
Settings: ``PROGRESS_ENABLED``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from pipelines.runs import run_counts

if TYPE_CHECKING:  # rich is imported on a terminal only: 2 MB and 60 ms that a crawl from cron never uses
    from rich.progress import Progress

REFRESH_SECONDS = 0.5
DONE = ("new", "duplicate", "unchanged", "updated", "failed")


def on_terminal() -> bool:
    """Whether standard error is a terminal a person watches."""
    return sys.stderr.isatty()


def bar(description: str) -> Progress:
    """A progress bar with count, rate and time left, on standard error."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, \
        TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TextColumn("[progress.data.speed]{task.fields[rate]}"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=Console(stderr=True), redirect_stderr=True, redirect_stdout=False,
    )


@contextmanager
def logs_above(progress: Progress) -> Iterator[None]:
    """Send the log handlers that write to standard error through the display while it runs."""
    with progress:
        handlers = [handler for handler in logging.getLogger().handlers
                    if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.__stderr__, sys.stderr)]
        streams = [handler.setStream(sys.stderr) for handler in handlers]  # rich's proxy while it runs
        try:
            yield
        finally:
            for handler, stream in zip(handlers, streams):
                handler.setStream(stream)


def rate(done: float, seconds: float | None) -> str:
    return f"{done / seconds:,.1f}/s" if seconds else "-"


def progress_callback(total: int, description: str, fallback: Callable[[int], None]) -> tuple[
        Callable[[int], None], Callable[[], None]]:
    """A ``done`` callback and a close function: a bar on a terminal, else ``fallback`` (the log lines)."""
    if not on_terminal():
        return fallback, lambda: None
    progress = bar(description)
    display = logs_above(progress)
    display.__enter__()
    bar_task = progress.add_task(description, total=total, rate="-")

    def update(done: int) -> None:
        elapsed = progress.tasks[0].elapsed
        progress.update(bar_task, completed=done, rate=rate(done, elapsed))

    return update, lambda: display.__exit__(None, None, None)


class ProgressExtension:
    """Live progress of a run on a terminal: a bar when the spider knows its total, else a line per site."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.progress: Progress | None = None
        self.display: Any = None
        self.tasks: dict[str | None, Any] = {}
        self.total: int | None = None
        self.loop = task.LoopingCall(self.refresh)

    @classmethod
    def from_crawler(cls, crawler: Any) -> ProgressExtension:
        if not crawler.settings.getbool("PROGRESS_ENABLED"):
            raise NotConfigured("PROGRESS_ENABLED is off")
        if not on_terminal():  # cron, systemd, CI: the normal case, not worth a warning in every log
            raise NotConfigured
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Any) -> None:
        total = getattr(spider, "progress_total", None)
        self.total = total() if total else None
        if self.total is not None:
            self.progress = bar(spider.name.capitalize())
            self.tasks[None] = self.progress.add_task(spider.name.capitalize(), total=self.total, rate="-")
        else:
            from rich.console import Console
            from rich.progress import Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("[bold]{task.description:<24}"), TextColumn("{task.fields[line]}"), TimeElapsedColumn(),
                console=Console(stderr=True), redirect_stderr=True, redirect_stdout=False,
            )
        self.display = logs_above(self.progress)
        self.display.__enter__()
        self.loop.start(REFRESH_SECONDS, now=False)

    def sites(self) -> list[str]:
        spider = self.crawler.spider
        return [site.name for site in getattr(spider, "sites", None) or []]

    def refresh(self) -> None:
        assert self.progress is not None
        stats = self.crawler.stats
        if self.total is not None:
            done = sum(run_counts(stats)[name] for name in DONE)
            elapsed = self.progress.tasks[0].elapsed
            self.progress.update(self.tasks[None], completed=min(done, self.total), rate=rate(done, elapsed))
            return
        for site in self.sites() or [None]:
            counts = run_counts(stats, site)
            if site not in self.tasks:
                self.tasks[site] = self.progress.add_task(site or "crawl", total=None, line="")
            elapsed = self.progress.tasks[self.tasks[site]].elapsed
            self.progress.update(self.tasks[site], line=(
                f"{counts['pages']:>6} pages  {counts['new']:>5} new  {counts['duplicate']:>5} duplicate  "
                f"{counts['failed']:>4} failed  {rate(counts['pages'], elapsed)} pages"
            ))

    def spider_closed(self, spider: Any) -> None:
        if self.loop.running:
            self.loop.stop()
        if self.progress is not None:
            self.refresh()
            if self.total is not None:
                self.progress.update(self.tasks[None], completed=self.total)
            self.display.__exit__(None, None, None)
