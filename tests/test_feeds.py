"""Following a search as an Atom feed (datasette-atom's conventions), and taking the data out:
CSV and JSON of a search through Datasette, JSON Lines with the command docs/export.md gives."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import sqlite3
import subprocess
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree

import feedparser

from tests.browse_support import SCRIPT_ARTICLE, article_ids, fetch
from tests.conftest import ROOT

ATOM = "{http://www.w3.org/2005/Atom}"


def feed(base: str, path: str) -> tuple[str, feedparser.FeedParserDict]:
    status, body = fetch(base + path)
    assert status == 200, f"{path}: {status} {body[-1500:]}"
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return body, parsed


def lead_of(db, article_id: int) -> str:
    description, text = db.execute("select description, text from articles where id = ?", [article_id]).fetchone()
    return description or text.splitlines()[0]


def test_an_accent_free_search_as_a_feed(browse_url, browse_db):
    body, parsed = feed(browse_url, "/news/search_feed.atom?q=dang+uy")
    entries = parsed.entries
    with sqlite3.connect(browse_db) as db:
        expected = db.execute(
            "select a.id, a.title, a.site, coalesce(a.published, a.first_seen) from articles a "
            "where a.id in (select rowid from articles_fts where articles_fts match '\"dang\" \"uy\"') "
            "order by coalesce(a.published, a.first_seen) desc, a.id desc"
        ).fetchall()
        assert [entry.title for entry in entries] == [row[1] for row in expected]  # every match, newest first
        times = [entry.updated_parsed for entry in entries]
        assert times == sorted(times, reverse=True)
        for entry, (article_id, title, site, _) in zip(entries, expected):
            assert entry.link == f"{browse_url}/news/articles/{article_id}" == entry.id
            lead, summary = lead_of(db, article_id), entry.summary
            assert summary == lead or (summary.endswith(" …") and lead.startswith(summary[:-2]))  # a long one cut
            if site:
                assert site in entry.author
            status, article = fetch(entry.link)  # the readable page
            assert status == 200 and 'class="news-article"' in article
    assert parsed.feed.title == "Search feed: dang uy"  # a feed reader lists the searches by their words


def test_a_feed_entry_carries_no_markup_from_the_article(browse_url, browse_db):
    body, parsed = feed(browse_url, "/news/search_feed.atom?q=" + urllib.parse.quote("bai viet co ma"))
    (entry,) = parsed.entries
    assert entry.link.endswith(f"/news/articles/{article_ids(browse_db)[SCRIPT_ARTICLE]}")
    assert entry.title == "Bài viết có mã <script> trong nội dung"
    assert entry.content[0].type == "text/plain" and entry.title_detail.type == "text/plain"
    root = ElementTree.fromstring(body.encode("utf-8"))
    assert {element.tag for element in root.iter()} <= {f"{ATOM}{tag}" for tag in (
        "feed", "id", "title", "updated", "link", "generator", "entry", "author", "name", "content")}
    assert {content.get("type") for content in root.iter(f"{ATOM}content")} == {"text"}
    assert "<script" not in body and "&lt;script&gt;" in body  # the title, escaped as text
    _, parsed = feed(browse_url, "/news/search_feed.atom?q=" + urllib.parse.quote("<b>ma</b> & co"))
    assert parsed.feed.title == "Search feed: <b>ma</b> & co"  # the words, as text


def test_a_search_that_matches_nothing_yet_is_an_empty_feed(browse_url):
    _, parsed = feed(browse_url, "/news/search_feed.atom?q=blockchain")
    assert parsed.entries == [] and parsed.feed.title == "Search feed: blockchain"


def test_the_table_search_leads_to_its_feed(browse_url):
    status, html = fetch(browse_url + "/news/articles?_search=" + urllib.parse.quote("Đảng ủy"))
    href = "/news/search_feed.atom?q=%C4%90%E1%BA%A3ng%20%E1%BB%A7y"
    assert status == 200 and f'type="application/atom+xml" title="Đảng ủy" href="{href}"' in html
    assert f'class="feed-link" href="{href}"' in html
    with urllib.request.urlopen(browse_url + "/news/articles.atom?_search=dang+uy", timeout=30) as response:
        assert response.url == browse_url + "/news/search_feed.atom?q=dang+uy"  # redirected


def test_latest_articles_and_a_story_as_feeds(browse_url, browse_db):
    _, latest = feed(browse_url, "/news/latest_articles.atom")
    rows = json.loads(fetch(browse_url + "/news/latest_articles.json?_shape=array")[1])
    assert [entry.title for entry in latest.entries] == [row["title"] for row in rows]
    with sqlite3.connect(browse_db) as db:
        story = db.execute("select story_id from articles group by story_id having count(*) > 1").fetchone()[0]
    _, copies = feed(browse_url, f"/news/story_articles.atom?id={story}")
    assert len(copies.entries) == 2
    assert copies.entries[0].updated_parsed >= copies.entries[1].updated_parsed


def test_csv_of_a_search_streams_every_row(browse_url):
    listed = json.loads(fetch(browse_url + "/news/articles.json?_search=dang+uy&_size=max")[1])
    status, body = fetch(browse_url + "/news/articles.csv?_search=dang+uy&_stream=on&_size=1")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == listed["filtered_table_rows_count"] == 5  # every row, not a page of one
    assert {int(row["id"]) for row in rows} == {row[0] for row in listed["rows"]}
    assert {"text", "url", "content_hash", "day"} <= set(rows[0])


def test_json_pages_of_a_search_follow_next_url(browse_url):
    url, ids = browse_url + "/news/articles.json?_search=dang+uy&_size=2", []
    while url:
        page = json.loads(fetch(url)[1])
        ids += [row[0] for row in page["rows"]]
        url = page["next_url"]
    assert len(ids) == len(set(ids)) == 5


def test_json_lines_with_the_documented_command(browse_db):
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "docs" / "export.md").read_text(encoding="utf-8"), re.DOTALL)
    command = next(block for block in blocks if "sqlite-utils rows" in block).split("\n\n")[0]
    command = command.replace("\\\n", " ").splitlines()[0].split(" > ")[0]
    arguments = shlex.split(command.replace("data/news.db", str(browse_db)))
    arguments[arguments.index("site") + 1] = "baomau.example.vn"
    arguments[arguments.index("since") + 1] = "2023-01-01"
    result = subprocess.run(arguments, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    articles = [json.loads(line) for line in result.stdout.splitlines()]
    with sqlite3.connect(browse_db) as db:
        expected = db.execute("select id, title from articles where site = 'baomau.example.vn' and day >= '2023-01-01' "
                              "order by id").fetchall()
    assert [(article["id"], article["title"]) for article in articles] == expected and len(expected) == 2
    assert "text" in articles[0]
