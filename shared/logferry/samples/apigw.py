"""Deterministic API Gateway JSON access log lines, with an optional burst of 5xx errors."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

from logferry.samples.access import clf_time

__all__ = ["apigw_lines"]

_ROUTES = [
    ("GET", "/pets", "/pets"),
    ("GET", "/pets/{petId}", "/pets/42"),
    ("POST", "/pets", "/pets"),
    ("DELETE", "/pets/{petId}", "/pets/7"),
    ("GET", "/orders/{orderId}", "/orders/A-1001"),
]
_CLIENT_STATUSES = ["200"] * 16 + ["201", "400", "403", "404"]
_ERROR_STATUSES = ["502", "503", "504", "500"]


def apigw_lines(
    n: int, start: datetime, seed: int = 0, error_burst: tuple[int, int] | None = None
) -> Iterator[str]:
    """``n`` JSON lines as API Gateway writes them (``$context`` values are strings).

    ``error_burst=(first, count)`` makes lines ``first .. first+count-1`` 5xx errors.
    """
    rng = random.Random(seed)
    when = start
    for i in range(n):
        when += timedelta(milliseconds=rng.randint(10, 3000))
        method, resource, path = rng.choice(_ROUTES)
        burst = error_burst is not None and error_burst[0] <= i < error_burst[0] + error_burst[1]
        status = rng.choice(_ERROR_STATUSES) if burst else rng.choice(_CLIENT_STATUSES)
        latency = rng.randint(29000, 30000) if status == "504" else rng.randint(3, 400)
        record = {
            "requestId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "ip": f"198.51.100.{rng.randint(1, 254)}",
            "caller": "-",
            "user": "-",
            "requestTime": clf_time(when),
            "requestTimeEpoch": str(int(when.timestamp() * 1000)),
            "httpMethod": method,
            "resourcePath": resource,
            "path": path,
            "status": status,
            "protocol": "HTTP/1.1",
            "responseLength": str(rng.randint(2, 4000)) if status != "204" else "0",
            "integrationLatency": str(latency - rng.randint(0, 2)) if status != "403" else "-",
            "responseLatency": str(latency),
        }
        yield json.dumps(record, separators=(",", ":"))
