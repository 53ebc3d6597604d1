"""On-prem uptime+vmstat uploads -> CSV and a load graph in the analyzed bucket. Seed 002.

Wiring only: the function's defaults and sinks are declared in logferry.composition, the
work is in logferry.runtime.handle.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from logferry.runtime import handle

FUNCTION = "serverlog_to_csv"
logger = Logger(service=FUNCTION)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Convert every uploaded server log the S3 / SQS / EventBridge event names."""
    return handle(event, context, FUNCTION, logger)
