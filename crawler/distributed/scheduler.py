"""scrapy-redis's scheduler, with the requests a worker took held in Redis until they are done.

scrapy-redis pops a request from the shared queue and forgets it: a worker killed then loses
every request it was downloading or processing. Here a pop also files the request under the
worker's name (``inflight:<worker>``, one Lua script, so a request is always in one of the two
places), and the request leaves that hash only when its work is done:

- its callback finished, through :class:`FinishedRequests` (a spider middleware);
- its article record was queued for the writer, in the same transaction
  (:class:`~crawler.distributed.worker.RecordPushPipeline`: the record carries the request);
- its errback ran (the spider sends :data:`request_finished`);
- it was replaced by a redirect or a retry, when that request is queued.

Every worker beats (``workers``: its name and when its beat runs out, in Redis time). Any worker
gives a silent worker's requests back to the queue. The run (``run``) is seeded once, by the
first worker to open it; it ends when it is seeded, the queue is empty and no worker holds a
request: the worker that sees this clears the run's fingerprints and counters, and every worker
then closes.

Checked against scrapy-redis 0.9.1 and Scrapy 2.19: its scheduler, queue and duplicate filter
work as they are (Scrapy calls ``open(spider)``, ``enqueue_request``, ``next_request``,
``has_pending_requests``, ``close(reason)``); its ``RedisSpider`` does not (it defines only
``start_requests()``, which Scrapy 2.13+ no longer calls) and is not used.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from crawler.distributed.connection import Keys, connect, shared_scheduler
from crawler.signals import request_finished

logger = logging.getLogger(__name__)

# Sent by a spider's errback when it has dealt with a failed request: request.
# The request's name in its worker's in-flight hash.
TOKEN = "redis_token"

# The request with the lowest score (scrapy-redis scores -priority) leaves the queue for the
# worker's in-flight hash, under a new token; the entry keeps the score for a return to the queue.
POP = """
local found = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #found == 0 then return false end
redis.call('ZREM', KEYS[1], found[1])
local token = tostring(redis.call('INCR', KEYS[3]))
redis.call('HSET', KEYS[2], token, found[2] .. ':' .. found[1])
return {token, found[1]}
"""

# Lua: the requests of an in-flight hash back to a queue (each entry keeps its score), the hash
# deleted; how many. Both scripts that give requests back begin with it.
MOVE_BACK = """
local function move_back(hash, queue)
  local entries = redis.call('HGETALL', hash)
  for i = 2, #entries, 2 do
    local sep = string.find(entries[i], ':', 1, true)
    redis.call('ZADD', queue, tonumber(string.sub(entries[i], 1, sep - 1)), string.sub(entries[i], sep + 1))
  end
  redis.call('DEL', hash)
  return #entries / 2
end
"""

# A worker's own requests back to its queue. KEYS: the queue, its in-flight hash.
RETURN = MOVE_BACK + "return move_back(KEYS[2], KEYS[1])"

# A worker's beat: it counts as alive until Redis time + ARGV[2] seconds.
BEAT = """
local now = redis.call('TIME')
redis.call('ZADD', KEYS[1], now[1] + now[2] / 1e6 + tonumber(ARGV[2]), ARGV[1])
return 1
"""

# Workers whose beat ran out: their requests go back to their run's queue, they leave the lists.
# KEYS: workers, worker scopes; ARGV: the prefix of in-flight hashes, the prefix of run keys.
RECLAIM = MOVE_BACK + """
local now = redis.call('TIME')
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now[1] + now[2] / 1e6)
local moved = 0
for _, worker in ipairs(dead) do
  local scope = redis.call('HGET', KEYS[2], worker)
  if scope then
    moved = moved + move_back(ARGV[1] .. worker, ARGV[2] .. scope .. ':requests')
  else
    redis.call('DEL', ARGV[1] .. worker)
  end
  redis.call('ZREM', KEYS[1], worker)
  redis.call('HDEL', KEYS[2], worker)
