"""Dates and times as Vietnamese news pages write them, to ISO 8601 with ``+07:00``.

Pages give the time in many forms: ISO 8601 with or without a zone
(``2026-03-07T00:01:00``, ``2026-03-07T08:52:11.000 +07:00``), and visible date
lines, day first (``Thứ Bảy, 07/03/2026 08:47 (GMT+7)``, ``Thứ bảy, 7/3/2026, 00:05
(GMT+7)``, ``23:02 , 06/03/2026``, ``07/03/2026 - 08:07``, ``ngày 7 tháng 3 năm 2026``).
A time without a zone is Vietnam time; every result is expressed in ``+07:00``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["VIETNAM", "has_time", "parse_datetime", "utc_now"]

VIETNAM = timezone(timedelta(hours=7), "ICT")


def utc_now() -> str:
    """The current time as ISO 8601 in UTC, to the second: the form of the database's own timestamps."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()

_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?:[.,]\d+)?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_DAY_FIRST = re.compile(r"(?<!\d)(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})\s*[/.-]\s*(?P<y>\d{4})(?!\d)")
_WORDS = re.compile(r"ngày\s+(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s+năm\s+(?P<y>\d{4})", re.IGNORECASE)
_CLOCK = re.compile(r"(?<![\d/.-])(?P<H>\d{1,2})\s*(?::|h|giờ)\s*(?P<M>\d{2})(?::(?P<S>\d{2}))?(?![\d/])", re.IGNORECASE)
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


def _result(year: int, month: int, day: int, clock: re.Match[str] | None, zone: timezone) -> str | None:
    try:
        if clock is None:
            return datetime(year, month, day).date().isoformat()
        moment = datetime(
            year, month, day, int(clock["H"]), int(clock["M"]), int(clock["S"] or 0), tzinfo=zone
        )
    except ValueError:  # 31/02, 25:61 ...: not a date after all
        return None
    return moment.astimezone(VIETNAM).isoformat()


def parse_datetime(value: str | None) -> str | None:
    """``value`` as ISO 8601 in Vietnam time (``2026-03-07T08:47:00+07:00``).

    A date alone gives ``2026-03-07``; text with no date gives None. Numeric
    dates are day first, as Vietnamese pages write them.
    """
    if not value:
        return None
    value = " ".join(value.split())
    iso = _ISO.search(value)
    if iso:
        clock = iso if iso["H"] else None
        return _result(int(iso["y"]), int(iso["m"]), int(iso["d"]), clock, _zone(iso["zone"]))
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
    return _result(int(date["y"]), int(date["m"]), int(date["d"]), clock, zone)
