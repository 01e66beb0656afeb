"""Full-text search over articles, diacritic-insensitive for Vietnamese."""

import importlib.util
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bench.bench_search import fill
from crawler.items import ArticleItem
from pipelines.db import schema
from pipelines.db.store import NewsStore
from pipelines.vietnamese.text import fold
from tests.browse_support import DATASETTE_META
from tests.conftest import ROOT

QUERIES = yaml.safe_load((DATASETTE_META / "metadata.yml").read_text(encoding="utf-8"))["databases"]["news"]["queries"]
_spec = importlib.util.spec_from_file_location("vnnews_search", DATASETTE_META / "plugins" / "vnnews_search.py")
vnnews_search = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vnnews_search)


def search(db_path, query: str) -> list[int]:
    db = Database(db_path)
    sql = "select rowid from articles_fts where articles_fts match ? order by rank"
    # Fold and quote each term as vn_match (and Datasette's escaped search mode, through escape_fts) do.
    escaped = " ".join(f'"{fold(term)}"' for term in query.split())
    return [row[0] for row in db.execute(sql, [escaped]).fetchall()]


@pytest.mark.parametrize(
    "query",
    ["dang uy tong cuc ky thuat", "Đảng ủy Tổng cục Kỹ thuật", "ĐẢNG ỦY", "đang uy", "Dang Uy", "dảng ủy"],
)
def test_diacritic_insensitive_search_finds_both_seeds(seeded_db, query):
    assert sorted(search(seeded_db, query)) == [1, 2]


@pytest.mark.parametrize(
    "query, article",
    [
        ("Le Huy Vinh", 1),  # only in seed 000
        ("Lê Huy Vịnh", 1),
        ("hoi thao tap huan", 1),
        ("VKTBKT", 2),  # only in seed 002
        ("chu nghia ca nhan", 2),
        ("chủ nghĩa cá nhân", 2),
        ("bong da", []),  # "bóng đá": in neither
    ],
)
def test_search_finds_the_right_seed(seeded_db, query, article):
    expected = [article] if isinstance(article, int) else article
    assert search(seeded_db, query) == expected


def test_search_without_a_match_finds_nothing(seeded_db):
    assert search(seeded_db, "blockchain") == []
    assert search(seeded_db, "bitcoin tiền điện tử") == []


def test_decomposed_query_is_found(seeded_db):
    assert sorted(search(seeded_db, unicodedata.normalize("NFD", "Đảng ủy"))) == [1, 2]


def migrated_without(path: Path, left_out) -> Database:
    """A database made by every migration but ``left_out``: as it was before that one existed."""
    db = Database(path)
    before = Migrations("news")
    for migration in schema.MIGRATIONS:
        if migration is not left_out:
            before()(migration)
    before.apply(db)
    return db


def test_the_folded_index_migration_keeps_what_was_indexed(tmp_path):
    # A database indexed before m070: each title and text twice, as written and folded.
    db = migrated_without(tmp_path / "old.db", schema.m070_search_index_folded)
    db.execute(
        "INSERT INTO articles_fts (rowid, title, text, title_folded, text_folded) VALUES (?, ?, ?, ?, ?)",
        [7, "Đảng ủy xã", "Đại hội nhiệm kỳ mới", fold("Đảng ủy xã"), fold("Đại hội nhiệm kỳ mới")],
    )
    schema.migrations.apply(db)
    assert [column.name for column in db["articles_fts"].columns] == ["title", "text"]
    for query in ("dang uy", "Đảng ủy", "dai hoi nhiem ky"):
        escaped = " ".join(f'"{fold(term)}"' for term in query.split())
        assert db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [escaped]).fetchall() == [(7,)]


# --- the recent index: what the ranked search ranks in --------------------------------------------


def indexed(db: Database, table: str) -> list[int]:
    return [row[0] for row in db.execute(f"SELECT rowid FROM {table} ORDER BY rowid")]


def write_articles(store: NewsStore, texts: list[str]) -> list[int]:
    ids = [store.add_article(ArticleItem(url=f"https://a.example/{text}", title="Bài", text=text, content_hash=text))
           for text in texts]
    store.commit()
    return ids


def test_the_recent_index_keeps_the_newest_articles_as_the_store_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(schema, "RECENT_SEARCH_ARTICLES", 5)
    store = NewsStore.open(tmp_path / "news.db", batch_size=1000)
    ids = write_articles(store, [f"Bài viết số {n} về đại hội" for n in range(8)])
    ids += write_articles(store, [f"Tin thứ {n} về bóng đá" for n in range(4)])
    assert indexed(store.db, "articles_fts") == ids
    assert indexed(store.db, "articles_fts_recent") == ids[-5:]
    # An old article changed: in the index of all, not back in the recent one.
    store.update_article(ids[0], ArticleItem(url="https://a.example/0", title="Bài", text="Nội dung mới hẳn", content_hash="0"))
    store.commit()
    assert indexed(store.db, "articles_fts_recent") == ids[-5:]
    # A recent article changed: once, with its new words.
    store.update_article(ids[-1], ArticleItem(url="https://a.example/x", title="Bài", text="Lũ lụt miền Trung", content_hash="x"))
    store.commit()
    assert indexed(store.db, "articles_fts_recent") == ids[-5:]
    found = "SELECT rowid FROM articles_fts_recent WHERE articles_fts_recent MATCH ?"
    assert store.db.execute(found, ['"lut"']).fetchall() == [(ids[-1],)]
    assert store.db.execute(found, ['"bong"']).fetchall() == [(ids[-4],), (ids[-3],), (ids[-2],)]
    store.close()