end
return {#dead, moved}
"""

# Join the scope's run, or open it (this worker seeds it). KEYS: run, runs; ARGV: worker, run id,
# time, scope.
JOIN = """
redis.call('SADD', KEYS[2], ARGV[4])
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'state', 'seeding', 'seeder', ARGV[1], 'started', ARGV[3])
return 1
"""

# Whether the scope's run is over: 2 it was already, 1 it ends now (its keys are cleared), 0 not yet.
# KEYS: run, requests, workers, seen, counts, dupefilter, worker scopes, runs;
# ARGV: the prefix of the in-flight hashes, the scope.
FINISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[8], ARGV[2])
  return 2
end
if redis.call('ZCARD', KEYS[2]) > 0 then return 0 end
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' then
  local seeder = redis.call('HGET', KEYS[1], 'seeder')
  if redis.call('ZSCORE', KEYS[3], seeder) then return 0 end
end
for _, worker in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  if redis.call('HGET', KEYS[7], worker) == ARGV[2] and redis.call('HLEN', ARGV[1] .. worker) > 0 then return 0 end
end
redis.call('DEL', KEYS[1], KEYS[4], KEYS[5], KEYS[6])
redis.call('SREM', KEYS[8], ARGV[2])
return 1
"""


# Claim each URL for the run and queue its request in one step: a worker killed in between leaves
# neither (a URL claimed but never queued would be skipped by every worker for the rest of the run).
# KEYS: the run's seen set, its queue; ARGV: url, score, request, url, score, request...
CLAIM_AND_QUEUE = """
local queued = {}
for i = 1, #ARGV, 3 do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], tonumber(ARGV[i + 1]), ARGV[i + 2])
    queued[#queued + 1] = ARGV[i]
  end
end
return queued
"""


