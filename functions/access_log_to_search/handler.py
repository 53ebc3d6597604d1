"""Apache / nginx access log objects -> search, plus per-minute counts by status. Seed 003.

LOG_FORMAT picks apache (default), nginx or regex (with LOG_PATTERN). The per-minute status
counts (what the seed's Kinesis Analytics SQL computed) are indexed as their own documents.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from logferry.aggregate import StatusCounts
from logferry.model import ObjectRef
from logferry.runtime import handle
from logferry.settings import Settings
from logferry.sinks import Sink
from logferry.sinks.factory import search_sink

logger = Logger(service="access_log_to_search")


def make_sinks(settings: Settings, ref: ObjectRef) -> list[Sink]:
    """Every document to search, and the per-minute status counts of this object too."""
    search = search_sink(settings)
    return [search, StatusCounts(search, ref)]


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ship every access log object the S3 / SQS / EventBridge event names."""
    return handle(event, context, Settings.from_env("apache"), make_sinks, logger)
