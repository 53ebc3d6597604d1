"""The SQS event source mapping poller against moto's real SQS (in-process), with the
emulator's patches (moto's synchronous invoke detached) and a scripted function."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3
import pytest
from moto import mock_aws

from logferry.local.emulator import AsyncInvoker, patches
from logferry.local.sqs_poller import SqsPoller, sqs_event, to_delete


class Function:
    """A scripted function: fails (error) on bodies containing `crash`, reports the messages
    whose body contains `bad` as batch item failures; records every event."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, account: str, region: str, arn: str, event: str) -> tuple[str, bool]:
        records = json.loads(event)["Records"]
        self.events.append(json.loads(event))
        if any("crash" in r["body"] for r in records):
            return json.dumps({"errorMessage": "boom"}), True
        failures = [{"itemIdentifier": r["messageId"]} for r in records if "bad" in r["body"]]
        return json.dumps({"batchItemFailures": failures}), False

    def bodies(self) -> list[list[str]]:
        return [[r["body"] for r in event["Records"]] for event in self.events]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        invoker = AsyncInvoker(workers=1)
        for owner, name, replacement in patches(None, invoker):  # type: ignore[arg-type]
            monkeypatch.setattr(owner, name, replacement)
        yield


def queues(max_receive: int = 2, visibility: int = 0) -> tuple[str, str]:
    """(queue URL, DLQ URL): visibility 0 so a kept message is visible again at once."""
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName="q-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    redrive = {
        "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": max_receive,
    }
    url = sqs.create_queue(
        QueueName="q",
        Attributes={"VisibilityTimeout": str(visibility), "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    return url, dlq


def mapping(url: str, batch_size: int = 10, report: bool = True) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    lam = boto3.client("lambda")
    lam.create_function(
        FunctionName="fn",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": buffer.getvalue()},
    )
    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    lam.create_event_source_mapping(
        EventSourceArn=arn["Attributes"]["QueueArn"],
        FunctionName="fn",
        BatchSize=batch_size,
        FunctionResponseTypes=["ReportBatchItemFailures"] if report else [],
    )


def bodies_in(url: str) -> list[str]:
    sqs = boto3.client("sqs")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
    return sorted(m["Body"] for m in got.get("Messages", []))


def drain(poller: SqsPoller, rounds: int = 10) -> None:
    for _ in range(rounds):
        if poller.poll_once(wait=True) == 0:
            return


def test_send_message_no_longer_invokes_synchronously_and_the_poller_delivers_the_batch(
    aws: Any,
) -> None:
    url, _ = queues()
    mapping(url)
    function = Function()
    poller = SqsPoller(function, workers=1)
    sqs = boto3.client("sqs")
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    assert function.events == []  # moto's own call inside SendMessage is detached
    drain(poller)
    assert function.bodies() == [["a", "b", "c"]]
    record = function.events[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":q")
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageId"] and record["receiptHandle"]
    assert bodies_in(url) == []  # deleted on success


def test_batch_size_limits_each_invocation(aws: Any) -> None:
    url, _ = queues()
    mapping(url, batch_size=2)
    function = Function()
    sqs = boto3.client("sqs")
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    drain(SqsPoller(function, workers=1))
    assert sorted(len(batch) for batch in function.bodies()) == [1, 2]


def test_a_burst_is_spread_over_the_free_pollers(aws: Any) -> None:
    url, _ = queues(visibility=30)
    mapping(url, batch_size=10)
    function = Function()
    sqs = boto3.client("sqs")
    for index in range(8):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{index}")
    drain(SqsPoller(function, workers=4))
    sizes = [len(batch) for batch in function.bodies()]
    assert sum(sizes) == 8 and max(sizes) <= 2, sizes


def test_partial_batch_failure_redelivers_only_the_failed_message_then_dead_letters_it(
    aws: Any,
) -> None:
    url, dlq = queues(max_receive=2)
    mapping(url)
    function = Function()
    sqs = boto3.client("sqs")
    for body in ("good-1", "bad", "good-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    drain(SqsPoller(function, workers=1))
    assert function.bodies() == [["good-1", "bad", "good-2"], ["bad"]]
    second = function.events[1]["Records"][0]
    assert second["attributes"]["ApproximateReceiveCount"] == "2"
    assert bodies_in(url) == []
    assert bodies_in(dlq) == ["bad"]  # moved on the receive after maxReceiveCount


def test_function_error_keeps_the_whole_batch_until_the_dlq(aws: Any) -> None:
    url, dlq = queues(max_receive=3)
    mapping(url)
    function = Function()
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody="crash")
    drain(SqsPoller(function, workers=1))
    assert function.bodies() == [["crash"]] * 3
    assert bodies_in(dlq) == ["crash"]


def test_without_report_batch_item_failures_success_deletes_everything(aws: Any) -> None:
    url, dlq = queues()
    mapping(url, report=False)
    function = Function()
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody="bad")
    drain(SqsPoller(function, workers=1))
    assert function.bodies() == [["bad"]]
    assert bodies_in(url) == [] and bodies_in(dlq) == []


@pytest.mark.parametrize(
    ("payload", "errored", "expected"),
    [
        ("null", False, ["m1", "m2"]),
        ('{"batchItemFailures": []}', False, ["m1", "m2"]),
        ('{"batchItemFailures": [{"itemIdentifier": "m2"}]}', False, ["m1"]),
        ('{"batchItemFailures": [{"itemIdentifier": "other"}]}', False, []),
        ('{"batchItemFailures": [{"itemIdentifier": ""}]}', False, []),
        ('{"errorMessage": "x"}', True, []),
    ],
)
def test_to_delete_follows_lambdas_rules(payload: str, errored: bool, expected: list[str]) -> None:
    assert to_delete(["m1", "m2"], payload, errored, ["ReportBatchItemFailures"]) == expected


def test_sqs_event_shape_of_an_s3_notification_body(aws: Any) -> None:
    url, _ = queues()
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"Records": [{"s3": {}}]}))
    from moto.sqs.models import sqs_backends

    backend = sqs_backends["123456789012"]["us-east-1"]
    messages = backend.receive_message("q", 10, 0, 30)
    event = sqs_event(messages, backend.queues["q"].queue_arn)
    assert json.loads(event["Records"][0]["body"]) == {"Records": [{"s3": {}}]}
    assert event["Records"][0]["awsRegion"] == "us-east-1"


def test_s3_queue_notification_delivers_the_s3_event_to_the_function(aws: Any) -> None:
    url, _ = queues()
    mapping(url)
    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="raw")
    rule = {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}}
    queue = {"QueueArn": arn["Attributes"]["QueueArn"], "Events": ["s3:ObjectCreated:*"]}
    s3.put_bucket_notification_configuration(
        Bucket="raw",
        NotificationConfiguration={"QueueConfigurations": [{**queue, "Filter": rule}]},
    )
    s3.put_object(Bucket="raw", Key="in/a b.log", Body=b"x")
    s3.put_object(Bucket="raw", Key="other/c.log", Body=b"x")
    function = Function()
    drain(SqsPoller(function, workers=1))
    bodies = [json.loads(body) for batch in function.bodies() for body in batch]
    keys = [r["s3"]["object"]["key"] for body in bodies for r in body.get("Records", [])]
    assert keys == ["in/a+b.log"]  # URL-encoded as S3 sends it; the filter applied
    assert bodies[-1]["Records"][0]["eventName"] == "ObjectCreated:Put"
