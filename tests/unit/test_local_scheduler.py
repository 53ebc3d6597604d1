"""The scheduler reads schedule rules (moto in-process) and fires their Lambda targets."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from logferry.local.endpoints import Endpoints
from logferry.local.scheduler import Scheduler

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:report"


class FakeLambda:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **call: Any) -> None:
        self.calls.append(call)


@pytest.fixture
def scheduler(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        events = boto3.client("events")
        events.put_rule(Name="hourly", ScheduleExpression="rate(1 hour)")
        events.put_targets(Rule="hourly", Targets=[{"Id": "1", "Arn": FUNCTION}])
        events.put_rule(Name="off", ScheduleExpression="rate(1 minute)", State="DISABLED")
        events.put_targets(Rule="off", Targets=[{"Id": "1", "Arn": FUNCTION}])
        events.put_rule(Name="pattern", EventPattern=json.dumps({"source": ["x"]}))
        scheduler = Scheduler(Endpoints(aws="http://127.0.0.1:9"))
        scheduler.events = events
        scheduler.functions = FakeLambda()
        yield scheduler


def test_rate_rule_fires_once_per_period_with_scheduled_event(scheduler: Any) -> None:
    start = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert scheduler.tick(start) == 0
    assert scheduler.tick(start + timedelta(minutes=59)) == 0
    assert scheduler.tick(start + timedelta(hours=1)) == 1
    assert scheduler.tick(start + timedelta(hours=1, minutes=1)) == 0
    call = scheduler.functions.calls[0]
    assert call["FunctionName"] == FUNCTION and call["InvocationType"] == "Event"
    event = json.loads(call["Payload"])
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"][0].endswith(":rule/hourly")
    assert event["time"] == "2026-11-24T02:00:00Z"
