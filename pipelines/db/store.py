"""The SQLite database: one file, written through sqlite-utils, in batches.

:class:`NewsStore` is the writer's handle (the store pipeline's, or an offline
command's): every write joins one open transaction that is committed when
``STORE_BATCH_SIZE`` articles are pending, when ``STORE_COMMIT_SECONDS`` have
passed, and on close; an article, its URLs, page, search row and near-duplicate
links always land together, so a crash or kill loses at most the uncommitted
batch and never leaves half an article. :class:`ArchiveReader` is the read-only
handle of the components that only ask (the spiders, conditional GET).
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from sqlite_utils import Database

from pipelines.db import schema
from pipelines.db.neardup import NearDupTables
from pipelines.vietnamese.dates import utc_now
from pipelines.vietnamese.text import fold

logger = logging.getLogger(__name__)

ARTICLE_COLUMNS = (
    "content_hash", "url", "site", "title", "author", "published", "modified", "description",
    "category", "tags", "image", "language", "word_count", "text",
)
# Plain SQL on the hot path: sqlite-utils' insert() inspects the table on every call.
# A new article is its own story until the near-duplicate lookup links it: its id, the next one (the
# writer holds the write lock; SQLite would give max(id) + 1 too), is its story id from the start.
_INSERT_ARTICLE = (
    f"INSERT INTO articles (id, story_id, {', '.join(ARTICLE_COLUMNS)}, first_seen, updated) "
    f"SELECT next.id, next.id, {', '.join('?' * len(ARTICLE_COLUMNS))}, ?, ? "
    "FROM (SELECT coalesce(max(id), 0) + 1 AS id FROM articles) AS next RETURNING id"
)
_UPDATE_ARTICLE = (
    f"UPDATE articles SET {', '.join(f'{c} = ?' for c in ARTICLE_COLUMNS if c != 'url')}, updated = ? WHERE id = ?"
)


class StoreError(ValueError):
    """The database cannot be used; the message names the file and why."""


# How long opening the database waits for another process (its migration, its write batch).
BUSY_TIMEOUT_SECONDS = 30.0
# The writer's page cache (SQLite's default is 2 MB) by the size of the archive it opens: 16 MB keeps
# the indexes it reads in memory on a large one (with 8 MB, verifying spun copies read more from disk
# at 100,000 articles); below this many articles 8 MB does as well (a crawl of 20,000 pages into a new
# archive took the same time and 8 MB less).
LARGE_ARCHIVE = 50_000


def _busy(error: sqlite3.OperationalError) -> bool:
    """Another connection holds the lock: worth waiting for, unlike any other error."""
    return "locked" in str(error) or "busy" in str(error)


def _open_database(path: Path) -> Database:
    """The database at ``path``, in WAL mode and migrated; closed again if any step fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(path.parent, os.W_OK):
        # SQLite said only "unable to open database file", of a file that is fine: in WAL mode it
        # creates its -wal and -shm files beside the database, so the folder must be writable too.
        raise StoreError(f"NEWS_DB={path} cannot be written: its folder {path.parent} is read-only (SQLite keeps "
                         "its -wal and -shm files beside the database); make the folder writable, or move NEWS_DB")
    if path.is_file():
        # SQLite opens a file it cannot write read-only, and says so only at the first write.
        try:
            os.close(os.open(path, os.O_RDWR))
        except OSError as exc:
            raise StoreError(f"NEWS_DB={path} cannot be written ({exc.strerror}): nothing could be stored") from exc
    db = Database(path)
    try:
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        db.execute("PRAGMA cache_size = -16384")  # KiB; see LARGE_ARCHIVE
        db.enable_wal()
        # In WAL mode, NORMAL syncs at checkpoints, not at every commit: a killed process
        # still loses nothing committed, and the database is never corrupted (only a power
        # loss can undo the last commits). FULL costs a disk flush per batch.
        db.execute("PRAGMA synchronous = NORMAL")
        migrate(db)
        if (db.execute("SELECT max(rowid) FROM articles").fetchone()[0] or 0) < LARGE_ARCHIVE:
            db.execute("PRAGMA cache_size = -8192")
    except BaseException:
        db.close()
        raise
    return db


