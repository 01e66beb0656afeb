"""The SQLite store: one file, written through sqlite-utils, in batches.

:class:`NewsStore` is the only writer. Every write joins one open transaction
that is committed when ``STORE_BATCH_SIZE`` articles are pending, when
``STORE_COMMIT_SECONDS`` have passed, and on close; an article, its URL and its
search-index row always land together, so a crash or kill loses at most the
uncommitted batch and never leaves half an article.
"""

from __future__ import annotations

import gzip
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import NotConfigured
from sqlite_utils import Database
from twisted.internet.task import LoopingCall

from pipelines.db import schema
from pipelines.db.neardup import NearDupStore
from pipelines.vietnamese.text import fold
from pipelines.vietnamese.dates import utc_now

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

ARTICLE_COLUMNS = (
    "content_hash", "url", "site", "title", "author", "published", "modified", "description",
    "category", "tags", "image", "language", "word_count", "text",
)


def database_path(settings: Any) -> Path:
    """The database file: setting ``NEWS_DB`` (the environment variable overrides the default)."""
    path = settings.get("NEWS_DB")
    if not path:
        raise NotConfigured("NEWS_DB is empty: set it to the SQLite file to write, e.g. data/news.db")
    return Path(path)


class NewsStore(NearDupStore):
    """The news database: articles, their URLs, runs, failures and the search index."""

    def __init__(
        self, db: Database, batch_size: int = 100, commit_seconds: float = 2.0, keep_pages: bool = True
    ) -> None:
        self.db = db
        self.batch_size = batch_size
        self.commit_seconds = commit_seconds
        self.keep_pages = keep_pages
        self.pending = 0
        self.batch_started = 0.0
        # Called inside each batch transaction just before it commits (a run's
        # counts), so what they write lands with the articles they describe.
        self.before_commit: list[Callable[[], None]] = []
        # Set by a stage that writes about each article right after the store
        # (near-duplicates): that stage then commits through commit_when_due, so
        # an article and those writes land in one transaction.
        self.commit_held = False

    @classmethod
    def open(cls, path: str | os.PathLike[str], **options: Any) -> NewsStore:
        """Open (creating if needed) and migrate the database at ``path``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = Database(path)
            db.execute("PRAGMA busy_timeout = 30000")
            # 64 MB of page cache (the default is 2 MB): index lookups stay in memory on a large archive.
            db.execute("PRAGMA cache_size = -65536")
            db.enable_wal()
            schema.migrations.apply(db)
        except sqlite3.DatabaseError as exc:
            raise NotConfigured(f"NEWS_DB={path} is not a usable SQLite database: {exc}") from exc
        return cls(db, **options)

    # --- transactions ---------------------------------------------------------

    def _write(self) -> None:
        """Join the open batch transaction, opening one if needed."""
        if not self.db.conn.in_transaction:
            # IMMEDIATE: take the write lock now, so that a second writer (another
            # crawl process) waits on busy_timeout instead of failing mid-batch.
            self.db.conn.execute("BEGIN IMMEDIATE")
            self.batch_started = time.monotonic()

    def article_written(self) -> None:
        """Count one article in the batch; commit when the batch is full or old, unless ``commit_held``."""
        self.pending += 1
        if not self.commit_held:
            self.commit_when_due()

    def commit_when_due(self) -> None:
        """Commit when the batch is full or old."""
        if self.pending >= self.batch_size or time.monotonic() - self.batch_started >= self.commit_seconds:
            self.commit()

    def commit_if_old(self) -> None:
        """Commit a batch open for ``commit_seconds`` or more, even with no new article to write."""
        if self.db.conn.in_transaction and time.monotonic() - self.batch_started >= self.commit_seconds:
            self.commit()

    def commit(self) -> None:
        if self.db.conn.in_transaction:
            for hook in self.before_commit:
                hook()
            self.db.conn.execute("COMMIT")
        self.pending = 0

    def close(self) -> None:
        self.commit()
        self.db.close()

    # --- reads ------------------------------------------------------------------

    def article_id_for_hash(self, content_hash: str) -> int | None:
        row = self.db.execute("SELECT id FROM articles WHERE content_hash = ?", [content_hash]).fetchone()
        return row[0] if row else None

    def article_for_url(self, url: str) -> dict[str, Any] | None:
        """The article that ``url`` (its own URL or an alias) led to."""
        cursor = self.db.execute(
            "SELECT a.id, a.content_hash FROM article_urls u JOIN articles a ON a.id = u.article_id WHERE u.url = ?",
            [url],
        )
        row = cursor.fetchone()
        return {"id": row[0], "content_hash": row[1]} if row else None

    def knows_url(self, url: str) -> bool:
        return self.db.execute("SELECT 1 FROM article_urls WHERE url = ?", [url]).fetchone() is not None

    def article_row(self, article_id: int) -> dict[str, Any] | None:
        rows = list(self.db["articles"].rows_where("id = ?", [article_id]))
        return rows[0] if rows else None

    def iter_pages(self, site: str | None = None, batch: int = 100) -> Iterator[dict[str, Any]]:
        """Stored pages (``article_id``, ``url``, ``site``, ``html``), by article id, a batch at a time."""
        last = 0
        where = "AND a.site = ?" if site else ""
        while True:
            rows = self.db.execute(
                "SELECT p.article_id, p.url, a.site, p.html_gz FROM pages p JOIN articles a ON a.id = p.article_id "
                f"WHERE p.article_id > ? {where} ORDER BY p.article_id LIMIT ?",
                [last, site, batch] if site else [last, batch],
            ).fetchall()
            if not rows:
                return
            for article_id, url, page_site, html_gz in rows:
                yield {"article_id": article_id, "url": url, "site": page_site,
                       "html": gzip.decompress(html_gz).decode("utf-8")}
            last = rows[-1][0]

    def fetch_state(self, url: str) -> dict[str, Any] | None:
        """The ``ETag`` and ``Last-Modified`` of ``url`` when last fetched, if any."""
        row = self.db.execute("SELECT etag, last_modified FROM fetch_state WHERE url = ?", [url]).fetchone()
        return {"etag": row[0], "last_modified": row[1]} if row else None

    def failure_reasons(self, run_id: int) -> list[tuple[str, int]]:
        """The reasons of a run's failures, most frequent first, with their counts."""
        return self.db.execute(
            "SELECT reason, count(*) FROM failures WHERE run_id = ? GROUP BY reason ORDER BY 2 DESC, 1", [run_id]
        ).fetchall()

    # --- writes -----------------------------------------------------------------

    def save_fetch_state(self, url: str, etag: str | None, last_modified: str | None, status: int) -> None:
        self._write()
        self.db.execute(
            "INSERT OR REPLACE INTO fetch_state (url, etag, last_modified, status, fetched) VALUES (?, ?, ?, ?, ?)",
            [url, etag, last_modified, status, utc_now()],
        )

    def add_article(self, item: Any, count: bool = True) -> int:
        """Insert a new article with its URL, aliases and search row; return its id.

        ``count=False`` leaves :meth:`article_written` (which may commit) to the
        caller: the store pipeline counts the article first, so that the run's
        counts written with each commit include it."""
        adapter = ItemAdapter(item)
        now = utc_now()
        row = {column: adapter.get(column) for column in ARTICLE_COLUMNS}
        row.update(first_seen=now, updated=now)
        self._write()
        article_id = self.db["articles"].insert(row).last_pk
        # Alone until the near-duplicate stage links it: its own story.
        self.db.execute("UPDATE articles SET story_id = ? WHERE id = ?", [article_id, article_id])
        self._index(article_id, row["title"], row["text"])
        via = adapter.get("via") or "crawl"
        for url in [row["url"], *adapter.get("aliases", [])]:
            self.add_url(url, article_id, via)
        self._save_page(int(article_id), row["url"], adapter.get("html"))
        if count:
            self.article_written()
        return int(article_id)

    def update_article(self, article_id: int, item: Any, count: bool = True) -> None:
        """Replace an article's content after its page changed (same URL, new text); ``count`` as for add_article."""
        adapter = ItemAdapter(item)
        row = {column: adapter.get(column) for column in ARTICLE_COLUMNS if column != "url"}
        row["updated"] = utc_now()
        self._write()
        self.db["articles"].update(article_id, row)
        self.db.execute("DELETE FROM articles_fts WHERE rowid = ?", [article_id])
        self._index(article_id, row["title"], row["text"])
        if adapter.get("via") != "reextract":  # re-extraction reads the stored page: nothing new to keep
            self._save_page(article_id, adapter["url"], adapter.get("html"))
        if count:
            self.article_written()

    def _save_page(self, article_id: int, url: str, html: str | None) -> None:
        """Keep the page an article was extracted from, gzipped (setting ``STORE_PAGES``)."""
        if not html or not self.keep_pages:
            return
        data = html.encode("utf-8")
        self.db["pages"].upsert(
            {"article_id": article_id, "url": url, "fetched": utc_now(), "size": len(data),
             "html_gz": gzip.compress(data, compresslevel=6)},
            pk="article_id",
        )

    def add_url(self, url: str, article_id: int, via: str) -> bool:
        """Record ``url`` as leading to ``article_id``; False when it was known already."""
        self._write()
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO article_urls (url, article_id, first_seen, via) VALUES (?, ?, ?, ?)",
            [url, article_id, utc_now(), via],
        )
        return cursor.rowcount > 0

    def _index(self, article_id: int, title: str | None, text: str | None) -> None:
        title, text = title or "", text or ""
        self.db.execute(
            "INSERT INTO articles_fts (rowid, title, text, title_folded, text_folded) VALUES (?, ?, ?, ?, ?)",
            [article_id, title, text, fold(title), fold(text)],
        )

    def record_failure(self, url: str, reason: str, stage: str, run_id: int | None = None) -> None:
        """Keep a failed page or file with its reason, for the user to browse."""
        self._write()
        self.db["failures"].insert(
            {"run_id": run_id, "url": url, "stage": stage, "reason": reason, "at": utc_now()}
        )
        self.commit()

    def start_run(self, command: str, site: str | None = None) -> int:
        self.commit()
        run_id = self.db["crawl_runs"].insert(
            {"command": command, "site": site, "started": utc_now(), "status": "running"}
        ).last_pk
        return int(run_id)

    def finish_run(self, run_id: int, status: str, counts: dict[str, int]) -> None:
        self.commit()
        self.db["crawl_runs"].update(run_id, {"finished": utc_now(), "status": status, **counts}, alter=True)


