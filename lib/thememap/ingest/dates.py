"""created_at values to ISO 8601 strings, keeping the precision the input had.

Accepted: ISO 8601 dates and datetimes, ``YYYY`` and ``YYYY-MM`` (kept as
such: a month is not invented into a day), unix epoch seconds (numbers or
digit strings), ``datetime``/``date`` objects, and common written formats
(``May 3, 2024``, ``03/05/2024`` read month first) through pandas, but only
when the text holds a 4-digit year, so a stray word never becomes today's date.
Timezone-aware datetimes are converted to UTC and written with ``Z``.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

_YEAR_MONTH = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_HAS_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
# Epoch seconds beyond this (year 5138) are almost surely milliseconds.
_MAX_EPOCH = 1e11


class DateError(ValueError):
    """A created_at value that is not a date we can read."""


def _from_datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
        text = value.replace(tzinfo=None).isoformat(timespec="seconds")
        return text + "Z"
    return value.isoformat(timespec="seconds")


def _from_epoch(seconds: float) -> str:
    if not math.isfinite(seconds) or abs(seconds) >= _MAX_EPOCH:
        raise DateError(f"{seconds!r} is not epoch seconds (milliseconds? give seconds)")
    return _from_datetime(datetime.fromtimestamp(seconds, tz=UTC))


def normalise_date(value: Any) -> str | None:
    """An ISO 8601 string for ``value``; None for an empty value; DateError if unreadable."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise DateError(f"{value!r} is not a date")
    if isinstance(value, datetime):
        return _from_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return None
        return _from_epoch(float(value))
    if not isinstance(value, str):
        raise DateError(f"{value!r} is not a date")
    text = value.strip()
    if not text:
        return None
    match = _YEAR_MONTH.match(text)
    if match:
        month = match.group(2)
        if month is not None and not 1 <= int(month) <= 12:
            raise DateError(f"{text!r}: month {month} out of range")
        return text
    if _NUMBER.match(text):
        return _from_epoch(float(text))
    if _DAY.match(text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError as err:
            raise DateError(f"{text!r} is not a date ({err})") from None
    try:
        return _from_datetime(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    if not _HAS_YEAR.search(text):
        raise DateError(f"{text!r} is not a date (no 4-digit year)")
    return _from_pandas(text)


def _from_pandas(text: str) -> str:
    import warnings

    import pandas as pd

    try:
        with warnings.catch_warnings():
            # pandas warns when it falls back to dateutil for one value; that is the point here
            warnings.simplefilter("ignore", UserWarning)
            stamp = pd.to_datetime(text, errors="raise")
    except (ValueError, TypeError, OverflowError) as err:
        raise DateError(f"{text!r} is not a date") from err
    if stamp is pd.NaT:
        raise DateError(f"{text!r} is not a date")
    parsed = stamp.to_pydatetime()
    has_time = any((parsed.hour, parsed.minute, parsed.second)) or parsed.tzinfo is not None
    return _from_datetime(parsed) if has_time else parsed.date().isoformat()
