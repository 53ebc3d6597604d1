"""ALB access log objects -> CloudWatch Logs (and search with SINKS=cloudwatch,search). Seed 000.

Wiring only: the function's defaults and sinks are declared in logferry.composition, the
work is in logferry.runtime.handle.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from logferry.runtime import handle

FUNCTION = "alb_to_cloudwatch"
logger = Logger(service=FUNCTION)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ship every ALB log object the S3 / SQS / EventBridge event names."""
    return handle(event, context, FUNCTION, logger)
