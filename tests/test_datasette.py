"""Datasette with datasette_meta/ renders the seed data: tables, search, canned queries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

METADATA = ROOT / "datasette_meta" / "metadata.yml"
QUERIES = yaml.safe_load(METADATA.read_text(encoding="utf-8"))["databases"]["news"]["queries"]


def get(db: Path, path: str) -> str:
    """Render one page with the real Datasette, as `datasette serve --get` does."""
    result = subprocess.run(
        [sys.executable, "-m", "datasette", "serve", str(db), "--metadata", str(METADATA), "--get", path],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"{path}: {result.stdout[-500:]} {result.stderr[-1500:]}"
    return result.stdout


def test_articles_table_page(seeded_db):
    page = get(seeded_db, "/news/articles")
    assert "Articles" in page and "2 rows" in page
    assert "Tổng cục Kỹ thuật tập trung vào khâu then chốt" in page
    assert "Sơn Bình" in page and "Trần Duy Hưng" in page
    assert 'name="_search"' in page  # the search box


def test_search_without_diacritics_in_datasette(seeded_db):
    rows = json.loads(get(seeded_db, "/news/articles.json?_search=le+huy+vinh&_shape=array"))
    assert [row["url"] for row in rows] == ["seed:000_cb3248bbcccbdf52.txt"]
    rows = json.loads(get(seeded_db, "/news/articles.json?_search=dang+uy+tong+cuc+ky+thuat&_shape=array"))
    assert len(rows) == 2
    rows = json.loads(get(seeded_db, "/news/articles.json?_search=bong+da&_shape=array"))
    assert rows == []


def test_search_page_renders(seeded_db):
    page = get(seeded_db, "/news/articles?_search=%C4%91%E1%BA%A3ng+%E1%BB%A7y")  # đảng ủy
    assert "2 rows where search matches" in page


def test_facets_and_sort_from_metadata(seeded_db):
    assert "sorted by published descending" in get(seeded_db, "/news/articles")
    facets = json.loads(get(seeded_db, "/news/articles.json"))["facet_results"]
    assert {"site", "author"} <= set(facets)
    authors = {value["value"] for value in facets["author"]["results"]}
    assert authors == {"Sơn Bình", "Trần Duy Hưng"}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_canned_query_renders_with_seed_data(seeded_db, name):
    params = "?id=1" if ":id" in QUERIES[name]["sql"] else ""
    page = get(seeded_db, f"/news/{name}{params}")
    assert QUERIES[name]["title"] in page
    rows = json.loads(get(seeded_db, f"/news/{name}.json{params}{'&' if params else '?'}_shape=array"))
    assert rows, f"canned query {name} returned no rows"


def test_urls_of_an_article_lists_aliases(seeded_db):
    rows = json.loads(get(seeded_db, "/news/article_urls_for.json?id=2&_shape=array"))
    assert rows[0]["url"] == "seed:002_290e18c0390ff467.txt" and rows[0]["is_primary"] == 1


def test_database_is_read_only_through_datasette(seeded_db):
    # Datasette refuses writes in queries: the archive cannot be changed from the browser.
    result = subprocess.run(
        [sys.executable, "-m", "datasette", "serve", str(seeded_db), "--metadata", str(METADATA),
         "--get", "/news.json?sql=delete+from+articles"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0 or "Statement must be a SELECT" in result.stdout
