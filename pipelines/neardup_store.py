"""The near-duplicate tables of :class:`~pipelines.store.NewsStore` (signatures, LSH buckets, links, stories).

A mixin, so that the store stays the only writer and its batch transaction
covers these writes too; kept apart because it is a second idea.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from pipelines.minhash import Match, Signature
from pipelines.vndates import utc_now

if TYPE_CHECKING:
    from sqlite_utils import Database


class NearDupStore:
    """Reads and writes of the near-duplicate tables; every write joins the store's open batch."""

    db: Database

    def _write(self) -> None:  # provided by NewsStore
        raise NotImplementedError

    def neardup_config(self) -> dict[str, str]:
        return {row[0]: row[1] for row in self.db.execute("SELECT name, value FROM neardup_config")}

    def set_neardup_config(self, config: dict[str, str]) -> None:
        self._write()
        self.db["neardup_config"].upsert_all([{"name": k, "value": v} for k, v in config.items()], pk="name")

    def signed_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM neardup_signatures").fetchone()[0])

    def bucket_members(self, buckets: list[int]) -> set[int]:
        """The articles in any of ``buckets``: the LSH candidates."""
        # One primary-key probe per bucket; the set removes repeats (cheaper than DISTINCT's temp B-tree).
        marks = ", ".join("?" * len(buckets))
        cursor = self.db.execute(f"SELECT article_id FROM neardup_buckets WHERE bucket IN ({marks})", buckets)
        return {row[0] for row in cursor}

    def signatures(self, ids: Iterable[int]) -> dict[int, Signature]:
        ids = list(ids)
        found: dict[int, Signature] = {}
        for start in range(0, len(ids), 500):  # stay under SQLite's variable limit
            chunk = ids[start : start + 500]
            cursor = self.db.execute(
                "SELECT article_id, signature, shingles FROM neardup_signatures "
                f"WHERE article_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update((row[0], Signature.from_blob(row[1], row[2])) for row in cursor)
        return found

    def save_signature(
        self, article_id: int, signature: Signature, buckets: list[int], old_buckets: Iterable[int] = ()
    ) -> None:
        """Store an article's signature and LSH buckets; ``old_buckets`` are those of its previous text."""
        self._write()
        self.db.conn.executemany(
            "DELETE FROM neardup_buckets WHERE bucket = ? AND article_id = ?",
            [(bucket, article_id) for bucket in old_buckets],
        )
        self.db.execute(
            "INSERT OR REPLACE INTO neardup_signatures (article_id, shingles, signature, signed) VALUES (?, ?, ?, ?)",
            [article_id, signature.size, signature.to_blob(), utc_now()],
        )
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO neardup_buckets (bucket, article_id) VALUES (?, ?)",
            [(bucket, article_id) for bucket in buckets],
        )

    def link_near_duplicates(self, article_id: int, matches: list[Match]) -> int:
        """Record the links of ``article_id`` and merge the stories they join; return its story id.

        A story's id is the id of its first stored article, so joined stories take the smallest.
        """
        ids = [article_id, *(m.similar_id for m in matches)]
        marks = ", ".join("?" * len(ids))
        stories = {row[0] for row in self.db.execute(f"SELECT story_id FROM articles WHERE id IN ({marks})", ids)}
        story_id = min(stories)
        now = utc_now()
        self._write()
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO near_duplicates (article_id, similar_id, jaccard, containment, method, found) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(article_id, m.similar_id, m.jaccard, m.containment, m.method, now) for m in matches],
        )
        others = sorted(stories - {story_id})
        if others:
            self.db.execute(
                f"UPDATE articles SET story_id = ? WHERE story_id IN ({', '.join('?' * len(others))})",
                [story_id, *others],
            )
        return story_id

    def unsigned_articles(self, batch: int = 1000) -> Iterator[tuple[int, str]]:
        """(id, text) of the articles without a signature, oldest first, read in batches."""
        last = 0
        while True:
            rows = self.db.execute(
                "SELECT a.id, a.text FROM articles a LEFT JOIN neardup_signatures s ON s.article_id = a.id "
                "WHERE s.article_id IS NULL AND a.id > ? ORDER BY a.id LIMIT ?",
                [last, batch],
            ).fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def reset_near_duplicates(self) -> None:
        """Forget signatures, buckets, links and stories (articles stay): before a rebuild."""
        self._write()
        for table in ("near_duplicates", "neardup_buckets", "neardup_signatures"):
            self.db.execute(f"DELETE FROM {table}")
        self.db.execute("UPDATE articles SET story_id = id")

