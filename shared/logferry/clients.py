"""AWS clients, one per service and process (``AWS_ENDPOINT_URL`` is honoured by boto3)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3


@cache
def client(service: str) -> Any:
    """A cached boto3 client for ``service``."""
    return boto3.client(service)