def store_for(crawler: Crawler) -> NewsStore:
    """The crawler's one :class:`NewsStore`, opened on first use, closed when the spider closes.

    Reads ``NEWS_DB``, ``STORE_BATCH_SIZE``, ``STORE_COMMIT_SECONDS`` and ``STORE_PAGES``.
    """
    store: NewsStore | None = getattr(crawler, "news_store", None)
    if store is None:
        settings = crawler.settings
        store = NewsStore.open(
            database_path(settings),
            batch_size=settings.getint("STORE_BATCH_SIZE", 100),
            commit_seconds=settings.getfloat("STORE_COMMIT_SECONDS", 2.0),
            keep_pages=settings.getbool("STORE_PAGES", True),
        )
        crawler.news_store = store  # type: ignore[attr-defined]
        # Connected after the pipelines' close_spider, so every stage has flushed.
        crawler.signals.connect(lambda: store.close(), signal=signals.engine_stopped, weak=False)
        # Commit on a clock too: a batch left open while the crawl waits on a slow
        # site would hold SQLite's write lock and stall every other writer (a
        # crawl of another site, `scrapy schedule`) for as long.
        clock = LoopingCall(store.commit_if_old)

        def start_clock() -> None:  # not returning start()'s Deferred: the engine would wait on it
            clock.start(max(store.commit_seconds / 2, 0.1), now=False)

        def stop_clock() -> None:
            if clock.running:
                clock.stop()

        crawler.signals.connect(start_clock, signal=signals.engine_started, weak=False)
        crawler.signals.connect(stop_clock, signal=signals.engine_stopped, weak=False)
    return store


