"""Downloader middlewares and throttling of the news crawl.

- :class:`ConditionalGetMiddleware`: feeds and sitemaps are asked for with the
  ``ETag``/``Last-Modified`` of the last run (stored per URL in ``fetch_state``
  by the writer when a run finishes, see :func:`validators`).
- :class:`BackoffMiddleware`: a 429 or 503 slows the site down for the time its
  ``Retry-After`` asks (or an exponential default) and tries the page again.
- :class:`RobotsTxtMiddleware`: Scrapy's, with every request that waits for a robots.txt checked.
- :class:`SiteAutoThrottle`: AutoThrottle that never goes below a site's ``delay``.
- :class:`RunDupeFilter`: Scrapy's duplicate filter, for one run even with JOBDIR.
- :class:`MetaRefreshMiddleware`: Scrapy's meta-refresh redirects, without decoding whole pages.
- :class:`GzipPageMiddleware`: a page's gzip body goes to the workers as it came; one cut short is a
  failed fetch, not half an article.
"""

from __future__ import annotations

import codecs
import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefreshMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.dupefilters import RFPDupeFilter
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import HtmlResponse, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import get_meta_refresh as scrapy_meta_refresh
from twisted.internet.defer import Deferred
from w3lib import html

from crawler.distributed.archive import Archive, open_archive
from crawler.distributed.connection import is_worker
from crawler.distributed.pace import hold_site
from pipelines.compression import GzipTruncated, gunzip_head, gzip_complete
from pipelines.vietnamese.encoding import declared_encoding

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class ConditionalGetMiddleware:
    """For requests with ``meta["conditional"]``. Settings: ``CONDITIONAL_ENABLED``.

    Stats: ``conditional/sent``, ``conditional/not_modified``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.archive: Archive | None = None  # read-only, opened on first use; the writer writes

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalGetMiddleware:
        if not crawler.settings.getbool("CONDITIONAL_ENABLED", True):
            raise NotConfigured("CONDITIONAL_ENABLED is off")
        middleware = cls(crawler)
        crawler.signals.connect(middleware.close, signal=signals.spider_closed)
        return middleware

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()
            self.archive = None

    def process_request(self, request: Request) -> None:
        if not request.meta.get("conditional"):
            return
        if self.archive is None:
            self.archive = open_archive(self.crawler)
        state = self.archive.fetch_state(request.url)
        if not state:
            return
        if state["etag"]:
            request.headers.setdefault(b"If-None-Match", state["etag"])
        if state["last_modified"]:
            request.headers.setdefault(b"If-Modified-Since", state["last_modified"])
        self.crawler.stats.inc_value("conditional/sent")

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("conditional") and response.status == 304:
            self.crawler.stats.inc_value("conditional/not_modified")
        return response


def validators(response: Response) -> tuple[str | None, str | None] | None:
    """The ``ETag`` and ``Last-Modified`` of a response, for the next run's conditional GET; None without."""
    etag, modified = response.headers.get(b"ETag"), response.headers.get(b"Last-Modified")
    if not (etag or modified):
        return None
    return etag and etag.decode("latin-1"), modified and modified.decode("latin-1")


