"""A failing rule fails visibly: ERROR log, rate-limited "failing since" notices, recovery,
the state kept in the store, the RuleErrors metric lines."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import boto3
import pytest
from moto import mock_aws

from logferry import metrics as shipping_metrics
from logferry.alerts import failures
from logferry.alerts.engine import run
from logferry.alerts.metrics import NAMESPACE, publish_rule_errors
from logferry.alerts.query import QueryError, QueryResult
from logferry.alerts.rules import Rule
from logferry.alerts.state import MemoryStateStore, RuleState, SsmStateStore
from logferry.alerts.windows import Window

MIN = 60_000
W = 5 * MIN
HOUR = 3_600_000


@dataclass
class SwitchBackend:
    """Fails while ``failing`` is set; else counts 0."""

    failing: bool = True

    def run(self, rule: Rule, window: Window, details: bool) -> QueryResult:
        if self.failing:
            raise QueryError("index_not_found_exception: no such index [missing-*]")
        return QueryResult(0)


@dataclass
class Notices:
    """Records notices; ``answers`` scripts the delivery results (True once exhausted)."""

    answers: list[bool | None] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def send(self, firing: object) -> bool:
        raise AssertionError("no firing expected")

    def notify(self, rule: Rule, text: str) -> bool | None:
        answer = self.answers.pop(0) if self.answers else True
        if answer:
            self.texts.append(text)
        return answer


def rule() -> Rule:
    return Rule(name="broken", backend="fake", query="q", window_ms=W, delay_ms=0, realert_ms=0)


def test_failed_is_due_first_then_once_per_period() -> None:
    state, due = failures.failed(RuleState(), 1_000, "boom", HOUR)
    assert due and state.failing_since_ms == 1_000 and state.last_error == "boom"
    state = failures.noticed(state, 1_000)
    state, due = failures.failed(state, 1_000 + HOUR - 1, "boom again", HOUR)
    assert not due and state.failing_since_ms == 1_000 and state.last_error == "boom again"
    state, due = failures.failed(state, 1_000 + HOUR, "boom", HOUR)
    assert due and state.failing_since_ms == 1_000


def test_recovered_clears_and_is_due_only_after_a_notice() -> None:
    quiet, due = failures.recovered(RuleState(failing_since_ms=5, last_error="x"))
    assert not due and quiet == RuleState()
    told = RuleState(last_end_ms=9, failing_since_ms=5, failure_noticed_ms=5, last_error="x")
    cleared, due = failures.recovered(told)
    assert due and cleared == RuleState(last_end_ms=9)


def test_failing_text_names_rule_time_and_error() -> None:
    state = RuleState(failing_since_ms=0, last_error="QueryError: no such index")
    text = failures.failing_text("broken", state)
    assert text == "rule broken failing since 1970-01-01 00:00 UTC: QueryError: no such index"


def test_notice_once_across_runs_until_the_period_passes_then_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend, store, notices = SwitchBackend(), MemoryStateStore(), Notices()
    with caplog.at_level(logging.ERROR, logger="logferry.alerts.engine"):
        first = run([rule()], {"fake": backend}, store, notices, W + 1_000, notice_every_ms=HOUR)
    assert "index_not_found_exception" in first.errors["broken"] and first.notices == 1
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "rule broken: run failed" in caplog.records[0].getMessage()
    second = run([rule()], {"fake": backend}, store, notices, 2 * W + 1_000, notice_every_ms=HOUR)
    assert second.errors and second.notices == 0 and len(notices.texts) == 1
    assert notices.texts[0].startswith("rule broken failing since 1970-01-01 00:05 UTC: Query")
    later = run([rule()], {"fake": backend}, store, notices, HOUR + W + 1_000, notice_every_ms=HOUR)
    assert later.notices == 1 and "failing since 1970-01-01 00:05 UTC" in notices.texts[1]
    backend.failing = False
    fine = run([rule()], {"fake": backend}, store, notices, HOUR + 2 * W + 1_000)
    assert fine.errors == {} and fine.notices == 1
    assert notices.texts[2].startswith("rule broken works again at 1970-01-01 01:10 UTC")
    state = store.load("broken")
    assert state.failing_since_ms is None and state.last_end_ms == HOUR + 2 * W


def test_an_undelivered_notice_is_tried_again_next_run() -> None:
    store, notices = MemoryStateStore(), Notices(answers=[False])
    run([rule()], {"fake": SwitchBackend()}, store, notices, W + 1_000)
    assert notices.texts == [] and store.load("broken").failure_noticed_ms is None
    run([rule()], {"fake": SwitchBackend()}, store, notices, 2 * W + 1_000)
    assert len(notices.texts) == 1 and store.load("broken").failure_noticed_ms == 2 * W + 1_000


def test_no_webhook_counts_the_notice_as_handled() -> None:
    store, notices = MemoryStateStore(), Notices(answers=[None])
    summary = run([rule()], {"fake": SwitchBackend()}, store, notices, W + 1_000)
    assert summary.notices == 0 and store.load("broken").failure_noticed_ms == W + 1_000


def test_an_unconfigured_back_end_is_a_failing_rule() -> None:
    store, notices = MemoryStateStore(), Notices()
    summary = run([rule()], {}, store, notices, W + 1_000)
    assert summary.errors == {"broken": "back end fake is not configured"}
    assert notices.texts == ["rule broken failing since 1970-01-01 00:05 UTC: back end fake "
                             "is not configured"]  # fmt: skip


def test_a_broken_state_store_still_reports_the_error() -> None:
    class Broken(MemoryStateStore):
        def save(self, rule_name: str, state: RuleState) -> None:
            raise OSError("ssm down")

    summary = run([rule()], {"fake": SwitchBackend()}, Broken(), Notices(), W + 1_000)
    assert "broken" in summary.errors and summary.notices == 0


def test_failure_state_round_trips_through_ssm() -> None:
    with mock_aws():
        store = SsmStateStore(boto3.client("ssm", region_name="us-east-1"), "/lf/state")
        notices = Notices()
        run([rule()], {"fake": SwitchBackend()}, store, notices, W + 1_000)
        run([rule()], {"fake": SwitchBackend()}, store, notices, 2 * W + 1_000)
        saved = store.load("broken")
    assert len(notices.texts) == 1
    assert (saved.failing_since_ms, saved.failure_noticed_ms) == (W + 1_000, W + 1_000)
    assert saved.last_error and "index_not_found_exception" in saved.last_error


def test_rule_errors_metric_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert NAMESPACE == shipping_metrics.NAMESPACE
    env = {"AWS_LAMBDA_FUNCTION_NAME": "lf-log_alert"}
    publish_rule_errors({"broken": "x", "other": "y"}, env)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["RuleErrors"] for line in lines] == [[2.0], [1.0], [1.0]]
    assert [line.get("rule") for line in lines] == [None, "broken", "other"]
    assert all(line["service"] == "lf-log_alert" for line in lines)
    directives = [line["_aws"]["CloudWatchMetrics"][0] for line in lines]
    assert all(d["Namespace"] == "logferry" for d in directives)
    assert directives[0]["Dimensions"] == [["service"]]
    assert sorted(directives[1]["Dimensions"][0]) == ["rule", "service"]


def test_no_failing_rule_still_emits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    publish_rule_errors({}, {"AWS_LAMBDA_FUNCTION_NAME": "lf-log_alert"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 1 and lines[0]["RuleErrors"] == [0.0]
