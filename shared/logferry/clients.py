"""AWS clients, one per service and process (``AWS_ENDPOINT_URL`` is honoured by boto3).

:func:`client` has boto3's defaults (its retries, a 60 s read timeout): for reads whose time
the pipeline watches between records. :func:`bounded_client` is for the calls the invocation's
reserve must cover (PutLogEvents, parks, the continuation invoke): botocore timeouts are per
client, not per call, so these clients make one attempt that ends within ``call_seconds``
(connect plus read timeout) and the caller retries while its deadline leaves room.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config


@cache
def client(service: str) -> Any:
    """A cached boto3 client for ``service``."""
    return boto3.client(service)


@cache
def bounded_client(service: str, call_seconds: float) -> Any:
    """A cached boto3 client for ``service`` whose every call ends within ``call_seconds``
    (connect timeout a quarter of it, at most 1 s; read timeout the rest; no retries)."""
    connect = min(1.0, call_seconds / 4)
    config = Config(
        connect_timeout=connect,
        read_timeout=call_seconds - connect,
        retries={"total_max_attempts": 1},
    )
    return boto3.client(service, config=config)
