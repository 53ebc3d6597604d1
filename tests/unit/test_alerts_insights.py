"""Logs Insights back end: request / poll / deadline plumbing and result handling.

The happy path runs against moto's in-process Logs Insights. moto ignores ``filter`` and
``stats`` (it returns every event in the time range), reports no ``statistics`` and has no
``stop_query``, so the polling, deadline and result shapes are checked against recorded
get_query_results responses (tests/unit/fixtures/logs_insights/) through botocore's Stubber.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from logferry.alerts.insights import LogsInsightsBackend, console_link, rows_to_dicts
from logferry.alerts.query import QueryError
from logferry.alerts.rules import Rule
from logferry.alerts.windows import Window

FIXTURES = Path(__file__).parent / "fixtures" / "logs_insights"
RULE = Rule(
    name="apigw-errors",
    backend="logs_insights",
    query="fields @timestamp, @message | filter status >= 400",
    log_groups=("/aws/apigateway/access",),
    top_fields=("status",),
)
WINDOW = Window(1_795_914_000_000, 1_795_914_300_000)  # 2026-11-29 01:00 .. 01:05 UTC


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def stubbed(timeout: float = 10.0) -> tuple[LogsInsightsBackend, Stubber, Clock]:
    client = boto3.client(
        "logs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    clock = Clock()
    backend = LogsInsightsBackend(
        client, timeout=timeout, poll_interval=2.0, clock=clock, sleep=clock.sleep
    )
    return backend, Stubber(client), clock


def expect_start(stub: Stubber, query_id: str, query: str | Any = ANY) -> None:
    stub.add_response(
        "start_query",
        {"queryId": query_id},
        {
            "logGroupNames": ["/aws/apigateway/access"],
            "startTime": 1_795_914_000,
            "endTime": 1_795_914_299,
            "queryString": query,
            "limit": ANY,
        },
    )


def test_polls_until_complete_and_reads_recorded_shapes() -> None:
    backend, stub, clock = stubbed()
    expect_start(stub, "q1", f"{RULE.query} | sort @timestamp desc")
    stub.add_response("get_query_results", fixture("running"), {"queryId": "q1"})
    stub.add_response("get_query_results", fixture("complete_samples"), {"queryId": "q1"})
    expect_start(stub, "q2")
    stub.add_response("get_query_results", fixture("complete_stats_by_status"), {"queryId": "q2"})
    with stub:
        result = backend.run(RULE, WINDOW, details=True)
    stub.assert_no_pending_responses()
    assert result.count == 17  # statistics.recordsMatched, not the 3 sample rows
    assert result.top == {"status": [("502", 11), ("500", 4), ("404", 2)]}
    assert len(result.samples) == 3 and json.loads(result.samples[0])["status"] == "502"
    assert result.link and "logs-insights" in result.link and "eu-west-1" in result.link
    assert clock.sleeps == [2.0]


def test_deadline_stops_the_query() -> None:
    backend, stub, clock = stubbed(timeout=5.0)
    expect_start(stub, "slow")
    for _ in range(4):
        stub.add_response("get_query_results", fixture("running"), {"queryId": "slow"})
    stub.add_response("stop_query", {"success": True}, {"queryId": "slow"})
    with stub, pytest.raises(QueryError, match=r"apigw-errors.*slow still Running after 5s"):
        backend.run(RULE, WINDOW, details=False)
    stub.assert_no_pending_responses()
    assert clock.now >= 5.0


@pytest.mark.parametrize("status", ["Timeout", "Failed", "Cancelled"])
def test_final_failure_statuses_raise(status: str) -> None:
    backend, stub, _ = stubbed()
    expect_start(stub, "q")
    stub.add_response("get_query_results", {**fixture("timeout"), "status": status})
    with stub, pytest.raises(QueryError, match=f"query q {status}"):
        backend.run(RULE, WINDOW, details=False)


def test_zero_matches_skip_detail_queries() -> None:
    backend, stub, _ = stubbed()
    expect_start(stub, "q")
    empty = {"results": [], "statistics": {"recordsMatched": 0.0}, "status": "Complete"}
    stub.add_response("get_query_results", empty)
    with stub:
        result = backend.run(RULE, WINDOW, details=True)
    stub.assert_no_pending_responses()
    assert (result.count, result.top, result.link) == (0, {}, None)


def test_rows_drop_ptr_and_link_encodes_query() -> None:
    rows = rows_to_dicts(fixture("complete_samples")["results"])
    assert set(rows[0]) == {"@timestamp", "@message"}
    link = console_link("us-east-1", RULE, WINDOW)
    assert "logs-insights$3FqueryDetail$3D~(end~'2026-11-29T01*3A05*3A00.000Z~start~" in link
    assert "editorString~'fields*20*40timestamp*2C*20*40message*20*7C*20filter" in link
    assert "~source~(~'*2Faws*2Fapigateway*2Faccess))" in link and " " not in link


@mock_aws
def test_request_and_poll_against_moto() -> None:
    start = (int(time.time()) - 3600) // 300 * 300 * 1000
    window = Window(start, start + 300_000)
    logs = boto3.client("logs", region_name="us-east-1")
    logs.create_log_group(logGroupName="/aws/apigateway/access")
    logs.create_log_stream(logGroupName="/aws/apigateway/access", logStreamName="s")
    inside = [window.start_ms + 1_000, window.end_ms - 2_000]
    outside = [window.start_ms - 1_000, window.end_ms + 1_000]
    logs.put_log_events(
        logGroupName="/aws/apigateway/access",
        logStreamName="s",
        logEvents=[{"timestamp": t, "message": json.dumps({"status": 500, "t": t})}
                   for t in sorted(inside + outside)],
    )  # fmt: skip
    backend = LogsInsightsBackend(logs, timeout=5, poll_interval=0.01)
    rule = Rule(name="m", backend="logs_insights", query="fields @timestamp, @message",
                log_groups=("/aws/apigateway/access",), samples=5)  # fmt: skip
    result = backend.run(rule, window, details=True)
    # moto: no statistics, so the count is the rows returned, only those inside the window
    assert result.count == 2
    assert sorted(json.loads(s)["t"] for s in result.samples) == inside
