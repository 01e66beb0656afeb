"""The writer: the one component of a crawl that writes to the database.

:class:`StorePipeline` opens ``NEWS_DB`` when the spider opens and closes it when
the spider closes. For each finished record (made by the per-page function in
the workers) it resolves exact duplicates (the URL becomes an alias), stores the
article with its URLs, page and search row, links it to its near-duplicates and
story, and counts it; pages that failed and feed validators reach it through
signals (:mod:`crawler.signals`), the run's counts through Scrapy's stats. Each
item is one savepoint inside the batch transaction, and each batch commits with
the run's counts: a crash or kill loses at most the open batch, never half an
article.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import CloseSpider, DropItem, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall

from crawler.schedule.sitelock import state_dir
from crawler.schedule.state import RunRecorder
from crawler.signals import fetch_validated, inc_stat, page_failed, store_opened
from pipelines.db.store import ARTICLE_COLUMNS, NewsStore, StoreError, database_path
from pipelines.neardup.index import CATCH_UP_BATCH, NearDupIndex, NearDupSettings, progress_logger
from pipelines.neardup.minhash import Signature
from pipelines.neardup.spin import SpinSignature, SpinText
from pipelines.runs import RUN_STATUS, STORE_FAILED, describe_counts, run_counts
from pipelines.vietnamese.dates import utc_now

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)
runs_logger = logging.getLogger("pipelines.runs")


class DuplicateArticle(DropItem):
    """The text is stored already; the URL was kept as an alias."""


def write_error_message(path: object, error: sqlite3.Error) -> str:
    """One line for a write to NEWS_DB that failed: the file, SQLite's reason, the fix."""
    reason = str(error)
    if "full" in reason:
        fix = "free space on its disk (or move NEWS_DB to a larger one)"
    elif "readonly" in reason or "read-only" in reason:
        fix = "make the file and its folder writable"
    else:
        fix = "check the disk and the file (PRAGMA integrity_check)"
    return (f"NEWS_DB={path} could not be written ({reason}): {fix}, then run the command again; "
            "what was committed before is kept, and the next run carries on from there")


