"""The thin handlers wired to logferry.runtime, run in-process against moto's mock."""

from __future__ import annotations

import gzip
import importlib.util
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from logferry.samples.alb import alb_key, alb_lines

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def load_handler(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"fn_{name}", FUNCTIONS / name / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def context(name: str, remaining_ms: int = 300_000) -> Any:
    return SimpleNamespace(
        function_name=name,
        memory_limit_in_mb=512,
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        aws_request_id="req-1",
        get_remaining_time_in_millis=lambda: remaining_ms,
    )


def s3_event(bucket: str, key: str) -> dict[str, Any]:
    from urllib.parse import quote_plus

    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key)}},
            }
        ]
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setenv(var, value)
    from logferry.runtime import _wiring, client

    client.cache_clear()
    _wiring.cache_clear()
    with mock_aws():
        yield
    client.cache_clear()
    _wiring.cache_clear()


def test_alb_to_cloudwatch_ships_every_line(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_GROUP", "/logferry/alb")
    monkeypatch.setenv("QUARANTINE_BUCKET", "quarantine")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="raw-alb")
    s3.create_bucket(Bucket="quarantine")
    now = datetime.now(UTC) - timedelta(minutes=30)
    key = alb_key("123456789012", "us-east-1", "web", now)
    lines = list(alb_lines(2500, now, seed=3, garbage_rate=0.01))
    s3.put_object(Bucket="raw-alb", Key=key, Body=gzip.compress("\n".join(lines).encode()))

    result = load_handler("alb_to_cloudwatch").handler(s3_event("raw-alb", key), context("alb"))

    (summary,) = result["objects"]
    assert summary["records"] == 2500
    assert summary["shipped"]["cloudwatch"] == 2500
    assert summary["parse_errors"] > 0
    logs = boto3.client("logs")
    stream = logs.describe_log_streams(logGroupName="/logferry/alb")["logStreams"][0]
    events = logs.get_log_events(
        logGroupName="/logferry/alb", logStreamName=stream["logStreamName"], startFromHead=True,
        limit=10000,
    )["events"]  # fmt: skip
    assert sorted(e["message"] for e in events) == sorted(lines)
    assert "batchItemFailures" not in result


def test_sqs_wrapped_failure_reports_only_that_message(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOG_GROUP", raising=False)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="raw-alb")
    s3.put_object(Bucket="raw-alb", Key="a.log", Body=b"x\n")
    event = {
        "Records": [
            {
                "eventSource": "aws:sqs",
                "messageId": "m1",
                "body": json.dumps(s3_event("raw-alb", "a.log")),
            }
        ]
    }
    result = load_handler("alb_to_cloudwatch").handler(event, context("alb"))
    assert result["batchItemFailures"] == [{"itemIdentifier": "m1"}]
