"""On-prem uptime+vmstat uploads -> CSV and a load graph in the analyzed bucket. Seed 002.

Wiring only: OUTPUT_BUCKET names the analyzed bucket; the work is in logferry.serverlog_csv.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from logferry.model import ObjectRef
from logferry.runtime import client, handle
from logferry.serverlog_csv import ServerLogCsvSink
from logferry.settings import ConfigError, Settings
from logferry.sinks import Sink

logger = Logger(service="serverlog_to_csv")


def make_sinks(settings: Settings, ref: ObjectRef) -> list[Sink]:
    """One CSV (+ graph) writer per uploaded object."""
    if not settings.output_bucket:
        raise ConfigError("OUTPUT_BUCKET is not set: where should the CSV go?")
    return [ServerLogCsvSink(client("s3"), settings.output_bucket, ref)]


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Convert every uploaded server log the S3 / SQS / EventBridge event names."""
    return handle(event, context, Settings.from_env("serverlog"), make_sinks, logger)
