"""The news spider: every configured site, one of them, or any site from its home page.

    scrapy crawl news                      # every site of SITES_FILE
    scrapy crawl news -a site=qdnd.vn      # one of them
    scrapy crawl news -a url=https://x.vn/ # a site that is not configured: discovery alone
    scrapy crawl news -a since=2          # only articles of the last 2 days (or since=2026-03-01)

Any field of the sites file can be overridden for the run with ``-a FIELD=VALUE``
(``-a max_pages=50 -a delay=0``). Discovery: robots.txt sitemaps (indexes,
gzip, Google News), RSS/Atom feeds (configured or announced by the home page),
and listing pages with their pagination. Each page is handed to the worker
pool (:func:`pipelines.page.process_page`), which says what it is: an article
comes back as a finished record, which the spider yields to the writer; a
listing comes back as its links, which the spider follows by its rules.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import scrapy
import yaml
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import sitemap_urls_from_robots
from twisted.python.failure import Failure

from crawler.discovery import Entry, is_feed, parse_feed, parse_since, parse_sitemap
from crawler.distributed.archive import SharedArchive
from crawler.distributed.connection import Keys, connect, is_worker, redis_url, shared_scheduler
from crawler.failures import fetch_reason, max_size
from crawler.frontier import Frontier
from crawler.ledger import RunLedger, SharedLedger
from crawler.middlewares import validators
from crawler.schedule.sitelock import SiteLock, site_lock_path, state_dir
from crawler.signals import fetch_validated, inc_stat, request_finished
from crawler.sites import Site, SitesError, check_field, load_sites, site_fields
from crawler.spiders.base import ArchiveSpider
from crawler.urls import clean_url, host, is_asset, same_site, url_says_article, url_shape
from pipelines.compression import TRUNCATED
from pipelines.page import Fetched
from pipelines.pageinfo import Links

logger = logging.getLogger(__name__)

# Content types that say nothing about the body: a page Scrapy finds HTML in is taken as HTML.
GENERIC_TYPES = (b"application/octet-stream", b"binary/octet-stream", b"application/unknown",
                 b"application/x-unknown")
# Links to the next page of a listing: followed at the same depth, bounded per URL shape.
PAGINATION = re.compile(r"[?&](page|trang|p|pg)=\d+|/(page|trang|p)[-/]?\d+(\.html?)?/?$", re.IGNORECASE)


def _arg_value(value: Any) -> Any:
    """An ``-a FIELD=VALUE`` value read as YAML (``-a max_pages=50`` is a number, ``-a feeds=[a, b]`` a list);
    one that is not valid YAML (``-a allow=[0-9``, a regular expression) stays the text given, for the
    field's own check to judge: PyYAML's error is no ValueError and ended the command in a traceback."""
    if not isinstance(value, str):
        return value
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


class NewsSpider(ArchiveSpider):
    """Arguments: ``site``, ``url``, ``since`` and any site field.

    Settings: ``SITES_FILE``, ``NEWS_PATTERN_LIMIT``, ``NEWS_MIN_ARTICLE_CHARS``.
    Stats (also per site, suffixed ``/<site>``): ``news/pages``, ``news/known``,
    ``news/too_old``, ``news/robots_skipped``, ``news/http_errors``, ``news/over_budget``,
    ``news/locked_out`` (sites skipped: another process is crawling them).
    """

    name = "news"
    command = "crawl news"
    # With REDIS_URL set, one worker of a distributed crawl (crawler/distributed/).
    redis_role = "worker"

    def __init__(self, site: str | None = None, url: str | None = None, since: str | None = None,
                 **kwargs: Any) -> None:
        self.overrides = {key: kwargs.pop(key) for key in list(kwargs) if key in site_fields()}
        super().__init__(**kwargs)
        self.site_arg, self.url_arg, self.since_arg = site, url, since
        self.sites: list[Site] = []
        # Set by lock_sites in a crawl started by hand: the locks held (by site), the sites skipped.
        self.locks: dict[str, SiteLock] = {}
        self.locked_out: list[str] = []
        self._ledger: RunLedger | None = None
        self.site_since: dict[str, datetime | None] = {}

    @classmethod
    def check_arguments(cls, settings: Any, **spider_args: Any) -> None:
        """Raise SitesError/ValueError for a bad sites file, bad ``-a`` values or a ``REDIS_URL`` out of
        reach, before any crawl starts."""
        # Scrapy makes any -a NAME=VALUE a spider attribute: a misspelt field (-a max_page=5) was
        # ignored without a word, and the crawl ran with the sites file's value.
        unknown = sorted(set(spider_args) - {"site", "url", "since"} - site_fields())
        if unknown:
            raise SitesError(
                f"spider arguments (-a): unknown argument {unknown[0]!r}; use site, url, since or a field of "
                f"the sites file: {', '.join(sorted(site_fields() - {'name', 'home'}))}"
            )
        spider = cls(**spider_args)
        spider.select_sites(settings.get("SITES_FILE"))
        try:
            parse_since(spider.since_arg)
        except ValueError as exc:
            raise ValueError(f"spider arguments (-a), {exc}") from None
        if redis_url(settings):  # a worker of a distributed crawl: its Redis must be there first
            connect(settings).close()

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider: NewsSpider = super().from_crawler(crawler, *args, **kwargs)
        try:
            spider._configure(crawler)
        except BaseException:
            spider.extractor.close()  # its workers started with the spider
            raise
        return spider

    def _configure(self, crawler: Any) -> None:
        """The sites, ``since``, site locks, download slots and frontier of this crawl."""
        try:
            self.sites = self.select_sites(crawler.settings.get("SITES_FILE"))
            self.since = parse_since(self.since_arg)
        except (SitesError, ValueError) as exc:
            logger.critical("%s", exc)
            raise
        if is_worker(crawler):  # many workers crawl the same sites: Redis shares the run, not a lock
            keys = Keys.from_settings(crawler.settings).for_scope(self.scope)
            self._ledger = SharedLedger(connect(crawler.settings), keys)
        elif not crawler.settings.getint("CRAWL_RUN_ID"):  # by hand: the scheduler's crawls hold their locks
            self.sites = self.lock_sites(state_dir(crawler.settings))
        self.extractor.use_sites(self.sites)  # this run's sites, with their -a overrides
        # Settings are frozen after from_crawler: give each site its download slot.
        slots = dict(crawler.settings.getdict("DOWNLOAD_SLOTS"))
        for site in self.sites:
            slots.setdefault(site.name, {"concurrency": site.concurrency, "delay": site.delay})
        crawler.settings.set("DOWNLOAD_SLOTS", slots, priority="spider")
        # Scrapy's HTTP/1.1 pool keeps CONCURRENT_REQUESTS_PER_DOMAIN connections to a host alive:
        # fewer than a site's concurrency, and every request beyond them opens and closes a connection.
        widest = max((slot.get("concurrency", 0) for slot in slots.values()), default=0)
        if widest > crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"):
            crawler.settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", widest, priority="spider")
        self.pattern_limit = crawler.settings.getint("NEWS_PATTERN_LIMIT", 30)
        self.frontier = Frontier(crawler, self.article_request, crawler.settings.getint("NEWS_SCHEDULER_MAX"))

    @property
    def scope(self) -> str:
        """What this crawl was asked for: ``all`` sites, or the names of its sites. Workers of a
        distributed crawl with the same scope share one run (crawler/distributed/connection.py)."""
        if not (self.site_arg or self.url_arg):
            return "all"
        return "+".join(sorted(site.name for site in self.sites)) or "none"

    def lock_sites(self, folder: Path) -> list[Site]:
        """The sites no other process is crawling, each locked until this crawl ends."""
        free = []
        for site in self.sites:
            lock = SiteLock(site_lock_path(folder, site.name))
            if lock.acquire():
                self.locks[site.name] = lock
                free.append(site)
            else:
                logger.warning("Site %s is being crawled by another process (%s): skipped", site.name, lock.path)
                self.locked_out.append(site.name)
        return free

    def select_sites(self, sites_file: str) -> list[Site]:
        """The sites of this run, with the ``-a FIELD=VALUE`` overrides applied."""
        where = "spider arguments (-a)"
        overrides = {k: check_field(k, _arg_value(v), where) for k, v in self.overrides.items()}
        if self.url_arg:
            home = check_field("home", self.url_arg, where)
            configured = next((s for s in load_sites(sites_file) if same_site(home, s.domain)), None)
            if configured and not self.site_arg:
                # A configured site's politeness, URL rules and cleanup still apply; the crawl
                # starts from this URL alone, not from the site's feeds, sitemaps and categories.
                logger.info("%s is on the configured site %s: its settings apply", home, configured.name)
                start = {"home": home, "feeds": [], "sitemaps": [], "categories": []}
                return [Site(**{**vars(configured), **start, **overrides})]
            name = check_field("name", self.site_arg or host(home) or "site", where)
            return [Site(name=name, home=home, **overrides)]
        sites = load_sites(sites_file)
        if self.site_arg:
            sites = [s for s in sites if s.name == self.site_arg]
            if not sites:
                names = ", ".join(s.name for s in load_sites(sites_file))
                raise SitesError(f"{sites_file}: no site named {self.site_arg!r}; the sites are: {names}")
        return [Site(**{**vars(s), **overrides}) for s in sites]

    # --- state kept across a JOBDIR resume ----------------------------------------

    def _state(self, name: str) -> dict[str, Any]:
        """A dict of the run's state, in ``self.state`` (kept in JOBDIR at a clean stop) when JOBDIR is set."""
        state = getattr(self, "state", None)
        if state is None:
            state = self.__dict__.setdefault("_run_state", {})
        return state.setdefault(name, {})

    @property
    def ledger(self) -> RunLedger:
        """What this run requested, and its budgets: in the run's state, or in Redis for all workers."""
        if self._ledger is None:
            self._ledger = RunLedger(self._state("news_counters"))
        return self._ledger

    def remember(self, response: Response) -> None:
        """Hand a feed's or sitemap's validators to the writer, which keeps them if the run finishes."""
        if found := validators(response):
            etag, modified = found
            self.crawler.signals.send_catch_log(
                fetch_validated, url=response.url, etag=etag, last_modified=modified, status=response.status
            )

    def closed(self, reason: str) -> None:
        # The URLs still waiting go into the state, which Scrapy keeps in JOBDIR (this runs before
        # it saves it): a resumed run does not read its sitemaps again, having requested them.
        self._state("news_frontier").update(
            {name: [(url, published) for _, url, published in entries] for name, entries in self.frontier.waiting().items()})
        for lock in self.locks.values():
            lock.release()

    def site_for_url(self, url: str) -> Site | None:
        return next((s for s in self.sites if same_site(url, s.domain)), None)

    def _site(self, response: Response) -> Site:
        return next(s for s in self.sites if s.name == response.meta["news_site"])

    # --- requests ------------------------------------------------------------------

    def _request(self, site: Site, url: str, kind: str, callback: Any, depth: int = 0,
                 **meta: Any) -> scrapy.Request | None:
        """A request for a URL not yet requested in this run, within the site's ``max_pages``; or None.

        The spider remembers what it requested in its state (kept in JOBDIR at a clean
        stop), and Scrapy's duplicate filter is for one run only (``RunDupeFilter``):
        after a kill, the resumed run reads the entry points again and fetches
        whatever is not in the database yet.
        """
        ledger, key = self.ledger, clean_url(url)
        if ledger.requested(key):
            return None
        if not ledger.take(site.name, site.max_pages):
            inc_stat(self.crawler, "news/over_budget", site.name)
            return None
        if not ledger.claim(key):  # another worker asked for it meanwhile
            return None
        return self._make_request(site, url, kind, callback, depth, **meta)

    def _make_request(self, site: Site, url: str, kind: str, callback: Any, depth: int = 0,
                      **meta: Any) -> scrapy.Request:
        """The request for a URL the ledger has granted (see :meth:`_request`)."""
        meta.update(news_site=site.name, news_kind=kind, news_depth=depth, download_slot=site.name)
        if kind in ("feed", "sitemap"):  # re-polled every run: ask only for what changed
            meta.update(conditional=True, handle_httpstatus_list=[304])
        elif kind in ("article", "listing"):  # read by the workers alone: passed on compressed (GzipPageMiddleware)
            meta.update(pass_gzip=True)
        # An article request is new to this run (see requested()); dont_filter lets a redirect
        # to an article requested already through, so the redirecting URL is kept as an alias.
        return scrapy.Request(url, callback=callback, errback=self._errback, meta=meta,
                              dont_filter=kind == "article",
                              priority={"article": 10, "feed": 20, "sitemap": 20}.get(kind, 0))

    def requested(self, url: str) -> bool:
        """Whether this run asked for ``url`` already (one key per URL: thousands, not the archive)."""
        return self.ledger.requested(clean_url(url))

    async def start(self) -> AsyncIterator[Any]:
        if (scheduler := shared_scheduler(self.crawler)) is not None:  # a worker: the run's first worker seeds it
            if scheduler.seeder:
                async for request in self.entry_requests():
                    yield request
                scheduler.seeded()
            return
        async for request in self.entry_requests():
            yield request

    async def entry_requests(self) -> AsyncIterator[Any]:
        """Each site's home, robots.txt, feeds, sitemaps and categories (and a resumed run's waiting URLs)."""
        if self.locked_out:
            self.crawler.stats.set_value("news/locked_out", len(self.locked_out))
        waiting = self._state("news_frontier")  # left by the run this one resumes (JOBDIR)
        for site in self.sites:
            for url, published in waiting.pop(site.name, []):
                self.frontier.add(site.name, site, url, published)
        for site in self.sites:
            logger.info("Crawling %s from %s", site.name, site.home)
            robots = site.home.split("/", 3)[:3]
            first = [
                (site.home, "home", self.parse_page),
                ("/".join(robots) + "/robots.txt", "robots", self.parse_robots),
                *((url, "feed", self.parse_feed) for url in site.feeds),
                *((url, "sitemap", self.parse_sitemap) for url in site.sitemaps),
                *((url, "listing", self.parse_page) for url in site.categories),
            ]
            for url, kind, callback in first:
                request = self._request(site, url, kind, callback)
                if request:
                    yield request

    def article_url(self, site: Site, link: str, published: datetime | None) -> str | None:
        """The clean URL of a link that may be an article of ``site``, unless off-site, an asset,
        denied or too old (counted)."""
        url = clean_url(link)
        if not same_site(url, site.domain) or is_asset(url) or any(re.search(p, url) for p in site.deny):
            return None
        since = self.since_for(site)
        if since and published and published < since:
            inc_stat(self.crawler, "news/too_old", site.name)
            return None
        return url

    def queue_articles(self, site: Site, links: list[tuple[str, datetime | None]]) -> None:
        """:meth:`article_request` for many links at once, for a worker: a sitemap's 50,000 URLs cost a
        few round trips to Redis a thousand URLs (requested? stored? budget), not five each; each
        granted URL is claimed and its request queued in Redis in one step (see queue_claimed)."""
        ledger, archive, scheduler = self.ledger, self.archive, shared_scheduler(self.crawler)
        assert isinstance(ledger, SharedLedger) and isinstance(archive, SharedArchive) and scheduler is not None
        for start in range(0, len(links), 1000):
            candidates: dict[str, str] = {}  # url -> the link as found
            for link, published in links[start:start + 1000]:
                if (url := self.article_url(site, link, published)) is not None:
                    candidates.setdefault(url, link)
            fresh = ledger.not_requested(list(candidates))
            known = archive.known_urls([*fresh, *(candidates[url] for url in fresh if candidates[url] != url)])
            wanted = []
            for url in fresh:
                if url in known or candidates[url] in known:
                    inc_stat(self.crawler, "news/known", site.name)
                else:
                    wanted.append(url)
            granted = ledger.take_up_to(site.name, site.max_pages, len(wanted))
            for _ in wanted[granted:]:
                inc_stat(self.crawler, "news/over_budget", site.name)
            scheduler.queue_claimed([
                (url, self._make_request(site, url, "article", self.parse_page, 0, news_links=[candidates[url]]))
                for url in wanted[:granted]
            ])

    def article_request(self, site: Site, link: str, published: datetime | None = None,
                        depth: int = 0) -> scrapy.Request | None:
        """A request for a URL that may be an article, unless stored already, too old or denied."""
        url = self.article_url(site, link, published)
        if url is None:
            return None
        if self.ledger.requested(url) or self.known_article(site, url, link):  # url: clean already
            return None
        return self._request(site, url, "article", self.parse_page, depth, news_links=[link])

    def known_article(self, site: Site, url: str, link: str) -> bool:
        """Whether the link (as found, or cleaned to ``url``) led to a stored article: then it is an
        article, whatever its URL looks like, and is not fetched again (one indexed lookup each)."""
        archive = self.archive
        if archive.knows_url(url) or (link != url and archive.knows_url(link)):
            inc_stat(self.crawler, "news/known", site.name)
            return True
        return False

    def since_for(self, site: Site) -> datetime | None:
        """The run's ``since``, else the site's ``since_days`` counted back from the first call."""
        if self.since is not None:
            return self.since
        if site.name not in self.site_since:  # asked for each URL of a sitemap: worked out once
            self.site_since[site.name] = parse_since(site.since_days) if site.since_days else None
        return self.site_since[site.name]

    # --- callbacks -----------------------------------------------------------------

    def _fetched(self, response: Response) -> bool:
        """Count the page; False for a 304 (nothing changed since the last run)."""
        site = response.meta["news_site"]
        inc_stat(self.crawler, "news/pages", site)
        if response.status == 304:
            inc_stat(self.crawler, "news/not_modified", site)
            logger.debug("Not modified: %s", response.url)
            return False
        return True

    def parse_robots(self, response: Response) -> Iterator[Any]:
        if not self._fetched(response):
            return
        site = self._site(response)
        for url in sitemap_urls_from_robots(response.body, base_url=response.url):
            if same_site(url, site.domain) and url not in site.sitemaps:
                if request := self._request(site, url, "sitemap", self.parse_sitemap):
                    yield request

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        if not self._fetched(response):
            return
        site = self._site(response)
        body = response.body
        if body[:2] == b"\x1f\x8b":  # a .xml.gz file, not a gzip transfer encoding
            body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
        entries = parse_sitemap(body, response.url) or parse_feed(body, response.url)
        yield from self._entries(site, entries)
        # An index is read in full every run: its children change while it stays the same.
        if not any(entry.is_sitemap for entry in entries):
            self.remember(response)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        if not self._fetched(response):
            return
        yield from self._entries(self._site(response), parse_feed(response.body, response.url))
        self.remember(response)

    def _entries(self, site: Site, entries: list[Entry]) -> Iterator[Any]:
        since = self.since_for(site)
        articles: list[tuple[str, datetime | None]] = []
        for entry in entries:
            if entry.is_sitemap:
                if since and entry.published and entry.published < since:
                    inc_stat(self.crawler, "news/too_old", site.name)
                elif same_site(entry.url, site.domain):
                    if request := self._request(site, entry.url, "sitemap", self.parse_sitemap):
                        yield request
            elif isinstance(self.ledger, SharedLedger):  # a worker: to Redis's queue now, a thousand at a time
                articles.append((entry.url, entry.published))
            else:  # on one machine: the URL waits in the frontier until the scheduler has room
                self.frontier.add(site.name, site, entry.url, entry.published)
        if articles:
            self.queue_articles(site, articles)

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        """A home, listing or article page: the workers say which; an item for an article, links for a listing."""
        if not self._fetched(response):
            return
        site = self._site(response)
        meta = response.meta
        if meta["news_kind"] == "home" and is_feed(response.body):  # -a url= given a feed
            for request in self._entries(site, parse_feed(response.body, response.url)):
                yield request
            return
        if meta["news_kind"] == "article" and not same_site(response.url, site.domain):
            # A redirect to another site: its page is not this site's article (it was stored under
            # this site's name before). The URL that redirected is what is lost: a failure row.
            self.report_failure(meta.get("redirect_urls", [response.url])[0], "fetch",
                                f"redirected to another site ({response.url}): not stored as {site.name}'s", site.name)
            return
        content_type = response.headers.get("Content-Type")
        generic = bool(content_type) and content_type.split(b";")[0].strip().lower() in GENERIC_TYPES
        if isinstance(response, HtmlResponse) and generic:
            # "Some bytes" from a misconfigured server, and Scrapy found HTML in them (by the URL's
            # .html or the body): an article page, which was silently dropped as "not HTML" before.
            # Its charset is the page's own (<meta charset>) then.
            inc_stat(self.crawler, "news/sniffed_html", site.name)
            content_type = None
        elif not isinstance(response, TextResponse) or b"html" not in (content_type or b"html"):  # a PDF...
            inc_stat(self.crawler, "news/not_html", site.name)
            return
        # A listing link can still lead to an article that says so (og:type, JSON-LD).
        says_article = meta["news_kind"] == "article" and url_says_article(clean_url(response.url), site.allow)
        result = await self.extractor.page(Fetched(
            response.url, response.body, content_type.decode("latin-1") if content_type else None,
            kind="listing" if meta["news_kind"] == "home" else None,
            url_says_article=says_article, domain=site.domain, gzipped=meta.get("body_gzipped", False),
            max_size=max_size(meta, self.settings),
        ))
        if result.kind == "failed" and (result.reason or "").startswith(TRUNCATED):
            self.crawler.stats.inc_value("truncated/gzip")
        if result.kind == "article":
            inc_stat(self.crawler, "news/articles", site.name)
            seen = [*meta.get("news_links", []), *meta.get("redirect_urls", []), response.url]
            aliases = [u for u in dict.fromkeys(seen) if u != result.url]
            yield self.article_item(result, site=site.name, aliases=aliases, via="crawl")
        elif result.kind != "listing":
            self.not_an_article(result, result.url or response.url, site.name)
        else:
            if meta["news_kind"] == "home":
                for url in result.links.feeds:
                    if same_site(url, site.domain) and url not in site.feeds:
                        if request := self._request(site, url, "feed", self.parse_feed):
                            yield request
            for request in self.follow_links(site, result.links, meta["news_depth"]):
                yield request

    def follow_links(self, site: Site, links: Links, depth: int) -> Iterator[Any]:
        """Article candidates first; then listing links, and the next pages only when this page had news.

        A listing page whose article links are all stored already ends its pagination: older
        pages were read by earlier runs. That also stops paging traps without articles.
        """
        next_pages = set(links.next_pages)
        listings, fresh = [], 0
        for link in links.links:
            if not link.startswith(("http://", "https://")) or not same_site(link, site.domain) or is_asset(link):
                continue
            url = clean_url(link)
            if url_says_article(url, site.allow):
                if request := self.article_request(site, link, depth=depth + 1):
                    fresh += 1
                    yield request
            elif self.requested(url) or self.known_article(site, url, link):
                continue  # a stored article whose URL does not look like one: never a listing to re-read
            elif not any(re.search(p, url) for p in site.deny):
                listings.append((url, link in next_pages or bool(PAGINATION.search(url))))
        for url, paging in listings:
            if paging and not fresh:
                inc_stat(self.crawler, "news/paging_stopped", site.name)
            elif request := self.listing_request(site, url, depth if paging else depth + 1):
                yield request

    def listing_request(self, site: Site, url: str, depth: int) -> scrapy.Request | None:
        """A request for a listing page within ``max_depth`` and ``NEWS_PATTERN_LIMIT`` pages per URL shape."""
        if self.requested(url):
            return None
        if depth > site.max_depth:
            inc_stat(self.crawler, "news/too_deep", site.name)
            return None
        if not self.ledger.take(f"shape:{url_shape(url)}", self.pattern_limit):
            inc_stat(self.crawler, "news/trap_bounded", site.name)
            return None
        return self._request(site, url, "listing", self.parse_page, depth)

    # --- failures ------------------------------------------------------------------

    def failed(self, failure: Failure) -> None:
        """A request that got no usable page: counted per site, recorded in ``failures``, the crawl goes on."""
        request = failure.request  # type: ignore[attr-defined]
        site = request.meta.get("news_site")
        if failure.check(IgnoreRequest) and "robots.txt" in str(failure.value):
            inc_stat(self.crawler, "news/robots_skipped", site)
            return
        if request.meta.get("news_kind") == "robots":  # no robots.txt: no sitemaps from it, nothing wrong
            return
        if failure.check(HttpError):
            inc_stat(self.crawler, "news/pages", site)  # fetched, though not usable
        reason = fetch_reason(failure, self.settings)
        inc_stat(self.crawler, "news/http_errors", site)
        logger.debug("Failed %s: %s", request.url, reason)
        self.report_failure(request.url, "fetch", reason, site)

    def _errback(self, failure: Failure) -> None:
        """The errback of every request: :meth:`failed`, then the request is done (for a worker's scheduler)."""
        try:
            self.failed(failure)
        finally:
            self.crawler.signals.send_catch_log(request_finished, request=failure.request)  # type: ignore[attr-defined]

