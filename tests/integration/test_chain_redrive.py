"""Dead ends redriven on the local chain (issue #16): `logferry redrive` as a user runs it.

- failures queue: a copy of ``alb_to_cloudwatch`` shipping to search (a closed port) with its
  quarantine refused fails every asynchronous attempt; after the emulator's retries its
  RetriesExhausted record lands in the copy's failures queue; search is fixed and
  ``logferry redrive --failures-queue`` invokes the copy again: every line in search once.
- DLQ: S3 events in a dead-letter queue go back to their source queue (found from its redrive
  policy) with ``logferry redrive --dlq``; the poller delivers them and every line is shipped.

Each test prints one ``FAULT`` line (in, shipped, parked, duplicates, seconds).

Run: LOGFERRY_STATE_DIR=/tmp/stack-<you> .venv/bin/pytest tests/integration/test_chain_redrive.py
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from test_chain_faults import _index_stats, _s3_event, _variant
from test_chain_replay import DENIED, _closed_port_url, _result

from logferry.demo import alb_object
from logferry.local.chain import Chain
from logferry.local.endpoints import boto3_client, wait_for
from logferry.local.faultproxy import FaultProxy, Rule

pytestmark = pytest.mark.e2e
TIMEOUT = 180.0


@pytest.fixture
def token(chain: Chain, request: pytest.FixtureRequest, run_id: str) -> Iterator[str]:
    """A name for one test's function copy, queues, quarantine prefix and indices."""
    name = f"rd-{request.node.name.split('_')[1]}-{run_id}".lower()
    yield name
    for row in chain.search(f"_cat/indices/{name}-*?format=json"):
        chain.search(str(row["index"]), method="DELETE")
    with contextlib.suppress(urllib.error.HTTPError):
        chain.search(f"_index_template/{name}", method="DELETE")


