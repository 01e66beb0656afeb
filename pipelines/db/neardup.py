"""The near-duplicate tables of :class:`~pipelines.db.store.NewsStore` (signatures, saved index, links, stories).

A mixin, so that the store stays the only writer and its batch transaction
covers these writes too; kept apart because it is a second idea.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from pipelines.neardup.minhash import Match, Signature
from pipelines.neardup.spin import SpinSignature
from pipelines.vietnamese.dates import utc_now

if TYPE_CHECKING:
    from sqlite_utils import Database

# The last signature sequence number given: the largest stored, or the one kept
# across a reset (``seq_floor``), so that numbers are never given twice.
LAST_SEQ = (
    "max(coalesce((SELECT max(seq) FROM neardup_signatures), 0), "
    "coalesce((SELECT CAST(value AS INTEGER) FROM neardup_config WHERE name = 'seq_floor'), 0))"
)


class NearDupTables:
    """Reads and writes of the near-duplicate tables; every write joins the store's open batch."""

    db: Database

    def begin(self) -> None:  # provided by NewsStore
        raise NotImplementedError

    def neardup_config(self) -> dict[str, str]:
        return {row[0]: row[1] for row in self.db.execute("SELECT name, value FROM neardup_config")}

    def set_neardup_config(self, config: dict[str, str]) -> None:
        self.begin()
        self.db["neardup_config"].upsert_all([{"name": k, "value": v} for k, v in config.items()], pk="name")

    def signed_count(self, after_seq: int = 0) -> int:
        """How many articles have a signature (written after ``after_seq``)."""
        sql = "SELECT count(*) FROM neardup_signatures" + (" WHERE seq > ?" if after_seq else "")
        return int(self.db.execute(sql, [after_seq] if after_seq else []).fetchone()[0])

    def last_seq(self) -> int:
        """The sequence number of the latest signature written."""
        return int(self.db.execute(f"SELECT {LAST_SEQ}").fetchone()[0])

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

    def save_signature(self, article_id: int, signature: Signature, spun: SpinSignature | None = None,
                       anchor_words: Iterable[str] | None = None) -> int:
        """Store (or replace) an article's signatures, and its anchors themselves; return its
        sequence number, one more than any before."""
        self.begin()
        row = self.db.execute(
            "INSERT OR REPLACE INTO neardup_signatures "
            "(article_id, shingles, signature, signed, seq, anchors, anchor_count, anchor_words) "
            f"VALUES (?, ?, ?, ?, {LAST_SEQ} + 1, ?, ?, ?) RETURNING seq",
            [article_id, signature.size, signature.to_blob(), utc_now(),
             spun.to_blob() if spun else None, spun.anchors if spun else None,
             "\n".join(sorted(anchor_words)) if anchor_words is not None else None],
        ).fetchone()
        return int(row[0])

    def replace_shingle_signature(self, article_id: int, signature: Signature) -> None:
        """Replace an article's shingle signature, its anchors kept (a new shingle hash: see
        :meth:`NearDupIndex.sign_again`)."""
        self.begin()
        self.db.execute("UPDATE neardup_signatures SET shingles = ?, signature = ? WHERE article_id = ?",
                        [signature.size, signature.to_blob(), article_id])

    def anchor_words(self, ids: Iterable[int]) -> dict[int, frozenset[str]]:
        """The anchors saved with the signatures of ``ids`` (those signed without them are left out)."""
        ids = list(ids)
        found: dict[int, frozenset[str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            cursor = self.db.execute(
                "SELECT article_id, anchor_words FROM neardup_signatures "
                f"WHERE article_id IN ({', '.join('?' * len(chunk))}) AND anchor_words IS NOT NULL", chunk,
            )
            found.update((article_id, frozenset(filter(None, words.split("\n")))) for article_id, words in cursor)
        return found

    def article_texts(self, ids: Iterable[int]) -> dict[int, str]:
        """The text of each of ``ids`` (the spun-copy verification reads its few candidates)."""
        ids = list(ids)
        found: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found.update(self.db.execute(
                f"SELECT id, text FROM articles WHERE id IN ({', '.join('?' * len(chunk))})", chunk
            ).fetchall())
        return found

    def signatures_since(
        self, seq: int, limit: int = 20_000, lock: bool = True
    ) -> list[tuple[int, bytes, int, int, bytes | None, int | None]]:
        """(article_id, signature, shingles, seq, anchors, anchor_count) of up to ``limit`` signatures written after ``seq``, in order.

        With ``lock``, inside the write transaction, so that no other process can
        add one between this read and the caller's own write. Without, reads in
        order never skip one: a number is given and committed under the write
        lock, so the committed numbers always run without a gap.
        """
        if lock:
            self.begin()
        return self.db.execute(
            "SELECT article_id, signature, shingles, seq, anchors, anchor_count FROM neardup_signatures "
            "WHERE seq > ? ORDER BY seq LIMIT ?",
            [seq, limit],
        ).fetchall()

    def index_snapshot(self) -> tuple[dict[str, bytes], int]:
        """The saved in-memory index (array name -> bytes) and the signature sequence number it covers (0: none)."""
        covered = self.neardup_config().get("index_seq")
        if not covered or covered == "0":
            return {}, 0
        arrays: dict[str, list[bytes]] = {}
        for name, data in self.db.execute("SELECT name, data FROM neardup_index ORDER BY name, part"):
            arrays.setdefault(name, []).append(data)
        return {name: b"".join(parts) for name, parts in arrays.items()}, int(covered)

    def save_index_snapshot(self, arrays: dict[str, np.ndarray], seq: int, part_bytes: int = 256 << 20) -> None:
        """Replace the saved index with ``arrays``, covering the signatures up to ``seq``.

        In parts of ``part_bytes`` at most: an SQLite value must stay under 1 GB.
        """
        self.begin()
        self.db.execute("DELETE FROM neardup_index")
        for name, array in arrays.items():
            data = memoryview(np.ascontiguousarray(array)).cast("B")
            self.db.conn.executemany(
                "INSERT INTO neardup_index (name, part, data) VALUES (?, ?, ?)",
                ((name, number, data[start : start + part_bytes])
                 for number, start in enumerate(range(0, max(len(data), 1), part_bytes))),
            )
        self.db["neardup_config"].upsert({"name": "index_seq", "value": str(seq)}, pk="name")

    def link_near_duplicates(self, article_id: int, matches: list[Match]) -> int:
        """Record the links of ``article_id`` and merge the stories they join; return its story id.

        A story's id is the id of its first stored article, so joined stories take the smallest.
        """
        ids = [article_id, *(m.similar_id for m in matches)]
        marks = ", ".join("?" * len(ids))
        stories = {row[0] for row in self.db.execute(f"SELECT story_id FROM articles WHERE id IN ({marks})", ids)}
        story_id = min(stories)
        now = utc_now()
        self.begin()
        if matches:
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO near_duplicates "
                "(article_id, similar_id, jaccard, containment, method, score, found) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(article_id, m.similar_id, m.jaccard, m.containment, m.method, m.score, now) for m in matches],
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
        return self._texts_in_batches(
            "SELECT a.id, a.text FROM articles a LEFT JOIN neardup_signatures s ON s.article_id = a.id "
            "WHERE s.article_id IS NULL AND a.id > ? ORDER BY a.id LIMIT ?", batch)

    def signed_texts(self, batch: int = 1000) -> Iterator[tuple[int, str]]:
        """(id, text) of the articles with a signature, oldest first, read in batches."""
        return self._texts_in_batches(
            "SELECT a.id, a.text FROM neardup_signatures s JOIN articles a ON a.id = s.article_id "
            "WHERE s.article_id > ? ORDER BY s.article_id LIMIT ?", batch)

    def _texts_in_batches(self, sql: str, batch: int) -> Iterator[tuple[int, str]]:
        """The (id, text) rows of ``sql`` (parameters: the last id read, the batch size), a batch at a
        time: the caller may write between two batches."""
        last = 0
        while rows := self.db.execute(sql, [last, batch]).fetchall():
            yield from rows
            last = rows[-1][0]

    def reset_near_duplicates(self) -> None:
        """Forget signatures, the saved index, links and stories (articles stay): before a rebuild.

        Sequence numbers go on from where they were (``seq_floor``), so a crawl
        running meanwhile still sees the new signatures as new.
        """
        self.begin()
        floor = self.last_seq()
        for table in ("near_duplicates", "neardup_index", "neardup_signatures"):
            self.db.execute(f"DELETE FROM {table}")
        self.db["neardup_config"].upsert_all(
            [{"name": "seq_floor", "value": str(floor)}, {"name": "index_seq", "value": "0"}], pk="name"
        )
        self.db.execute("UPDATE articles SET story_id = id")
