"""`logferry redrive` against moto's SQS in-process; the Lambda client is a recorder."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from logferry import redrive
from logferry.redrive import NotRedrivable, invocation, redrive_dlq, redrive_failures

ARN = "arn:aws:lambda:us-east-1:123456789012:function:logferry-cwl_to_search"


def record(payload: Any, arn: str = ARN) -> str:
    return json.dumps(
        {
            "version": "1.0",
            "requestContext": {"functionArn": f"{arn}:$LATEST", "condition": "RetriesExhausted"},
            "requestPayload": payload,
        }
    )


class Lambda:
    """Records async invokes; refuses those whose payload holds "refuse"."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        if b"refuse" in kwargs["Payload"]:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "Invoke")
        self.calls.append(kwargs)
        return {"StatusCode": 202}


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("sqs")


def queue(sqs: Any, name: str, bodies: list[str] = ()) -> str:  # type: ignore[assignment]
    url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    return url


def visible(sqs: Any, url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted(m["Body"] for m in messages)


def test_invocation_reads_function_and_payload() -> None:
    target = invocation(record({"Records": [1]}))
    assert target.function == ARN
    assert target.qualifier is None
    assert json.loads(target.payload) == {"Records": [1]}
    assert invocation(record({}, arn=f"{ARN}:live")).qualifier == "live"


@pytest.mark.parametrize(
    "body", ["not json", "{}", json.dumps({"requestContext": {"functionArn": "x"}})]
)
def test_invocation_refuses_what_is_not_an_on_failure_record(body: str) -> None:
    with pytest.raises(NotRedrivable):
        invocation(body)


def test_failures_are_invoked_again_and_deleted(sqs: Any) -> None:
    url = queue(sqs, "fn-failures", [record({"n": n}) for n in range(3)])
    lam = Lambda()
    lines: list[str] = []
    counts = redrive_failures(url, wait=0, progress=lines.append, sqs=sqs, lam=lam)
    assert (counts.seen, counts.redriven, counts.skipped, counts.failed) == (3, 3, 0, 0)
    assert sorted(json.loads(c["Payload"])["n"] for c in lam.calls) == [0, 1, 2]
    assert {c["InvocationType"] for c in lam.calls} == {"Event"}
    assert {c["FunctionName"] for c in lam.calls} == {ARN}
    assert visible(sqs, url) == []
    assert len(lines) == 3


def test_dry_run_changes_nothing(sqs: Any) -> None:
    bodies = [record({"n": n}) for n in range(2)]
    url = queue(sqs, "fn-failures", bodies)
    lam = Lambda()
    counts = redrive_failures(url, dry_run=True, wait=0, progress=lambda _: None, sqs=sqs, lam=lam)
    assert (counts.seen, counts.would_redrive, counts.redriven) == (2, 2, 0)
    assert lam.calls == []
    assert visible(sqs, url) == sorted(bodies)


def test_unredrivable_and_refused_messages_stay_named(sqs: Any) -> None:
    bodies = ["garbage", record({"refuse": True}), record({"n": 1})]
    url = queue(sqs, "fn-failures", bodies)
    lines: list[str] = []
    counts = redrive_failures(url, wait=0, progress=lines.append, sqs=sqs, lam=Lambda())
    assert (counts.seen, counts.redriven, counts.skipped, counts.failed) == (3, 1, 1, 1)
    assert visible(sqs, url) == sorted(bodies[:2])
    assert any("skipped" in line and line.startswith("message ") for line in lines)
    assert any("failed to invoke" in line for line in lines)


def test_max_limits_the_messages_taken(sqs: Any) -> None:
    url = queue(sqs, "fn-failures", [record({"n": n}) for n in range(5)])
    lam = Lambda()
    counts = redrive_failures(url, limit=2, wait=0, progress=lambda _: None, sqs=sqs, lam=lam)
    assert (counts.seen, counts.redriven) == (2, 2)
    assert len(visible(sqs, url)) == 3


def _dlq_pair(sqs: Any) -> tuple[str, str]:
    dlq = queue(sqs, "src-dlq")
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    policy = json.dumps({"deadLetterTargetArn": arn["QueueArn"], "maxReceiveCount": 5})
    source = str(
        sqs.create_queue(QueueName="src", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    )
    return source, dlq


def test_dlq_messages_move_back_to_their_source_with_attributes(sqs: Any) -> None:
    source, dlq = _dlq_pair(sqs)
    attributes = {"origin": {"DataType": "String", "StringValue": "s3"}}
    sqs.send_message(QueueUrl=dlq, MessageBody="event-1", MessageAttributes=attributes)
    sqs.send_message(QueueUrl=dlq, MessageBody="event-2")
    counts = redrive_dlq(dlq, wait=0, progress=lambda _: None, sqs=sqs)
    assert (counts.seen, counts.redriven, counts.failed) == (2, 2, 0)
    assert visible(sqs, dlq) == []
    moved = sqs.receive_message(
        QueueUrl=source, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    assert sorted(m["Body"] for m in moved) == ["event-1", "event-2"]
    tagged = next(m for m in moved if m["Body"] == "event-1")
    assert tagged["MessageAttributes"]["origin"]["StringValue"] == "s3"


def test_dlq_without_one_source_needs_to(sqs: Any) -> None:
    dlq = queue(sqs, "orphan-dlq", ["x"])
    with pytest.raises(ValueError, match="--to"):
        redrive_dlq(dlq, wait=0, progress=lambda _: None, sqs=sqs)
    target = queue(sqs, "elsewhere")
    counts = redrive_dlq(dlq, to_url=target, wait=0, progress=lambda _: None, sqs=sqs)
    assert counts.redriven == 1
    assert visible(sqs, target) == ["x"]


def test_cli_prints_counts_as_one_json_line(
    sqs: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _source, dlq = _dlq_pair(sqs)
    sqs.send_message(QueueUrl=dlq, MessageBody="event")
    monkeypatch.setattr(redrive, "client", lambda service: sqs)
    from logferry.cli import main

    assert main(["redrive", "--dlq", dlq, "--dry-run", "--wait", "0"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {
        "seen": 1,
        "redriven": 0,
        "skipped": 0,
        "failed": 0,
        "would_redrive": 1,
        "dry_run": True,
    }
    assert "would move to" in err
