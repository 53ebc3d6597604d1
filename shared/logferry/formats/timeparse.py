"""Fast timestamp parsing shared by the access-log style formats."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

APACHE_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"
"""strptime format of Apache/nginx ``[10/Oct/2000:13:55:36 -0700]`` (without brackets)."""

_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}


def iso_from_epoch_ms(ms: int) -> str:
    """ISO 8601 UTC with milliseconds and ``Z`` for epoch milliseconds."""
    seconds, millis = divmod(ms, 1000)
    dt = datetime(1970, 1, 1) + timedelta(seconds=seconds)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"


@lru_cache(maxsize=64)
def _offset_seconds(tz: str) -> int:
    """``-0700`` as ``-25200`` (cached: a log file rarely has more than one offset)."""
    if len(tz) != 5 or tz[0] not in "+-" or not tz[1:].isdigit():
        raise ValueError(f"bad UTC offset {tz!r}")
    seconds = int(tz[1:3]) * 3600 + int(tz[3:5]) * 60
    return -seconds if tz[0] == "-" else seconds


def apache_time_to_iso(value: str) -> str:
    """``10/Oct/2000:13:55:36 -0700`` as ``2000-10-10T20:55:36.000Z``.

    Slices the fixed layout (no strptime per line); raises ``ValueError`` if the value
    is not in that layout.
    """
    if len(value) != 26 or value[2] != "/" or value[6] != "/" or value[11] != ":":
        raise ValueError(f"not an Apache time: {value!r}")
    try:
        month = _MONTHS[value[3:6]]
        local = datetime(
            int(value[7:11]),
            month,
            int(value[0:2]),
            int(value[12:14]),
            int(value[15:17]),
            int(value[18:20]),
        )
    except (KeyError, ValueError):
        raise ValueError(f"not an Apache time: {value!r}") from None
    utc = local - timedelta(seconds=_offset_seconds(value[21:26]))
    return f"{utc:%Y-%m-%dT%H:%M:%S}.000Z"


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
