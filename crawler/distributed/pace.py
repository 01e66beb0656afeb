"""Each site's pace kept in Redis, so ``delay``, ``concurrency`` and Retry-After hold across all workers.

A worker's :class:`SharedPaceMiddleware` (downloader middleware 990: the last before the download,
so nothing delays a request after it got its turn) asks Redis for each request's turn with one
Lua script, run atomically on Redis's own clock (``TIME``: the machines' clocks do not matter):

- ``pace(site)``: the Redis time (microseconds since the epoch) before which no worker may send
  the site's next request. A turn sets it to now + ``delay``; a 429/503 pushes it to now + the
  wait BackoffMiddleware chose (:func:`hold_site`). It expires once passed.
- ``slots(site)``: the site's requests under way, a sorted set of lease token -> lease expiry.
  A turn adds a lease (``DOWNLOAD_TIMEOUT`` + :data:`LEASE_MARGIN` seconds); the response or
  the error removes it. A lease names its worker: once that worker's beat has run out (killed,
  see :mod:`.scheduler`), the next turn asked for drops it; a lease of no worker runs out by itself.

A request's site is its ``download_slot`` meta when that names a site of ``DOWNLOAD_SLOTS``,
else the spider's ``site_for_url``; a request of no site (another host's robots.txt, a
redirect off-site) is paced by its host with ``DOWNLOAD_DELAY`` and
``CONCURRENT_REQUESTS_PER_DOMAIN``.

The local download slots must not wait on top of Redis (a turn taken, then waited out locally,
would reach the site closer to the next worker's): :func:`hand_over_pace`, run by the worker
add-on, moves the delays to ``PACE_SLOTS`` and ``PACE_DOWNLOAD_DELAY`` (read here only) and
sets the local ones, and their jitter, to 0.

Stats: ``pace/waited`` (requests that waited for their turn), ``pace/wait_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.httpobj import urlparse_cached

from crawler.distributed.connection import Keys, connect, is_worker
from crawler.distributed.connection import shared_scheduler

if TYPE_CHECKING:
    import redis
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

# A lease outlives the longest download (DOWNLOAD_TIMEOUT) by this much before Redis forgets it:
# long enough for a live worker's response to come back, short enough for a killed worker's.
LEASE_MARGIN = 10.0
# With the site's concurrency taken, how often to ask again (a release by this worker wakes the
# waiter at once; one by another worker is seen at the next ask).
POLL_SECONDS = 0.05
# The request meta key holding the turn's (site, lease token) until the response or the error.
META_KEY = "pace_lease"

# Times in integer microseconds: exact in a Lua number (a double) and in a Redis reply (an
# integer), where seconds as a float would be cut to an integer or to 14 digits.
# KEYS: pace, slots, workers. ARGV: delay, concurrency, lease (microseconds), token ("<worker>|<id>",
# or an id alone outside a shared scheduler), poll (microseconds).
# Returns {wait, now}: wait 0 when the turn is granted (and reserved), else how long to wait.
TURN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local delay, concurrency = tonumber(ARGV[1]), tonumber(ARGV[2])
local lease, poll = tonumber(ARGV[3]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now))
-- A lease of a worker whose beat ran out (killed) is dropped at once, not when it expires.
for _, token in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local sep = string.find(token, '|', 1, true)
  if sep then
    local beat = redis.call('ZSCORE', KEYS[3], string.sub(token, 1, sep - 1))
    if not beat or tonumber(beat) * 1000000 < now then redis.call('ZREM', KEYS[2], token) end
  end
end
local wait = 0
local pace = tonumber(redis.call('GET', KEYS[1]) or '0')
if pace > now then wait = pace - now end
if redis.call('ZCARD', KEYS[2]) >= concurrency then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  wait = math.max(wait, math.min(tonumber(first[2]) - now, poll), 1)
end
if wait > 0 then return {string.format('%.0f', wait), string.format('%.0f', now)} end
if delay > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', now + delay), 'PX', string.format('%.0f', delay / 1000 + 1000))
end
redis.call('ZADD', KEYS[2], string.format('%.0f', now + lease), ARGV[4])
redis.call('PEXPIRE', KEYS[2], string.format('%.0f', lease / 1000 + 1000))
return {'0', string.format('%.0f', now)}
"""

