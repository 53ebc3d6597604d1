"""Alert rules schema and window alignment."""

from __future__ import annotations

import itertools
import json

import boto3
import pytest
from moto import mock_aws

from logferry.alerts.rules import RuleError, load_rules_from_aws, load_rules_text, parse_duration
from logferry.alerts.windows import Window, due_windows

MIN = 60_000


def test_rules_defaults_merge_and_durations() -> None:
    text = json.dumps(
        {
            "defaults": {"channel": "ops", "window": "10m", "realert": "1h"},
            "rules": [
                {"name": "apigw-4xx", "log_groups": ["/api/access"],
                 "query": "filter status >= 400"},
                {"name": "quiet", "type": "flatline", "backend": "search", "index": "logs-*",
                 "threshold": 5, "delay": "90s", "channel": "oncall"},
            ],
        }
    )  # fmt: skip
    first, second = load_rules_text(text)
    assert (first.type, first.backend, first.channel) == ("any", "logs_insights", "ops")
    assert (first.window_ms, first.realert_ms, first.delay_ms) == (10 * MIN, 60 * MIN, MIN)
    assert (second.threshold, second.delay_ms, second.channel) == (5, 90_000, "oncall")
    assert second.query == "*"


def test_yaml_rules() -> None:
    rules = load_rules_text("rules:\n  - name: a\n    log_group: /g\n    type: frequency\n")
    assert rules[0].log_groups == ("/g",) and rules[0].type == "frequency"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "x", "log_groups": ["/g"], "type": "sometimes"}, "'type' must be one of"),
        ({"name": "x", "backend": "search"}, "'index' must be a non-empty string"),
        ({"name": "x"}, "logs_insights needs 'log_groups'"),
        ({"name": "x", "log_groups": ["/g"], "window": "5 fortnights"}, "not a duration"),
        ({"name": "x", "log_groups": ["/g"], "window": "90s"}, "whole number of minutes"),
        ({"name": "x", "log_groups": ["/g"], "threshhold": 3}, "unknown keys ['threshhold']"),
        ({"name": "x", "log_groups": ["/g"], "threshold": 0}, "'threshold' must be an integer"),
    ],
)
def test_invalid_rules_name_rule_and_key(rule: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match=r"rule #1 \(x\)") as info:
        load_rules_text(json.dumps({"rules": [rule]}))
    assert message in str(info.value)


def test_duplicate_names_rejected() -> None:
    rule = {"name": "dup", "log_groups": ["/g"]}
    with pytest.raises(RuleError, match="repeated: \\['dup'\\]"):
        load_rules_text(json.dumps({"rules": [rule, rule]}))


def test_parse_duration_units() -> None:
    assert [parse_duration(v, "t") for v in ("30s", "5m", "2h", "1d", 7)] == [
        30_000, 300_000, 7_200_000, 86_400_000, 7_000,
    ]  # fmt: skip


def test_first_run_takes_latest_closed_window_after_delay() -> None:
    now = 100 * 5 * MIN + 2 * MIN  # 2 minutes into a window
    windows, skipped = due_windows(None, now, 5 * MIN, 3 * MIN, 10)
    assert windows == [Window(98 * 5 * MIN, 99 * 5 * MIN)] and skipped == 0


def test_consecutive_runs_leave_no_gap_or_overlap() -> None:
    window, delay, last_end = 5 * MIN, MIN, None
    covered: list[Window] = []
    for now in range(10 * window + 7_000, 20 * window, 113_000):  # runs at irregular times
        due, _ = due_windows(last_end, now, window, delay, 100)
        covered += due
        if due:
            last_end = due[-1].end_ms
    assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(covered))
    assert len(covered) == len(set(covered)) >= 8


def test_missed_runs_catch_up_and_cap() -> None:
    window = 5 * MIN
    due, skipped = due_windows(10 * window, 16 * window, window, 0, 100)
    assert [w.end_ms // window for w in due] == [11, 12, 13, 14, 15, 16] and skipped == 0
    due, skipped = due_windows(10 * window, 16 * window, window, 0, 2)
    assert [w.end_ms // window for w in due] == [15, 16] and skipped == 4


def test_window_size_change_neither_overlaps_nor_gaps() -> None:
    due, _ = due_windows(7 * MIN, 20 * MIN, 5 * MIN, 0, 10)  # was 1-minute windows
    assert due == [
        Window(7 * MIN, 10 * MIN),
        Window(10 * MIN, 15 * MIN),
        Window(15 * MIN, 20 * MIN),
    ]


def test_nothing_due_twice_and_previous_window() -> None:
    assert due_windows(12 * MIN, 12 * MIN + 30_000, MIN, 0, 5) == ([], 0)
    assert Window(10, 20).previous == Window(0, 10)


@mock_aws
def test_rules_from_s3_or_ssm() -> None:
    s3, ssm = (
        boto3.client("s3", region_name="us-east-1"),
        boto3.client("ssm", region_name="us-east-1"),
    )
    s3.create_bucket(Bucket="cfg")
    s3.put_object(
        Bucket="cfg", Key="alerts/rules.yaml", Body=b"rules:\n  - {name: s, log_group: /g}\n"
    )
    ssm.put_parameter(
        Name="/r", Value='{"rules": [{"name": "p", "log_group": "/g"}]}', Type="String"
    )
    env = {"RULES_S3_URI": "s3://cfg/alerts/rules.yaml", "RULES_PARAM": "/r"}
    assert [r.name for r in load_rules_from_aws(env, ssm, s3)] == ["s"]  # S3 wins
    assert [r.name for r in load_rules_from_aws({"RULES_PARAM": "/r"}, ssm, s3)] == ["p"]
    with pytest.raises(RuleError, match="set RULES_PARAM"):
        load_rules_from_aws({}, ssm, s3)
