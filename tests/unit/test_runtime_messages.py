"""runtime.handle per message and per object, with and without checkpoints (moto in-process)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from test_handlers import aws, context, load_handler, s3_event  # noqa: F401 (fixture)

from logferry import runtime
from logferry.pipeline import Summary
from logferry.samples.alb import alb_key, alb_lines
from logferry.sinks.cloudwatch import CloudWatchSink

TABLE = "lf-checkpoints"
GROUP = "/logferry/alb"


@pytest.fixture
def stack(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    """Raw and quarantine buckets, the log group and the checkpoint table, with their env."""
    monkeypatch.setenv("LOG_GROUP", GROUP)
    monkeypatch.setenv("QUARANTINE_BUCKET", "quarantine")
    monkeypatch.setenv("CHECKPOINT_TABLE", TABLE)
    s3 = boto3.client("s3")
    for bucket in ("raw-alb", "quarantine"):
        s3.create_bucket(Bucket=bucket)
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return s3


def put_alb(s3: Any, lines: int, seed: int = 1) -> tuple[str, list[str]]:
    now = datetime.now(UTC) - timedelta(minutes=30)
    key = alb_key("123456789012", "us-east-1", f"web{seed}", now)
    body = list(alb_lines(lines, now, seed=seed))
    s3.put_object(Bucket="raw-alb", Key=key, Body=gzip.compress("\n".join(body).encode()))
    return key, body


def sqs(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {"eventSource": "aws:sqs", "messageId": f"m{i}", "body": body}
            for i, body in enumerate(bodies)
        ]
    }


def shipped_messages() -> list[str]:
    """Every message in the log group's streams (paged)."""
    logs = boto3.client("logs")
    out: list[str] = []
    for stream in logs.describe_log_streams(logGroupName=GROUP)["logStreams"]:
        request = {"logGroupName": GROUP, "logStreamName": stream["logStreamName"]}
        token = None
        while True:
            page = logs.get_log_events(
                **request, startFromHead=True, **({"nextToken": token} if token else {})
            )
            out += [e["message"] for e in page["events"]]
            if not page["events"] or page["nextForwardToken"] == token:
                break
            token = page["nextForwardToken"]
    return out


def handler(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = load_handler("alb_to_cloudwatch").handler(event, context("alb"))
    return result


def test_a_message_that_is_not_json_fails_alone(stack: Any) -> None:
    key, lines = put_alb(stack, 50)
    result = handler(sqs("not json {", json.dumps(s3_event("raw-alb", key))))
    assert result["batchItemFailures"] == [{"itemIdentifier": "m0"}]
    assert [o["records"] for o in result["objects"]] == [50]
    assert sorted(shipped_messages()) == sorted(lines)


def test_a_redelivered_shipped_object_is_not_shipped_again(stack: Any) -> None:
    key, lines = put_alb(stack, 40)
    event = sqs(json.dumps(s3_event("raw-alb", key)))
    handler(event)
    again = handler(event)
    assert again["objects"][0]["checkpoint"] == "already shipped"
    assert again["batchItemFailures"] == []
    assert sorted(shipped_messages()) == sorted(lines)


def test_every_object_of_a_non_sqs_event_is_tried_before_it_raises(stack: Any) -> None:
    key, lines = put_alb(stack, 30)
    missing = s3_event("no-such-bucket", "x.log")["Records"]
    event = {"Records": missing + s3_event("raw-alb", key)["Records"]}
    with pytest.raises(Exception, match=r"NoSuchBucket|does not exist"):
        handler(event)
    assert sorted(shipped_messages()) == sorted(lines)


def test_a_failed_hand_off_fails_its_message_and_the_retry_resumes_there(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The continuation cannot be sent (no such function in moto): the message is retried
    and, from the checkpoint taken back, resumes at the hand-off offset."""
    key, _ = put_alb(stack, 10)
    stopped = Summary(object=f"s3://raw-alb/{key}", format="alb", next_offset=5000)
    monkeypatch.setattr(runtime, "_ship", lambda *args: stopped)
    first = handler(sqs(json.dumps(s3_event("raw-alb", key))))
    assert first["batchItemFailures"] == [{"itemIdentifier": "m0"}]
    starts: list[int] = []
    monkeypatch.setattr(
        runtime,
        "_ship",
        lambda notice, *args: starts.append(notice.start_offset) or Summary(notice.ref.uri, "alb"),
    )
    second = handler(sqs(json.dumps(s3_event("raw-alb", key))))
    assert second["batchItemFailures"] == [] and starts == [5000]
    assert second["objects"][0]["checkpoint"] == "resumed at offset 5000"


def test_a_duplicate_continuation_event_is_not_shipped(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, _ = put_alb(stack, 10)
    sent: list[dict[str, Any]] = []
    stopped = Summary(object=f"s3://raw-alb/{key}", format="alb", next_offset=3000)
    monkeypatch.setattr(runtime, "_ship", lambda *args: stopped)
    monkeypatch.setattr(runtime, "_continue", lambda *args: sent.append(args))
    handler(s3_event("raw-alb", key))
    (continuation,) = sent
    ref, offset, token = continuation[1].ref, continuation[2], continuation[4]
    event = {"logferry_continue": {"bucket": ref.bucket, "key": ref.key, "etag": ref.etag,
                                   "offset": offset, "token": token}}  # fmt: skip
    ran: list[int] = []
    monkeypatch.setattr(
        runtime,
        "_ship",
        lambda notice, *args: ran.append(notice.start_offset) or Summary(notice.ref.uri, "alb"),
    )
    handler(event)
    duplicate = handler(event)
    assert ran == [3000]  # once: the duplicate finds the object shipped by the first
    assert duplicate["objects"][0]["checkpoint"] == "already shipped"


def test_a_retry_after_a_crash_repeats_at_most_one_checkpoint_interval(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, lines = put_alb(stack, 12_000, seed=4)
    original = CloudWatchSink.add
    calls = {"n": 0}

    def add_then_crash(self: CloudWatchSink, event: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 7000:
            raise RuntimeError("crash")
        original(self, event)

    monkeypatch.setattr(CloudWatchSink, "add", add_then_crash)
    event = sqs(json.dumps(s3_event("raw-alb", key)))
    assert handler(event)["batchItemFailures"] == [{"itemIdentifier": "m0"}]
    monkeypatch.setattr(CloudWatchSink, "add", original)
    (summary,) = handler(event)["objects"]
    assert summary["checkpoint"] == f"resumed at offset {summary['start_offset']}"
    assert summary["records"] == 7000  # records 5000.. of 12000: the first 5000 are not re-read
    shipped = shipped_messages()
    assert sorted(set(shipped)) == sorted(lines)
    assert len(shipped) - len(lines) <= 2000  # only what the crashed run sent past the checkpoint
