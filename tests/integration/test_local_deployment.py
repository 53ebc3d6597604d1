"""The deployed local stack beyond the shipping chain: the alert function with its secret,
rules parameter and schedule, as terraform/stacks/local declares them.

Run: .venv/bin/pytest tests/integration/test_local_deployment.py  (starts the stack if needed).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from logferry.local.chain import Chain
from logferry.local.endpoints import boto3_client
from logferry.local.scheduler import scheduled_event

pytestmark = pytest.mark.e2e


def test_the_alert_function_is_scheduled_and_runs_before_the_webhook_is_set(
    chain: Chain,
) -> None:
    d = chain.deployment
    events = boto3_client("events", chain.endpoints)
    rule = events.describe_rule(Name=f"{d.name_prefix}-alert-schedule")
    assert rule["State"] == "ENABLED" and rule["ScheduleExpression"] == "rate(5 minutes)"
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"].endswith(f":function:{d.alert_function}")
    lam = boto3_client("lambda", chain.endpoints)
    env = lam.get_function_configuration(FunctionName=d.alert_function)["Environment"]
    assert env["Variables"]["SLACK_SECRET_ARN"] == d.slack_secret_arn
    assert env["Variables"]["RULES_PARAM"] == d.rules_param
    event = scheduled_event(rule["Arn"], datetime.now(UTC))
    answer = lam.invoke(FunctionName=d.alert_function, Payload=json.dumps(event).encode())
    payload = answer["Payload"].read()
    assert "FunctionError" not in answer, payload
