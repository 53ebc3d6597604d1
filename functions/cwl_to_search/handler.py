"""Firehose-delivered CloudWatch Logs objects -> Elasticsearch / OpenSearch. Seed 001.

Wiring only: configuration from the environment (see logferry.settings.Settings), the work in
logferry.runtime.handle.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from logferry.model import ObjectRef
from logferry.runtime import handle
from logferry.settings import Settings
from logferry.sinks import Sink
from logferry.sinks.factory import search_sink

logger = Logger(service="cwl_to_search")


def make_sinks(settings: Settings, _ref: ObjectRef) -> list[Sink]:
    """The search engine only."""
    return [search_sink(settings)]


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ship every Firehose object the S3 / SQS / EventBridge event names."""
    return handle(event, context, Settings.from_env("cwl"), make_sinks, logger)
