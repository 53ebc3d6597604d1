"""ALB access log objects -> CloudWatch Logs (and search, if SEARCH_URL is set). Seed 000.

Wiring only: configuration from the environment (see logferry.settings.Settings), the work in
logferry.runtime.handle.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from logferry.model import ObjectRef
from logferry.runtime import client, handle
from logferry.settings import Settings
from logferry.sinks import Sink
from logferry.sinks.factory import cloudwatch_sink, search_sink

logger = Logger(service="alb_to_cloudwatch")


def make_sinks(settings: Settings, ref: ObjectRef) -> list[Sink]:
    """CloudWatch Logs always; search too when an endpoint is configured."""
    sinks = [cloudwatch_sink(settings, ref, client("logs"))]
    if settings.search_url:
        sinks.append(search_sink(settings))
    return sinks


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ship every ALB log object the S3 / SQS / EventBridge event names."""
    return handle(event, context, Settings.from_env("alb"), make_sinks, logger)
