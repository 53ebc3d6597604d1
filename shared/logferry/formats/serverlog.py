"""On-prem load lines written by the seed's cron job.

The on-prem script appends ``echo `date +%Y-%m-%d` `uptime` `vmstat | tail -1` >> $log``
every 10 minutes, giving lines such as::

    2019-08-01 00:00:01 up 45 days, 20:04, 1 user, load average: 25.06, 22.63, 21.70 \
124 10 493744 379918752 0 8428556 0 0 1852 156 0 0 26 12 60 2 0

The date comes from ``date``, the time from ``uptime``: both are the server's local time
without an offset. The seed's servers are in Japan, so the zone defaults to JST
(``+09:00``; the ``tz`` option changes it). The time is kept as written in
``serverlog.datetime`` (and the CSV), with its offset in ``event.timezone``;
``@timestamp`` is that instant in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from logferry.config import option
from logferry.formats.base import LineFormat, base_document, error_document
from logferry.formats.timeparse import parse_zone
from logferry.model import Document, ParseContext, Record, iso

VMSTAT_COLUMNS = (
    "r", "b", "swpd", "free", "buff", "cache", "si", "so",
    "bi", "bo", "in", "cs", "us", "sy", "id", "wa", "st",
)  # fmt: skip
"""``vmstat`` columns (procps); procps-ng 4 adds a trailing ``gu`` (guest), kept if present."""

_LOAD = r"(\d+[.,]\d+)"
_LINE_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2})\s+(?:\d{1,2}:\d{2}:\d{2}\s+)?(\d{1,2}:\d{2}:\d{2})\s+up\s+(.+?),\s+"
    rf"(?:(\d+)\s+users?,\s+)?load averages?:\s+{_LOAD},?\s+{_LOAD},?\s+{_LOAD}\s+([\d\s]+)"
)
"""date [time] uptime-time up UPTIME, [N users,] load average: L1, L5, L15 VMSTAT...

A ``date`` that prints the time too is accepted (the uptime's time wins), as are load
averages with decimal commas (some locales); they are normalised to dots."""
_UNIT_SECONDS = {"day": 86400, "hr": 3600, "hour": 3600, "min": 60, "sec": 1}
_PART_RE = re.compile(r"(\d+)\s*(day|hr|hour|min|sec)s?")
_CLOCK_RE = re.compile(r"(\d+):(\d{2})")


def parse_uptime(text: str) -> tuple[int, str]:
    """``45 days, 20:04`` as (seconds, the seed's CSV text ``45days 20:04``).

    Handles ``3 min``, ``2:10``, ``1 day, 3 min``, ``2 hrs``; raises ``ValueError`` otherwise.
    """
    seconds = 0
    shown = []
    for part in (p.strip() for p in text.split(",")):
        clock = _CLOCK_RE.fullmatch(part)
        unit = _PART_RE.fullmatch(part)
        if clock:
            seconds += int(clock[1]) * 3600 + int(clock[2]) * 60
        elif unit:
            seconds += int(unit[1]) * _UNIT_SECONDS[unit[2]]
        else:
            raise ValueError(f"bad uptime {text!r}")
        shown.append(part.replace(" ", ""))
    return seconds, " ".join(shown)


@lru_cache(maxsize=256)
def host_from_key(key: str) -> str | None:
    """The server name from the upload key ``<server>/<date>.log`` (its parent folder)."""
    parent = PurePosixPath(key).parent.name
    return parent or None


@dataclass(frozen=True)
class ServerLogOptions:
    """The ``serverlog`` format's options."""

    tz: str = option(
        "SERVERLOG_TZ", "+09:00", "UTC offset of the servers' local time (the seed's JST)"
    )


class ServerLogFormat(LineFormat):
    """``date uptime vmstat`` lines (``serverlog.load``) with ECS-ish metric fields.

    ``host.uptime`` (s), ``system.load.1/5/15``, ``system.cpu.*.pct`` (fractions),
    ``system.memory.*`` (bytes, vmstat's KiB times 1024); the raw figures under
    ``serverlog.*`` (``datetime``, ``uptime``, ``users``, ``vmstat.*``), from which
    the ``csv`` sink rebuilds the seed's CSV row. ``host.name`` comes from the key.
    """

    name = "serverlog"
    dataset = "serverlog.load"
    Options = ServerLogOptions

    def __init__(self, tz: str = "+09:00") -> None:
        self.zone = parse_zone(tz)

    def _error(self, record: Record, ctx: ParseContext, reason: str) -> Document:
        """An error document whose time, when the line holds one, is in the servers' zone."""
        return error_document(record, ctx, self.dataset, reason, line_zone=self.zone)

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One document per line; other lines (headers, garbage) give error documents."""
        doc = base_document(record, ctx, self.dataset)
        m = _LINE_RE.fullmatch(doc["message"].strip())
        if m is None:
            return [self._error(record, ctx, "not a 'date uptime vmstat' line")]
        date, time, uptime, users, vmstat = m.group(1, 2, 3, 4, 8)
        l1, l5, l15 = (v.replace(",", ".") for v in m.group(5, 6, 7))
        values = [int(v) for v in vmstat.split()]
        if len(values) not in (len(VMSTAT_COLUMNS), len(VMSTAT_COLUMNS) + 1):
            reason = f"expected {len(VMSTAT_COLUMNS)} vmstat columns, got {len(values)}"
            return [self._error(record, ctx, reason)]
        try:
            local = datetime.fromisoformat(f"{date}T{time.zfill(8)}").replace(tzinfo=self.zone)
            up_seconds, up_text = parse_uptime(uptime)
        except ValueError as exc:
            return [self._error(record, ctx, str(exc))]
        vm = dict(zip((*VMSTAT_COLUMNS, "gu"), values, strict=False))
        doc["@timestamp"] = iso(local)
        doc["event"]["timezone"] = _offset_text(local.utcoffset())
        host: dict[str, Any] = {"uptime": up_seconds}
        name = host_from_key(ctx.ref.key)
        if name is not None:
            host["name"] = name
        doc["host"] = host
        doc["system"] = {
            "load": {"1": float(l1), "5": float(l5), "15": float(l15)},
            "cpu": {field: {"pct": vm[col] / 100} for field, col in _CPU_FIELDS if col in vm},
            "memory": {"free": vm["free"] * 1024, "swap": {"used": {"bytes": vm["swpd"] * 1024}}},
        }
        raw: dict[str, Any] = {
            "datetime": f"{date} {time}",
            "uptime": up_text,
            "load": {"1": l1, "5": l5, "15": l15},
            "vmstat": vm,
        }
        if users is not None:
            raw["users"] = int(users)
        doc["serverlog"] = raw
        return [doc]


_CPU_FIELDS = (
    ("user", "us"), ("system", "sy"), ("idle", "id"), ("iowait", "wa"), ("steal", "st"),
    ("guest", "gu"),
)  # fmt: skip


@lru_cache(maxsize=64)
def _offset_text(offset: timedelta | None) -> str:
    """A UTC offset as ``+09:00``."""
    minutes = int((offset or timedelta()).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