def test_the_recent_index_migration_indexes_the_newest_of_an_existing_archive(tmp_path, monkeypatch):
    monkeypatch.setattr(schema, "RECENT_SEARCH_ARTICLES", 3)
    db = migrated_without(tmp_path / "old.db", schema.m130_search_recent)
    for article_id in range(1, 8):
        db["articles"].insert({"id": article_id, "url": f"https://a.example/{article_id}", "text": "x",
                               "content_hash": str(article_id), "first_seen": "2026-12-01", "updated": "2026-12-01"})
        db.execute("INSERT INTO articles_fts (rowid, title, text) VALUES (?, 'tin', ?)", [article_id, f"bai {article_id}"])
    schema.migrations.apply(db)
    assert indexed(db, "articles_fts_recent") == [5, 6, 7]
    assert db.execute("SELECT rowid FROM articles_fts_recent WHERE articles_fts_recent MATCH 'bai'").fetchall() == [
        (5,), (6,), (7,)]


RANKED = QUERIES["search"]["sql"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """2,300 synthetic articles; "va" is in nearly all of them, "co" in about a third."""
    db = tmp_path_factory.mktemp("ranked") / "news.db"
    fill(db, 2300)
    return db


def ranked(db_path: Path, query: str, recent: int | None = None) -> list[int]:
    """The ranked search's ids, after putting the newest ``recent`` articles in the recent index."""
    with sqlite3.connect(db_path) as conn:
        vnnews_search.prepare_connection(conn)
        if recent is not None:
            conn.execute("DELETE FROM articles_fts_recent")
            conn.execute("INSERT INTO articles_fts_recent (rowid, title, text) SELECT rowid, title, text"
                         " FROM articles_fts ORDER BY rowid DESC LIMIT ?", [recent])
        return [row[0] for row in conn.execute(RANKED, {"q": query})]


def whole_index_ranking(db_path: Path, query: str) -> list[int]:
    """The ranked search as it was: bm25 over the index of every article."""
    with sqlite3.connect(db_path) as conn:
        vnnews_search.prepare_connection(conn)
        return [row[0] for row in conn.execute(RANKED.replace("articles_fts_recent", "articles_fts"), {"q": query})]


@pytest.mark.parametrize("query", ["va", "và", "co", "có"])
def test_the_ranked_search_ranks_in_the_recent_index_or_else_the_whole_one_alike(archive, query):
    # One word: bm25's weight of the word is the same for every row, so either index ranks alike.
    expected = whole_index_ranking(archive, query)
    assert len(expected) == 50
    assert ranked(archive, query, recent=2300) == expected  # 2,000 matches among the recent ones
    assert ranked(archive, query, recent=500) == expected  # too few there: the whole index


def test_the_ranked_search_reads_the_recent_index_only_when_it_holds_the_newest_matches(archive, tmp_path):
    def without_the_whole_index(recent: int) -> Path:
        db_path = tmp_path / f"recent-{recent}.db"
        with sqlite3.connect(archive) as source, sqlite3.connect(db_path) as copy:
            source.backup(copy)
        ranked(db_path, "", recent=recent)
        with sqlite3.connect(db_path) as copy:
            copy.execute("DELETE FROM articles_fts")  # only the recent index can answer now
        return db_path

    assert len(ranked(without_the_whole_index(2300), "va")) == 50
    assert ranked(without_the_whole_index(1000), "va") == []  # too few matches there: the whole index


# --- snippets: read only as far as the best passage ---------------------------------------------------


def marked(snippet: str) -> list[str]:
    return [part.split("\x03")[0] for part in snippet.split("\x02")[1:]]


def test_the_snippet_prefers_a_passage_with_every_word_over_an_earlier_one():
    filler = " ".join(["lorem"] * 50)
    text = f"Đại hội mở đầu. {filler} Đại hội Đảng bộ khai mạc. {filler} hết."
    snippet = vnnews_search.snippet(text, "dai hoi dang")
    assert marked(snippet) == ["Đại", "hội", "Đảng"] and snippet.startswith("…") and snippet.endswith("…")
    assert marked(vnnews_search.snippet(text, "đại hội")) == ["Đại", "hội"]
    assert vnnews_search.snippet(text, "đại hội").startswith("\x02Đại\x03")  # the first, when no later is better


def test_the_snippet_finds_a_match_at_the_end_of_a_long_text():
    text = " ".join(f"từ{n}" for n in range(5000)) + " Bóng đá Việt Nam"
    snippet = vnnews_search.snippet(text, "bong da")
    assert snippet == "…từ4996 từ4997 từ4998 từ4999 \x02Bóng\x03 \x02đá\x03 Việt Nam"  # from four words before


def test_the_snippet_without_a_match_is_the_opening():
    text = " ".join(f"câu{n}" for n in range(100))
    assert vnnews_search.snippet(text, "bong da") == " ".join(f"câu{n}" for n in range(32)) + "…"


def test_an_older_archive_is_brought_up_to_date_before_it_is_browsed(tmp_path):
    """`make browse` runs `python -m pipelines.db.store NEWS_DB` first: the ranked search needs m130's table."""
    db_path = tmp_path / "old.db"
    migrated_without(db_path, schema.m130_search_recent).close()
    command = [sys.executable, "-m", "pipelines.db.store", str(db_path)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert ranked(db_path, "va") == []  # the query runs (no "no such table"), on an empty archive
    bad = subprocess.run([*command[:-1], str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and bad.stderr.startswith(f"Error: NEWS_DB={tmp_path} is not a usable SQLite database")
