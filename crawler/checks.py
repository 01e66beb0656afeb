"""Check the project's ``-s NAME=VALUE`` settings before a command starts.

Scrapy reads a setting's type only where a component asks for it (``settings.getint``), so
``-s STORE_BATCH_SIZE=abc`` ended the command in a traceback from inside the crawler. The
commands call :func:`check_settings` first: a wrong value is one ``Error:`` line naming the
setting, what it expects and what it got, with exit status 1.
"""

from __future__ import annotations

import math
from typing import Any

from crawler import settings as defaults

__all__ = ["SettingError", "check_settings"]


class SettingError(ValueError):
    """A setting has a value of the wrong type or range; the message names it and the fix."""


# Lower bounds beyond the type: below them a component would fail or misbehave later.
MINIMUM: dict[str, float] = {
    "STORE_BATCH_SIZE": 1, "STORE_COMMIT_SECONDS": 0, "EXTRACT_WORKERS": 0, "EXTRACT_TIMEOUT": 0.001,
    "SEEDS_MAX_BYTES": 1, "NEWS_SCHEDULER_MAX": 1, "NEWS_PATTERN_LIMIT": 1, "INGEST_BATCH_SIZE": 1,
    "SCHEDULE_MAX_CRAWLS": 1, "CONCURRENT_REQUESTS": 1, "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
}


def _typed_defaults() -> dict[str, type]:
    """The project's settings whose default is a bool, a whole number or a number."""
    kinds: dict[str, type] = {}
    for name in dir(defaults):
        value = getattr(defaults, name)
        if name.isupper() and isinstance(value, (bool, int, float)):
            kinds[name] = bool if isinstance(value, bool) else int if isinstance(value, int) else float
    return kinds


def check_settings(settings: Any) -> None:
    """Raise :class:`SettingError` for the first project setting whose value does not read as its type."""
    for name, kind in sorted(_typed_defaults().items()):
        value = settings.get(name)
        if value is None or value == defaults.__dict__[name]:
            continue
        fix = f"e.g. -s {name}={defaults.__dict__[name]!r}"
        try:
            read = settings.getbool(name) if kind is bool else settings.getint(name) if kind is int \
                else settings.getfloat(name)
        except ValueError:
            what = {bool: "True or False (or 1, 0)", int: "a whole number", float: "a number"}[kind]
            raise SettingError(f"setting {name}: expected {what}, got {value!r}; {fix}") from None
        if kind is not bool and (not math.isfinite(read) or read < MINIMUM.get(name, -math.inf)):
            raise SettingError(f"setting {name}: expected at least {MINIMUM.get(name, 0)}, got {value!r}; {fix}")