class StorePipeline:
    """Store finished records. Settings: ``NEWS_DB``, ``STORE_ENABLED``, ``STORE_BATCH_SIZE``,
    ``STORE_COMMIT_SECONDS``, ``STORE_PAGES``, ``DEDUPE_ENABLED``, ``NEARDUP_*``,
    ``CRAWL_RUNS_ENABLED``, ``CRAWL_RUN_ID`` (a ``crawl_runs`` row to fill in instead
    of adding one: ``scrapy schedule`` makes it before the crawl starts).

    Stats: ``store/new``, ``store/updated``, ``dedupe/duplicate``, ``dedupe/unchanged``
    (all also per site), ``failures/count``, ``failures/<stage>``, ``skipped/count``, ``neardup/signed``,
    ``neardup/linked``, ``neardup/links``, ``neardup/caught_up``.
    """

    def __init__(self, crawler: Crawler, neardup: NearDupSettings | None) -> None:
        self.crawler = crawler
        self.settings = crawler.settings
        self.neardup_settings = neardup
        self.dedupe = self.settings.getbool("DEDUPE_ENABLED", True)
        self.store: NewsStore | None = None
        self.neardup: NearDupIndex | None = None
        self.command = ""
        self.run_id: int | None = None  # a spider without sites: one row
        self.site_runs: dict[str, int] = {}  # the news spider: one row per site
        self.adopt_run_id = self.settings.getint("CRAWL_RUN_ID", 0)
        self.validators: dict[str, tuple[str | None, str | None, int]] = {}
        self.clock: LoopingCall | None = None
        # Set when a write failed (a full disk, a file made read-only): nothing more is written, the
        # crawl stops and its command exits with status 1 (stat `store/error`). Before, each item's error was logged and the crawl went
        # on, its summary counting as new the articles whose commit had failed, exit status 0.
        self.write_error: str | None = None
        self.poke: LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        settings = crawler.settings
        if not settings.getbool("STORE_ENABLED", True):
            raise NotConfigured("STORE_ENABLED is off")
        neardup = NearDupSettings.from_settings(settings) if settings.getbool("NEARDUP_ENABLED", True) else None
        pipeline = cls(crawler, neardup)
        crawler.signals.connect(pipeline.page_failed, signal=page_failed)
        crawler.signals.connect(pipeline.fetch_validated, signal=fetch_validated)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    # --- opening -----------------------------------------------------------------

    def open_spider(self) -> None:
        spider = self.crawler.spider
        settings = self.settings
        try:
            self.store = NewsStore.open(
                database_path(settings),
                batch_size=settings.getint("STORE_BATCH_SIZE", 100),
                commit_seconds=settings.getfloat("STORE_COMMIT_SECONDS", 2.0),
                keep_pages=settings.getbool("STORE_PAGES", True),
            )
        except StoreError as exc:
            # Not NotConfigured (a component the user turned off): a crawl that cannot keep
            # anything must not run. CloseSpider here stops it before its first request.
            logger.critical("%s", exc)
            raise CloseSpider(STORE_FAILED) from exc
        # Runs that killed processes left `running`; this crawl holds the locks of its own sites.
        RunRecorder(self.store).settle_orphans(state_dir(settings), held=getattr(spider, "locks", {}))
        if settings.getbool("CRAWL_RUNS_ENABLED", True):
            self.start_runs(spider)
            # Every batch commits with the counts of the articles in it: a crawl that is
            # killed still leaves the counts of what it stored.
            self.store.before_commit.append(self.save_counts)
        if self.neardup_settings is not None:
            self.open_neardup(self.neardup_settings)
        # Commit on a clock too: a batch left open while the crawl waits on a slow site
        # would hold SQLite's write lock and stall every other writer for as long.
        self.clock = LoopingCall(self.guarded, self.store.commit_if_old)
        self.clock.start(max(self.store.commit_seconds / 2, 0.1), now=False)
        self.poke = LoopingCall(self.poke_scraper)
        self.poke.start(0.2, now=False)
        self.crawler.signals.send_catch_log(store_opened, store=self.store)

    def start_runs(self, spider: Spider) -> None:
        self.command = getattr(spider, "command", None) or f"crawl {spider.name}"
        sites = getattr(spider, "sites", None)
        if sites:
            self.site_runs = {site.name: self.start_run(site.name) for site in sites}
        else:
            self.run_id = self.start_run(getattr(spider, "site_name", None))

    def start_run(self, site: str | None) -> int:
        assert self.store is not None
        if self.adopt_run_id:
            run_id, self.adopt_run_id = self.adopt_run_id, 0
            return run_id
        return self.store.start_run(self.command, site, os.getpid())

    def open_neardup(self, settings: NearDupSettings) -> None:
        """Load the bucket index, and sign the articles stored while the stage was off."""
        store = self.store
        assert store is not None
        self.neardup = index = NearDupIndex(store, settings)
        index.check_config()
        started = time.monotonic()
        index.load()
        store.commit()
        signed = store.signed_count()
        logger.info("Near-duplicates: index of %d signed articles loaded in %.2f s", signed, time.monotonic() - started)
        unsigned = store.db.execute("SELECT count(*) FROM articles").fetchone()[0] - signed
        if unsigned > 0:
            logger.info("Near-duplicates: signing %d stored articles that have no signature yet", unsigned)
            caught_up = index.sign_unsigned(progress_logger(unsigned), commit_every=CATCH_UP_BATCH)
            store.commit()
            self.crawler.stats.inc_value("neardup/caught_up", caught_up)

    # --- articles ----------------------------------------------------------------

    def process_item(self, item: Any) -> Any:
        if self.write_error is not None:  # the crawl is closing: what is still in flight is not stored
            raise DropItem(f"not stored: {self.write_error}", log_level="DEBUG")
        try:
            return self.store_item(item)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):  # a bug, not the disk: let it be seen
                raise
            self.failed_write(exc)
            raise DropItem(f"not stored: {self.write_error}", log_level="DEBUG") from exc

    def failed_write(self, exc: sqlite3.Error) -> None:
        """A write failed: undo the open batch, log one line naming the file and the fix, stop the crawl
        (the commands exit with status 1 and print that line)."""
        store = self.store
        if self.write_error is None:
            self.write_error = write_error_message(database_path(self.settings), exc)
            logger.critical("%s", self.write_error)
            self.crawler.stats.set_value("store/error", self.write_error)
            # Stop as Ctrl-C does: the engine's close_spider_async() alone would wait for ever on a
            # start() (replay, reextract) that keeps yielding; stop_async() cancels it first. The
            # commands read the stat `store/error` (pipelines.runs.store_failed) for the exit status.
            if self.crawler.crawling:
                deferred_from_coro(self.crawler.stop_async())
        if self.clock is not None and self.clock.running:
            self.clock.stop()
        self.failed_write_rollback()

    def poke_scraper(self) -> None:
        """Let a closing crawl finish (Scrapy 2.19): stopped (Ctrl-C, a failed write) while items of
        start() were in the item pipelines, its scraper checks whether it is idle only as each
        response finishes, and a replay or reextract has no responses: idle, it waited for ever (a
        Ctrl-C'd `scrapy replay` hung until killed). Checked here, every 0.2 s, until the spider closes."""
        scraper = getattr(self.crawler.engine, "scraper", None)
        slot = getattr(scraper, "slot", None)
        if slot is not None and slot.closing is not None and hasattr(scraper, "_check_if_closing"):
            scraper._check_if_closing()

    def failed_write_rollback(self) -> None:
        store = self.store
        if store is not None:
            store.search_rows.clear()
            store.pending = 0
            if store.db.conn.in_transaction:
                try:
                    store.db.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite rolled it back itself

    def guarded(self, write: Any, *args: Any) -> None:
        """Call ``write(*args)`` unless a write failed already; a failure stops the crawl (see failed_write)."""
        if self.write_error is not None:
            return
        try:
            write(*args)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            self.failed_write(exc)

    def store_item(self, item: Any) -> Any:
        store = self.store
        assert store is not None
        adapter = ItemAdapter(item)
        site = adapter.get("site")
        with self.savepoint():
            if self.dedupe:
                self.resolve_duplicate(adapter)
            if adapter.get("article_id"):  # the page changed under a known URL, or was re-extracted
                store.update_article(adapter["article_id"], item, count=False)
                counted = "store/updated"
            else:
                adapter["article_id"] = store.add_article(item, count=False)
                counted = "store/new"
            if self.neardup is not None:
                self.link(adapter)
        inc_stat(self.crawler, counted, site)
        # Only now, counted: the commit this may make carries the run's counts with the article.
        store.article_written()
        return item

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """One item's writes, all or nothing, inside the open batch."""
        store = self.store
        assert store is not None
        store.begin()
        store.db.execute("SAVEPOINT item")
        # The search rows queued before the item: an update writes them out inside the savepoint,
        # so a rollback undoes them and they must be queued again.
        queued = list(store.search_rows)
        try:
            yield
        except DuplicateArticle:  # its URL was kept as an alias: keep that
            store.db.execute("RELEASE item")
            raise
        except BaseException:
            store.db.execute("ROLLBACK TO item")
            store.db.execute("RELEASE item")
            store.search_rows[:] = queued
            raise
        store.db.execute("RELEASE item")

    def resolve_duplicate(self, adapter: ItemAdapter) -> None:
        """Decide what a record is against the archive; raise :class:`DuplicateArticle` to drop it.

        - new text: stored;
        - known URL, new text (the page was edited): that article is updated;
        - known text under another URL: the URL becomes an alias of the stored article, dropped
          as ``duplicate``; nothing is lost. Known text and URL: dropped as ``unchanged``;
        - a stored page extracted again (``via="reextract"``) with the same text: that article
          is updated when another field changed (a better title, author or date), else ``unchanged``.
        """
        store = self.store
        assert store is not None
        url, via, site = adapter["url"], adapter.get("via") or "crawl", adapter.get("site")
        existing_id = store.article_id_for_hash(adapter["content_hash"])
        if existing_id is None:
            known = store.article_for_url(url)
            if known:
                adapter["article_id"] = known["id"]
            return
        adapter["article_id"] = existing_id
        if via == "reextract":
            stored = store.article_row(existing_id) or {}
            if all(adapter.get(column) == stored.get(column) for column in ARTICLE_COLUMNS if column != "url"):
                self.crawler.stats.inc_value("dedupe/unchanged")
                raise DuplicateArticle(f"unchanged: {url} extracts as before", log_level="DEBUG")
            return
        new_urls = [u for u in [url, *adapter.get("aliases", [])] if store.add_url(u, existing_id, via)]
        if not new_urls:
            inc_stat(self.crawler, "dedupe/unchanged", site)
            raise DuplicateArticle(f"unchanged: {url} is article {existing_id} already", log_level="DEBUG")
        inc_stat(self.crawler, "dedupe/duplicate", site)
        logger.info("Duplicate of article %s: %s kept as an alias", existing_id, url)
        raise DuplicateArticle(f"duplicate of article {existing_id}: {url} kept as an alias", log_level="DEBUG")

    def link(self, adapter: ItemAdapter) -> None:
        """Link the stored article to its near-duplicates; it joins their story."""
        index = self.neardup
        assert index is not None
        article_id, blob = adapter["article_id"], adapter.get("signature")
        if blob is not None and adapter.get("signed_with") != index.signed_with:
            # A worker of another version or other NEARDUP_* settings (a distributed crawl): its
            # signature would not compare with the others.
            if not self.crawler.stats.get_value("neardup/signed_here"):
                logger.warning("Near-duplicates: a record signed another way (%s, here %s): signed again "
                               "here; run one version and one set of NEARDUP_* settings on every machine",
                               adapter.get("signed_with") or "by an earlier version", index.signed_with)
            self.crawler.stats.inc_value("neardup/signed_here")
            blob = None
        if blob is None:  # a record made without signing (NEARDUP_ENABLED was off in the workers)
            story_id, matches = index.add(article_id, adapter.get("text") or "")
        else:
            signature = Signature.from_blob(blob, adapter["shingles"])
            anchors, spin_keys = adapter.get("anchors"), adapter.get("spin_keys")
            text, words = adapter.get("text"), adapter.get("anchor_words")
            story_id, matches = index.link(
                article_id, signature, np.frombuffer(adapter["band_keys"], np.uint64),
                SpinSignature.from_blob(anchors, adapter.get("anchor_count") or 0) if anchors is not None else None,
                np.frombuffer(spin_keys, np.uint64) if spin_keys is not None else None,
                # The anchors as the worker found them: the writer need not read the text again for them.
                SpinText(text, anchors=frozenset(filter(None, words.split("\n")))) if text and words is not None else text,
            )
        adapter["story_id"] = story_id
        stats = self.crawler.stats
        stats.inc_value("neardup/signed")
        if matches:
            stats.inc_value("neardup/linked")
            stats.inc_value("neardup/links", len(matches))
            logger.info(
                "Near-duplicate: article %s (%s) is story %s, like %s",
                article_id, adapter.get("url"), story_id, ", ".join(str(m.similar_id) for m in matches),
            )

    # --- signals -------------------------------------------------------------------

    def page_failed(self, url: str, stage: str, reason: str, site: str | None = None, skipped: bool = False) -> None:
        """Keep a page or file that could not become an article, with its reason, in its run
        (counted as ``skipped`` when it is not an article at all, else as ``failed``)."""
        if skipped:
            inc_stat(self.crawler, "skipped/count", site)
        else:
            inc_stat(self.crawler, "failures/count", site)
            inc_stat(self.crawler, f"failures/{stage}", site)
        if self.store is None or self.write_error is not None:
            logger.error("Failed %s (%s): %s", url, stage, reason)
            return
        run_id = self.site_runs.get(site, self.run_id) if site else self.run_id
        self.guarded(self.store.record_failure, url, reason, stage, run_id)
        self.guarded(self.store.commit_when_due)

    def fetch_validated(self, url: str, etag: str | None, last_modified: str | None, status: int) -> None:
        """Keep a feed's or sitemap's validators, to be stored when the run finishes.

        Not before: a run killed between the feed and its articles must read the feed
        in full next time, not get a 304 and miss the articles it never stored.
        """
        self.validators[url] = (etag, last_modified, status)

    def save_counts(self) -> None:
        assert self.store is not None
        stats = self.crawler.stats
        if self.run_id is not None:
            self.store.update_run(self.run_id, run_counts(stats))
        for site, run_id in self.site_runs.items():
            self.store.update_run(run_id, run_counts(stats, site))

    # --- closing -------------------------------------------------------------------

    def close_spider(self) -> None:
        if self.store is not None:
            self.guarded(self.store.commit)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Close the runs with the spider's close reason, keep the validators of a finished run, close."""
        store = self.store
        if store is None:
            return
        for clock in (self.clock, self.poke):
            if clock is not None and clock.running:
                clock.stop()
        self.guarded(self.close_runs, reason)
        if self.write_error is not None:
            try:  # one try at closing the runs as failed: a few bytes may still fit
                store.begin()
                # Their status only: the counts of the last batch committed are theirs already, while
                # the stats also count the batch that the failed write rolled back.
                for run_id in [self.run_id, *self.site_runs.values()]:
                    if run_id is not None:
                        store.db["crawl_runs"].update(run_id, {"finished": utc_now(), "status": "failed"})
                store.db.conn.execute("COMMIT")
                logger.info("Runs %s failed", ", ".join(str(r) for r in [self.run_id, *self.site_runs.values()] if r))
            except sqlite3.Error:
                # They stay `running`: the next run that opens the database settles them (this
                # process is gone by then).
                self.failed_write_rollback()
        try:
            store.db.close()  # no commit: after a failed write there is nothing left to commit
        except sqlite3.Error:
            pass
        self.store = None

    def close_runs(self, reason: str) -> None:
        store = self.store
        assert store is not None
        if reason == "finished":
            for url, (etag, modified, status) in self.validators.items():
                store.save_fetch_state(url, etag, modified, status)
        if self.neardup is not None:
            self.neardup.save_snapshot_if_stale()
        store.commit()
        self.finish_runs(RUN_STATUS.get(reason, reason))
        store.commit()

    def finish_runs(self, status: str) -> None:
        store = self.store
        assert store is not None
        stats = self.crawler.stats
        if self.run_id is not None:
            counts = run_counts(stats)
            store.finish_run(self.run_id, status, counts)
            runs_logger.info("Run %s %s: %s", self.run_id, status, describe_counts(counts))
        for site, run_id in self.site_runs.items():
            counts = run_counts(stats, site)
            # Nothing fetched and something failed: the site was unreachable.
            site_status = "failed" if status == "finished" and counts["failed"] and not counts["pages"] else status
            store.finish_run(run_id, site_status, counts)
            line = f"{site}: run {run_id} {site_status}: {describe_counts(counts)}"
            reasons = store.failure_reasons(run_id)
            if reasons:
                line += f"; most failures: {reasons[0][0]} (see the failures table)"
            runs_logger.log(logging.WARNING if site_status == "failed" else logging.INFO, "%s", line)
