"""The one writer of a distributed crawl: drain the records workers push to Redis into NEWS_DB.

Each article record becomes an item for the unchanged store pipeline (exact dedupe, aliases,
near-duplicates, story); failure records reach it as :data:`~crawler.signals.page_failed`; run
records open and finish the workers' ``crawl_runs`` rows. A record leaves Redis's ``pending``
list only after the transaction that stored it committed (the store's ``after_commit`` hook), so a
writer killed at any moment loses nothing: the next one recovers ``pending`` and stores again what
was not committed, once (the exact dedupe sees a record delivered twice as unchanged).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from scrapy import signals
from scrapy.exceptions import DropItem
from twisted.internet.task import LoopingCall

from crawler.distributed.connection import Keys, connect, redis_url
from crawler.distributed.records import RecordQueue, decode
from crawler.distributed.runs import SILENT_GRACE, Validators, WorkerRuns
from crawler.distributed.writer import Mirror, WriterLock
from crawler.items import ArticleItem
from crawler.signals import store_opened
from crawler.spiders.base import ArchiveSpider
from pipelines.db.store import NewsStore

logger = logging.getLogger(__name__)

# Seconds between two looks at an empty queue: short, the store's commit clock runs meanwhile.
POLL_SECONDS = 0.2
# Seconds between two lines of progress while records come.
REPORT_SECONDS = 10.0
# Seconds between two looks for killed workers' runs, while the queue is empty.
SETTLE_SECONDS = 5.0
# The close reason of a writer whose lock another writer took.
LOCK_LOST = "writer_lock_lost"


def idle_seconds(value: Any) -> float:
    """``-a idle=SECONDS`` (or ``INGEST_IDLE_SECONDS``): 0 runs until stopped."""
    try:
        seconds = float(value or 0)
    except (TypeError, ValueError):
        raise ValueError(f"idle must be a number of seconds, got {value!r}") from None
    if seconds < 0:
        raise ValueError(f"idle must be 0 or more seconds, got {value!r}")
    return seconds


class IngestSpider(ArchiveSpider):
    """Store the records of ``<REDIS_PREFIX>:records``. Argument: ``idle`` (seconds).

    Settings: ``REDIS_URL``, ``REDIS_PREFIX``, ``INGEST_BATCH_SIZE`` (records taken at once),
    ``INGEST_IDLE_SECONDS``, ``INGEST_LOCK_SECONDS``. Stats: ``ingest/records``, ``ingest/bad``,
    ``ingest/recovered``.
    """

    name = "ingest"
    command = "ingest"
    redis_role = "writer"
    uses_workers = False  # its records are finished already

    def __init__(self, idle: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.idle_arg = idle

    @staticmethod
    def check_arguments(settings: Any, idle: Any = None, **_: Any) -> None:
        """Before the crawl (``scrapy ingest``, ``scrapy crawl ingest``): ValueError, said in one line,
        for a bad ``idle``, no ``REDIS_URL``, a Redis out of reach, or another writer at work."""
        idle_seconds(idle)
        if not redis_url(settings):
            raise ValueError(
                "REDIS_URL is not set: scrapy ingest stores the records that workers push to Redis. Set it "
                "to the workers' Redis (REDIS_URL=redis://HOST:6379/0, or -s REDIS_URL=...)"
            )
        server = connect(settings)
        try:
            WriterLock(server, Keys.from_settings(settings), settings.getfloat("INGEST_LOCK_SECONDS", 30.0)).check()
        finally:
            server.close()

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> IngestSpider:
        spider: IngestSpider = super().from_crawler(crawler, *args, **kwargs)  # type: ignore[assignment]
        settings = crawler.settings
        spider.idle = idle_seconds(spider.idle_arg if spider.idle_arg is not None
                                   else settings.getfloat("INGEST_IDLE_SECONDS", 0))
        spider.batch_size = max(settings.getint("INGEST_BATCH_SIZE", 200), 1)
        spider.keys = keys = Keys.from_settings(settings)
        spider.server = server = connect(settings)
        spider.queue = RecordQueue(server, keys)
        spider.mirror = Mirror(server, keys)
        spider.store = None
        spider.runs = None
        # Records taken whose items the pipeline has not finished, by the item's id.
        spider.in_flight: dict[int, tuple[ArticleItem, bytes]] = {}
        # Processed since the last commit: acknowledged (and mirrored) after the next one.
        spider.done: list[bytes] = []
        spider.done_urls: list[str] = []
        spider.done_validators: Validators = {}
        spider.lock = WriterLock(server, keys, settings.getfloat("INGEST_LOCK_SECONDS", 30.0))
        try:
            spider.lock.acquire()  # last: a refused writer opens nothing
        except BaseException:
            server.close()
            raise
        spider.lock_clock = LoopingCall(spider.keep_lock)
        crawler.signals.connect(spider.opened, signal=signals.spider_opened)
        crawler.signals.connect(spider.stopped, signal=signals.engine_stopped)
        crawler.signals.connect(spider.store_opened, signal=store_opened)
        crawler.signals.connect(spider.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(spider.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(spider.item_error, signal=signals.item_error)
        return spider

    # --- life cycle ----------------------------------------------------------------

    def opened(self) -> None:
        self.lock_clock.start(max(self.lock.seconds / 3, 0.1), now=False)

    def keep_lock(self) -> None:
        """Refresh the lock; lost to another writer (this one stalled past its expiry): stop, since
        each would put back the other's pending records."""
        if not self.lock.refresh() and self.crawler.engine is not None and self.crawler.engine.spider is not None:
            self.lock_clock.stop()
            asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=LOCK_LOST))

    def store_opened(self, store: NewsStore) -> None:
        self.store = store
        self.runs = WorkerRuns(store)
        store.after_commit.append(self.acknowledge)

    def stopped(self) -> None:
        """After the last commit (the store closes with the spider): the lock goes last."""
        if self.lock_clock.running:
            self.lock_clock.stop()
        try:
            self.lock.release()
        finally:
            self.server.close()

    # --- draining ------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.store is None:  # the writer could not open the database (it said why)
            return
        recovered = self.queue.recover()
        if recovered:
            self.crawler.stats.inc_value("ingest/recovered", recovered)
            logger.warning("Ingest: %d records taken by a writer that stopped before committing them "
                           "are back in the queue", recovered)
        urls, validators = self.mirror.fill(self.store)
        if urls or validators:
            logger.info("Ingest: Redis now mirrors %d stored URLs and %d validators", urls, validators)
        logger.info("Ingest: the writer of %s (keys %s:*), %d records waiting%s", redis_url(self.settings),
                    self.keys.prefix, self.queue.backlog(),
                    f"; stops after {self.idle:g} s without records or workers" if self.idle else "")
        empty_since: float | None = None
        next_report = next_settle = time.monotonic() + REPORT_SECONDS
        while True:
            if len(self.in_flight) >= 2 * self.batch_size:  # the pipeline is behind: wait for it
                await asyncio.sleep(0.01)
                continue
            raws = self.queue.take(self.batch_size)
            if not raws:
                if empty_since is None or time.monotonic() >= next_settle:
                    next_settle = time.monotonic() + SETTLE_SECONDS
                    self.settle_silent_workers()
                empty_since = empty_since or time.monotonic()
                if self.idle and time.monotonic() - empty_since >= self.idle and self.crawl_is_over():
                    # Every worker that left queued its finish first: one gone without is killed.
                    self.settle_silent_workers(grace=0)
                    logger.info("Ingest: no record for %g s, no worker alive, no run: done", self.idle)
                    return
                await asyncio.sleep(POLL_SECONDS)
                continue
            empty_since = None
            for raw in raws:
                item = self.ingest(raw)
                if item is not None:
                    yield item
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + REPORT_SECONDS
                logger.info("Ingest: %d records waiting in Redis, %d stored so far",
                            self.queue.backlog(), self.crawler.stats.get_value("store/new", 0))

    def settle_silent_workers(self, grace: float = SILENT_GRACE) -> None:
        """The runs of workers gone without a finish (killed) are failed (see
        :meth:`WorkerRuns.settle_silent`): only while no record waits, the live workers read first."""
        if self.runs is None:
            return
        alive = self.live_workers()
        if self.queue.backlog() == 0:
            if self.runs.settle_silent(alive, grace):
                self.store.commit()
        else:
            self.runs.suspects.clear()

    def live_workers(self) -> set[str]:
        """The workers whose beat has not run out, by Redis's clock."""
        seconds, micros = self.server.time()
        return {member.decode() for member in
                self.server.zrangebyscore(self.keys.workers, f"({seconds + micros / 1e6}", "+inf")}

    def crawl_is_over(self) -> bool:
        """No worker alive and no run under way."""
        return not self.live_workers() and not self.server.scard(self.keys.runs)

    def ingest(self, raw: bytes) -> ArticleItem | None:
        """The item of an article record; a failure or run record applied at once (None)."""
        self.crawler.stats.inc_value("ingest/records")
        try:
            kind, _, data = decode(raw)
            if kind == "article":
                item = ArticleItem(**data)
                if not isinstance(item.url, str) or not item.url:
                    raise ValueError(f"an article record without a URL: {raw[:80]!r}")
                self.in_flight[id(item)] = (item, raw)
                return item
            if kind == "failure":
                self.report_failure(str(data["url"]), str(data["stage"]), str(data["reason"]),
                                    data.get("site"), bool(data.get("skipped")))
            else:
                assert self.runs is not None
                saved = self.runs.record(data)  # may commit, and so renew the lists below: first
                self.done_validators.update(saved)
        except (ValueError, TypeError, KeyError) as exc:
            self.bad_record(raw, exc)
        self.done.append(raw)
        return None

    def bad_record(self, raw: bytes, exc: Exception) -> None:
        """A record the writer cannot use: kept in ``failures`` with its first bytes, then dropped."""
        self.crawler.stats.inc_value("ingest/bad")
        reason = f"bad record ({type(exc).__name__}: {exc}): {raw[:80]!r}"
        logger.error("Ingest: %s", reason)
        self.report_failure(self.keys.records, "ingest", reason)

    # --- the pipeline's outcome, then the commit -------------------------------------

    def finished(self, item: Any, stored: bool) -> None:
        entry = self.in_flight.pop(id(item), None)
        if entry is None:
            return
        self.done.append(entry[1])
        if stored:
            self.done_urls.extend([item.url, *item.aliases])

    def item_scraped(self, item: Any) -> None:
        self.finished(item, stored=True)

    def item_dropped(self, item: Any, exception: BaseException) -> None:
        # Dropped by the writer as a duplicate or unchanged: its URLs are stored (as aliases).
        self.finished(item, stored=isinstance(exception, DropItem))

    def item_error(self, item: Any, failure: Any) -> None:
        """The writer failed on it (its savepoint rolled back): kept in ``failures``, not retried."""
        if id(item) in self.in_flight:
            self.report_failure(item.url, "ingest", f"not stored: {failure.getErrorMessage()}", item.site)
        self.finished(item, stored=False)

    def acknowledge(self) -> None:
        """After a commit: mirror what it stored, then remove its records from ``pending``.

        Redis unreachable: kept for the next commit (the records stay in ``pending``, at worst
        stored again by the next writer, once)."""
        if not (self.done or self.done_urls or self.done_validators):
            return
        from redis import RedisError  # loaded with the connection; not by every command that lists spiders

        pipe = self.server.pipeline(transaction=False)
        self.mirror.add(pipe, self.done_urls, self.done_validators)
        try:
            pipe.execute()
            self.queue.done(self.done)
        except RedisError as exc:
            logger.error("Ingest: could not acknowledge %d records in Redis (%s): trying again after the "
                         "next commit", len(self.done), exc)
            return
        self.done, self.done_urls, self.done_validators = [], [], {}
