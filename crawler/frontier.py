"""Discovered URLs wait here, not in Scrapy's scheduler: a crawl's memory does not grow with a sitemap.

A sitemap names up to 50,000 URLs and a site may have dozens. As requests in
Scrapy's scheduler they cost about 3.5 KB each (the request, its headers and meta,
the queue), so a 20,000-page crawl held some 70 MB of requests before fetching
most of them. Here an entry is a small tuple until the scheduler has room: the
frontier tops the scheduler up to ``NEWS_SCHEDULER_MAX`` requests each time a
request leaves for the downloader, and when the spider would otherwise go idle.
Each site has its own line of entries and the sites take turns, so one site's
big sitemap does not hold back the others.

Entries are looked at :data:`TURN` at a time, each batch in its own turn of the reactor.
Most entries of a sitemap read again give no request (stored already, or beyond the site's
``max_pages``); looked at all at once, 50,000 of them held up the reactor for a second or
two, and a response in flight then waited past its ``DOWNLOAD_TIMEOUT`` and was retried.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.reactor import CallLaterOnce

__all__ = ["Frontier"]

# Entries looked at in one turn of the reactor (about 20 ms of work for URLs that give no request).
TURN = 1000


class Frontier:
    """Entries (``make``'s arguments) turned into requests by ``make`` (None: nothing to fetch) as the
    scheduler drains, taken from each line (a site's name) in turn."""

    def __init__(self, crawler: Any, make: Callable[..., Request | None], limit: int) -> None:
        # 0: no waiting here, every entry goes to the scheduler at once (a worker's: Redis).
        self.crawler, self.make, self.limit = crawler, make, limit if limit > 0 else float("inf")
        self.lines: dict[Any, deque[tuple[Any, ...]]] = {}
        self.next_turn = CallLaterOnce(self.top_up)
        crawler.signals.connect(self.top_up, signal=signals.request_reached_downloader)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)

    def __len__(self) -> int:
        return sum(map(len, self.lines.values()))

    def add(self, line: Any, *entry: Any) -> None:
        """Queue an entry; it is looked at in the reactor's next turn (a sitemap's entries, together)."""
        self.lines.setdefault(line, deque()).append(entry)
        self.next_turn.schedule()

    def waiting(self) -> dict[Any, list[tuple[Any, ...]]]:
        """The entries not scheduled yet, by line, in order (for a resumable run's state)."""
        return {line: list(entries) for line, entries in self.lines.items()}

    def _next(self) -> tuple[Any, ...]:
        """The first entry of the first line, whose turn then goes to the back."""
        line, entries = next(iter(self.lines.items()))
        entry = entries.popleft()
        del self.lines[line]
        if entries:
            self.lines[line] = entries
        return entry

    def top_up(self, turn: float = TURN) -> int:
        """Schedule entries while the scheduler holds fewer than ``limit`` requests; return how many.
        After ``turn`` entries the rest wait for the reactor's next turn."""
        try:
            engine = self.crawler.engine
        except RuntimeError:  # the crawl has not started
            return 0
        scheduler = engine.scheduler if engine is not None else None
        if scheduler is None:  # the engine is closing
            return 0
        scheduled = looked = 0
        while self.lines and (self.limit == float("inf") or len(scheduler) < self.limit):
            if looked == turn:
                self.next_turn.schedule()
                break
            looked += 1
            if (request := self.make(*self._next())) is not None:
                engine.crawl(request)
                scheduled += 1
        self.crawler.stats.max_value("frontier/waiting_max", len(self))
        return scheduled

    def spider_idle(self) -> None:
        # Idle, the crawl has nothing in flight to hold up: every entry may be looked at now.
        if self.top_up(turn=float("inf")):
            raise DontCloseSpider