def retry_after_seconds(value: bytes | None, now: datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for: seconds, or an HTTP date; None when absent or invalid."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class BackoffMiddleware:
    """Settings: ``BACKOFF_ENABLED``, ``BACKOFF_TIMES``, ``BACKOFF_SECONDS``, ``BACKOFF_MAX_SECONDS``.

    Stats: ``backoff/retried``, ``backoff/gave_up``. The download slot's delay
    becomes the wait, so every request to the site slows down, not only this one;
    in a worker of a distributed crawl, the site's pace in Redis, so every worker's
    (:func:`crawler.distributed.pace.hold_site`).
    """

    CODES = (429, 503)

    def __init__(self, crawler: Crawler, times: int, seconds: float, max_seconds: float) -> None:
        self.crawler = crawler
        self.times = times
        self.seconds = seconds
        self.max_seconds = max_seconds

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffMiddleware:
        settings = crawler.settings
        if not settings.getbool("BACKOFF_ENABLED", True):
            raise NotConfigured("BACKOFF_ENABLED is off")
        return cls(crawler, settings.getint("BACKOFF_TIMES", 3), settings.getfloat("BACKOFF_SECONDS", 5.0),
                   settings.getfloat("BACKOFF_MAX_SECONDS", 300.0))

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in self.CODES:
            return response
        tries = request.meta.get("backoff_tries", 0)
        if tries >= self.times:
            self.crawler.stats.inc_value("backoff/gave_up")
            return response
        asked = retry_after_seconds(response.headers.get(b"Retry-After"))
        wait = min(self.max_seconds, asked if asked is not None else self.seconds * 2**tries)
        if is_worker(self.crawler):
            # The site's pace is in Redis, for every worker; a local slot delay would stay
            # (no AutoThrottle in a worker brings it down) and wait on top of Redis's turns.
            hold_site(self.crawler, request, wait)
        else:
            downloader = self.crawler.engine.downloader  # type: ignore[union-attr]
            slot = downloader.slots.get(downloader.get_slot_key(request))
            if slot is not None:
                slot.delay = max(slot.delay, wait)
                # Retry-After is the least the server asked for: Scrapy's randomized delay
                # (0.5x to 1.5x) would send the retry too early half of the time.
                slot.jitter = 0.0
        logger.info("HTTP %s from %s: waiting %.1fs before trying again", response.status, request.url, wait)
        self.crawler.stats.inc_value("backoff/retried")
        retry = request.replace(dont_filter=True)
        retry.meta["backoff_tries"] = tries + 1
        retry.priority -= 1
        return retry


# RFC 9309 (2.5): a crawler may stop reading robots.txt after a limit of at least 500 KiB (Google's).
ROBOTS_PARSE_LIMIT = 500 * 1024


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    """Scrapy's robots.txt check, with every request that waits for the robots.txt in flight checked,
    and the rules read from the first :data:`ROBOTS_PARSE_LIMIT` bytes only.

    Scrapy 2.19 has each waiting request await the pending Deferred through ``asFuture``, whose
    callback returns None: the first waiter gets the parser, every later one None, which means
    "no robots.txt, all allowed". A crawl resumed from JOBDIR sends many requests at once and
    fetched pages that robots.txt disallows. Here each waiter gets the parser and passes it on.
    """

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        # Parsing a 5 MB robots.txt held the reactor (and every download in flight) for half a second.
        if len(response.body) > ROBOTS_PARSE_LIMIT:
            head = response.body[:ROBOTS_PARSE_LIMIT]
            response = response.replace(body=head[:head.rfind(b"\n") + 1] or head)  # whole lines
            self._stats.inc_value("robotstxt/truncated")
            logger.warning("robots.txt of %s is over %d KiB: its rules are read from the first %d KiB only",
                           netloc, ROBOTS_PARSE_LIMIT // 1024, ROBOTS_PARSE_LIMIT // 1024)
        await super()._parse_robots(response, netloc, request)

    async def robot_parser(self, request: Request) -> Any:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)
        waiter: Deferred[Any] = Deferred()

        def relay(parser: Any) -> Any:
            waiter.callback(parser)
            return parser  # for the next request waiting

        pending.addCallback(relay)
        return await maybe_deferred_to_future(waiter)


class SiteAutoThrottle(AutoThrottle):
    """AutoThrottle that keeps each site's download slot at or above the site's own ``delay``.

    Settings: those of AutoThrottle (``AUTOTHROTTLE_*``) and ``DOWNLOAD_SLOTS``.
    """

    def _response_downloaded(self, response: Response, request: Request, spider: Any) -> None:
        super()._response_downloaded(response, request, spider)
        key, slot = self._get_slot(request, spider)
        if slot is not None:
            site_slot: dict[str, Any] = self.crawler.settings.getdict("DOWNLOAD_SLOTS").get(key, {})
            slot.delay = max(slot.delay, float(site_slot.get("delay", 0.0)))


class RunDupeFilter(RFPDupeFilter):
    """Scrapy's request duplicate filter, never written to JOBDIR.

    After a kill, JOBDIR's list of seen requests holds requests that were queued
    but never fetched; the news spider would then never ask for them again. The
    spider keeps its own list of requested URLs in its state instead (saved at a
    clean stop only), and the database says what is stored.
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunDupeFilter:
        return cls(None, crawler.settings.getbool("DUPEFILTER_DEBUG"), fingerprinter=crawler.request_fingerprinter)


class MetaRefreshMiddleware(ScrapyMetaRefreshMiddleware):
    """Scrapy's meta-refresh redirects, read from the head of the page only.

    Scrapy's reads ``response.text`` (the whole page decoded: a few hundred KB, cached
    on the response while it waits for a worker) to search its first 4,096 characters,
    and many news pages carry ``<meta http-equiv="refresh" content="1800">``. Here only
    the first 16 KB (4,096 characters in any encoding but UTF-16/32) are decoded: the
    engine process decodes no page. The redirect rules are Scrapy's.
    """

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if (
            request.meta.get("dont_redirect", False)
            or request.method == "HEAD"
            or not isinstance(response, HtmlResponse)
            or urlparse_cached(request).scheme not in {"http", "https"}
        ):
            return response
        interval, url = head_meta_refresh(response, self._ignore_tags, request.meta.get("body_gzipped", False))
        if not url:
            return response
        redirected = self._redirect_request_using_get(request, response, url)
        if urlparse_cached(redirected).scheme not in {"http", "https"}:
            return response
        if interval < self._maxdelay:
            return self._redirect(redirected, request, "meta refresh")
        return response


def head_meta_refresh(response: HtmlResponse, ignore_tags: list[str],
                      gzipped: bool = False) -> tuple[float, str | None]:
    """(interval, URL) of the page's meta refresh tag within its first 4,096 characters, else (0, None).
    ``gzipped``: the body is still compressed (passed on by :class:`GzipPageMiddleware`)."""
    head = gunzip_head(response.body, 16384) if gzipped else response.body[:16384]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not gzipped:  # UTF-16/32: as Scrapy does
        found = scrapy_meta_refresh(response, ignore_tags=ignore_tags)
        return (found[0] or 0.0, found[1])
    if b"refresh" not in head.lower():
        return 0.0, None
    encoding = declared_encoding(head, response.headers.get("Content-Type")) or "utf-8"
    text = head.decode(encoding, errors="replace")[:4096]
    interval, url = html.get_meta_refresh(text, html.get_base_url(text, response.url, encoding), encoding,
                                          ignore_tags=ignore_tags)
    return (interval or 0.0, url)


class TruncatedResponse(IgnoreRequest):
    """A response whose body is cut short; the message says how, for the ``failures`` row."""


class GzipPageMiddleware:
    """Pass a page's gzip body on to the workers as it came; refuse any gzip body cut short.

    - A page for the workers (``request.meta["pass_gzip"]``: article and listing pages, whose
      bodies the engine never reads) whose only ``Content-Encoding`` is gzip and whose type is
      HTML keeps its compressed body: the ``Content-Encoding`` header goes, ``meta["body_gzipped"]``
      says so, and Scrapy's decompression (``HttpCompressionMiddleware``, 590) leaves it alone. The
      worker decompresses it, refuses it when cut short or too large, and stores it as it came
      (:mod:`pipelines.compression`): the engine neither decompresses nor holds the whole page,
      and the worker does not compress it again (some 3 ms of CPU a page in all).
    - Any other gzip body (sitemaps, feeds, robots.txt) whose compressed data does not end raises
      :class:`TruncatedResponse`, which the spider records. Scrapy's decompression returns "as much
      data as possible" from a broken stream: a body cut halfway (a proxy or server dying
      mid-answer, the length header matching the cut) was stored as an article of half its text,
      with no failure anywhere. Stat: ``truncated/gzip`` (the workers' refusals count there too).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GzipPageMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        encodings = [value.strip().lower() for header in response.headers.getlist(b"Content-Encoding")
                     for value in header.split(b",") if value.strip()]
        if not encodings or encodings[-1] not in (b"gzip", b"x-gzip") or request.method == "HEAD" or not response.body:
            return response
        if request.meta.get("pass_gzip") and len(encodings) == 1 and isinstance(response, HtmlResponse):
            request.meta["body_gzipped"] = True
            headers = response.headers.copy()
            del headers[b"Content-Encoding"]
            return response.replace(headers=headers)
        if not gzip_complete(response.body):
            self.crawler.stats.inc_value("truncated/gzip")
            raise TruncatedResponse(str(GzipTruncated(len(response.body))))
        return response
