"""AWS clients, one per service and process (``AWS_ENDPOINT_URL`` is honoured by boto3).

:func:`client` has boto3's defaults (its retries, a 60 s read timeout): for reads whose time
the pipeline watches between records. :func:`bounded_client` is for the calls the invocation's
reserve must cover (PutLogEvents, parks, the continuation invoke): one attempt of at most
:data:`CALL_SECONDS` (botocore timeouts are per client, not per call), the caller retries
while its deadline leaves room for another attempt.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

CONNECT_SECONDS = 1.0
"""Connect timeout of a bounded client (a local or in-region endpoint connects in ms)."""
READ_SECONDS = 4.0
"""Read timeout of a bounded client: a 1 MB PutLogEvents or a park answers in well under 1 s."""
CALL_SECONDS = CONNECT_SECONDS + READ_SECONDS
"""The longest one bounded call can take before it times out (its outcome then unknown)."""


@cache
def client(service: str) -> Any:
    """A cached boto3 client for ``service``."""
    return boto3.client(service)


@cache
def bounded_client(service: str) -> Any:
    """A cached boto3 client for ``service`` whose calls end within :data:`CALL_SECONDS`."""
    config = Config(
        connect_timeout=CONNECT_SECONDS,
        read_timeout=READ_SECONDS,
        retries={"total_max_attempts": 1},
    )
    return boto3.client(service, config=config)
