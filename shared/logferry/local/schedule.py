"""EventBridge schedule expressions: `rate(N unit)` and six-field `cron(...)` (UTC)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

UNITS = {"minute": 60, "hour": 3600, "day": 86400}
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]  # AWS numbers them 1-7
# (lowest, highest, names) per cron field: minutes hours day-of-month month day-of-week year
FIELDS: list[tuple[int, int, list[str]]] = [
    (0, 59, []),
    (0, 23, []),
    (1, 31, []),
    (1, 12, MONTHS),
    (1, 7, DAYS),
    (1970, 2199, []),
]


@dataclass(frozen=True)
class Cron:
    """The allowed values of each cron field (None = any, for `?` and `*` in day fields)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None
    months: frozenset[int]
    weekdays: frozenset[int] | None
    years: frozenset[int]


def rate_seconds(expression: str) -> float | None:
    """Seconds between firings of a `rate(...)` expression, None for a cron expression."""
    found = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", expression.strip())
    if not found:
        if expression.strip().startswith("rate("):
            raise ValueError(f"bad rate expression {expression!r}: expected 'rate(N unit)'")
        return None
    return int(found.group(1)) * UNITS[found.group(2)]


def _value(token: str, names: list[str], lowest: int) -> int:
    upper = token.upper()
    return names.index(upper) + lowest if upper in names else int(token)


def _field(text: str, lowest: int, highest: int, names: list[str]) -> frozenset[int] | None:
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        spec, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if spec == "*":
            start, stop = lowest, highest
        elif "-" in spec:
            first, last = spec.split("-")
            start, stop = _value(first, names, lowest), _value(last, names, lowest)
        else:
            start = _value(spec, names, lowest)
            stop = highest if step_text else start
        values.update(range(start, stop + 1, step))
    if not values or min(values) < lowest or max(values) > highest:
        raise ValueError(f"cron field {text!r} is outside {lowest}-{highest}")
    return frozenset(values)


def parse_cron(expression: str) -> Cron:
    """Parse `cron(min hour day month weekday year)`; L, W and # are not supported."""
    found = re.fullmatch(r"cron\((.+)\)", expression.strip())
    parts = found.group(1).split() if found else []
    special = re.compile(r"\bL\b|\dL|\dW|LW|#")
    if len(parts) != 6 or any(special.search(parts[i].upper()) for i in (2, 4)):
        raise ValueError(f"unsupported cron expression {expression!r}: need 6 plain fields")
    sets = [_field(text, *limits) for text, limits in zip(parts, FIELDS, strict=True)]
    everything = [frozenset(range(low, high + 1)) for low, high, _ in FIELDS]
    return Cron(
        minutes=sets[0] or everything[0],
        hours=sets[1] or everything[1],
        days=sets[2],
        months=sets[3] or everything[3],
        weekdays=sets[4],
        years=sets[5] or everything[5],
    )


def next_cron(cron: Cron, after: datetime) -> datetime:
    """The first minute strictly after `after` (UTC) that `cron` matches."""
    start = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = start.replace(hour=0, minute=0)
    for _ in range(366 * 5):
        weekday = (day.weekday() + 1) % 7 + 1  # Monday=0 in Python, SUN=1 in AWS
        if (
            day.year in cron.years
            and day.month in cron.months
            and (cron.days is None or day.day in cron.days)
            and (cron.weekdays is None or weekday in cron.weekdays)
        ):
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    moment = day.replace(hour=hour, minute=minute)
                    if moment >= start:
                        return moment
        day += timedelta(days=1)
    raise ValueError("cron expression never fires in the next five years")


def next_fire(expression: str, after: datetime, scale: float = 1.0) -> datetime:
    """When a rule with `expression` fires next after `after`; `scale` speeds rates up."""
    period = rate_seconds(expression)
    if period is not None:
        return after + timedelta(seconds=period / scale)
    return next_cron(parse_cron(expression), after)
