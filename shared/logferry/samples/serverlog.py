"""Deterministic on-prem load lines, as the seed's cron job writes them.

Each line is ``date +%Y-%m-%d``, ``uptime`` and ``vmstat | tail -1`` on one line.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta

__all__ = ["serverlog_lines", "uptime_text"]


def uptime_text(seconds: int) -> str:
    """What procps ``uptime`` prints after ``up``: ``45 days, 20:04``, ``1 day, 3 min``..."""
    days, rest = divmod(seconds, 86400)
    hours, minutes = divmod(rest // 60, 60)
    clock = f"{hours}:{minutes:02d}" if hours else f"{minutes} min"
    if days:
        return f"{days} day{'s' if days != 1 else ''}, {clock}"
    return clock


def _curve(hour: float) -> float:
    """Typical load at an hour of the day: lowest around 03:00, highest around 15:00."""
    return 14 + 10 * math.sin((hour - 9) / 24 * 2 * math.pi)


def serverlog_lines(
    day: date, step_minutes: int = 10, seed: int = 0, booted_days_before: float = 45.8
) -> Iterator[str]:
    """A day of lines every ``step_minutes`` (1 or 10 in practice), with a daily load curve.

    Load peaks mid-afternoon and dips before dawn; the users count wanders between 0 and 2.
    ``booted_days_before`` is the uptime at midnight (0 reproduces a fresh boot: ``3 min``).
    """
    if step_minutes <= 0:
        raise ValueError("step_minutes must be positive")
    rng = random.Random(seed)
    midnight = datetime(day.year, day.month, day.day)
    boot = midnight - timedelta(days=booted_days_before)
    loads = [_curve(0.0)] * 3
    swpd = 493744
    for minute in range(0, 24 * 60, step_minutes):
        now = midnight + timedelta(minutes=minute, seconds=1)
        current = max(0.0, _curve(now.hour + now.minute / 60) + rng.gauss(0, 2))
        for i, window in enumerate((1, 5, 15)):
            decay = math.exp(-step_minutes / window)
            loads[i] = loads[i] * decay + current * (1 - decay)
        users = rng.choice([0, 0, 0, 1, 1, 2])
        busy = min(95, max(5, int(current * 2.5)))
        wa, sy = rng.randint(0, 4), busy // 3
        us = busy - sy
        swpd = max(0, swpd + rng.randint(-4096, 2048))
        vmstat = [
            int(current * 3) + rng.randint(0, 5), rng.randint(0, 10), swpd,
            rng.randint(375_000_000, 380_000_000), 0, rng.randint(8_000_000, 9_500_000),
            0, 0, rng.randint(1800, 1900), 156, rng.randint(0, 3), rng.randint(0, 3),
            us, sy, 100 - us - sy - wa, wa, 0,
        ]  # fmt: skip
        up = int((now - boot).total_seconds())
        user_text = f"{users} user{'' if users == 1 else 's'}"
        load_text = ", ".join(f"{v:.2f}" for v in loads)
        yield (
            f"{now:%Y-%m-%d} {now:%H:%M:%S} up {uptime_text(up)}, {user_text}, "
            f"load average: {load_text} {' '.join(str(v) for v in vmstat)}"
        )
