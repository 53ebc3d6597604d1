"""Deterministic Apache/nginx access log lines (combined or common format)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

__all__ = ["access_lines", "clf_time"]

_CLIENTS = ["203.0.113.7", "198.51.100.23", "192.0.2.44", "2001:db8::1", "client.example.net"]
_USERS = ["-", "-", "-", "frank", "alice"]
_REQUESTS = [
    ("GET", "/"),
    ("GET", "/index.html"),
    ("GET", "/api/v1/items?page=2"),
    ("GET", "/static/app.js"),
    ("GET", "/search?q=%E6%97%A5%E6%9C%AC"),
    ("POST", "/graphql"),
    ("POST", "/login"),
    ("HEAD", "/healthz"),
]
_STATUSES = [200] * 14 + [301, 304, 404, 404, 403, 500, 502]
_REFERRERS = ["-", "https://www.example.com/", "https://search.example.org/?q=logs"]
_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "curl/8.5.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "-",
]


def clf_time(when: datetime) -> str:
    """``10/Oct/2000:13:55:36 -0700`` for an aware datetime (naive means UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.strftime("%d/%b/%Y:%H:%M:%S %z")


def access_lines(n: int, start: datetime, seed: int = 0, style: str = "combined") -> Iterator[str]:
    """``n`` access log lines from ``start`` on (in its zone), ``style`` combined or common.

    Lines share seconds now and then (as busy servers' do); 304s and HEADs log ``-`` bytes.
    """
    if style not in ("combined", "common"):
        raise ValueError(f"style must be 'combined' or 'common', not {style!r}")
    rng = random.Random(seed)
    when = start
    for _ in range(n):
        when += timedelta(milliseconds=rng.randint(0, 1500))
        method, path = rng.choice(_REQUESTS)
        status = rng.choice(_STATUSES)
        size = "-" if status == 304 or method == "HEAD" else str(rng.randint(120, 48000))
        line = (
            f"{rng.choice(_CLIENTS)} - {rng.choice(_USERS)} [{clf_time(when)}] "
            f'"{method} {path} HTTP/1.1" {status} {size}'
        )
        if style == "combined":
            line += f' "{rng.choice(_REFERRERS)}" "{rng.choice(_AGENTS)}"'
        yield line
