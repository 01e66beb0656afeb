"""Scrapy's JOBDIR request queue, made to survive a kill.

Scrapy's disk queue writes a queue file's header when it creates the file, through a
buffer flushed only later: a run killed in between (``kill -9``, a crash) leaves an
empty file, and the resumed run then fails on every request of that priority
("unpack requires a buffer of 4 bytes"), losing them. Such a file is started afresh
here. Nothing is lost: a resumed crawl reads its entry points again and fetches what
the database does not hold (see ``NewsSpider._request``).
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path
from typing import Any

from scrapy.squeues import PickleLifoDiskQueue

logger = logging.getLogger(__name__)

__all__ = ["KillSafeLifoDiskQueue"]


class KillSafeLifoDiskQueue(PickleLifoDiskQueue):
    """Setting ``SCHEDULER_DISK_QUEUE``: Scrapy's default disk queue, but a file a killed run left
    unreadable is replaced by an empty queue, with a warning."""

    def __init__(self, crawler: Any, key: str) -> None:
        try:
            super().__init__(crawler, key)
        except struct.error:
            if getattr(self, "f", None) is not None:
                self.f.close()
            logger.warning("JOBDIR queue file %s was left unreadable by a killed run: started afresh", key)
            Path(key).unlink()
            super().__init__(crawler, key)