def migrate(db: Database) -> None:
    """Apply the pending migrations once, whoever gets there first.

    Several crawls may open a new database at the same moment: each checks, takes the write
    lock (``BEGIN IMMEDIATE``, waiting on the busy timeout for the one migrating), and checks
    again inside it, so a migration is never applied twice.
    """
    if not schema.migrations.pending(db):
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        schema.migrations.apply(db)  # reads what is applied again, under the lock; savepoints inside
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def database_path(settings: Any) -> Path:
    """The database file: setting ``NEWS_DB`` (the environment variable overrides the default)."""
    path = settings.get("NEWS_DB")
    if not path:
        raise StoreError("NEWS_DB is empty: set it to the SQLite file to write, e.g. data/news.db")
    return Path(path)


class ArchiveReader:
    """Read-only questions to the database: is this URL stored, what did this feed say last time.

    Its own connection, with ``query_only`` on: it can never write, so the store
    pipeline stays the only writer of a crawl. It sees what the writer committed.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open_readonly(cls, path: str | os.PathLike[str]) -> ArchiveReader:
        """A reader of ``path``; a file that does not exist yet reads as an empty archive."""
        path = Path(path)
        db = Database(path if path.exists() else ":memory:")
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        if path.exists():
            db.execute("PRAGMA query_only = ON")
        else:
            migrate(db)
        return cls(db)

    def close(self) -> None:
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
        """Stored pages (``article_id``, ``url``, ``site``, ``html_gz``), by article id, a batch at a time."""
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
                yield {"article_id": article_id, "url": url, "site": page_site, "html_gz": html_gz}
            last = rows[-1][0]

    def page_count(self, site: str | None = None) -> int:
        """How many stored pages :meth:`iter_pages` gives (of one site when ``site`` is given)."""
        if not site:
            return int(self.db.execute("SELECT count(*) FROM pages").fetchone()[0])
        return int(self.db.execute(
            "SELECT count(*) FROM pages p JOIN articles a ON a.id = p.article_id WHERE a.site = ?", [site]
        ).fetchone()[0])

    def fetch_state(self, url: str) -> dict[str, Any] | None:
        """The ``ETag`` and ``Last-Modified`` of ``url`` when last fetched, if any."""
        row = self.db.execute("SELECT etag, last_modified FROM fetch_state WHERE url = ?", [url]).fetchone()
        return {"etag": row[0], "last_modified": row[1]} if row else None

    def failure_reasons(self, run_id: int) -> list[tuple[str, int]]:
        """The reasons of a run's failures, most frequent first, with their counts."""
        return self.db.execute(
            "SELECT reason, count(*) FROM failures WHERE run_id = ? GROUP BY reason ORDER BY 2 DESC, 1", [run_id]
        ).fetchall()


