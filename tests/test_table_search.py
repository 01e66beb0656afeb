"""The articles table's own search (``?_search=``, the search box) on an archive with more matches
than it keeps: the newest matches only, counted, faceted and sorted among them (issue 12)."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import urllib.parse
from pathlib import Path

import pytest

from bench.bench_search import fill
from tests.browse_support import DATASETTE_META, fetch, serve_datasette

ARTICLES = 2300  # more than NEWEST_MATCHES contain the common word
WORD = "và"


def plugin():
    spec = importlib.util.spec_from_file_location("vnnews_search", DATASETTE_META / "plugins" / "vnnews_search.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NEWEST = plugin().NEWEST_MATCHES


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("big") / "news.db"
    fill(db, ARTICLES)
    return db


@pytest.fixture(scope="module")
def big_url(big_db: Path):
    with serve_datasette(big_db) as url:
        yield url


def matching(db: Path, order: str) -> list[int]:
    """Every article matching WORD (folded, as the index holds it), straight from SQLite."""
    with sqlite3.connect(db) as conn:
        sql = "select id from articles where id in (select rowid from articles_fts where articles_fts match ?)"
        sql += f" order by {order}"
        return [row[0] for row in conn.execute(sql, ['"va"'])]


def get_json(url: str):
    status, body = fetch(url)
    assert status == 200, body[:500]
    return json.loads(body)


def test_the_fill_has_more_matches_than_the_search_keeps(big_db):
    assert NEWEST < len(matching(big_db, "id")) <= ARTICLES


def test_the_search_keeps_the_newest_matches_and_says_so(big_url, big_db):
    page = get_json(f"{big_url}/news/articles.json?_search={urllib.parse.quote(WORD)}")
    assert page["filtered_table_rows_count"] == NEWEST  # counted among the newest matches, not all of them
    assert f"(the newest {NEWEST:,} matches)" in page["human_description_en"]
    # Sorted as the table is (published, newest first): the newest match of the whole archive comes first.
    ids = [row[0] for row in page["rows"]]
    assert ids[0] == matching(big_db, "published desc")[0]
    assert set(ids) <= set(matching(big_db, "id desc")[:NEWEST])
    # The facets count the same newest matches.
    facets = page["facet_results"]
    assert sum(item["count"] for item in facets["site"]["results"]) == NEWEST
    assert sum(item["count"] for item in facets["language"]["results"]) == NEWEST


def test_accent_free_search_finds_the_same(big_url):
    accented = get_json(f"{big_url}/news/articles.json?_shape=array&_search={urllib.parse.quote(WORD)}")
    plain = get_json(f"{big_url}/news/articles.json?_shape=array&_search=va")
    assert [row["id"] for row in accented] == [row["id"] for row in plain] and len(plain) == 50


def test_the_search_page_counts_the_newest_matches_and_links_the_articles(big_url, big_db):
    status, html = fetch(f"{big_url}/news/articles?_search={urllib.parse.quote(WORD)}")
    assert status == 200
    assert f"{NEWEST:,} rows where search matches &#34;{WORD}&#34; (the newest {NEWEST:,} matches)" in html
    newest = matching(big_db, "published desc")[0]
    table = html.split('<table class="rows-and-columns">')[1]
    assert f'href="/news/articles/{newest}"' in table.split("</tr>")[1]  # the first row, its readable page
    assert table.count('<p class="snippet">') == 50
    assert '<ol class="best-matches">' in html


def test_every_match_on_request_or_with_another_sort(big_url, big_db):
    every = len(matching(big_db, "id"))
    query = urllib.parse.quote(WORD)
    page = get_json(f"{big_url}/news/articles.json?_search={query}&_allmatches=1")
    assert page["filtered_table_rows_count"] == every and "newest" not in page["human_description_en"]
    longest = get_json(f"{big_url}/news/articles.json?_search={query}&_sort_desc=word_count&_nofacet=1")
    assert longest["filtered_table_rows_count"] == every  # the longest of all matches, not of the newest
    newest_ids = get_json(f"{big_url}/news/articles.json?_search={query}&_sort_desc=id&_nofacet=1")
    assert newest_ids["filtered_table_rows_count"] == NEWEST
    assert [row[0] for row in newest_ids["rows"]] == matching(big_db, "id desc")[:50]


def test_a_search_with_few_matches_counts_them_all(big_url, big_db):
    with sqlite3.connect(big_db) as conn:
        title = conn.execute("select title from articles order by id limit 1").fetchone()[0]
    page = get_json(f"{big_url}/news/articles.json?_search={urllib.parse.quote(title)}")
    assert 1 <= page["filtered_table_rows_count"] < NEWEST and "newest" not in page["human_description_en"]
    assert 1 in [row[0] for row in page["rows"]]


def test_a_column_search_and_a_blank_search(big_url):
    titles = get_json(f"{big_url}/news/articles.json?_search_title=va&_nofacet=1")
    assert 0 < titles["filtered_table_rows_count"] <= ARTICLES and "search column" in titles["human_description_en"]
    blank = get_json(f"{big_url}/news/articles.json?_search=+&_nofacet=1")
    assert blank["filtered_table_rows_count"] == ARTICLES  # nothing typed: every article


def test_table_search_clause():
    search = plugin().table_search
    columns = ["title", "text"]
    found = search({"_search": " đảng ủy "}, "articles_fts", columns)
    fts = "select rowid from articles_fts where articles_fts match escape_fts(:search)"
    assert found.where_clauses == [f"id in ({fts} order by rowid desc limit {NEWEST})"]
    assert found.params == {"search": "đảng ủy"} and found.extra_context["search"] == "đảng ủy"
    assert "limit" not in search({"_search": "x", "_allmatches": "1"}, "articles_fts", columns).where_clauses[0]
    assert "limit" not in search({"_search": "x", "_sort": "published"}, "articles_fts", columns).where_clauses[0]
    assert "limit" in search({"_search": "x", "_sort_desc": "published"}, "articles_fts", columns).where_clauses[0]
    raw = search({"_search": "x", "_searchmode": "raw"}, "articles_fts", columns)
    assert "match :search order" in raw.where_clauses[0]
    assert search({"_search": ""}, "articles_fts", columns) is None
    assert search({"_search_nope": "x"}, "articles_fts", columns) is None
    column = search({"_search_title": "x"}, "articles_fts", columns)
    assert column.where_clauses == ["id in (select rowid from articles_fts where title match escape_fts(:search_0))"]
