"""Apache / nginx access log objects -> search, plus per-minute counts by status. Seed 003.

LOG_FORMAT picks apache (default), nginx, regex (with LOG_PATTERN) or apigw; the per-minute
status counts (what the seed's Kinesis Analytics SQL computed) are the ``status_counts`` sink.

Wiring only: the function's defaults and sinks are declared in logferry.composition, the
work is in logferry.runtime.handle.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from logferry.runtime import handle

FUNCTION = "access_log_to_search"
logger = Logger(service=FUNCTION)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ship every access log object the S3 / SQS / EventBridge event names."""
    return handle(event, context, FUNCTION, logger)
