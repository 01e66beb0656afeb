"""What a crawl asked for and how much of each budget it used: one worker's, or all workers'.

The news spider asks its ledger before each request: was this URL requested in this run
(``requested``, ``claim``), and is there room left under a limit (``take``: a site's
``max_pages``, ``NEWS_PATTERN_LIMIT`` listings per URL shape). :class:`RunLedger` keeps it in
the spider's state, a dict that Scrapy saves in JOBDIR at a clean stop; :class:`SharedLedger`
keeps it in Redis for all the workers of a distributed run (cleared when the run ends).
"""

from __future__ import annotations

from typing import Any

from crawler.distributed.connection import Keys


class RunLedger:
    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def requested(self, url: str) -> bool:
        return f"seen:{url}" in self.state

    def claim(self, url: str) -> bool:
        """Mark ``url`` requested; False when it was already."""
        key = f"seen:{url}"
        if key in self.state:
            return False
        self.state[key] = 1
        return True

    def take(self, name: str, limit: int) -> bool:
        """Count one more under ``name`` unless ``limit`` is reached (then False)."""
        used = self.state.get(name, 0)
        if used >= limit:
            return False
        self.state[name] = used + 1
        return True


# One more under the name unless the limit is reached, atomically for all workers.
TAKE = """
local used = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if used > tonumber(ARGV[2]) then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
  return 0
end
return 1
"""


# Up to ARGV[3] more under the name, as many as the limit leaves room for; how many.
TAKE_UP_TO = """
local used = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local granted = math.max(0, math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) - used))
if granted > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], granted) end
return granted
"""


class SharedLedger(RunLedger):
    """The same questions, answered in Redis (``run:seen``, ``run:counts``) for every worker."""

    def __init__(self, server: Any, keys: Keys) -> None:
        self.server, self.keys = server, keys
        self._take = server.register_script(TAKE)
        self._take_up_to = server.register_script(TAKE_UP_TO)

    def requested(self, url: str) -> bool:
        return bool(self.server.sismember(self.keys.seen, url))

    def claim(self, url: str) -> bool:
        return bool(self.server.sadd(self.keys.seen, url))

    def take(self, name: str, limit: int) -> bool:
        return bool(self._take(keys=[self.keys.counts], args=[name, limit]))

    # --- many at once: a sitemap's URLs in a few round trips (see NewsSpider.queue_articles) ---
    def not_requested(self, urls: list[str]) -> list[str]:
        """Those of ``urls`` this run has not asked for."""
        if not urls:
            return []
        return [url for url, seen in zip(urls, self.server.smismember(self.keys.seen, urls)) if not seen]

    def take_up_to(self, name: str, limit: int, wanted: int) -> int:
        """Count up to ``wanted`` more under ``name`` within ``limit``; how many were granted."""
        return int(self._take_up_to(keys=[self.keys.counts], args=[name, limit, wanted]))