# KEYS: pace. ARGV: wait (microseconds). The pace goes to max(itself, now + wait); returns it.
HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local pace = tonumber(redis.call('GET', KEYS[1]) or '0')
if pace >= until_ then return string.format('%.0f', pace) end
redis.call('SET', KEYS[1], string.format('%.0f', until_), 'PX', string.format('%.0f', (until_ - now) / 1000 + 1000))
return string.format('%.0f', until_)
"""


def _micro(seconds: float) -> int:
    return int(round(seconds * 1_000_000))


def _force(settings: Any, name: str, value: Any) -> None:
    """Set ``name`` above whatever set it (a ``-s`` option too): the worker's values must hold."""
    settings.set(name, value, priority=max(settings.getpriority(name) or 0, SETTINGS_PRIORITIES["spider"]))


def hand_over_pace(settings: Any) -> None:
    """In a worker: keep ``DOWNLOAD_SLOTS`` and ``DOWNLOAD_DELAY`` as ``PACE_SLOTS`` and
    ``PACE_DOWNLOAD_DELAY`` for :class:`SharedPaceMiddleware`, and set the local delays and jitter to 0.

    Called by the add-on (:mod:`.addon`), which runs after the news spider's ``from_crawler``
    has given each site its download slot.
    """
    if settings.get("PACE_SLOTS") is not None:  # handed over already: the local delays are 0 by now
        return
    slots = settings.getdict("DOWNLOAD_SLOTS")
    _force(settings, "PACE_SLOTS", slots)
    _force(settings, "PACE_DOWNLOAD_DELAY", settings.getfloat("DOWNLOAD_DELAY"))
    _force(settings, "DOWNLOAD_SLOTS", {name: {**slot, "delay": 0.0, "jitter": 0.0} for name, slot in slots.items()})
    _force(settings, "DOWNLOAD_DELAY", 0.0)
    _force(settings, "DOWNLOAD_DELAY_JITTER", 0.0)


