"""Shared fixtures: project paths, a scrapy runner, a replayed seed database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED_DATA = ROOT.parent / "shared" / "data"


def run_scrapy(*args: str, db: Path, cwd: Path = ROOT, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """Run ``scrapy ARGS`` as a user would, against the database ``db``."""
    environment = {**os.environ, "NEWS_DB": str(db), **env}
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "news.db"


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the seeds replayed into it, shared by read-only tests.

    Through `scrapy replay` without arguments, as `make replay` runs it (the seeds of SEEDS_DIR).
    """
    db = tmp_path_factory.mktemp("seeded") / "news.db"
    result = run_scrapy("replay", db=db)
    assert result.returncode == 0, result.stderr[-3000:]
    return db


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real pages in ../shared/data; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent: the real-page tests need ../shared/data beside the project")
    return SHARED_DATA


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (``make redis`` installs it)."""
    if not RedisServer.available():
        pytest.skip("redis-server is not installed: `make redis` (or `make test`) installs Debian's package")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    import redis

    redis.Redis.from_url(redis_server.url).flushall()
    return redis_server.url


@pytest.fixture(scope="session")
def browse_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeds, tests/browse_seeds, crawl runs, failures and a two-copy story: what the browsing tests read."""
    from tests.browse_support import build_browse_db

    return build_browse_db(tmp_path_factory.mktemp("browse") / "browse.db")


@pytest.fixture(scope="session")
def browse_url(browse_db: Path):
    """Datasette serving ``browse_db`` (as database ``news``) on 127.0.0.1 and a free port."""
    from tests.browse_support import serve_datasette

    with serve_datasette(browse_db) as url:
        yield url


@pytest.fixture(scope="session")
def front_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three sites publishing over the last weeks, a copied story, crawl runs with a failing site."""
    from tests.browse_support import build_front_db

    return build_front_db(tmp_path_factory.mktemp("front") / "front.db")


@pytest.fixture(scope="session")
def front_url(front_db: Path):
    """Datasette serving ``front_db`` on 127.0.0.1 and a free port."""
    from tests.browse_support import serve_datasette

    with serve_datasette(front_db) as url:
        yield url
