"""The log_alert handler while the Slack secret has no webhook: quiet runs, one warning each.

Terraform creates ``<name_prefix>/slack-webhook`` without a value; the schedule runs from the
first apply. Until the webhook is set the rules are evaluated, nothing is posted, the run
returns normally and logs one WARNING naming the secret. Against moto, in-process.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from test_alerts_handler import iso, load_handler, posts  # noqa: F401 (fixture)

from logferry.alerts.engine import run_rule
from logferry.alerts.evaluate import Firing
from logferry.alerts.query import QueryResult
from logferry.alerts.rules import Rule, parse_rule
from logferry.alerts.state import MemoryStateStore, RuleState
from logferry.alerts.windows import Window

HANDLER = Path(__file__).resolve().parents[2] / "functions" / "log_alert" / "handler.py"
GROUP = "/aws/apigateway/access"
W = 300_000
QUIET = "alerts are evaluated but not posted until the webhook is set"
CTX = SimpleNamespace(
    function_name="logferry-log_alert",
    memory_limit_in_mb=256,
    aws_request_id="r",
    invoked_function_arn="arn:aws:lambda:us-east-1:1:function:logferry-log_alert",
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Moto with the rules, an ALB-like log group holding 3 errors; yields a window end."""
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x",
                        "AWS_SECRET_ACCESS_KEY": "x"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    with mock_aws():
        rule = {"name": "errors", "log_groups": [GROUP], "delay": "0s", "query": "filter 1"}
        boto3.client("ssm").put_parameter(
            Name="/lf/rules", Value=json.dumps({"rules": [rule]}), Type="String"
        )
        monkeypatch.setenv("RULES_PARAM", "/lf/rules")
        monkeypatch.setenv("STATE_PARAM_PREFIX", "/lf/state/")
        logs = boto3.client("logs")
        logs.create_log_group(logGroupName=GROUP)
        logs.create_log_stream(logGroupName=GROUP, logStreamName="s")
        end = (int(time.time() * 1000) - 3_600_000) // W * W
        events = [{"timestamp": end - 60_000 + i, "message": "502"} for i in range(3)]
        logs.put_log_events(logGroupName=GROUP, logStreamName="s", logEvents=events)
        yield end


def quiet_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_secret_without_a_value_evaluates_posts_nothing_and_says_so_once(
    aws: int,
    posts: tuple[list[dict[str, Any]], str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    received, url = posts
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name="lf/slack-webhook")["ARN"]  # as Terraform leaves it
    monkeypatch.setenv("SLACK_SECRET_ARN", arn)
    handler = load_handler().handler

    with caplog.at_level(logging.WARNING):
        first = handler({"time": iso(aws + 1_000)}, CTX)
    assert (first["fired"], first["sent"], first["unposted"], first["errors"]) == (1, 0, 1, {})
    warnings = quiet_warnings(caplog)
    assert len(warnings) == 1 and arn in warnings[0] and QUIET in warnings[0], warnings
    assert received == []
    state = rule_state()
    assert state["last_end_ms"] == aws and state.get("last_sent_ms") is None

    # The webhook set: the next firing window is posted, the handled one is not re-posted.
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({"default": url}))
    boto3.client("logs").put_log_events(
        logGroupName=GROUP,
        logStreamName="s",
        logEvents=[{"timestamp": aws + W - 60_000, "message": "502"}],
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        second = handler({"time": iso(aws + W + 1_000)}, CTX)
    assert (second["windows"], second["sent"], second["unposted"]) == (1, 1, 0)
    assert quiet_warnings(caplog) == []
    assert [m["text"] for m in received] == ["errors: 1 match"]


def rule_state() -> dict[str, Any]:
    value = boto3.client("ssm").get_parameter(Name="/lf/state/errors")["Parameter"]["Value"]
    return dict(json.loads(value))


@pytest.mark.parametrize("value", ["  \n", "{}"], ids=["blank", "no-channels"])
def test_empty_secret_value_is_quiet_too(
    aws: int, value: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="lf/slack", SecretString=value)["ARN"]
    monkeypatch.setenv("SLACK_SECRET_ARN", arn)
    with caplog.at_level(logging.WARNING):
        summary = load_handler().handler({"time": iso(aws + 1_000)}, CTX)
    assert (summary["unposted"], summary["errors"]) == (1, {})
    assert len([w for w in quiet_warnings(caplog) if QUIET in w and arn in w]) == 1


def test_a_secret_that_does_not_exist_still_fails(
    aws: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:lf/nope-AbCdEf"
    monkeypatch.setenv("SLACK_SECRET_ARN", missing)
    client = boto3.client("secretsmanager")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        load_handler().handler({"time": iso(aws + 1_000)}, CTX)


class StaticBackend:
    def run(self, rule: Rule, window: Window, details: bool) -> QueryResult:
        return QueryResult(5)


class Unposted:
    def __init__(self) -> None:
        self.firings: list[Firing] = []

    def send(self, firing: Firing) -> None:
        self.firings.append(firing)


def test_engine_counts_unposted_firings_and_moves_on_without_a_cooldown() -> None:
    rule = parse_rule({"name": "r", "log_groups": ["/g"], "query": "q", "delay": "0s"}, 0)
    store, notifier = MemoryStateStore(), Unposted()
    store.save("r", RuleState(last_end_ms=0))
    summary = run_rule(rule, StaticBackend(), store, notifier, 3 * W + 1)
    assert (summary.windows, summary.fired, summary.unposted, summary.sent) == (3, 3, 3, 0)
    assert len(notifier.firings) == 3
    assert store.load("r").last_end_ms == 3 * W and store.load("r").last_sent_ms is None
