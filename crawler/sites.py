"""Load and validate the sites file: the news sites to crawl and how.

The file (setting ``SITES_FILE``, default ``crawler/sites.yml``) is YAML with
``defaults`` (applied to every site) and ``sites`` (a list). Any mistake stops
the run with :class:`SitesError` naming the file, the site, the field and what
is expected.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from crawler.urls import host

__all__ = ["Site", "SitesError", "check_field", "load_sites", "parse_schedule", "site_fields"]


class SitesError(ValueError):
    """The sites file is wrong; the message says where and how to fix it."""


INTERVAL = re.compile(r"^every\s+(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>s|sec|m|min|h|d)$", re.IGNORECASE)
UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_schedule(text: str) -> tuple[str, float | str]:
    """``"every 30m"`` -> ``("interval", 1800.0)``; a 5-field cron line -> ``("cron", text)``.

    Raises ValueError with the accepted forms.
    """
    text = str(text).strip()
    match = INTERVAL.match(text)
    if match:
        seconds = float(match["n"]) * UNIT_SECONDS[match["unit"].lower()]
        if seconds <= 0:
            raise ValueError("an interval must be longer than 0")
        return "interval", seconds
    from croniter import croniter

    if len(text.split()) == 5 and croniter.is_valid(text):
        return "cron", text
    raise ValueError(
        f"{text!r} is not a schedule: use an interval such as 'every 30m' (s, m, h, d) "
        "or a cron line such as '*/30 * * * *'"
    )


@dataclass
class Site:
    """One configured site; field names are the keys of the sites file."""

    name: str
    home: str
    feeds: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    # Regular expressions over article URLs: a URL must match one of ``allow``
    # (when given) and none of ``deny``.
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    # Limits: pages fetched per run, link depth from the home/category pages,
    # and the age of articles worth fetching (from feed and sitemap dates).
    max_pages: int = 2000
    max_depth: int = 3
    since_days: float = 7.0
    # Politeness: seconds between requests and parallel requests to the site.
    delay: float = 1.0
    concurrency: int = 2
    # Extra boilerplate lines for this site: regular expressions of whole lines.
    cleanup: list[str] = field(default_factory=list)
    # When the scheduler crawls it: "every 6h" or a cron line.
    schedule: str = "every 6h"

    @property
    def domain(self) -> str:
        return host(self.home)


_LIST_FIELDS = {"feeds", "sitemaps", "categories", "allow", "deny", "cleanup"}
_URL_LIST_FIELDS = {"feeds", "sitemaps", "categories"}
_REGEX_FIELDS = {"allow", "deny", "cleanup"}
_INT_FIELDS = {"max_pages": 1, "max_depth": 0, "concurrency": 1}
_FLOAT_FIELDS = {"since_days": 0.0, "delay": 0.0}
_KNOWN = {f.name for f in fields(Site)}


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _check_field(name: str, value: Any, where: str) -> Any:
    """Validate one field; return its value in the type of :class:`Site`."""

    def fail(expected: str) -> SitesError:
        return SitesError(f"{where}, field {name!r}: expected {expected}, got {value!r}")

    if name in ("name",):
        if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", value):
            raise fail("a lower-case name of letters, digits, dots and hyphens, such as 'qdnd.vn'")
        return value
    if name == "home":
        if not _is_http_url(value):
            raise fail("an http:// or https:// URL, such as 'https://www.qdnd.vn/'")
        return value
    if name in _LIST_FIELDS:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise fail("a list")
        for entry in value:
            if name in _URL_LIST_FIELDS and not _is_http_url(entry):
                raise SitesError(f"{where}, field {name!r}: expected http(s) URLs, got {entry!r}")
            if name in _REGEX_FIELDS:
                try:
                    re.compile(entry)
                except (re.error, TypeError) as exc:
                    raise SitesError(
                        f"{where}, field {name!r}: {entry!r} is not a regular expression ({exc})"
                    ) from None
        return list(value)
    if name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int) or value < _INT_FIELDS[name]:
            raise fail(f"a whole number of at least {_INT_FIELDS[name]}")
        return value
    if name in _FLOAT_FIELDS:
        # Not NaN or infinity (YAML's .nan and .inf are floats): NaN passes every comparison with the
        # minimum, and an infinite delay would hang the site's download slot forever.
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                or value < _FLOAT_FIELDS[name]):
            raise fail(f"a number of at least {_FLOAT_FIELDS[name]}")
        return float(value)
    if name == "schedule":
        try:
            parse_schedule(value)
        except ValueError as exc:
            raise SitesError(f"{where}, field 'schedule': {exc}") from None
        return str(value)
    return value


def check_field(name: str, value: Any, where: str) -> Any:
    """Validate one field given outside the file (``-a FIELD=VALUE``); ``where`` names the source in errors."""
    if name not in _KNOWN:
        raise SitesError(f"{where}: unknown field {name!r}; known fields: {', '.join(sorted(_KNOWN))}")
    return _check_field(name, value, where)


def site_fields() -> set[str]:
    """The field names of a site."""
    return set(_KNOWN)


def _check_keys(mapping: dict[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise SitesError(f"{where}: unknown field {unknown[0]!r}; known fields: {', '.join(sorted(allowed))}")


def parse_sites(data: Any, source: str) -> list[Site]:
    """Sites from the parsed YAML ``data``; ``source`` names the file in errors."""
    if not isinstance(data, dict) or "sites" not in data:
        raise SitesError(f"{source}: expected a mapping with a 'sites' list (and optional 'defaults')")
    _check_keys(data, source, {"defaults", "sites"})
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise SitesError(f"{source}, defaults: expected a mapping of field: value")
    _check_keys(defaults, f"{source}, defaults", _KNOWN - {"name", "home"})
    defaults = {k: _check_field(k, v, f"{source}, defaults") for k, v in defaults.items()}
    entries = data["sites"]
    if not isinstance(entries, list) or not entries:
        raise SitesError(f"{source}, sites: expected a non-empty list of sites")
    sites, seen = [], set()
    for index, entry in enumerate(entries, 1):
        label = entry.get("name") if isinstance(entry, dict) else None
        where = f"{source}, site {label!r}" if label else f"{source}, site #{index}"
        if not isinstance(entry, dict):
            raise SitesError(f"{where}: expected a mapping with at least 'name' and 'home'")
        _check_keys(entry, where, _KNOWN)
        for required in ("name", "home"):
            if required not in entry:
                raise SitesError(f"{where}, field {required!r}: missing (every site needs 'name' and 'home')")
        values = {**defaults, **{k: _check_field(k, v, where) for k, v in entry.items()}}
        if values["name"] in seen:
            raise SitesError(f"{where}, field 'name': {values['name']!r} is used by an earlier site")
        seen.add(values["name"])
        sites.append(Site(**values))
    return sites


def yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's error on one line: what is wrong and where (its own message spans five lines,
    with a caret under a copy of the line)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    hint = "; indent with spaces, not tabs" if "\\t" in problem or "\t" in problem else ""
    return f"{' '.join(problem.split())}{where}{hint}"


def load_sites(path: str | Path) -> list[Site]:
    """The sites of the file at ``path``, validated."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SitesError(f"{path}: cannot read the sites file ({exc.strerror or exc}); set SITES_FILE") from None
    except UnicodeDecodeError as exc:
        raise SitesError(f"{path}: not UTF-8 text (byte at offset {exc.start}); save it as UTF-8") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SitesError(f"{path}: not valid YAML: {yaml_problem(exc)}") from None
    return parse_sites(data, str(path))
