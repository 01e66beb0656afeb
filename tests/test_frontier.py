"""The frontier: discovered URLs wait in the spider until Scrapy's scheduler has room."""

from __future__ import annotations

import asyncio
from collections import deque

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.test import get_crawler
from sqlite_utils import Database

from crawler.frontier import TURN, Frontier
from crawler.spiders.news import NewsSpider
from tests.inprocess import crawler_settings, run_spider
from tests.newsite import ARTICLES, NewsSite


def test_sites_take_turns():
    made = []
    frontier = Frontier(get_crawler(), lambda site, url: made.append((site, url)), limit=10)
    for number in range(3):
        frontier.lines.setdefault("a", deque()).append(("a", f"a{number}"))
    frontier.lines.setdefault("b", deque()).append(("b", "b0"))
    order = [frontier._next() for _ in range(len(frontier))]
    assert order == [("a", "a0"), ("b", "b0"), ("a", "a1"), ("a", "a2")]
    assert not frontier.lines


def test_nothing_scheduled_without_an_engine():
    """Before the engine opens, or after it closed, entries wait: nothing is lost or crawled."""
    frontier = Frontier(get_crawler(), lambda site, url: Request(url), limit=10)
    frontier.add("a", "a", "https://x.vn/a-1.html")
    assert len(frontier) == 1 and frontier.top_up() == 0


@deferred_f_from_coro_f
async def test_entries_that_give_no_request_are_looked_at_a_turn_at_a_time():
    """A sitemap read again names thousands of stored URLs: they are looked at TURN at a time, the
    reactor reading its sockets in between, and all at once when the spider is idle."""
    crawler = get_crawler()
    crawler.engine = type("Engine", (), {"scheduler": []})()  # empty: room for every request
    looked: list[int] = []
    frontier = Frontier(crawler, looked.append, limit=10)  # append returns None: no request
    for number in range(3 * TURN):
        frontier.add("a", number)
    assert looked == []  # adding only queues
    assert frontier.top_up() == 0 and looked == list(range(TURN))
    for _ in range(100):  # the next turn was scheduled
        await asyncio.sleep(0.001)
        if len(looked) == 3 * TURN:
            break
    assert looked == list(range(3 * TURN)) and not frontier.lines
    for number in range(3 * TURN):
        frontier.add("b", number)
    frontier.spider_idle()  # nothing to schedule: returns, the spider may close
    assert len(looked) == 6 * TURN and not frontier.lines


@deferred_f_from_coro_f
async def test_a_crawl_through_a_one_request_scheduler_stores_every_article(tmp_path):
    """With room for one request in the scheduler, the sitemaps' URLs wait in the frontier, and
    every article still gets fetched and stored, the spider kept open while any wait."""
    with NewsSite() as site:
        crawler = await run_spider(NewsSpider, tmp_path / "news.db", {"NEWS_SCHEDULER_MAX": 1},
                                   url=site.url("/"), delay="0")
    assert crawler.stats.get_value("frontier/waiting_max", 0) >= 2
    stored = {row["url"] for row in Database(tmp_path / "news.db")["articles"].rows}
    assert stored == {site.url(f"/{slug}") for slug in ARTICLES}


@deferred_f_from_coro_f
async def test_urls_waiting_at_a_clean_stop_are_fetched_by_the_resumed_run(tmp_path):
    """Stopped (Ctrl-C) with URLs waiting, the crawl keeps them in JOBDIR: the resumed run, which
    does not read again the sitemaps the first one read, fetches them."""
    db, settings = tmp_path / "news.db", {"NEWS_SCHEDULER_MAX": 1, "JOBDIR": str(tmp_path / "job")}
    with NewsSite(article_delay=0.2) as site:
        slugs = list(ARTICLES)  # the third is in a news sitemap only, the fourth in the RSS feed only
        announced_only = {site.url(f"/{slugs[2]}"), site.url(f"/{slugs[3]}")}
        crawler = Crawler(NewsSpider, crawler_settings(db, settings))
        def stop() -> None:  # as Ctrl-C does, once an article only a sitemap or feed names waits
            waiting = {url for entries in crawler.spider.frontier.lines.values() for _, url, _ in entries}
            if waiting & announced_only and not stopping:
                stopping.append(asyncio.ensure_future(crawler.stop_async()))

        stopping: list[asyncio.Future] = []
        for signal in (signals.request_scheduled, signals.request_reached_downloader, signals.response_received):
            crawler.signals.connect(stop, signal=signal)
        await crawler.crawl_async(url=site.url("/"), delay="0")
        assert stopping, "the crawl ended before an article named only by a sitemap or feed waited"
        first = len(site.log)
        await run_spider(NewsSpider, db, settings, url=site.url("/"), delay="0")
        resumed = site.paths(first)
    stored = {row["url"] for row in Database(db)["articles"].rows}
    assert stored == {site.url(f"/{slug}") for slug in ARTICLES}
    sitemaps = {path for path in site.paths() if path.startswith("/sitemap")}
    assert not {path for path in site.paths()[:first] if path in sitemaps} & set(resumed)
