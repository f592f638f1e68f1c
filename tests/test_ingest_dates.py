"""created_at normalisation: what is accepted, how it is stored, what is a bad row."""

from __future__ import annotations

import datetime as dt

import pytest

from thememap.ingest.dates import DateError, normalise_date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-03", "2024-05-03"),
        ("2024-05", "2024-05"),  # the pypi corpus's month: kept, no day invented
        ("2024", "2024"),
        ("2024-05-03T10:00:00", "2024-05-03T10:00:00"),
        ("2024-05-03 10:00", "2024-05-03T10:00:00"),
        ("2024-05-03T10:00:00+02:00", "2024-05-03T08:00:00Z"),
        ("2024-05-03T10:00:00Z", "2024-05-03T10:00:00Z"),
        (1_700_000_000, "2023-11-14T22:13:20Z"),
        (1_700_000_000.5, "2023-11-14T22:13:20Z"),
        ("1700000000", "2023-11-14T22:13:20Z"),
        ("May 3, 2024", "2024-05-03"),
        ("3 May 2024 14:30", "2024-05-03T14:30:00"),
        ("12/31/2024", "2024-12-31"),
        (dt.date(2024, 1, 2), "2024-01-02"),
        (dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "2024-01-02T03:04:05Z"),
        ("", None),
        ("   ", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_accepted(value: object, expected: str | None) -> None:
    assert normalise_date(value) == expected


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("next tuesday", "no 4-digit year"),
        ("March", "no 4-digit year"),
        ("2024-13", "month 13 out of range"),
        ("2024-02-30", "day is out of range"),
        ("2024-13-01", "not a date"),
        ("31/31/2024", "not a date"),
        ("soon in 2024 maybe", "not a date"),
        (1_700_000_000_000, "milliseconds"),
        (True, "not a date"),
        ([2024], "not a date"),
    ],
)
def test_rejected(value: object, why: str) -> None:
    with pytest.raises(DateError, match=why):
        normalise_date(value)