class StorePipeline:
    """Write new articles and changed pages. Settings: ``STORE_ENABLED`` plus those of :func:`store_for`."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.store = store_for(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        if not crawler.settings.getbool("STORE_ENABLED", True):
            raise NotConfigured("STORE_ENABLED is off")
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        if adapter.get("article_id"):  # dedupe found the page changed under a known URL
            self.store.update_article(adapter["article_id"], item, count=False)
            inc_stat(self.crawler, "store/updated", adapter.get("site"))
        else:
            adapter["article_id"] = self.store.add_article(item, count=False)
            inc_stat(self.crawler, "store/new", adapter.get("site"))
            logger.debug("Stored article %s from %s", adapter["article_id"], adapter["url"])
        # Only now, counted: a commit carries the run's counts (CrawlRunsExtension) with the articles.
        self.store.article_written()
        return item

    def close_spider(self) -> None:
        self.store.commit()


def inc_stat(crawler: Crawler, stat: str, site: str | None = None) -> None:
    """Count ``stat``, and ``stat/<site>`` too, so that a crawl of several sites can report each."""
    crawler.stats.inc_value(stat)
    if site:
        crawler.stats.inc_value(f"{stat}/{site}")


def report_failure(crawler: Crawler, url: str, stage: str, reason: str) -> None:
    """Record a page or file that could not become an article, and count it.

    Stats: ``failures/count`` and ``failures/<stage>``, also per site (see :func:`inc_stat`).
    The run is that of the URL's site when the crawl runs several (``crawler.news_run_for``).
    """
    run_for = getattr(crawler, "news_run_for", None)
    site, run_id = run_for(url) if run_for else (None, getattr(crawler, "news_run_id", None))
    inc_stat(crawler, "failures/count", site)
    inc_stat(crawler, f"failures/{stage}", site)
    store_for(crawler).record_failure(url, reason, stage, run_id)
