"""A real ``redis-server`` for the distributed-crawl tests, on a free loopback port.

``make test`` installs Debian's redis-server (``make redis``); the session starts one server in a
temporary folder (no persistence) and stops it at the end. Tests get its URL through the
``redis_url`` fixture, which empties the server first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

REDIS_SERVER = os.environ.get("REDIS_SERVER", "redis-server")


class RedisServer:
    """``redis-server`` on 127.0.0.1 and a free port, its files in ``folder``, until :meth:`stop`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def available() -> bool:
        return shutil.which(REDIS_SERVER) is not None

    def start(self, attempts: int = 5) -> RedisServer:
        import redis

        # Imported here: browse_support imports conftest, which imports this module.
        from tests.browse_support import free_port

        for _ in range(attempts):  # a port taken between free_port() and the bind: try another
            self.port = free_port()
            self.process = subprocess.Popen(
                [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.folder),
                 "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning",
                 "--logfile", str(self.folder / "redis.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            client = redis.Redis.from_url(self.url)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    time.sleep(0.05)
            self.stop()
        log = (self.folder / "redis.log").read_text(errors="replace")[-2000:] if (self.folder / "redis.log").exists() else ""
        raise RuntimeError(f"redis-server did not start on a loopback port: {log}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
