"""The pages a reader sees: article page, articles list, search, and `make browse`."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import urllib.parse

from pipelines.db.store import NewsStore
from tests.browse_support import (
    COPY_ARTICLE,
    EXACT_ALIAS,
    EXACT_ARTICLE,
    SCRIPT_ARTICLE,
    SEED_000,
    SEED_002,
    article_ids,
    fetch,
    free_port,
    serve,
    serve_datasette,
)
from tests.conftest import ROOT


def page(base: str, path: str) -> str:
    status, body = fetch(base + path)
    assert status == 200, f"{path}: {status} {body[-1500:]}"
    return body


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_article_page_reads_like_an_article(browse_url, browse_db):
    article = page(browse_url, f"/news/articles/{article_ids(browse_db)[EXACT_ARTICLE]}")
    assert '<h1 class="headline">Đại hội Đảng ủy xã nhiệm kỳ mới</h1>' in article
    assert '<span class="author">Lê Văn Thử</span>' in article
    assert ">baomau.example.vn</a>" in article
    # Published 06:30 Vietnam time, shown as such (not as UTC).
    assert '<time class="published" datetime="2023-01-10T06:30:00+07:00">10/01/2023 06:30</time>' in article
    paragraphs = re.findall(r"<p>(.*?)</p>", article.split('class="article-text"')[1].split("</div>")[0], re.DOTALL)
    assert [p.strip()[:20] for p in paragraphs] == ["Sáng nay, Đảng ủy xã", "Đại hội đã bầu ban c"]
    assert f'<a class="source-link" href="{EXACT_ARTICLE}"' in article
    assert f'href="{EXACT_ALIAS}"' in article  # the alias, under "Also found at"
    assert "Other copies" not in article


def test_article_page_of_a_seed_without_publication_time(browse_url, browse_db):
    article = text_of(page(browse_url, f"/news/articles/{article_ids(browse_db)[SEED_000]}"))
    assert "Năm 2022, Đảng ủy Tổng cục Kỹ thuật" in article and "By Sơn Bình" in article
    assert "publication time unknown; first seen" in article and SEED_000 in article


def test_article_page_lists_the_other_copies_of_its_story(browse_url, browse_db):
    ids = article_ids(browse_db)
    store = NewsStore.open(browse_db)
    try:
        jaccard = store.db.execute(
            "select jaccard from near_duplicates where article_id = ? and similar_id = ?", [ids[COPY_ARTICLE], ids[SEED_002]]
        ).fetchone()[0]
    finally:
        store.close()
    original = page(browse_url, f"/news/articles/{ids[SEED_002]}")
    assert "Other copies of this story (1)" in original
    assert f'href="/news/articles/{ids[COPY_ARTICLE]}">Xây dựng Đảng bộ Tổng cục trong sạch' in original
    assert f"similarity {jaccard * 100:.0f}%" in original
    copy = page(browse_url, f"/news/articles/{ids[COPY_ARTICLE]}")
    assert f'href="/news/articles/{ids[SEED_002]}">Tổng cục Kỹ thuật tập trung' in copy
    assert "first stored copy" in text_of(copy)
    alone = page(browse_url, f"/news/articles/{ids[SEED_000]}")
    assert "Other copies" not in alone


def test_article_page_works_without_near_duplicate_data(seeded_db, tmp_path):
    # A database from before the near-duplicate stage: no story_id column, no near_duplicates table.
    db = tmp_path / "plain.db"
    shutil.copy(seeded_db, db)
    with sqlite3.connect(db) as connection:
        for index in connection.execute("select name from pragma_index_list('articles')").fetchall():
            if "story_id" in index[0]:
                connection.execute(f"drop index [{index[0]}]")
        connection.execute("alter table articles drop column story_id")
        connection.execute("drop table near_duplicates")
    with serve_datasette(db) as base:
        article = page(base, "/news/articles/2")
    assert "Tổng cục Kỹ thuật tập trung vào khâu then chốt" in article and "Other copies" not in article


def test_article_text_with_html_is_shown_as_text(browse_url, browse_db):
    article = page(browse_url, f"/news/articles/{article_ids(browse_db)[SCRIPT_ARTICLE]}")
    assert "&lt;script&gt;document.title = &#34;PWNED&#34;" in article
    assert "<script>document.title" not in article and 'onerror="window' not in article
    assert "Bài viết có mã &lt;script&gt; trong nội dung" in article
    table = page(browse_url, "/news/articles?_allcols=1")
    assert "<script>document.title" not in table and "&lt;script&gt;" in table


def test_articles_list_shows_short_columns_newest_first(browse_url):
    html = page(browse_url, "/news/articles")
    headers = re.findall(r'<th [^>]*data-column="([^"]+)"', html)
    assert headers == ["id", "title", "site", "author", "published", "word_count"]
    assert ">words" in html  # word_count's label
    titles = re.findall(r'<td class="col-title[^>]*><a href="/news/articles/\d+">([^<]+)</a>', html)
    assert titles[0] == "Bài viết có mã &lt;script&gt; trong nội dung"  # published 2023-03-02, the newest
    assert len(titles) == 6
    every = re.findall(r'<th [^>]*data-column="([^"]+)"', page(browse_url, "/news/articles?_allcols=1"))
    assert {"text", "url", "content_hash", "day"} <= set(every)
    chosen = re.findall(r'<th [^>]*data-column="([^"]+)"', page(browse_url, "/news/articles?_col=url"))
    assert chosen == ["id", "url"]
    # The API keeps every column.
    status, body = fetch(f"{browse_url}/news/articles.json?_shape=array")
    assert status == 200 and '"text"' in body


def test_table_search_shows_best_matches_with_snippets(browse_url):
    html = page(browse_url, "/news/articles?_search=" + urllib.parse.quote("đảng ủy"))
    best = html.split('<ol class="best-matches">')[1].split("</ol>")[0]
    headlines = re.findall(r'class="headline" href="[^"]+">([^<]+)</a>', best)
    assert len(headlines) == 5 and headlines[-1].startswith("Người dân đang ủy thác")
    assert "<mark>Đảng</mark> <mark>ủy</mark>" in best
    # The full table below, filtered by the search, with a snippet under each title.
    table = html.split('<table class="rows-and-columns">')[1]
    assert table.count('<p class="snippet">') == 5 and "5 rows where search matches" in html


def test_home_page_has_the_search_box(browse_url):
    home = page(browse_url, "/")
    assert '<form class="vn-search" action="/news/articles"' in home and 'name="_search"' in home
    assert "Vietnamese news archive" in home


def test_make_browse_serves_another_file_on_another_port(seeded_db, tmp_path):
    db = tmp_path / "other.db"
    shutil.copy(seeded_db, db)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = ["make", "-s", "browse", f"NEWS_DB={db}", f"PORT={port}"]
    # Its own process group, so that stopping make stops the datasette it started.
    with serve(command, f"{base}/-/versions.json", cwd=ROOT, start_new_session=True) as process:
        try:
            databases = [database["name"] for database in json.loads(page(base, "/-/databases.json"))]
            table = page(base, "/news/articles")
            canned = page(base, "/news/latest_articles")
        finally:
            os.killpg(process.pid, signal.SIGTERM)
    assert databases == ["news"]
    # The metadata written for `news` applies: title, facets, canned queries.
    assert "<h1>Articles</h1>" in table and 'id="facet-day"' in table
    assert "Latest articles" in canned and "Tổng cục Kỹ thuật" in canned
