"""The JOBDIR request queue after a kill (crawler/queues.py)."""

from __future__ import annotations

import logging

from scrapy import Request, Spider
from scrapy.utils.test import get_crawler

from crawler.queues import KillSafeLifoDiskQueue


def test_a_queue_file_left_empty_by_a_kill_starts_afresh(tmp_path, caplog):
    crawler = get_crawler(Spider)
    crawler.spider = crawler._create_spider("test")
    path = tmp_path / "requests.queue" / "p0"
    path.parent.mkdir()
    path.write_bytes(b"")  # created, its header still in the killed process's buffer
    with caplog.at_level(logging.WARNING):
        queue = KillSafeLifoDiskQueue.from_crawler(crawler, str(path))
    assert "left unreadable by a killed run" in caplog.text
    queue.push(Request("https://x.vn/a-1.html"))
    queue.push(Request("https://x.vn/a-2.html"))
    assert len(queue) == 2 and queue.pop().url == "https://x.vn/a-2.html"
    queue.close()
    reopened = KillSafeLifoDiskQueue.from_crawler(crawler, str(path))  # a clean stop's file reads as it was
    assert len(reopened) == 1 and reopened.pop().url == "https://x.vn/a-1.html"
