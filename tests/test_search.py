"""Full-text search over articles, diacritic-insensitive for Vietnamese."""

import unicodedata

import pytest
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from pipelines.db import schema
from pipelines.vietnamese.text import fold


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


def test_the_folded_index_migration_keeps_what_was_indexed(tmp_path):
    # A database indexed before m070: each title and text twice, as written and folded.
    db = Database(tmp_path / "old.db")
    before = Migrations("news")
    for migration in schema.MIGRATIONS:
        if migration is not schema.m070_search_index_folded:
            before()(migration)
    before.apply(db)
    db.execute(
        "INSERT INTO articles_fts (rowid, title, text, title_folded, text_folded) VALUES (?, ?, ?, ?, ?)",
        [7, "Đảng ủy xã", "Đại hội nhiệm kỳ mới", fold("Đảng ủy xã"), fold("Đại hội nhiệm kỳ mới")],
    )
    schema.migrations.apply(db)
    assert [column.name for column in db["articles_fts"].columns] == ["title", "text"]
    for query in ("dang uy", "Đảng ủy", "dai hoi nhiem ky"):
        escaped = " ".join(f'"{fold(term)}"' for term in query.split())
        assert db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [escaped]).fetchall() == [(7,)]
