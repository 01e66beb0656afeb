"""The front page: search first, the latest articles, counts per site, the big stories, crawl health;
every number and title links to the rows it stands for."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime
from html import unescape

from pipelines.vietnamese.dates import VIETNAM
from tests.browse_support import FAILING_SITE, FRONT_SITES, HEALTHY_SITE, STORY_COPY, STORY_FIRST, fetch


def page(base: str, path: str) -> str:
    status, body = fetch(base + path)
    assert status == 200, f"{path}: {status} {body[-1500:]}"
    return body


def rows_of(base: str, path: str) -> list[dict]:
    return json.loads(page(base, path + ("&" if "?" in path else "?") + "_shape=array"))


def panel(html: str, name: str) -> str:
    return html.split(f'id="{name}"')[1].split("</section>")[0]


def test_search_box_first_then_the_latest_articles(front_url):
    home = page(front_url, "/")
    assert home.index('class="vn-search"') < home.index('id="latest"') < home.index('id="health"')
    latest = re.findall(r'<a class="headline" href="/news/articles/(\d+)">([^<]+)</a>', panel(home, "latest"))
    expected = rows_of(front_url, "/news/latest_articles.json")
    assert [(int(i), unescape(t)) for i, t in latest] == [(row["id"], row["title"]) for row in expected[: len(latest)]]
    assert len(latest) == 12
    first = expected[0]
    assert first["title"] in page(front_url, f"/news/articles/{first['id']}")  # the readable page


def test_counts_per_site_are_the_rows_they_link_to(front_url, front_db):
    today = datetime.now(VIETNAM).date().isoformat()
    with sqlite3.connect(front_db) as db:
        expected = {site: db.execute("select sum(day = ?), sum(day >= date(?, '-6 days')), count(*) from articles "
                                     "where site = ?", [today, today, site]).fetchone() for site in FRONT_SITES}
    table = panel(page(front_url, "/"), "sites")
    rows = re.findall(r'<tr><td class="col-site"><a href="[^"]+">([^<]+)</a></td>(.*?)</tr>', table, re.DOTALL)
    assert {site for site, _ in rows} == set(FRONT_SITES)
    for site, cells in rows:
        links = re.findall(r'<a href="([^"]+)">([\d,]+)</a>', cells)
        shown = tuple(int(number.replace(",", "")) for _, number in links)
        assert shown == expected[site], site
        for href, number in links:  # each number is the count of the rows its link lists
            listed = json.loads(page(front_url, unescape(href).replace("/news/articles?", "/news/articles.json?")))
            assert listed["filtered_table_rows_count"] == int(number.replace(",", "")), href


def test_the_biggest_story_names_its_first_publisher(front_url, front_db):
    with sqlite3.connect(front_db) as db:
        story, first_title = db.execute("select a.story_id, f.title from articles a join articles f on f.id = a.story_id "
                                        "where a.url = ?", [STORY_COPY]).fetchone()
        first_site = db.execute("select site from articles where url = ?", [STORY_FIRST]).fetchone()[0]
    stories = panel(page(front_url, "/"), "stories")
    top = stories.split("<li>")[1]
    assert f'href="/news/story_articles?id={story}">{first_title}</a>' in unescape(top)
    assert "2 articles on 2 sites" in top and f'<span class="first-publisher">{first_site}</span>' in top
    copies = rows_of(front_url, f"/news/story_articles.json?id={story}")
    assert {row["url"] for row in copies} == {STORY_FIRST, STORY_COPY}


def test_crawl_health_marks_the_failing_site(front_url):
    health = panel(page(front_url, "/"), "health")
    rows = re.findall(r'<tr class="(\w+)">\s*<td class="col-site">.*?>([^<>]+)</a>', health, re.DOTALL)
    by_site = {site: state for state, site in rows}
    assert by_site[FAILING_SITE] == "failing" and by_site[HEALTHY_SITE] == "healthy"
    failing_row = health.split(f">{FAILING_SITE}</a>")[0].rsplit("<tr", 1)[1]
    assert 'class="alarm"' in failing_row and "2 failed runs in a row" in failing_row
    assert health.index(FAILING_SITE) < health.index(HEALTHY_SITE)  # failing sites first
    runs = rows_of(front_url, f"/news/crawl_runs.json?site={FAILING_SITE}&_sort_desc=id")
    assert [run["status"] for run in runs[:2]] == ["failed", "failed"]


def test_nothing_on_the_front_page_is_a_dead_end(front_url):
    home = page(front_url, "/")
    links = {unescape(href) for href in re.findall(r'href="(/[^"]*)"', home) if not href.startswith("/-/static")}
    assert len(links) > 30
    for href in sorted(links):
        status, body = fetch(front_url + href)
        assert status == 200, f"{href}: {status}"
