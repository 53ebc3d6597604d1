"""Deterministic Firehose objects holding CloudWatch Logs subscription envelopes."""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any

__all__ = ["envelope", "firehose_object"]

OWNER = "123456789012"
LOG_GROUP = "/ecs/web-api"
FILTERS = ["to-firehose"]
_PATHS = ["/v1/items", "/v1/items/42", "/v1/orders", "/healthz", "/v1/users/me"]
_LEVELS = ["info"] * 6 + ["warn", "error", "debug"]


def envelope(
    log_events: list[dict[str, Any]], log_stream: str, message_type: str = "DATA_MESSAGE"
) -> bytes:
    """One subscription envelope, serialised as CloudWatch Logs does (compact JSON)."""
    body = {
        "messageType": message_type,
        "owner": OWNER if message_type == "DATA_MESSAGE" else "CloudwatchLogs",
        "logGroup": LOG_GROUP if message_type == "DATA_MESSAGE" else "",
        "logStream": log_stream if message_type == "DATA_MESSAGE" else "",
        "subscriptionFilters": FILTERS if message_type == "DATA_MESSAGE" else [],
        "logEvents": log_events,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _message(rng: random.Random, ts_ms: int, as_json: bool) -> str:
    path, status = rng.choice(_PATHS), rng.choice([200] * 8 + [400, 404, 500])
    duration = rng.randint(1_000_000, 50_000_000)
    if not as_json:
        return f"{rng.choice(_LEVELS).upper()} GET {path} {status} {duration // 1000}us\n"
    fields = {
        "level": rng.choice(_LEVELS),
        "ts": ts_ms / 1000,
        "msg": "request and response log",
        "log": {"duration": duration, "request": {"method": "GET", "path": path}},
        "response": {"status": status},
    }
    return json.dumps(fields, separators=(",", ":"))


def firehose_object(
    n_events: int, start: datetime, seed: int = 0, json_ratio: float = 0.5
) -> bytes:
    """``n_events`` log events in envelopes of 1-5 events, concatenated as Firehose does.

    Starts with one CONTROL_MESSAGE; a few envelopes are followed by a newline (as some
    writers add); ``json_ratio`` of the messages are JSON objects, the rest plain text.
    """
    rng = random.Random(seed)
    ts = int(start.timestamp() * 1000)
    control = [
        {
            "id": "",
            "timestamp": ts,
            "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose.",
        }
    ]
    parts = [envelope(control, "", "CONTROL_MESSAGE")]
    done = 0
    while done < n_events:
        size = min(rng.randint(1, 5), n_events - done)
        stream = f"web/app/{rng.choice(['3f9a1c', '7b2e40'])}"
        events = []
        for _ in range(size):
            ts += rng.randint(0, 2000)
            event_id = str(rng.getrandbits(120)).zfill(56)
            events.append(
                {
                    "id": event_id,
                    "timestamp": ts,
                    "message": _message(rng, ts, rng.random() < json_ratio),
                }
            )
        parts.append(envelope(events, stream) + (b"\n" if rng.random() < 0.2 else b""))
        done += size
    return b"".join(parts)