def _redrive(chain: Chain, *args: str) -> tuple[int, dict[str, Any], str]:
    """Run ``logferry redrive ARGS``: exit status, its counts line, its stderr."""
    env = {**os.environ, **chain.endpoints.env()}
    done = subprocess.run(
        [sys.executable, "-m", "logferry.cli", "redrive", *args, "--wait", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    return done.returncode, json.loads(lines[-1]), done.stderr


def _queue(chain: Chain, name: str, attributes: dict[str, str] | None = None) -> tuple[str, str]:
    sqs = boto3_client("sqs", chain.endpoints)
    url = str(sqs.create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"])
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, str(got["Attributes"]["QueueArn"])


def _depth(chain: Chain, url: str) -> int:
    sqs = boto3_client("sqs", chain.endpoints)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(got[n]) for n in names)


def _alb_lines(chain: Chain, token: str, lines: int, folder: str) -> tuple[str, list[str]]:
    """Put an ALB object of ``lines`` lines under ``folder``; (its key, its lines)."""
    sample = alb_object(chain.deployment, token, lines, datetime.now(UTC))
    key = sample.key.replace("alb/", f"{folder}/", 1)
    chain.put(key, sample.body)
    return key, gzip.decompress(sample.body).decode().splitlines()


def _wait_docs(chain: Chain, pattern: str, n: int) -> int:
    def enough() -> int | None:
        with contextlib.suppress(urllib.error.HTTPError):
            docs, _ = _index_stats(chain, pattern)
            return docs if docs >= n else None
        return None

    with contextlib.suppress(TimeoutError):
        wait_for(enough, TIMEOUT, what=f"{n} documents in {pattern}")
    with contextlib.suppress(urllib.error.HTTPError):
        return _index_stats(chain, pattern)[0]
    return 0


def test_failures_queue_is_redriven_after_the_fix(chain: Chain, token: str) -> None:
    t0 = time.monotonic()
    lines = 150
    key, source = _alb_lines(chain, token, lines, "redrive")
    bucket = chain.deployment.quarantine_bucket
    denied = Rule(
        403, DENIED, methods=("PUT", "POST"), path=rf"^/{bucket}/", content_type="application/xml"
    )
    failures_url, failures_arn = _queue(chain, f"{token}-failures")
    lam = boto3_client("lambda", chain.endpoints)
    with FaultProxy(chain.endpoints.aws, [denied]) as s3_proxy:
        broken = {
            "AWS_ENDPOINT_URL_S3": s3_proxy.url,
            "SINKS": "search",
            "SEARCH_URL": _closed_port_url(),
            "INDEX_PREFIX": token,
            "QUARANTINE_PREFIX": token,
        }
        function = _variant(chain, "alb_to_cloudwatch", token, broken)
        lam.put_function_event_invoke_config(
            FunctionName=function,
            MaximumRetryAttempts=2,
            DestinationConfig={"OnFailure": {"Destination": failures_arn}},
        )
        event = _s3_event(chain, key)
        lam.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(event))
        wait_for(lambda: _depth(chain, failures_url) or None, TIMEOUT, what="the failure record")
    refused = denied.injected
    assert refused >= 3, "every attempt's park was refused"
    sqs = boto3_client("sqs", chain.endpoints)
    (message,) = sqs.receive_message(QueueUrl=failures_url, VisibilityTimeout=0)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == event
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ParkError"

    status, dry, err = _redrive(chain, "--failures-queue", failures_url, "--dry-run")
    assert (status, dry["seen"], dry["would_redrive"], dry["redriven"]) == (0, 1, 1, 0), err
    assert _depth(chain, failures_url) == 1, "a dry run changes nothing"

    fixed = {"SEARCH_URL": chain.search_url, "INDEX_PREFIX": token, "QUARANTINE_PREFIX": token}
    _variant(chain, "alb_to_cloudwatch", token, {**fixed, "SINKS": "search"})
    status, counts, err = _redrive(chain, "--failures-queue", failures_url)
    assert (status, counts["seen"], counts["redriven"], counts["failed"]) == (0, 1, 1, 0), err
    assert f"message {message['MessageId']}" in err
    docs = _wait_docs(chain, f"{token}-*", lines)
    _, operations = _index_stats(chain, f"{token}-*")
    _result("redrive-failures", lines, docs, 0, (max(0, docs - lines), 0), t0)
    assert docs == len(source) == lines, "every line indexed once"
    assert _depth(chain, failures_url) == 0, "the redriven record is deleted"
    print(f"redrive-failures: {refused} quarantine PUTs refused, {operations} index operations")


def test_dlq_is_moved_back_to_its_source_queue(chain: Chain, token: str) -> None:
    t0 = time.monotonic()
    lines = 120
    key, _source = _alb_lines(chain, token, lines, "redrive-dlq")
    function = _variant(
        chain,
        "alb_to_cloudwatch",
        token,
        {"SINKS": "search", "SEARCH_URL": chain.search_url, "INDEX_PREFIX": token},
    )
    dlq_url, dlq_arn = _queue(chain, f"{token}-dlq")
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})
    source_url, source_arn = _queue(
        chain, token, {"RedrivePolicy": policy, "VisibilityTimeout": "60"}
    )
    sqs = boto3_client("sqs", chain.endpoints)
    origin = {"origin": {"DataType": "String", "StringValue": "s3"}}
    sqs.send_message(
        QueueUrl=dlq_url, MessageBody=json.dumps(_s3_event(chain, key)), MessageAttributes=origin
    )
    status, dry, err = _redrive(chain, "--dlq", dlq_url, "--dry-run")
    assert (status, dry["would_redrive"], _depth(chain, source_url)) == (0, 1, 0), err
    status, counts, err = _redrive(chain, "--dlq", dlq_url)
    assert (status, counts["seen"], counts["redriven"]) == (0, 1, 1), err
    assert _depth(chain, dlq_url) == 0
    lam = boto3_client("lambda", chain.endpoints)
    mapping = lam.create_event_source_mapping(
        EventSourceArn=source_arn, FunctionName=function, BatchSize=10
    )
    try:
        docs = _wait_docs(chain, f"{token}-*", lines)
        wait_for(lambda: _depth(chain, source_url) == 0 or None, TIMEOUT, what="the queue drained")
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
    _result("redrive-dlq", lines, docs, 0, (max(0, docs - lines), 0), t0)
    assert docs == lines, "every line indexed once"
