"""Vietnamese date lines and ISO variants to ISO 8601 in +07:00."""

from __future__ import annotations

import pytest

from pipelines.vietnamese.dates import parse_datetime


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-07T00:01:00", "2026-03-07T00:01:00+07:00"),  # naive: Vietnam time
        ("2026-03-07T08:52:11.000 +07:00", "2026-03-07T08:52:11+07:00"),  # vietnamnet
        ("2026-03-01T02:51:00Z", "2026-03-01T09:51:00+07:00"),  # UTC shown in Vietnam time
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
