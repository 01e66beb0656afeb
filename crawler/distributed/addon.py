"""Turn ``scrapy crawl news`` into one worker of a distributed crawl when ``REDIS_URL`` is set.

A Scrapy add-on: it runs after the project's settings, the spider's and ``-s`` options are in
place, and changes only what a worker does differently. Without ``REDIS_URL``, or for a spider
that is not a worker (``replay``, ``reextract``, ``ingest``), it changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from crawler.distributed.connection import Keys, redis_url
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
        if not redis_url(settings) or getattr(self.crawler.spidercls, "redis_role", None) != "worker":
            return
        keys = Keys.from_settings(settings)
        worker = {
            # scrapy-redis's scheduler, with each worker's requests held until they are done.
            "SCHEDULER": "crawler.distributed.scheduler.SharedScheduler",
            "SCHEDULER_QUEUE_CLASS": "crawler.distributed.scheduler.SharedQueue",
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
        settings["ITEM_PIPELINES"] = {
            **{path: None for path in settings.getdict("ITEM_PIPELINES")},
            "crawler.distributed.worker.RecordPushPipeline": 800,
        }
        settings.set("ITEM_PIPELINES", settings["ITEM_PIPELINES"], priority=PRIORITY)
        # The sites' delays go to SharedPaceMiddleware; the local slots' are 0 (see pace.py).
        hand_over_pace(settings)
        downloader = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
        downloader["crawler.distributed.pace.SharedPaceMiddleware"] = 990
        settings.set("DOWNLOADER_MIDDLEWARES", downloader, priority=PRIORITY)
        spider_mw = dict(settings.getdict("SPIDER_MIDDLEWARES"))
        spider_mw["crawler.distributed.scheduler.FinishedRequests"] = 0
        settings.set("SPIDER_MIDDLEWARES", spider_mw, priority=PRIORITY)
        extensions = dict(settings.getdict("EXTENSIONS"))
        extensions["crawler.middlewares.SiteAutoThrottle"] = None
        settings.set("EXTENSIONS", extensions, priority=PRIORITY)
        logger.info("Distributed crawl: a worker of %s (keys %s:*)", redis_url(settings), keys.prefix)
