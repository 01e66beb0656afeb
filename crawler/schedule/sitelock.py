"""One crawl per site at a time, across processes: an OS lock on a file per site."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from pipelines.db.store import database_path


def state_dir(settings: Any) -> Path:
    """Where the scheduler keeps lock files and crawl logs: ``SCHEDULE_STATE_DIR``, else beside ``NEWS_DB``."""
    db_path = database_path(settings).resolve()
    return Path(settings.get("SCHEDULE_STATE_DIR") or db_path.with_name(f"{db_path.stem}-schedule")).resolve()


def site_lock_path(folder: Path, site: str) -> Path:
    """The lock file of ``site``: scheduled and hand-started crawls of it take the same one."""
    return folder / "locks" / f"{site}.lock"


def lock_is_free(path: Path) -> bool:
    """Whether no process holds the lock ``path`` (this one included, through another open file)."""
    lock = SiteLock(path)
    if not lock.acquire():
        return False
    lock.release()
    return True


class SiteLock:
    """An exclusive ``flock`` on ``<dir>/<site>.lock``, shared with the crawl process.

    The crawl inherits the open file, so the lock lives as long as the crawl
    does, even if the scheduler dies; when every holder has exited (or been
    killed), the kernel releases it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock if no other process holds it; never waits."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        """Close the scheduler's copy; the lock goes when the crawl's copy goes too."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
