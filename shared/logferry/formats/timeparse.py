"""Fast timestamp parsing shared by the access-log style formats."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import TypeGuard
from zoneinfo import ZoneInfo

APACHE_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"
"""strptime format of Apache/nginx ``[10/Oct/2000:13:55:36 -0700]`` (without brackets)."""

_EPOCH = datetime(1970, 1, 1)
_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}


@lru_cache(maxsize=1024)
def _iso_second(seconds: int) -> str:
    dt = _EPOCH + timedelta(seconds=seconds)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )


_MIN_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def is_epoch_ms(value: object) -> TypeGuard[int]:
    """Whether ``value`` is an int (not a bool) of epoch milliseconds within years 1-9999."""
    return isinstance(value, int) and not isinstance(value, bool) and _MIN_MS <= value <= _MAX_MS


def iso_from_epoch_ms(ms: int) -> str:
    """ISO 8601 UTC with milliseconds and ``Z`` for epoch milliseconds (seconds cached)."""
    seconds, millis = divmod(ms, 1000)
    return f"{_iso_second(seconds)}.{millis:03d}Z"


@lru_cache(maxsize=64)
def _offset_seconds(tz: str) -> int:
    """``-0700`` as ``-25200`` (cached: a log file rarely has more than one offset)."""
    if len(tz) != 5 or tz[0] not in "+-" or not tz[1:].isdigit():
        raise ValueError(f"bad UTC offset {tz!r}")
    seconds = int(tz[1:3]) * 3600 + int(tz[3:5]) * 60
    return -seconds if tz[0] == "-" else seconds


@lru_cache(maxsize=256)
def _utc_midnight(day: str, offset: str) -> datetime:
    """Local midnight of ``10/Oct/2000`` at UTC offset ``-0700``, as a naive UTC datetime."""
    local = datetime(int(day[7:11]), _MONTHS[day[3:6]], int(day[0:2]))
    return local - timedelta(seconds=_offset_seconds(offset))


def apache_time_to_iso(value: str) -> str:
    """``10/Oct/2000:13:55:36 -0700`` as ``2000-10-10T20:55:36.000Z``.

    Slices the fixed layout (no strptime per line; dates and offsets cached); raises
    ``ValueError`` if the value is not in that layout.
    """
    if len(value) != 26 or value[2] != "/" or value[6] != "/" or value[11] != ":":
        raise ValueError(f"not an Apache time: {value!r}")
    try:
        hour, minute, second = int(value[12:14]), int(value[15:17]), int(value[18:20])
        if hour > 23 or minute > 59 or second > 60 or value[14] != ":" or value[17] != ":":
            raise ValueError
        utc = _utc_midnight(value[0:11], value[21:26]) + timedelta(
            seconds=hour * 3600 + minute * 60 + second
        )
    except (KeyError, ValueError):
        raise ValueError(f"not an Apache time: {value!r}") from None
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.000Z"
    )


def parse_zone(name: str) -> tzinfo:
    """A fixed offset (``+09:00``, ``+0900``, ``Z``, ``UTC``) or an IANA zone name."""
    if name in ("Z", "UTC", "utc"):
        return UTC
    compact = name.replace(":", "")
    if len(compact) == 5 and compact[0] in "+-" and compact[1:].isdigit():
        return timezone(timedelta(seconds=_offset_seconds(compact)))
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        raise ValueError(f"unknown time zone {name!r}") from None


_LINE_TIMES = (
    re.compile(r"\[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\]"),
    re.compile(r"\b(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)"),
)
"""The times a log line may hold: Apache/nginx ``[10/Oct/2000:13:55:36 -0700]``, ISO 8601
(``T`` or a space between date and time)."""


def time_in_line(line: str, zone: tzinfo = UTC) -> str | None:
    """The first time ``line`` holds (see :data:`_LINE_TIMES`), ISO 8601 UTC, else ``None``;
    a time written without an offset is in ``zone``."""
    for pattern in _LINE_TIMES:
        for found in pattern.finditer(line):
            text = found.group(1)
            try:
                if text[2] == "/":
                    return apache_time_to_iso(text)
                moment = datetime.fromisoformat(text.replace(" ", "T", 1).replace("Z", "+00:00"))
            except ValueError:
                continue
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
            utc = moment.astimezone(UTC)
            return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return None
