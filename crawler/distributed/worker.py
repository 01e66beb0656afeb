"""What a worker sends the writer instead of writing: its records, failures and runs, via Redis.

:class:`RecordPushPipeline` replaces the store pipeline in a worker (see :mod:`.addon`). An
article goes to the records list in the same transaction that finishes the request it came from
(:meth:`SharedScheduler.carried`); a failed page goes as a ``failure`` record; the worker's run
goes as a ``run`` record when it starts and when it finishes, with its counts and, for a run that
finished, the feeds' validators (a run killed between a feed and its articles must read the
feed in full next time). ``scrapy ingest`` turns them into rows.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timezone
from typing import Any

from itemadapter import ItemAdapter
from scrapy import signals

from crawler.distributed.connection import Keys, connect
from crawler.distributed.records import RecordQueue
from crawler.distributed.connection import shared_scheduler
from crawler.signals import fetch_validated, inc_stat, page_failed
from pipelines.runs import RUN_STATUS, describe_counts, run_counts

logger = logging.getLogger(__name__)
runs_logger = logging.getLogger("pipelines.runs")


class RecordPushPipeline:
    """Stats: ``redis/pushed`` (records), ``store/pushed`` (articles, also per site)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.records = RecordQueue(connect(crawler.settings), Keys.from_settings(crawler.settings))
        self.validators: dict[str, list[Any]] = {}
        self.worker = ""
        crawler.signals.connect(self.page_failed, signal=page_failed)
        crawler.signals.connect(self.fetch_validated, signal=fetch_validated)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> RecordPushPipeline:
        return cls(crawler)

    def _run(self, **fields: Any) -> None:
        spider = self.crawler.spider
        scheduler = shared_scheduler(self.crawler)
        self.worker = scheduler.worker if scheduler is not None else self.worker
        self.records.push("run", {
            "worker": self.worker, "host": socket.gethostname(), "pid": os.getpid(),
            "sites": [site.name for site in getattr(spider, "sites", [])],
            # The crawl_runs row `scrapy schedule` made for this crawl, which the writer fills in.
            "crawl_run_id": self.crawler.settings.getint("CRAWL_RUN_ID"), **fields,
        })

    def open_spider(self) -> None:
        self._run(event="start", started=datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def process_item(self, item: Any) -> Any:
        scheduler = shared_scheduler(self.crawler)
        data = ItemAdapter(item).asdict()
        self.records.push("article", data, scheduler.carried(item) if scheduler is not None else None)
        self.crawler.stats.inc_value("redis/pushed")
        inc_stat(self.crawler, "store/pushed", data.get("site"))
        return item

    def page_failed(self, url: str, stage: str, reason: str, site: str | None = None, skipped: bool = False) -> None:
        inc_stat(self.crawler, "skipped/count" if skipped else "failures/count", site)
        if not skipped:
            inc_stat(self.crawler, f"failures/{stage}", site)
        self.records.push("failure", {"url": url, "stage": stage, "reason": reason, "site": site, "skipped": skipped})

    def fetch_validated(self, url: str, etag: str | None, last_modified: str | None, status: int) -> None:
        self.validators[url] = [etag, last_modified, status]

    def spider_closed(self, spider: Any, reason: str) -> None:
        status = RUN_STATUS.get(reason, reason)
        stats = self.crawler.stats
        sites = [site.name for site in getattr(spider, "sites", [])]
        counts = run_counts(stats)
        self._run(
            event="finish", status=status, counts=counts,
            site_counts={site: run_counts(stats, site) for site in sites},
            validators=self.validators if reason == "finished" else {},
        )
        runs_logger.info("Worker %s %s: %s, %d records pushed to the writer", self.worker, status,
                         describe_counts(counts, "pages", "failed"), stats.get_value("redis/pushed", 0))
