"""SQS triggers on the running emulator: a real zip fed by the event source mapping poller,
and the deployed stack's raw bucket notifying queues only (every shipper goes through SQS).

Run: .venv/bin/pytest tests/integration/test_sqs_trigger.py  (starts the stack if needed).
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from typing import Any

import pytest

from logferry.local.chain import Chain
from logferry.local.endpoints import boto3_client, wait_for

pytestmark = pytest.mark.e2e

APP = """
import json

def handler(event, context):
    records = event["Records"]
    print(json.dumps({"seen": [[r["body"], r["attributes"]["ApproximateReceiveCount"],
                                r["eventSource"]] for r in records]}))
    if any(r["body"] == "crash" for r in records):
        raise RuntimeError("crash")
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                  for r in records if r["body"] == "bad"]}
"""


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", APP)
    return buffer.getvalue()


def _seen(chain: Chain, function: str) -> list[tuple[str, str, str]]:
    """(body, receive count, eventSource) of every record the function was invoked with."""
    logs = boto3_client("logs", chain.endpoints)
    group = f"/aws/lambda/{function}"
    try:
        events = logs.filter_log_events(logGroupName=group)["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    found = []
    for event in events:
        message = event["message"].strip()
        if message.startswith('{"seen"'):
            found += [tuple(item) for item in json.loads(message)["seen"]]
    return found


def _bodies(chain: Chain, url: str) -> list[str]:
    sqs = boto3_client("sqs", chain.endpoints)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
    return sorted(m["Body"] for m in got.get("Messages", []))


@pytest.fixture
def mapped(chain: Chain, run_id: str) -> dict[str, Any]:
    """A function fed by a queue (visibility 1 s, maxReceiveCount 2) with its DLQ."""
    name = f"sqs-{run_id}-{uuid.uuid4().hex[:6]}"
    sqs = boto3_client("sqs", chain.endpoints)
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": 2}
    url = sqs.create_queue(
        QueueName=name,
        Attributes={"VisibilityTimeout": "1", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    iam = boto3_client("iam", chain.endpoints)
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]
    lam = boto3_client("lambda", chain.endpoints)
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        Timeout=30,
    )
    lam.create_event_source_mapping(
        EventSourceArn=arn["Attributes"]["QueueArn"],
        FunctionName=name,
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    return {"name": name, "url": url, "dlq": dlq}


def test_partial_batch_failure_redelivers_only_the_failed_message_then_dead_letters_it(
    chain: Chain, mapped: dict[str, Any]
) -> None:
    sqs = boto3_client("sqs", chain.endpoints)
    started = time.monotonic()
    entries = [
        {"Id": str(i), "MessageBody": body} for i, body in enumerate(["ok-1", "bad", "ok-2"])
    ]
    sqs.send_message_batch(QueueUrl=mapped["url"], Entries=entries)
    assert time.monotonic() - started < 1.0, "SendMessage waited for the function"
    wait_for(lambda: _bodies(chain, mapped["dlq"]) == ["bad"], timeout=60, what="bad in the DLQ")
    seen = _seen(chain, mapped["name"])
    assert sorted(body for body, _, _ in seen) == ["bad", "bad", "ok-1", "ok-2"]
    assert ("bad", "2", "aws:sqs") in seen  # redelivered alone, its second receive
    assert _bodies(chain, mapped["url"]) == []


def test_function_error_retries_the_message_until_the_dlq(
    chain: Chain, mapped: dict[str, Any]
) -> None:
    boto3_client("sqs", chain.endpoints).send_message(QueueUrl=mapped["url"], MessageBody="crash")
    wait_for(lambda: _bodies(chain, mapped["dlq"]) == ["crash"], timeout=60, what="the DLQ")
    seen = _seen(chain, mapped["name"])
    assert [(body, count) for body, count, _ in seen] == [("crash", "1"), ("crash", "2")]


def test_the_raw_bucket_notifies_the_shippers_through_their_queues(chain: Chain) -> None:
    d = chain.deployment
    config = chain.s3.get_bucket_notification_configuration(Bucket=d.raw_bucket)
    assert "LambdaFunctionConfigurations" not in config
    queues = {c["Id"]: c["QueueArn"] for c in config["QueueConfigurations"]}
    lam = boto3_client("lambda", chain.endpoints)
    for key, arn in queues.items():
        function = f"{d.name_prefix}-{key}"
        assert arn.endswith(f":{function}")
        (mapping,) = lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
        assert mapping["EventSourceArn"] == arn
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert d.alb_function.removeprefix(f"{d.name_prefix}-") in queues
