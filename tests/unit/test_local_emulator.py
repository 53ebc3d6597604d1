"""The emulator's moto patches, exercised in-process with a fake runner (no server)."""

import io
import json
import threading
import time
import zipfile
from typing import Any

import boto3
import pytest
from moto import mock_aws

from logferry.local.emulator import AsyncInvoker, event_json, patches
from logferry.local.runner import FunctionSpec, InvokeResult


class FakeRunner:
    """Records invocations; fails the first `failures` ones; each takes `delay` seconds."""

    def __init__(self, failures: int = 0, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures = failures
        self.delay = delay
        self.done = threading.Event()

    def invoke(self, spec: FunctionSpec, event: str) -> InvokeResult:
        time.sleep(self.delay)
        self.calls.append((spec.name, json.loads(event)))
        errored = len(self.calls) <= self.failures
        self.done.set()
        return InvokeResult('{"ok": true}', errored, "log line\n", "rid", 1.0, False, False)


def wait_calls(runner: FakeRunner, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(runner.calls) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(runner.calls) >= count, f"expected {count} invocations, got {runner.calls}"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield monkeypatch


def patch(monkeypatch: pytest.MonkeyPatch, runner: FakeRunner) -> None:
    invoker = AsyncInvoker(workers=1, retry_delays=(0.05, 0.05))
    for owner, name, replacement in patches(runner, invoker):  # type: ignore[arg-type]
        monkeypatch.setattr(owner, name, replacement)


def create_function() -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    created = boto3.client("lambda").create_function(
        FunctionName="fn",
        Runtime="python3.11",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": buffer.getvalue()},
    )
    return str(created["FunctionArn"])


def test_s3_notification_invokes_asynchronously(aws: pytest.MonkeyPatch) -> None:
    runner = FakeRunner(delay=1.0)
    patch(aws, runner)
    arn = create_function()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="inbox")
    s3.put_bucket_notification_configuration(
        Bucket="inbox",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    started = time.monotonic()
    s3.put_object(Bucket="inbox", Key="a.log", Body=b"x")
    assert time.monotonic() - started < 0.8, "the PUT waited for the handler"
    wait_calls(runner, 1)
    name, event = runner.calls[0]
    assert name == "fn"
    assert event["Records"][0]["s3"]["object"]["key"] == "a.log"


def test_failed_async_invocation_is_retried_twice(aws: pytest.MonkeyPatch) -> None:
    runner = FakeRunner(failures=5)
    patch(aws, runner)
    create_function()
    boto3.client("lambda").invoke(FunctionName="fn", InvocationType="Event", Payload=b'{"n": 1}')
    wait_calls(runner, 3)
    time.sleep(0.3)
    assert [event for _, event in runner.calls] == [{"n": 1}] * 3


def _failure_queue(retries: int) -> str:
    """A queue set as fn's OnFailure destination with `retries` retry attempts; its URL."""
    sqs = boto3.client("sqs")
    url = str(sqs.create_queue(QueueName="fn-failures")["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    boto3.client("lambda").put_function_event_invoke_config(
        FunctionName="fn",
        MaximumRetryAttempts=retries,
        DestinationConfig={"OnFailure": {"Destination": arn["QueueArn"]}},
    )
    return url


def _received(url: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if messages:
            return [json.loads(m["Body"]) for m in messages]
        time.sleep(0.05)
    return []


def test_exhausted_async_invocation_goes_to_the_on_failure_queue(
    aws: pytest.MonkeyPatch,
) -> None:
    runner = FakeRunner(failures=5)
    patch(aws, runner)
    arn = create_function()
    url = _failure_queue(retries=2)
    boto3.client("lambda").invoke(FunctionName="fn", InvocationType="Event", Payload=b'{"n": 7}')
    records = _received(url)
    assert len(runner.calls) == 3
    assert len(records) == 1
    record = records[0]
    assert record["version"] == "1.0"
    assert record["timestamp"].endswith("Z")
    context = record["requestContext"]
    assert context["functionArn"] == f"{arn}:$LATEST"
    assert context["condition"] == "RetriesExhausted"
    assert context["approximateInvokeCount"] == 3
    assert context["requestId"]
    assert record["requestPayload"] == {"n": 7}
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"] == {"ok": True}


def test_maximum_retry_attempts_zero_delivers_after_one_attempt(
    aws: pytest.MonkeyPatch,
) -> None:
    runner = FakeRunner(failures=5)
    patch(aws, runner)
    create_function()
    url = _failure_queue(retries=0)
    boto3.client("lambda").invoke(FunctionName="fn", InvocationType="Event", Payload=b'{"n": 8}')
    records = _received(url)
    assert len(runner.calls) == 1
    assert [r["requestContext"]["approximateInvokeCount"] for r in records] == [1]


def test_a_successful_retry_delivers_nothing(aws: pytest.MonkeyPatch) -> None:
    runner = FakeRunner(failures=1)
    patch(aws, runner)
    create_function()
    url = _failure_queue(retries=2)
    boto3.client("lambda").invoke(FunctionName="fn", InvocationType="Event", Payload=b'{"n": 9}')
    wait_calls(runner, 2)
    assert _received(url, timeout=0.3) == []


def test_request_response_invoke_stays_synchronous(aws: pytest.MonkeyPatch) -> None:
    runner = FakeRunner(failures=1)
    patch(aws, runner)
    create_function()
    response = boto3.client("lambda").invoke(FunctionName="fn", Payload=b'{"n": 2}')
    assert response["FunctionError"] == "Handled"
    assert json.loads(response["Payload"].read()) == {"ok": True}
    assert runner.calls == [("fn", {"n": 2})]
    streams = boto3.client("logs").describe_log_streams(logGroupName="/aws/lambda/fn")
    assert len(streams["logStreams"]) == 1


def test_eventbridge_rule_with_lambda_target(aws: pytest.MonkeyPatch) -> None:
    runner = FakeRunner()
    patch(aws, runner)
    arn = create_function()
    events = boto3.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["demo"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "1", "Arn": arn}])
    events.put_events(Entries=[{"Source": "demo", "DetailType": "t", "Detail": '{"k": "v"}'}])
    wait_calls(runner, 1)
    assert runner.calls[0][1]["detail"] == {"k": "v"}


def test_event_json_accepts_what_moto_passes() -> None:
    assert json.loads(event_json({"a": 1})) == {"a": 1}
    assert event_json("{}") == "{}"
    assert json.loads(event_json("plain string payload")) == "plain string payload"
    assert json.loads(event_json(None)) == {}
