"""The news spider against the loopback fixture site (tests/newsite.py).

The crawls run in process (tests/inprocess.py); an interrupted crawl resumed from JOBDIR and
the argument errors go through `scrapy crawl news`, as a user runs it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.test import get_crawler
from sqlite_utils import Database

from crawler.middlewares import ROBOTS_PARSE_LIMIT, RobotsTxtMiddleware
from crawler.settings import CONTACT_URL
from crawler.spiders.news import NewsSpider
from tests.conftest import ROOT, run_scrapy
from tests.inprocess import logged, run_spider, run_spider_blocking
from tests.newsite import ARTICLES, DELETED, DISALLOWED, OLD_ARTICLES, PDF_PATHS, REDIRECTS, SYNDICATED, VIDEO, NewsSite

PATTERN_LIMIT = 3
# No politeness delay against the loopback site, few listing pages per URL shape.
FAST_ARGS = {"delay": "0"}
FAST_SETTINGS = {"NEWS_PATTERN_LIMIT": PATTERN_LIMIT, "AUTOTHROTTLE_START_DELAY": 0}
# The same on the command line.
FAST = (*(f"-a{name}={value}" for name, value in FAST_ARGS.items()),
        *(f"-s{name}={value}" for name, value in FAST_SETTINGS.items()))


@pytest.fixture(scope="module")
def site():
    with NewsSite() as running:
        yield running


def from_home(site: NewsSite, **spider_args: str) -> dict[str, str]:
    """The spider arguments of a fast crawl of ``site`` from its home page."""
    return {"url": site.url("/"), **FAST_ARGS, **spider_args}


async def crawl(site: NewsSite, db: Path, **spider_args: str):
    """A fast crawl of ``site`` from its home page, in process: the crawler."""
    return await run_spider(NewsSpider, db, FAST_SETTINGS, **from_home(site, **spider_args))


@pytest.fixture(scope="module")
def two_runs(site, tmp_path_factory):
    """The database after two crawls of the site, the paths each crawl requested, and their log messages."""
    db = tmp_path_factory.mktemp("crawl") / "news.db"
    runs = []
    for _ in range(2):
        mark = len(site.log)
        with logged() as messages:
            run_spider_blocking(NewsSpider, db, FAST_SETTINGS, **from_home(site))
        runs.append((site.log[mark:], "\n".join(messages)))
    (first_hits, first_log), (second_hits, second_log) = runs
    return db, first_hits, second_hits, first_log, second_log


def article_paths(hits) -> list[str]:
    return [hit.path for hit in hits if hit.path.lstrip("/") in ARTICLES]


def test_first_crawl_stores_exactly_the_articles(site, two_runs):
    db, _, _, _, _ = two_runs
    rows = list(Database(db)["articles"].rows)
    assert sorted(row["url"] for row in rows) == sorted(site.url(f"/{slug}") for slug in ARTICLES)
    by_url = {row["url"]: row for row in rows}
    for slug, (_, _, title, lead) in ARTICLES.items():
        article = by_url[site.url(f"/{slug}")]
        assert article["site"] == "127.0.0.1"
        assert lead in article["text"]
        assert article["title"] == title


def test_every_url_that_led_to_an_article_is_an_alias(site, two_runs):
    db = Database(two_runs[0])
    urls = {row["url"]: row["article_id"] for row in db["article_urls"].rows}
    first = site.url(f"/{next(iter(ARTICLES))}")
    first_id = urls[first]
    aliases = sorted(url for url, article_id in urls.items() if article_id == first_id)
    # The syndicated copy (same page, canonical to the original), with and without its tracking parameters.
    assert aliases == sorted([first, site.url(f"/{SYNDICATED}"), site.url(f"/{SYNDICATED}?utm_source=zalo&fbclid=abc123")])
    # A short link that redirects to an article.
    [(short, target)] = REDIRECTS.items()
    assert urls[site.url(short)] == urls[site.url(target)]
    assert len(urls) == len(ARTICLES) + 3


def test_first_run_counts_and_failures(site, two_runs):
    db = Database(two_runs[0])
    run = next(db["crawl_runs"].rows_where(order_by="id"))
    assert (run["command"], run["site"], run["status"]) == ("crawl news", "127.0.0.1", "finished")
    assert run["new"] == len(ARTICLES)
    # Two articles come twice (the syndicated copy, the short link): whichever comes second is a
    # duplicate (it brings a new alias) or unchanged.
    assert run["duplicate"] + run["unchanged"] == 2
    assert (run["robots_skipped"], run["http_errors"], run["extract_failed"], run["not_modified"]) == (1, 1, 1, 0)
    # Every response counts but Scrapy's own robots.txt request (we read robots.txt too) and the redirect.
    assert run["pages"] == len(two_runs[1]) - 2
    failures = list(db["failures"].rows_where("run_id = ?", [run["id"]]))
    assert sorted((f["url"], f["stage"], f["reason"]) for f in failures) == [
        (site.url(f"/{DELETED}"), "fetch", "HTTP 404"),
        (site.url(f"/{VIDEO}"), "extract", "no article text found in the page"),
    ]
    assert run["failed"] == 2


def test_first_run_skips_what_it_should(two_runs):
    paths = [hit.path for hit in two_runs[1]]
    for never in [DISALLOWED, PDF_PATHS[0], *OLD_ARTICLES, "sitemap-2025.xml"]:
        assert f"/{never}" not in paths
    assert "/sitemap-bai-viet.xml.gz" in paths and "/sitemap-tin-tuc.xml" in paths and "/rss/tin-moi-nhat.rss" in paths
    # Traps are bounded: the calendar by the per-pattern limit (its depth would allow 5 pages),
    # the endless tag pages because a page without new articles ends the pagination.
    assert sum(p.startswith("/lich/") for p in paths) == PATTERN_LIMIT
    assert "/tag/tin-nong" in paths and not any(p.startswith("/tag/tin-nong?trang=") for p in paths)
    assert "/thoi-su?trang=2" in paths  # pagination of a page with new articles goes on
    assert sorted(set(article_paths(two_runs[1]))) == sorted(f"/{slug}" for slug in ARTICLES)
    assert all(CONTACT_URL in hit.headers["user-agent"] for hit in two_runs[1])


def test_second_run_fetches_no_article_and_counts_not_modified(two_runs):
    db, _, second_hits, _, second = two_runs
    assert article_paths(second_hits) == []
    statuses = {hit.path: hit.status for hit in second_hits}
    assert statuses["/rss/tin-moi-nhat.rss"] == 304
    assert statuses["/sitemap-bai-viet.xml.gz"] == 304 and statuses["/sitemap-tin-tuc.xml"] == 304
    assert any("if-none-match" in hit.headers for hit in second_hits if hit.path == "/rss/tin-moi-nhat.rss")
    run = list(Database(db)["crawl_runs"].rows_where(order_by="id"))[-1]
    assert (run["new"], run["duplicate"], run["not_modified"], run["status"]) == (0, 0, 3, "finished")
    assert Database(db)["articles"].count == len(ARTICLES)
    assert "not modified" in second


@deferred_f_from_coro_f
async def test_since_argument_skips_older_feed_entries(site, tmp_path):
    db = tmp_path / "news.db"
    mark = len(site.log)
    # Only the last 0.8 days: the sitemap's news article (half a day old) passes, the RSS items (1 and 2 days) not.
    await crawl(site, db, since="0.8", max_depth="0")
    paths = site.paths(mark)
    assert "/the-thao/doi-tuyen-viet-nam-thang-dam-10003.html" in paths
    assert "/giao-duc/hoc-sinh-mien-nui-den-truong-10004.html" not in paths


def write_sites(path: Path, site: NewsSite, **extra) -> Path:
    sites = {
        "defaults": {"delay": 0, "schedule": "every 1h"},
        "sites": [
            {"name": "mau.vn", "home": site.url("/"), "feeds": [site.url("/rss/tin-moi-nhat.rss")],
             "allow": [r"-\d{5}\.html$"], "max_depth": 1},
            # Nothing listens on port 1: the site is unreachable, as every site is without a network.
            {"name": "unreachable.vn", "home": "http://localhost:1/", "feeds": ["http://localhost:1/rss"]},
        ],
        **extra,
    }
    import yaml

    path.write_text(yaml.safe_dump(sites, allow_unicode=True), encoding="utf-8")
    return path


@deferred_f_from_coro_f
async def test_site_argument_crawls_one_configured_site(site, tmp_path):
    sites = write_sites(tmp_path / "sites.yml", site)
    db = tmp_path / "news.db"
    await run_spider(NewsSpider, db, {"SITES_FILE": str(sites)}, site="mau.vn")
    database = Database(db)
    assert [(r["site"], r["status"]) for r in database["crawl_runs"].rows] == [("mau.vn", "finished")]
    assert {r["site"] for r in database["articles"].rows} == {"mau.vn"}
    assert database["articles"].count == len(ARTICLES)


@deferred_f_from_coro_f
async def test_all_sites_one_run_row_each_and_unreachable_site_recorded(site, tmp_path, caplog):
    caplog.set_level(logging.INFO)  # as `scrapy crawl` logs
    sites = write_sites(tmp_path / "sites.yml", site)
    db = tmp_path / "news.db"
    await run_spider(NewsSpider, db, {"SITES_FILE": str(sites)})
    database = Database(db)
    runs = {r["site"]: r for r in database["crawl_runs"].rows}
    assert set(runs) == {"mau.vn", "unreachable.vn"}
    assert runs["mau.vn"]["new"] == len(ARTICLES) and runs["mau.vn"]["failed"] == 2
    down = runs["unreachable.vn"]
    assert (down["status"], down["pages"], down["new"]) == ("failed", 0, 0)
    failed_urls = {f["url"] for f in database["failures"].rows_where("run_id = ?", [down["id"]])}
    assert failed_urls == {"http://localhost:1/", "http://localhost:1/rss"}
    # One line for the unreachable site, naming the reason.
    lines = [record.getMessage() for record in caplog.records if "unreachable.vn: run" in record.getMessage()]
    assert len(lines) == 1 and "failed" in lines[0] and "Connection" in lines[0]


def test_unknown_site_and_bad_sites_file_stop_the_run(site, tmp_path):
    """`scrapy crawl news` as a user runs it: the arguments are checked before the crawl starts."""
    sites = write_sites(tmp_path / "sites.yml", site)
    result = run_scrapy("crawl", "news", "-a", "site=nope.vn", "-s", f"SITES_FILE={sites}", db=tmp_path / "a.db")
    assert result.returncode != 0
    assert "no site named 'nope.vn'; the sites are: mau.vn, unreachable.vn" in result.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("sites:\n  - name: x.vn\n    home: x.vn\n", encoding="utf-8")
    result = run_scrapy("crawl", "news", "-s", f"SITES_FILE={bad}", db=tmp_path / "b.db")
    assert result.returncode != 0
    assert f"Error: {bad}, site 'x.vn', field 'home': expected an http:// or https:// URL" in result.stderr
    assert "Traceback" not in result.stderr  # one clear line, checked before the crawler starts
    result = run_scrapy("crawl", "news", "-a", f"url={site.url('/')}", "-a", "delay=soon", db=tmp_path / "c.db")
    assert result.returncode != 0
    assert "spider arguments (-a), field 'delay': expected a number of at least 0.0, got 'soon'" in result.stderr


@deferred_f_from_coro_f
async def test_busy_site_is_retried_after_its_retry_after(tmp_path):
    with NewsSite() as busy_site:
        path = "/kinh-te/gia-lua-tang-manh-vu-dong-xuan-10002.html"
        busy_site.busy[path] = 1  # one 503 with Retry-After: 1, then the page
        db = tmp_path / "news.db"
        await crawl(busy_site, db, max_depth="1")
        hits = [hit for hit in busy_site.log if hit.path == path]
        assert [hit.status for hit in hits] == [503, 200]
        assert hits[1].at - hits[0].at >= 0.9
        urls = {row["url"] for row in Database(db)["articles"].rows}
        assert busy_site.url(path) in urls
        assert busy_site.url(path) not in {row["url"] for row in Database(db)["failures"].rows}


@pytest.mark.parametrize("stop, status", [(signal.SIGINT, "interrupted"), (signal.SIGKILL, "running")])
def test_interrupted_crawl_resumes_from_jobdir(tmp_path, stop, status):
    """`scrapy crawl news` in its own process: stopped by a signal, then resumed."""
    db, jobdir = tmp_path / "news.db", tmp_path / "job"
    with NewsSite(article_delay=0.4) as slow:
        command = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"url={slow.url('/')}", *FAST,
                   "-s", f"JOBDIR={jobdir}"]
        environment = {**os.environ, "NEWS_DB": str(db)}
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while not article_paths(slow.log) and time.monotonic() < deadline:
            time.sleep(0.05)
        # Ctrl-C: Scrapy stops cleanly, keeping its queue in JOBDIR. A kill keeps nothing but the database.
        process.send_signal(stop)
        output, _ = process.communicate(timeout=60)
        first_runs = list(Database(db)["crawl_runs"].rows)
        assert [r["status"] for r in first_runs] == [status], output[-3000:]
        stored_first = Database(db)["articles"].count
        assert stored_first < len(ARTICLES)
        stored_paths = {urlsplit(row["url"]).path.lstrip("/") for row in Database(db)["articles"].rows}
        interrupted_at = len(slow.log)

        resumed = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        database = Database(db)
        assert sorted(r["url"] for r in database["articles"].rows) == sorted(slow.url(f"/{s}") for s in ARTICLES)
        assert database["article_urls"].count == len(ARTICLES) + 3
        runs = list(database["crawl_runs"].rows_where(order_by="id"))
        # The killed run's process is gone and its site's lock free: the next crawl settles it, exit code unknown.
        settled = "failed" if stop == signal.SIGKILL else status
        assert [(r["status"], r["exit_code"]) for r in runs] == [(settled, None), ("finished", None)]
        assert runs[0]["finished"] and runs[0]["pid"] == process.pid
        if stop == signal.SIGINT:
            # Nothing fetched twice: the resumed run continued the queue instead of starting again.
            fetched = article_paths(slow.log)
            twice = {path for path in fetched if fetched.count(path) > 1}
            assert twice <= set(REDIRECTS.values())  # a redirect may lead to an article fetched already
            assert "/" not in slow.paths(interrupted_at)
        else:  # the resumed run read the home page again and fetched only what was not stored
            assert "/" in slow.paths(interrupted_at)
            assert not set(article_paths(slow.log[interrupted_at:])) & {
                hit.path for hit in slow.log[:interrupted_at] if hit.path.lstrip("/") in stored_paths}


@deferred_f_from_coro_f
async def test_every_request_waiting_for_robots_txt_is_checked():
    """What a resumed crawl does: many queued requests reach the robots.txt check at once."""
    crawler = get_crawler(Spider, {"ROBOTSTXT_OBEY": True})
    middleware = RobotsTxtMiddleware.from_crawler(crawler)
    robots_txt = asyncio.get_running_loop().create_future()  # its download, answered below
    crawler.engine = type("Engine", (), {"download_async": lambda self, request: robots_txt})()
    checks = [asyncio.ensure_future(middleware.process_request(Request(f"https://x.vn/noi-bo/{n}.html")))
              for n in range(3)]
    await asyncio.sleep(0)  # all three wait for the robots.txt
    robots_txt.set_result(Response("https://x.vn/robots.txt", body=b"User-agent: *\nDisallow: /noi-bo/\n"))
    for check in checks:
        with pytest.raises(IgnoreRequest, match="Forbidden by robots.txt"):
            await check


@deferred_f_from_coro_f
async def test_robots_txt_rules_are_read_from_its_first_500_kib():
    """RFC 9309 lets a crawler stop at 500 KiB, as Google does: a rule past it is not read, and the
    rules before it are, up to the last whole line."""
    crawler = get_crawler(Spider, {"ROBOTSTXT_OBEY": True})
    middleware = RobotsTxtMiddleware.from_crawler(crawler)
    filler = b"# " + b"x" * 97 + b"\n"
    body = b"User-agent: *\nDisallow: /noi-bo/\n" + filler * (ROBOTS_PARSE_LIMIT // len(filler)) + b"Disallow: /sau/\n"
    assert len(body) > ROBOTS_PARSE_LIMIT
    crawler.engine = type("Engine", (), {"download_async": lambda self, request: robots_txt})()
    robots_txt = asyncio.get_running_loop().create_future()
    robots_txt.set_result(Response("https://x.vn/robots.txt", body=body))
    with pytest.raises(IgnoreRequest, match="Forbidden by robots.txt"):
        await middleware.process_request(Request("https://x.vn/noi-bo/1.html"))
    assert await middleware.process_request(Request("https://x.vn/sau/1.html")) is None
    assert crawler.stats.get_value("robotstxt/truncated") == 1


@deferred_f_from_coro_f
async def test_site_delay_and_budget_are_kept(site, tmp_path):
    mark = len(site.log)
    await run_spider(NewsSpider, tmp_path / "news.db", url=site.url("/"), delay="0.4", concurrency="1", max_pages="5")
    hits = site.log[mark + 1:]  # after Scrapy's own robots.txt request, which has its own download slot
    assert len(hits) == 5
    gaps = [later.at - earlier.at for earlier, later in zip(hits, hits[1:])]
    # Scrapy spreads each wait over 0.5-1.5 times the delay; AutoThrottle never goes below it.
    assert min(gaps) >= 0.4 * 0.5 * 0.9, gaps


@deferred_f_from_coro_f
async def test_a_crawl_by_hand_skips_a_site_another_process_is_crawling(site, tmp_path, caplog):
    from crawler.schedule.sitelock import SiteLock, site_lock_path

    db = tmp_path / "news.db"
    # As a scheduled crawl holds it (flock: another open file conflicts within one process too).
    held = SiteLock(site_lock_path(tmp_path / "news-schedule", "127.0.0.1"))
    assert held.acquire()
    before = len(site.log)
    locked_out = await crawl(site, db)
    assert "Site 127.0.0.1 is being crawled by another process" in caplog.text
    assert locked_out.stats.get_value("news/locked_out") == 1 and len(site.log) == before  # nothing fetched
    held.release()
    caplog.clear()
    await crawl(site, db)
    assert "being crawled by another process" not in caplog.text
    assert Database(db).execute("select count(*) from articles").fetchone()[0] > 0
    assert SiteLock(site_lock_path(tmp_path / "news-schedule", "127.0.0.1")).acquire()  # released at the end


@deferred_f_from_coro_f
async def test_a_stored_article_is_never_fetched_again_whatever_its_url(tmp_path):
    """Articles at URLs the URL rules do not call articles' (a 4-digit id, a short slug): their pages say
    og:type=article, so they are stored; from then on their URLs are known articles, not listings to re-read."""
    from tests.articlepage import article_html
    from tests.newsite import listing

    short = ["/bai/1234", "/tin-vui", "/tin/5678.html"]
    with NewsSite() as site:
        dated = '<meta property="article:published_time" content="2026-03-07T08:00:00+07:00">'
        for number, path in enumerate(short):
            page = article_html(head=dated + f'<link rel="canonical" href="{site.url(path)}">')
            site.pages[path] = ("text/html; charset=utf-8", page.replace("Sáng 10-1", f"Sáng {number + 10}-1").encode())
        site.pages["/"] = ("text/html; charset=utf-8", listing("Báo Mẫu", [*short, "/thoi-su"]).encode())
        db = tmp_path / "news.db"
        await crawl(site, db)
        stored = {row["url"] for row in Database(db)["articles"].rows}
        assert {site.url(path) for path in short} <= stored
        mark = len(site.log)
        second = await crawl(site, db)
        again = site.paths(mark)
        assert "/" in again and "/thoi-su" in again  # listings are read again
        assert not set(short) & set(again)
        assert second.stats.get_value("news/known") >= len(short)
