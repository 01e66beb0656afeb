"""Datasette with datasette_meta/ renders the archive: tables, search, canned queries, read-only."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.browse_support import COPY_ARTICLE, DATASETTE_META, SEED_000, SEED_002, datasette_command, fetch

QUERIES = yaml.safe_load((DATASETTE_META / "metadata.yml").read_text(encoding="utf-8"))["databases"]["news"]["queries"]


def get(db: Path, path: str) -> str:
    """Render one page with the real Datasette, as `datasette serve --get` does."""
    result = subprocess.run(datasette_command(db, "--get", path), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{path}: {result.stdout[-500:]} {result.stderr[-1500:]}"
    return result.stdout


def get_json(base: str, path: str):
    status, body = fetch(base + path)
    assert status == 200, f"{path}: {status} {body[-1000:]}"
    return json.loads(body)


def search(base: str, query: str, page: str = "search") -> list[dict]:
    """Rows of the ranked search (canned query) or of the table's own search filter."""
    if page == "search":
        return get_json(base, f"/news/search.json?_shape=array&q={urllib.parse.quote(query)}")
    return get_json(base, f"/news/articles.json?_shape=array&_search={urllib.parse.quote(query)}")


def test_articles_table_page_with_seed_data(seeded_db):
    page = get(seeded_db, "/news/articles")
    assert "Articles" in page and "2 rows" in page
    assert "Tổng cục Kỹ thuật tập trung vào khâu then chốt" in page
    assert "Sơn Bình" in page and "Trần Duy Hưng" in page
    assert 'name="_search"' in page  # the search box
    assert "sorted by published descending" in page


def test_table_search_without_diacritics(browse_url):
    assert [row["url"] for row in search(browse_url, "le huy vinh", page="table")] == [SEED_000]
    rows = search(browse_url, "dang uy tong cuc ky thuat", page="table")
    assert sorted(row["url"] for row in rows) == sorted([SEED_000, SEED_002, COPY_ARTICLE])
    assert search(browse_url, "bong da", page="table") == []
    status, html = fetch(f"{browse_url}/news/articles?_search=" + urllib.parse.quote("đảng ủy"))
    assert status == 200 and "5 rows where search matches" in html


def test_facets_by_site_author_day_and_language(browse_url):
    facets = get_json(browse_url, "/news/articles.json")["facet_results"]
    assert {"site", "author", "day", "language"} <= set(facets)
    values = {name: {item["value"]: item["count"] for item in facet["results"]} for name, facet in facets.items()}
    assert values["site"] == {"baomau.example.vn": 2, "tinmau.example.vn": 2}
    assert {"Sơn Bình", "Trần Duy Hưng", "Lê Văn Thử"} <= set(values["author"])
    assert values["language"]["vi"] == 6
    # 2023-01-10T06:30:00+07:00 is 9 January in UTC: the day is Vietnam's.
    assert values["day"]["2023-01-10"] == 1 and "2023-01-09" not in values["day"]


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_canned_query_renders_with_rows(browse_url, name):
    params = {"id": "1"} if ":id" in QUERIES[name]["sql"] else {}
    if ":q" in QUERIES[name]["sql"]:
        params = {"q": "tong cuc"}
    query = urllib.parse.urlencode(params)
    status, page = fetch(f"{browse_url}/news/{name}?{query}")
    assert status == 200 and QUERIES[name]["title"] in page
    rows = get_json(browse_url, f"/news/{name}.json?_shape=array&{query}")
    assert rows, f"canned query {name} returned no rows"


def test_urls_of_an_article_list_aliases(browse_url):
    rows = get_json(browse_url, "/news/article_urls_for.json?id=2&_shape=array")
    assert rows[0]["url"] == SEED_002 and rows[0]["is_primary"] == 1