class SharedPaceMiddleware:
    """Each request waits for its site's turn in Redis. Settings: ``REDIS_URL``, ``REDIS_PREFIX``,
    ``PACE_SLOTS`` (else ``DOWNLOAD_SLOTS``), ``PACE_DOWNLOAD_DELAY`` (else ``DOWNLOAD_DELAY``),
    ``CONCURRENT_REQUESTS_PER_DOMAIN``, ``DOWNLOAD_TIMEOUT``.

    Redis is called with redis-py's blocking client from the engine's thread: one round trip per
    ask (about 0.1 ms on loopback, under a millisecond on a LAN), as scrapy-redis's scheduler does
    for every request anyway. The hook BackoffMiddleware calls is then synchronous too, so the pace
    is pushed back before the retry is even scheduled; and only one request per site and worker
    asks at a time (the others queue behind it locally), so a busy site costs Redis one ask per
    worker and turn, not one per waiting request.
    """

    def __init__(self, crawler: Crawler, server: redis.Redis, keys: Keys, slots: dict[str, dict[str, Any]],
                 default_delay: float, default_concurrency: int, lease: float) -> None:
        self.crawler = crawler
        self.server = server
        self.keys = keys
        self.slots = slots  # site -> {"delay", "concurrency"}
        self.default_delay = default_delay  # of a request of no site, by its host
        self.default_concurrency = default_concurrency
        self.lease = lease  # seconds
        self.turn = server.register_script(TURN)
        self.hold = server.register_script(HOLD)
        self.asking: dict[str, asyncio.Lock] = {}  # per site: one request asks Redis at a time
        self.released: dict[str, asyncio.Event] = {}  # per site: wakes the asking one at a release
        self.held: dict[str, str] = {}  # lease token -> site, released at the close too

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedPaceMiddleware:
        if not is_worker(crawler):
            raise NotConfigured("not a worker of a distributed crawl (REDIS_URL is not set)")
        settings = crawler.settings
        delay = settings.get("PACE_DOWNLOAD_DELAY")
        middleware = cls(
            crawler, connect(settings), Keys.from_settings(settings),
            slots=settings.getdict("PACE_SLOTS") or settings.getdict("DOWNLOAD_SLOTS"),
            default_delay=float(delay if delay is not None else settings.getfloat("DOWNLOAD_DELAY")),
            default_concurrency=settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
            lease=settings.getfloat("DOWNLOAD_TIMEOUT") + LEASE_MARGIN,
        )
        crawler.signals.connect(middleware.close, signal=signals.spider_closed)
        _middlewares[crawler] = middleware
        return middleware

    # --- which site, at what pace -------------------------------------------------------
    def site_of(self, request: Request) -> tuple[str, float, int]:
        """(site or host, delay, concurrency) of a request."""
        name = request.meta.get("download_slot")
        if name not in self.slots:
            site = None
            spider = self.crawler.spider
            if spider is not None and hasattr(spider, "site_for_url"):
                site = spider.site_for_url(request.url)
            if site is not None:
                name = site.name
                if name not in self.slots:  # a site without a slot (DOWNLOAD_SLOTS set by hand)
                    return name, float(site.delay), int(site.concurrency)
            else:
                return urlparse_cached(request).hostname or "", self.default_delay, self.default_concurrency
        slot = self.slots[name]
        return (name, float(slot.get("delay", self.default_delay)),
                int(slot.get("concurrency", self.default_concurrency)))

    # --- turns ------------------------------------------------------------------------
    def ask(self, site: str, delay: float, concurrency: int, token: str) -> tuple[float, int]:
        """One atomic ask: (seconds to wait, Redis time in microseconds); 0 means the turn is taken,
        with the lease ``token`` held in the site's slots."""
        wait, now = self.turn(keys=[self.keys.pace(site), self.keys.slots(site), self.keys.workers],
                              args=[_micro(delay), max(1, concurrency), _micro(self.lease), token,
                                    _micro(POLL_SECONDS)])
        return int(wait) / 1_000_000, int(now)

    async def take_turn(self, site: str, delay: float, concurrency: int) -> tuple[str, int]:
        """Wait for the site's turn; (lease token, Redis time of the turn in microseconds)."""
        # The worker's name in the token: its leases go as soon as its beat runs out (see TURN).
        scheduler = shared_scheduler(self.crawler)
        worker = scheduler.worker if scheduler is not None else ""
        token = f"{worker}|{uuid.uuid4().hex}" if worker else uuid.uuid4().hex
        lock = self.asking.setdefault(site, asyncio.Lock())
        started, waited = time.monotonic(), lock.locked()
        async with lock:
            while True:
                wait, now = self.ask(site, delay, concurrency, token)
                if not wait:
                    break
                waited = True
                released = self.released.setdefault(site, asyncio.Event())
                released.clear()
                try:
                    await asyncio.wait_for(released.wait(), wait)
                except asyncio.TimeoutError:
                    pass
        self.held[token] = site
        if waited:
            seconds = time.monotonic() - started
            self.crawler.stats.inc_value("pace/waited")
            self.crawler.stats.inc_value("pace/wait_seconds", seconds)
            logger.debug("Waited %.3fs for a turn of %s", seconds, site)
        return token, now

    def release(self, token: str) -> None:
        """Give back a lease (a response or an error came): the site's next request may go."""
        site = self.held.pop(token, None)
        if site is None:
            return
        self.server.zrem(self.keys.slots(site), token)
        if site in self.released:
            self.released[site].set()

    def hold_site(self, request: Request, seconds: float) -> float:
        """No worker sends the request's site anything for ``seconds`` from now (Redis time),
        unless it waits longer already; the Redis time (seconds) the site is held until."""
        site = self.site_of(request)[0]
        until = int(self.hold(keys=[self.keys.pace(site)], args=[_micro(seconds)])) / 1_000_000
        logger.debug("Pace of %s held for %.1fs by all workers (%s)", site, seconds, request.url)
        return until

    # --- the middleware -------------------------------------------------------------------
    async def process_request(self, request: Request) -> None:
        stale = request.meta.pop(META_KEY, None)  # a request sent again with its meta: its old lease is done
        if stale is not None:
            self.release(stale)
        site, delay, concurrency = self.site_of(request)
        token, now = await self.take_turn(site, delay, concurrency)
        request.meta[META_KEY] = token
        logger.debug("Turn of %s at %.6f (Redis time): %s", site, now / 1_000_000, request.url)

    def process_response(self, request: Request, response: Response) -> Response:
        token = request.meta.pop(META_KEY, None)
        if token is not None:
            self.release(token)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        token = request.meta.pop(META_KEY, None)
        if token is not None:
            self.release(token)

    def close(self) -> None:
        """Give back the leases still held: a stopped worker does not hold its sites up."""
        for token in list(self.held):
            self.release(token)


# Each crawler's middleware, for hold_site (BackoffMiddleware does not hold it).
_middlewares: weakref.WeakKeyDictionary[Crawler, SharedPaceMiddleware] = weakref.WeakKeyDictionary()


def hold_site(crawler: Crawler, request: Request, seconds: float) -> None:
    """For BackoffMiddleware in a worker: every worker waits ``seconds`` before the request's site."""
    middleware = _middlewares.get(crawler)
    if middleware is None:
        raise RuntimeError("a worker without SharedPaceMiddleware: the add-on adds it (crawler.distributed.addon)")
    middleware.hold_site(request, seconds)