class NewsStore(ArchiveReader, NearDupTables):
    """The news database, for writing: articles, their URLs, runs, failures and the search index."""

    def __init__(
        self, db: Database, batch_size: int = 100, commit_seconds: float = 2.0, keep_pages: bool = True
    ) -> None:
        super().__init__(db)
        self.batch_size = batch_size
        self.commit_seconds = commit_seconds
        self.keep_pages = keep_pages
        self.pending = 0
        self.batch_started = 0.0
        self.transactions = 0  # write transactions begun: what was read under the lock holds until the next
        # Called inside each batch transaction just before it commits (a run's
        # counts), so what they write lands with the articles they describe.
        self.before_commit: list[Callable[[], None]] = []
        # Called after each commit() (even one with nothing to commit: what was written before
        # it is on disk either way): the ingest writer removes from Redis the records whose
        # writes are now committed, never before.
        self.after_commit: list[Callable[[], None]] = []
        # Search rows of the open batch, written together just before it commits: FTS5 keeps
        # inserted terms in memory until another write comes, then writes them out as a new
        # segment; one insert per article between other writes cost a segment per article.
        self.search_rows: list[tuple[int, str, str]] = []

    @classmethod
    def open(cls, path: str | os.PathLike[str], **options: Any) -> NewsStore:
        """Open (creating if needed) and migrate the database at ``path``.

        A database that another process holds is waited for (SQLite's busy timeout, then
        retries, up to :data:`BUSY_TIMEOUT_SECONDS` in all); migrations run once, whoever
        comes first (:func:`migrate`). :class:`StoreError`, naming the file, when it cannot
        be used: not SQLite, corrupt, read-only, a folder, or still locked.
        """
        path = Path(path)
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                return cls(_open_database(path), **options)
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or time.monotonic() >= deadline:
                    raise StoreError(f"NEWS_DB={path} is not a usable SQLite database: {exc}") from exc
                logger.info("NEWS_DB=%s is busy (%s): trying again", path, exc)
                time.sleep(random.uniform(0.05, 0.25))
            except (sqlite3.DatabaseError, OSError) as exc:
                raise StoreError(f"NEWS_DB={path} is not a usable SQLite database: {exc}") from exc

    # --- transactions ---------------------------------------------------------

    def begin(self) -> None:
        """Join the open batch transaction, opening one if needed (every write does)."""
        if not self.db.conn.in_transaction:
            # IMMEDIATE: take the write lock now, so that a second writer (another
            # crawl process) waits on busy_timeout instead of failing mid-batch.
            self.db.conn.execute("BEGIN IMMEDIATE")
            self.batch_started = time.monotonic()
            self.transactions += 1

    def article_written(self) -> None:
        """Count one article in the batch; commit when the batch is full or old."""
        self.pending += 1
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
            self.write_search_rows()
            for hook in self.before_commit:
                hook()
            self.db.conn.execute("COMMIT")
        self.pending = 0
        for hook in self.after_commit:
            hook()

    def close(self) -> None:
        self.commit()
        self.db.close()

    # --- writes -----------------------------------------------------------------

    def save_fetch_state(self, url: str, etag: str | None, last_modified: str | None, status: int) -> None:
        self.begin()
        self.db.execute(
            "INSERT OR REPLACE INTO fetch_state (url, etag, last_modified, status, fetched) VALUES (?, ?, ?, ?, ?)",
            [url, etag, last_modified, status, utc_now()],
        )

    def add_article(self, item: Any, count: bool = True) -> int:
        """Insert a new article with its URLs, page and search row; return its id.

        ``item`` is a finished record (:func:`pipelines.page.process_text`). ``count=False``
        leaves :meth:`article_written` (which may commit) to the caller: the store
        pipeline first links the article to its near-duplicates and counts it, so
        that a commit carries all of it and the run's counts that include it.
        """
        adapter = ItemAdapter(item)
        now = utc_now()
        values = [adapter.get(column) for column in ARTICLE_COLUMNS]
        self.begin()
        article_id = self.db.execute(_INSERT_ARTICLE, [*values, now, now]).fetchone()[0]
        self._index(article_id, adapter)
        via = adapter.get("via") or "crawl"
        for url in [adapter["url"], *adapter.get("aliases", [])]:
            self.add_url(url, article_id, via)
        self._save_page(article_id, adapter["url"], adapter.get("page_gz"))
        if count:
            self.article_written()
        return int(article_id)

    def update_article(self, article_id: int, item: Any, count: bool = True) -> None:
        """Replace an article's content after its page changed (same URL, new text); ``count`` as for add_article."""
        adapter = ItemAdapter(item)
        self.begin()
        self.db.execute(
            _UPDATE_ARTICLE, [*(adapter.get(column) for column in ARTICLE_COLUMNS if column != "url"), utc_now(),
                              article_id],
        )
        self.write_search_rows()  # the old row may be among them
        self.db.execute("DELETE FROM articles_fts WHERE rowid = ?", [article_id])
        self.db.execute("DELETE FROM articles_fts_recent WHERE rowid = ?", [article_id])
        self._index(article_id, adapter)
        if adapter.get("via") != "reextract":  # re-extraction reads the stored page: nothing new to keep
            self._save_page(article_id, adapter["url"], adapter.get("page_gz"))
        if count:
            self.article_written()

    def _save_page(self, article_id: int, url: str, page_gz: bytes | None) -> None:
        """Keep the page an article was extracted from, gzipped (setting ``STORE_PAGES``)."""
        if not page_gz or not self.keep_pages:
            return
        size = int.from_bytes(page_gz[-4:], "little")  # gzip's trailer: the size uncompressed (mod 4 GB)
        self.db.execute(
            "INSERT OR REPLACE INTO pages (article_id, url, fetched, size, html_gz) VALUES (?, ?, ?, ?, ?)",
            [article_id, url, utc_now(), size, page_gz],
        )

    def add_url(self, url: str, article_id: int, via: str) -> bool:
        """Record ``url`` as leading to ``article_id``; False when it was known already."""
        self.begin()
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO article_urls (url, article_id, first_seen, via) VALUES (?, ?, ?, ?)",
            [url, article_id, utc_now(), via],
        )
        return cursor.rowcount > 0

    def _index(self, article_id: int, item: ItemAdapter) -> None:
        """Queue the article's search row: title and text folded (the record carries the folds)."""
        title_folded = item.get("title_folded")
        text_folded = item.get("text_folded")
        self.search_rows.append((
            article_id,
            title_folded if title_folded is not None else fold(item.get("title") or ""),
            text_folded if text_folded is not None else fold(item.get("text") or ""),
        ))

    def write_search_rows(self) -> None:
        """Write the queued search rows (inside the batch; :meth:`commit` calls it): into the index of
        every article, and those among the newest into the recent index, from which the articles
        now older than its window leave."""
        if not self.search_rows:
            return
        conn = self.db.conn
        conn.executemany("INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)", self.search_rows)
        newest = conn.execute("SELECT max(id) FROM articles").fetchone()[0] or 0
        floor = newest - schema.RECENT_SEARCH_ARTICLES  # ids above it are in the recent index
        recent = [row for row in self.search_rows if row[0] > floor]
        conn.executemany("INSERT INTO articles_fts_recent (rowid, title, text) VALUES (?, ?, ?)", recent)
        conn.execute("DELETE FROM articles_fts_recent WHERE rowid <= ?", [floor])  # a rowid range: nothing, at once
        self.search_rows.clear()

    def record_failure(self, url: str, reason: str, stage: str, run_id: int | None = None) -> None:
        """Keep a failed page or file with its reason, for the user to browse."""
        self.begin()
        self.db.execute(
            "INSERT INTO failures (run_id, url, stage, reason, at) VALUES (?, ?, ?, ?, ?)",
            [run_id, url, stage, reason, utc_now()],
        )

    def start_run(self, command: str, site: str | None = None, pid: int | None = None) -> int:
        """A new ``running`` row; ``pid``: the process that runs it, so that the row of a process
        that is gone can be settled later (crawler/schedule/state.py)."""
        self.commit()
        run_id = self.db["crawl_runs"].insert(
            {"command": command, "site": site, "started": utc_now(), "status": "running", "pid": pid}
        ).last_pk
        return int(run_id)

    def update_run(self, run_id: int, counts: dict[str, int]) -> None:
        """A run's counts so far (written inside the batch that carries what they count)."""
        # Plain SQL: sqlite-utils' update() reads the table's schema on every call.
        self.db.execute(
            f"UPDATE crawl_runs SET {', '.join(f'[{column}] = ?' for column in counts)} WHERE id = ?",
            [*counts.values(), run_id],
        )

    def finish_run(self, run_id: int, status: str, counts: dict[str, int]) -> None:
        self.commit()
        self.db["crawl_runs"].update(run_id, {"finished": utc_now(), "status": status, **counts}, alter=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m pipelines.db.store NEWS_DB``: bring an archive made by an older version up to date
    (its pending migrations), as every command does when it opens it; ``make browse`` runs it before
    serving the file, which Datasette only reads."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m pipelines.db.store NEWS_DB", file=sys.stderr)
        return 2
    try:
        NewsStore.open(args[0]).close()
    except StoreError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
