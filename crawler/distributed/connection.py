"""The Redis connection of a distributed crawl, and the names of every key it uses.

All keys start with ``REDIS_PREFIX`` (``vnnews`` by default), so one Redis can serve several
archives (one prefix each) and ``redis-cli --scan --pattern 'vnnews:*'`` shows all there is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a process connects: a crawl without REDIS_URL never loads them
    import redis

    from crawler.distributed.scheduler import SharedScheduler


class RedisUnavailable(ValueError):
    """``REDIS_URL`` is set but names no Redis this process can reach: a mistake in the settings,
    which the commands say in one ``Error:`` line (the spiders' ``check_arguments``)."""


def redis_url(settings: Any) -> str:
    """The ``REDIS_URL`` setting (``-s REDIS_URL=...`` or the environment variable); empty: no Redis."""
    return (settings.get("REDIS_URL") or "").strip()


def connect(settings: Any) -> redis.Redis:
    """A client of ``REDIS_URL``, checked with a PING: an unreachable Redis is named at once."""
    import redis
    from scrapy_redis.connection import get_redis_from_settings

    url = redis_url(settings)
    server = get_redis_from_settings(settings)
    try:
        server.ping()
    except redis.RedisError as exc:
        raise RedisUnavailable(
            f"REDIS_URL={url}: cannot reach Redis ({exc}). Start redis-server there, or unset "
            "REDIS_URL (and the -s REDIS_URL option) to crawl on this machine alone."
        ) from exc
    return server


@dataclass(frozen=True)
class Keys:
    """Every Redis key of one archive (``prefix``); the run's keys are those of a ``scope``.

    A scope is what a crawl was asked to crawl: ``all`` for ``scrapy crawl news``, else its
    sites' names (``-a site=qdnd.vn``, as ``scrapy schedule`` starts crawls). Workers of the same
    scope share one run (its queue, fingerprints, ledger); crawls of other sites run beside it.
    """

    prefix: str = "vnnews"
    scope: str = "all"

    @classmethod
    def from_settings(cls, settings: Any) -> Keys:
        return cls(settings.get("REDIS_PREFIX") or "vnnews")

    def for_scope(self, scope: str) -> Keys:
        return replace(self, scope=scope)

    @property
    def run_prefix(self) -> str:
        """What every scope's run keys start with (``<run_prefix><scope>:requests``...)."""
        return f"{self.prefix}:run:"

    def _run(self, name: str) -> str:
        return f"{self.run_prefix}{self.scope}:{name}"

    @property
    def runs(self) -> str:
        """The scopes that have a run under way (a set)."""
        return f"{self.prefix}:runs"

    @property
    def worker_scopes(self) -> str:
        """Each live worker's scope (a hash): where its requests go back when it falls silent."""
        return f"{self.prefix}:workers:scope"

    # --- the run: queue, fingerprints, what it asked for, who works on it ---------
    @property
    def requests(self) -> str:
        """scrapy-redis's priority queue of requests (a sorted set)."""
        return self._run("requests")

    @property
    def dupefilter(self) -> str:
        """scrapy-redis's request fingerprints of the current run (a set)."""
        return self._run("dupefilter")

    @property
    def run(self) -> str:
        """The current run (a hash: ``id``, ``state`` seeding/running, ``seeder``, ``started``)."""
        return self._run("state")

    @property
    def seen(self) -> str:
        """URLs the run asked for (a set): an article is requested once across all workers."""
        return self._run("seen")

    @property
    def counts(self) -> str:
        """The run's counters (a hash): pages per site (``max_pages``), listings per URL shape."""
        return self._run("counts")

    @property
    def workers(self) -> str:
        """Live workers (a sorted set: worker id -> the Redis time its heartbeat runs out)."""
        return f"{self.prefix}:workers"

    def inflight(self, worker: str) -> str:
        """Requests a worker took from the queue and has not finished (a hash: token -> request)."""
        return f"{self.prefix}:inflight:{worker}"

    @property
    def tokens(self) -> str:
        """The counter that names requests in flight."""
        return f"{self.prefix}:tokens"

    # --- records: workers -> the writer -------------------------------------------
    @property
    def records(self) -> str:
        """Finished records waiting for the writer (a list; workers push on the left)."""
        return f"{self.prefix}:records"

    @property
    def pending(self) -> str:
        """Records the writer took and has not committed yet (a list; reliable queue)."""
        return f"{self.prefix}:records:pending"

    @property
    def writer(self) -> str:
        """The one writer's lock (a string: its ``host:pid``, with an expiry it keeps refreshing)."""
        return f"{self.prefix}:writer"

    # --- state the writer keeps in step with the database ---------------------------
    @property
    def stored(self) -> str:
        """Every URL that led to a stored article (a set mirroring ``article_urls``)."""
        return f"{self.prefix}:stored"

    @property
    def validators(self) -> str:
        """Feeds' and sitemaps' ETag / Last-Modified (a hash: URL -> JSON, mirroring ``fetch_state``)."""
        return f"{self.prefix}:validators"

    # --- each site's pace, shared by all workers ------------------------------------
    def pace(self, site: str) -> str:
        """The Redis time (microseconds since the epoch) before which no worker may send the site's
        next request; see :mod:`.pace`."""
        return f"{self.prefix}:pace:{site}"

    def slots(self, site: str) -> str:
        """The site's requests under way (a sorted set: token -> lease expiry), for its ``concurrency``."""
        return f"{self.prefix}:slots:{site}"


def is_worker(crawler: Any) -> bool:
    """Whether this crawl is a worker of a distributed crawl: ``REDIS_URL`` set and a spider
    that fetches (``redis_role = "worker"``, the news spider). See :mod:`.addon`."""
    return bool(redis_url(crawler.settings)) and getattr(crawler.spidercls, "redis_role", None) == "worker"


def shared_scheduler(crawler: Any) -> SharedScheduler | None:
    """The crawl's scheduler when it is a worker's (a SharedScheduler), else None (also before the
    engine starts)."""
    if not is_worker(crawler):
        return None
    try:
        scheduler = crawler.engine.scheduler
    except (RuntimeError, AttributeError):  # no engine yet
        return None
    from crawler.distributed.scheduler import SharedScheduler  # a worker's scheduler: loaded already

    return scheduler if isinstance(scheduler, SharedScheduler) else None