def worker_name() -> str:
    """``host:pid:random``: unique across machines and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class SharedQueue(PriorityQueue):
    """scrapy-redis's priority queue, whose pop files the request in the worker's in-flight hash."""

    def __init__(self, server: Any, spider: Any, key: str, serializer: Any = None,
                 inflight: str = "", tokens: str = "") -> None:
        super().__init__(server, spider, key, serializer)
        self.inflight, self.tokens = inflight, tokens
        self._pop = server.register_script(POP)

    def pop(self, timeout: int = 0) -> Request | None:
        found = self._pop(keys=[self.key, self.inflight, self.tokens])
        if not found:
            return None
        token, data = found
        request = self._decode_request(data)
        request.meta[TOKEN] = token.decode() if isinstance(token, bytes) else str(token)
        return request


class SharedDupeFilter(RFPDupeFilter):
    """scrapy-redis's duplicate filter over the run's fingerprints (cleared when the run ends,
    not when one worker closes)."""

    def close(self, reason: str = "") -> None:
        pass


class SharedScheduler(Scheduler):
    """The scheduler of a worker (see the module). Settings: ``REDIS_URL``, ``REDIS_PREFIX``,
    ``REDIS_WORKER_TIMEOUT``. Stats: ``redis/reclaimed`` (requests of dead workers queued again),
    ``redis/returned`` (this worker's own, given back at a shutdown)."""

    def __init__(self, server: Any, **kwargs: Any) -> None:
        super().__init__(server, **kwargs)
        self.worker = worker_name()
        self.keys = Keys()
        self.timeout = 30.0
        self.seeder = False
        self.run_id = ""
        self.crawler: Any = None
        self.beat: LoopingCall | None = None
        self.poll: LoopingCall | None = None
        # Requests wake() took from Redis for an idle engine (see there).
        self.woken: deque[Request] = deque()
        # Items that carry their request's token to the record pipeline (by id: items are unhashable).
        self._carried: dict[int, str] = {}
        self._scripts = {name: server.register_script(source) for name, source in
                         {"beat": BEAT, "reclaim": RECLAIM, "join": JOIN, "finish": FINISH, "return": RETURN,
                          "claim": CLAIM_AND_QUEUE}.items()}

    @classmethod
    def from_crawler(cls, crawler: Any) -> SharedScheduler:
        settings = crawler.settings
        connect(settings)  # a clear error when Redis is not there
        scheduler: SharedScheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler.keys = Keys.from_settings(settings)
        scheduler.timeout = settings.getfloat("REDIS_WORKER_TIMEOUT", 30.0)
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(scheduler.finished, signal=request_finished)
        # Connected after the record pipeline's (the scheduler is made when the spider opens): runs after it.
        crawler.signals.connect(scheduler.leave, signal=signals.spider_closed)
        # An item the pipeline dropped or failed on queued no record: its request is done all the same.
        crawler.signals.connect(scheduler.item_done, signal=signals.item_dropped)
        crawler.signals.connect(scheduler.item_done, signal=signals.item_error)
        return scheduler

    # --- the queue -------------------------------------------------------------------

    def open(self, spider: Any) -> None:
        self.spider = spider
        # The run of what this crawl was asked for (all sites, or some): see Keys.
        self.keys = keys = self.keys.for_scope(getattr(spider, "scope", "all"))
        self.queue = SharedQueue(self.server, spider, keys.requests, self.serializer,
                                 inflight=keys.inflight(self.worker), tokens=keys.tokens)
        self.df = SharedDupeFilter(self.server, key=keys.dupefilter, debug=spider.settings.getbool("DUPEFILTER_DEBUG"))
        self.server.hset(keys.worker_scopes, self.worker, keys.scope)
        self.heartbeat()
        self.run_id = uuid.uuid4().hex[:12]
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.seeder = bool(self._scripts["join"](keys=[keys.run, keys.runs],
                                                 args=[self.worker, self.run_id, started, keys.scope]))
        if not self.seeder:
            self.run_id = (self.server.hget(keys.run, "id") or b"").decode()
        logger.info("Worker %s %s run %s of %s (%d requests queued)", self.worker,
                    "opens and seeds" if self.seeder else "joins", self.run_id, keys.scope, len(self.queue))
        self.beat = LoopingCall(self.heartbeat)
        self.beat.start(max(self.timeout / 3, 0.2), now=False)
        self.poll = LoopingCall(self.wake)
        self.poll.start(0.25, now=False)

    def enqueue_request(self, request: Request) -> bool:
        """Queue a request; one that replaces a request in flight (a redirect, a retry) finishes it."""
        if self.woken and request is self.woken[-1]:  # taken from Redis by wake(): kept here
            return True
        replaced = request.meta.pop(TOKEN, None)
        try:
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            self.queue.push(request)
            if self.stats:  # scrapy-redis passes spider=, which Scrapy 2.19 deprecates
                self.stats.inc_value("scheduler/enqueued/redis")
            return True
        finally:
            if replaced is not None:
                self.server.hdel(self.keys.inflight(self.worker), replaced)

    def next_request(self) -> Request | None:
        request = self.woken.popleft() if self.woken else self.queue.pop()
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def queue_claimed(self, requests: list[tuple[str, Request]]) -> list[str]:
        """Claim each ``(url, request)``'s URL in the run's ledger and queue its request, atomically;
        the URLs that were not claimed already (the others' requests are dropped)."""
        args: list[Any] = []
        for url, request in requests:
            args += [url, -request.priority, self.queue._encode_request(request)]
        if not args:
            return []
        queued = [url.decode() for url in self._scripts["claim"](keys=[self.keys.seen, self.keys.requests], args=args)]
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis", len(queued))
        return queued

    def seeded(self) -> None:
        """The seeder's start requests are all queued: the run can end once they are done."""
        self.server.hset(self.keys.run, "state", "running")

    # --- requests done ---------------------------------------------------------------

    def finished(self, request: Request) -> None:
        token = request.meta.pop(TOKEN, None)
        if token is not None:
            self.server.hdel(self.keys.inflight(self.worker), token)

    def carry(self, item: Any, request: Request) -> None:
        """``item`` finishes ``request`` when its record is queued (see :meth:`carried`)."""
        token = request.meta.pop(TOKEN, None)
        if token is not None:
            self._carried[id(item)] = token

    def carried(self, item: Any) -> tuple[str, str] | None:
        """The in-flight entry that ``item``'s record finishes, for :meth:`RecordQueue.push`."""
        token = self._carried.pop(id(item), None)
        return (self.keys.inflight(self.worker), token) if token is not None else None

    def item_done(self, item: Any) -> None:
        if (entry := self.carried(item)) is not None:
            self.server.hdel(*entry)

    # --- workers and the run ---------------------------------------------------------

    def heartbeat(self) -> None:
        keys = self.keys
        self._scripts["beat"](keys=[keys.workers], args=[self.worker, self.timeout])
        dead, moved = self._scripts["reclaim"](keys=[keys.workers, keys.worker_scopes],
                                               args=[keys.inflight(""), keys.run_prefix])
        if moved or dead:
            logger.warning("%d requests of %d silent workers are back in the queue", moved, dead)
            if self.stats:
                self.stats.inc_value("redis/reclaimed", moved)

    def run_over(self) -> bool:
        keys = self.keys
        over = self._scripts["finish"](
            keys=[keys.run, keys.requests, keys.workers, keys.seen, keys.counts, keys.dupefilter,
                  keys.worker_scopes, keys.runs],
            args=[keys.inflight(""), keys.scope],
        )
        if over == 1:
            logger.info("Run %s is over: every request is done", self.run_id)
        return bool(over)

    def spider_idle(self) -> None:
        """Keep an idle worker open while the run goes on: other workers may queue requests yet."""
        self.heartbeat()
        if not self.run_over():
            raise DontCloseSpider

    def has_pending_requests(self) -> bool:
        return bool(self.woken) or len(self) > 0

    def wake(self) -> None:
        """Hand an idle engine a request other workers queued.

        Scrapy's engine asks its scheduler for requests when something happens in this process,
        or every 5 seconds: an idle worker would notice the requests that other workers queue
        only that late. Polled every quarter second: when nothing is downloading here, a
        request taken from Redis goes to ``engine.crawl``, which wakes the engine (and comes back
        to :meth:`enqueue_request`, which keeps it here for :meth:`next_request`).
        """
        engine = self.crawler.engine
        if self.woken or engine is None or engine.downloader.active:
            return
        request = self.queue.pop()
        if request is not None:
            self.woken.append(request)
            engine.crawl(request)
        elif engine.spider_is_idle() and self.run_over():  # as the engine's next idle check would
            deferred_from_coro(engine.close_spider_async(reason="finished"))
            self.poll.stop()

    def close(self, reason: str) -> None:
        for loop in (self.beat, self.poll):
            if loop is not None and loop.running:
                loop.stop()
        keys = self.keys
        # A worker stopped before the run is over gives its requests back at once.
        returned = self._scripts["return"](keys=[keys.requests, keys.inflight(self.worker)])
        if returned:
            logger.info("%d requests this worker held are back in the queue", returned)
            if self.stats:
                self.stats.inc_value("redis/returned", returned)
        super().close(reason)

    def leave(self) -> None:
        """Leave the live workers, last (on spider_closed, after the record pipeline has queued this
        worker's finish): the writer takes a worker gone without a finish for a killed one."""
        self.server.zrem(self.keys.workers, self.worker)
        self.server.hdel(self.keys.worker_scopes, self.worker)


class FinishedRequests:
    """A spider middleware: a request is done when its callback is (see the module)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> FinishedRequests:
        return cls(crawler)

    async def process_spider_output_async(self, response: Any, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        scheduler = shared_scheduler(self.crawler)
        request = response.request
        try:
            async for output in result:
                if scheduler is not None and not isinstance(output, Request) and request is not None:
                    scheduler.carry(output, request)  # its record will finish the request
                yield output
        finally:
            if scheduler is not None and request is not None:
                scheduler.finished(request)

    def process_spider_output(self, response: Any, result: Any) -> Any:
        # Only for callbacks that are plain generators under a sync-only middleware chain.
        yield from result
        scheduler = shared_scheduler(self.crawler)
        if scheduler is not None and response.request is not None:
            scheduler.finished(response.request)
