"""Dates and times as Vietnamese news pages, feeds and sitemaps write them: one parser, two faces.

Pages give the time in many forms: ISO 8601 with or without a zone
(``2026-03-07T00:01:00``, ``2026-03-07T08:52:11.000 +07:00``), and visible date
lines, day first (``Thứ Bảy, 07/03/2026 08:47 (GMT+7)``, ``Thứ bảy, 7/3/2026, 00:05
(GMT+7)``, ``23:02 , 06/03/2026``, ``07/03/2026 - 08:07``, ``ngày 7 tháng 3 năm 2026``).
Feeds write RFC 822 (``Tue, 10 Mar 2026 08:00:00 +0700``), sitemaps W3C dates
(``2026-03-10``, ``2026-03-10T08:00:00+07:00``). A time without a zone is Vietnam time.

The extraction stores ISO strings in ``+07:00`` (:func:`parse_datetime`); the crawler
compares moments (:func:`parse_moment`). Both read the text the same way, so a date the
crawler announces from a sitemap is the date the article gets.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

__all__ = ["VIETNAM", "has_time", "parse_datetime", "parse_moment", "utc_now"]

VIETNAM = timezone(timedelta(hours=7), "ICT")


def utc_now() -> str:
    """The current time as ISO 8601 in UTC, to the second: the form of the database's own timestamps."""
    global _last_now
    second = int(time.time())
    if second != _last_now[0]:  # the writer asks several times an article: formatted once a second
        _last_now = (second, datetime.fromtimestamp(second, timezone.utc).isoformat())
    return _last_now[1]


_last_now = (0, "")

_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?:[.,]\d+)?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_DAY_FIRST = re.compile(r"(?<!\d)(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})\s*[/.-]\s*(?P<y>\d{4})(?!\d)")
_WORDS = re.compile(r"ngày\s+(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s+năm\s+(?P<y>\d{4})", re.IGNORECASE)
_CLOCK = re.compile(
    r"(?<![\d/.-])(?P<H>\d{1,2})\s*(?::|h|giờ)\s*(?P<M>\d{2})(?::(?P<S>\d{2}))?(?![\d/])", re.IGNORECASE
)
_GMT = re.compile(r"(?:GMT|UTC)\s*(?P<sign>[+-])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?", re.IGNORECASE)


def has_time(value: str | None) -> bool:
    """Whether an ISO string from :func:`parse_datetime` carries a time of day."""
    return bool(value) and "T" in value  # type: ignore[operator]


def _zone(text: str | None) -> timezone:
    if not text:
        return VIETNAM
    if text.upper() == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))


def _moment(
    year: int, month: int, day: int, clock: re.Match[str] | None, zone: timezone
) -> tuple[datetime, bool] | None:
    try:
        if clock is None:
            return datetime(year, month, day, tzinfo=VIETNAM), False
        return datetime(year, month, day, int(clock["H"]), int(clock["M"]), int(clock["S"] or 0), tzinfo=zone), True
    except ValueError:  # 31/02, 25:61 ...: not a date after all
        return None


def _parse(value: str | None) -> tuple[datetime, bool] | None:
    """The moment ``value`` names and whether it has a time of day; None when it names no date.

    The moment is aware, in the zone the text gives (Vietnam time when it gives
    none); a date alone is midnight Vietnam time. Whole-string ISO 8601 and RFC 822
    come first: they are exact, and keep the fraction of a second. Then a date
    anywhere in the text: ISO, then day first, with a clock before or after it.
    """
    if not value:
        return None
    value = " ".join(value.split())
    try:
        moment = datetime.fromisoformat(value)
        timed = len(value) > 10  # a date alone: 2026-03-07, 20260307, 2026-W10-2
    except ValueError:
        try:
            moment, timed = parsedate_to_datetime(value), True  # RFC 822 always has a time
        except (TypeError, ValueError, IndexError):
            moment = None
    if moment is not None:
        return (moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)), timed
    iso = _ISO.search(value)
    if iso:
        clock = iso if iso["H"] else None
        return _moment(int(iso["y"]), int(iso["m"]), int(iso["d"]), clock, _zone(iso["zone"]))
    date = _DAY_FIRST.search(value) or _WORDS.search(value)
    if not date:
        return None
    # The clock may stand before the date ("23:02 , 06/03/2026") or after it.
    rest = value[: date.start()] + " " + value[date.end():]
    clock = _CLOCK.search(rest)
    gmt = _GMT.search(value)
    zone = VIETNAM
    if gmt:
        offset = timedelta(hours=int(gmt["h"]), minutes=int(gmt["m"] or 0))
        zone = timezone(-offset if gmt["sign"] == "-" else offset)
    return _moment(int(date["y"]), int(date["m"]), int(date["d"]), clock, zone)


def parse_datetime(value: str | None) -> str | None:
    """``value`` as ISO 8601 in Vietnam time, to the second (``2026-03-07T08:47:00+07:00``): the stored form.

    A date alone gives ``2026-03-07``, so that a page's date line without a time
    does not claim midnight; text with no date gives None. Numeric dates are day
    first, as Vietnamese pages write them.
    """
    parsed = _parse(value)
    if parsed is None:
        return None
    moment, timed = parsed
    if not timed:
        return moment.date().isoformat()
    return moment.astimezone(VIETNAM).replace(microsecond=0).isoformat()


def parse_moment(value: str | None) -> datetime | None:
    """``value`` as an aware datetime, for comparing dates (the crawler's ``since``).

    The zone is the one written (naive means Vietnam time), the fraction of a
    second is kept and a date alone is midnight Vietnam time; text with no date
    gives None. Reads the same text as :func:`parse_datetime`.
    """
    parsed = _parse(value)
    return parsed[0] if parsed else None
