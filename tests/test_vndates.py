"""Vietnamese date lines, ISO variants and feed dates: the stored ISO string and the aware datetime."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pipelines.vietnamese.dates import VIETNAM, parse_datetime, parse_moment


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-07T00:01:00", "2026-03-07T00:01:00+07:00"),  # naive: Vietnam time
        ("2026-03-07T08:52:11.000 +07:00", "2026-03-07T08:52:11+07:00"),  # vietnamnet
        ("2026-03-01T02:51:00Z", "2026-03-01T09:51:00+07:00"),  # UTC shown in Vietnam time
        ("2026-03-07T08:47:00+05", "2026-03-07T10:47:00+07:00"),  # a zone in hours only is still a zone
        ("2026-03-07 08:07", "2026-03-07T08:07:00+07:00"),
        ("Thứ Bảy, 07/03/2026 08:47 (GMT+7)", "2026-03-07T08:47:00+07:00"),
        ("Thứ bảy, 7/3/2026, 00:05 (GMT+7)", "2026-03-07T00:05:00+07:00"),  # vnexpress
        ("Thứ bảy, 07/03/2026 - 08:07", "2026-03-07T08:07:00+07:00"),  # dantri
        ("23:02 , 06/03/2026", "2026-03-06T23:02:00+07:00"),  # clock first (cafef)
        ("07/03/2026 08:52 (GMT+07:00)", "2026-03-07T08:52:00+07:00"),
        ("8h30 ngày 7/3/2026", "2026-03-07T08:30:00+07:00"),
        ("ngày 7 tháng 3 năm 2026", "2026-03-07"),  # a date alone stays a date
        ("01/02/2026", "2026-02-01"),  # day first
        ("31/02/2026 10:00", None),
        ("Trang chủ", None),
        ("", None),
    ],
)
def test_parse_datetime(value: str, expected: str | None) -> None:
    assert parse_datetime(value) == expected


@pytest.mark.parametrize(
    ("value", "iso", "moment"),
    [
        ("Tue, 10 Mar 2026 08:00:00 +0700", "2026-03-10T08:00:00+07:00", datetime(2026, 3, 10, 8, tzinfo=VIETNAM)),
        ("Tue, 10 Mar 2026 01:00:00 GMT", "2026-03-10T08:00:00+07:00", datetime(2026, 3, 10, 1, tzinfo=timezone.utc)),
        ("2026-03-10T01:00:00Z", "2026-03-10T08:00:00+07:00", datetime(2026, 3, 10, 1, tzinfo=timezone.utc)),
        ("2026-03-10T08:00:00.250+07:00", "2026-03-10T08:00:00+07:00",
         datetime(2026, 3, 10, 8, 0, 0, 250000, tzinfo=VIETNAM)),  # the string is to the second
        ("2026-03-10T08:00:00", "2026-03-10T08:00:00+07:00", datetime(2026, 3, 10, 8, tzinfo=VIETNAM)),  # naive
        ("2026-03-10", "2026-03-10", datetime(2026, 3, 10, tzinfo=VIETNAM)),  # a date alone: midnight in Vietnam
        ("Thứ Ba, 10/03/2026 08:00 (GMT+7)", "2026-03-10T08:00:00+07:00", datetime(2026, 3, 10, 8, tzinfo=VIETNAM)),
        ("ngày 10 tháng 3 năm 2026", "2026-03-10", datetime(2026, 3, 10, tzinfo=VIETNAM)),
        ("hôm qua", None, None),
        (None, None, None),
    ],
)
def test_both_faces_read_the_same_text(value: str | None, iso: str | None, moment: datetime | None) -> None:
    """The stored string and the crawler's datetime come from one reading of the text."""
    assert parse_datetime(value) == iso
    parsed = parse_moment(value)
    assert parsed == moment
    if moment is not None:
        assert parsed.utcoffset() == moment.utcoffset()  # the zone as written, not only the same instant
        assert parsed.astimezone(VIETNAM).replace(microsecond=0).isoformat().startswith(iso)
