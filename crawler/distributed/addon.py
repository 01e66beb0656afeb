"""Turn ``scrapy crawl news`` into one worker of a distributed crawl when ``REDIS_URL`` is set.

A Scrapy add-on: it runs after the project's settings, the spider's and ``-s`` options are in
place, and changes only what a worker does differently. Without ``REDIS_URL``, or for a spider
that is not a worker (``replay``, ``reextract``, ``ingest``), it changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from crawler.distributed.connection import Keys, is_worker, redis_url
from crawler.distributed.pace import hand_over_pace

logger = logging.getLogger(__name__)

# Above the project's own settings (an add-on's default priority is below them), below `-s`.
PRIORITY = "spider"


class DistributedCrawl:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> DistributedCrawl:
        return cls(crawler)

    def update_settings(self, settings: Any) -> None:
        if not is_worker(self.crawler):
            return
        worker = {
            # scrapy-redis's scheduler, with each worker's requests held until they are done; its
            # queue (SharedQueue) and fingerprints are those of the run, which SharedScheduler opens.
            "SCHEDULER": "crawler.distributed.scheduler.SharedScheduler",
            "DUPEFILTER_CLASS": "crawler.distributed.scheduler.SharedDupeFilter",
            # The queue and fingerprints belong to the run, which ends when every worker is done
            # (not when one of them closes): SharedScheduler clears them then.
            "SCHEDULER_PERSIST": True,
            # Sitemap and feed URLs go straight to Redis, not into one worker's memory.
            "NEWS_SCHEDULER_MAX": 0,
            # A site's pace is kept in Redis for all workers (SharedPaceMiddleware); AutoThrottle
            # and the local download slots' delays would only add to it, per worker.
            "AUTOTHROTTLE_ENABLED": False,
        }
        for name, value in worker.items():
            settings.set(name, value, priority=PRIORITY)
        components = {
            # The records go to Redis for the writer (scrapy ingest) instead of into the database.
            "ITEM_PIPELINES": {**{path: None for path in settings.getdict("ITEM_PIPELINES")},
                               "crawler.distributed.worker.RecordPushPipeline": 800},
            "DOWNLOADER_MIDDLEWARES": {"crawler.distributed.pace.SharedPaceMiddleware": 990},
            "SPIDER_MIDDLEWARES": {"crawler.distributed.scheduler.FinishedRequests": 0},
            "EXTENSIONS": {"crawler.middlewares.SiteAutoThrottle": None},
        }
        for name, changes in components.items():
            settings.set(name, {**settings.getdict(name), **changes}, priority=PRIORITY)
        # The sites' delays go to SharedPaceMiddleware; the local slots' are 0 (see pace.py).
        hand_over_pace(settings)
        logger.info("Distributed crawl: a worker of %s (keys %s:*)", redis_url(settings),
                    Keys.from_settings(settings).prefix)