def test_crawl_health_per_site(browse_url):
    rows = {row["site"]: row for row in get_json(browse_url, "/news/crawl_health.json?_shape=array")}
    assert set(rows) == {"tinmau.example.vn", "baomau.example.vn", "replay"}
    tinmau = rows["tinmau.example.vn"]
    assert (tinmau["last_status"], tinmau["new_articles"], tinmau["failures"]) == ("finished", 2, 1)
    assert tinmau["extraction_failures"] == 1 and tinmau["extraction_failure_pct"] == 25.0  # 1 of 3 ok + 1
    baomau = rows["baomau.example.vn"]
    assert (baomau["failures"], baomau["extraction_failures"], baomau["extraction_failure_pct"]) == (1, 0, 0.0)
    assert rows["replay"]["new_articles"] == 6 and rows["replay"]["last_run"]


def test_recent_failures_newest_first(browse_url):
    rows = get_json(browse_url, "/news/recent_failures.json?_shape=array")
    assert [(row["url"], row["stage"], row["site"]) for row in rows] == [
        ("https://baomau.example.vn/loi.html", "fetch", "baomau.example.vn"),
        ("https://tinmau.example.vn/video/clip.html", "extract", "tinmau.example.vn"),
    ]


def test_stories_with_the_most_copies_come_first(browse_url):
    # The near-duplicate stage's `stories` query, over what the replay linked: seed 002 and its copy.
    rows = get_json(browse_url, "/news/stories.json?_shape=array")
    story = rows[0]
    assert story["articles"] == 2 and story["title"].startswith("Tổng cục Kỹ thuật tập trung")
    assert "tinmau.example.vn" in story["sites"]
    assert all(row["articles"] == 1 for row in rows[1:])


def test_ranked_search_puts_exact_accents_first(browse_url):
    titles = [row["title"] for row in search(browse_url, "đảng ủy")]
    # "Người dân đang ủy thác..." matches without accents (đang = đảng to the index) and comes last.
    assert titles[-1].startswith("Người dân đang ủy thác") and len(titles) == 5
    assert search(browse_url, "đang ủy")[0]["title"].startswith("Người dân đang ủy thác")
    first = search(browse_url, "dang uy tong cuc ky thuat")
    assert first[0]["id"] == 1 and first[0]["title"].startswith("Năm 2022, Đảng ủy Tổng cục Kỹ thuật")


@pytest.mark.parametrize("query", ["dai hoi dang uy xa", "Đại hội Đảng ủy xã", "ĐẠI HỘI ĐẢNG ỦY XÃ", "dai hôi thanh mỹ", "thanh my"])
def test_ranked_search_with_or_without_diacritics(browse_url, query):
    assert [row["title"] for row in search(browse_url, query)] == ["Đại hội Đảng ủy xã nhiệm kỳ mới"]


def test_search_snippets_highlight_the_words_as_written(browse_url):
    snippet = search(browse_url, "thanh my dai hoi")[0]["snippet"]
    assert "\x02Thanh\x03 \x02Mỹ\x03" in snippet and "\x02đại\x03 \x02hội\x03" in snippet
    status, page = fetch(f"{browse_url}/news/search?q=thanh+my")
    assert status == 200 and "<mark>Thanh</mark> <mark>Mỹ</mark>" in page


def test_search_for_nothing_finds_nothing(browse_url):
    assert search(browse_url, "") == [] and search(browse_url, "blockchain") == []
    assert search(browse_url, '"') == [] and search(browse_url, "AND OR NOT") == []


def test_database_is_read_only_through_datasette(browse_url, browse_db):
    before = get_json(browse_url, "/news/articles.json?_shape=array&_col=id")
    for sql in ["delete from articles", "update articles set title = 'x'", "insert into failures (url) values ('x')",
                "select 1; delete from articles"]:
        status, body = fetch(f"{browse_url}/news.json?sql={urllib.parse.quote(sql)}")
        assert status >= 400 and ("Statement must be a SELECT" in body or "one statement" in body), (sql, body)
    assert not any(query.get("write") for query in QUERIES.values())
    request = urllib.request.Request(f"{browse_url}/news/latest_articles", data=b"x=1", method="POST")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10)
    assert get_json(browse_url, "/news/articles.json?_shape=array&_col=id") == before
