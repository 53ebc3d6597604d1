"""Scheduled alerting: rule queries (Logs Insights / search) -> Slack. Seed 004, done properly.

Rules come from RULES_PARAM (SSM) or RULES_S3_URI, state from STATE_PARAM_PREFIX, webhooks
from SLACK_SECRET_ARN; see logferry.alerts.app. Each failing rule is logged at ERROR and
counted in the RuleErrors metric (logferry.alerts.metrics). The EventBridge event's ``time`` (the
scheduled time) is the run's "now", so a retried invocation evaluates the same windows.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from logferry.alerts.app import run_once
from logferry.alerts.metrics import publish_rule_errors
from logferry.alerts.rules import load_rules_from_aws

logger = Logger(service="log_alert")


def now_ms(event: dict[str, Any]) -> int:
    """The scheduled time of the event (ISO ``time``), else the clock."""
    scheduled = event.get("time") if isinstance(event, dict) else None
    if isinstance(scheduled, str) and scheduled:
        return int(datetime.fromisoformat(scheduled.replace("Z", "+00:00")).timestamp() * 1000)
    return int(time.time() * 1000)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run every rule once over the windows due at the scheduled time."""
    env = dict(os.environ)
    rules = load_rules_from_aws(env, boto3.client("ssm"), boto3.client("s3"))
    summary = run_once(rules, env, now_ms(event))
    for rule_name, error in summary["errors"].items():
        logger.error("alert rule failing", extra={"rule": rule_name, "error": error})
    publish_rule_errors(summary["errors"], env)
    logger.info("alert run", extra=summary)
    return summary
