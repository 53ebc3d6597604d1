"""Per-message failures and checkpoints on the local chain (issue #16): a non-JSON SQS message in
a batch, a self-invoke that fails, a duplicate continuation event, and concurrent notices.

A copy of ``alb_to_cloudwatch`` ships to CloudWatch Logs and search with a checkpoint table of
the stack's (DynamoDB in the emulator); the copies with a short timeout hand their
object on several times. Each test prints one ``FAULT`` line and checks records in == shipped
+ parked, no duplicate in search and none in CloudWatch Logs.

Run: LOGFERRY_STATE_DIR=/tmp/stack-<you> .venv/bin/pytest tests/integration/test_chain_messages.py
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from test_chain_faults import _index_stats, _invoke, _s3_event, _variant
from test_chain_replay import _cwl_duplicates, _invoke_sync, _result

from logferry.demo import alb_object
from logferry.local.chain import Chain
from logferry.local.endpoints import boto3_client, wait_for
from logferry.local.faultproxy import FaultProxy, Rule

pytestmark = pytest.mark.e2e
TIMEOUT = 240.0
DENIED = b'{"__type":"AccessDeniedException","message":"injected: not allowed to invoke"}'
SHORT = {"timeout": 20}
"""A copy that stops reading after a few seconds (RESERVE_SECONDS below) and hands on."""


@pytest.fixture
def table(chain: Chain) -> str:
    """The stack's checkpoint table (Terraform's `<prefix>-checkpoints`), as the copies inherit."""
    name: str = (
        chain.deployment.spec().function("alb_to_cloudwatch").environment["CHECKPOINT_TABLE"]
    )
    return name


def _object(chain: Chain, token: str, lines: int, seed: int = 0) -> tuple[str, list[str]]:
    """Put an ALB object under ``faults/`` (no trigger watches it): (its key, its lines)."""
    sample = alb_object(chain.deployment, f"{token}-{seed}", lines, datetime.now(UTC), seed=seed)
    key = sample.key.replace("alb/", "faults/", 1)
    chain.put(key, sample.body)
    return key, gzip.decompress(sample.body).decode().splitlines()


def _function(chain: Chain, token: str, table: str, **env: str) -> str:
    settings = {
        "SINKS": "cloudwatch,search",
        "LOG_GROUP": f"/logferry/{token}",
        "INDEX_PREFIX": token,
        "QUARANTINE_PREFIX": token,
        "CHECKPOINT_TABLE": table,
        **env,
    }
    short = SHORT if "RESERVE_SECONDS" in env else {}
    return _variant(chain, "alb_to_cloudwatch", token, settings, **short)


def _sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {"eventSource": "aws:sqs", "messageId": f"m{i}", "body": body, "attributes": {}}
            for i, body in enumerate(bodies)
        ]
    }


def _shipped_once(chain: Chain, token: str, lines: list[str], name: str, t0: float) -> None:
    """Wait until every line is in CloudWatch Logs and search; no duplicate in either."""
    group = f"/logferry/{token}"
    wait_for(
        lambda: _cwl_duplicates(chain, group, lines)[0] == len(set(lines)) or None,
        timeout=TIMEOUT,
        what=f"{len(lines)} lines in {group}",
    )
    time.sleep(3)  # a stray duplicate would land now
    docs, _ = _index_stats(chain, f"{token}-*")
    distinct, dup_cwl = _cwl_duplicates(chain, group, lines)
    _result(name, len(lines), min(docs, distinct), 0, (max(0, docs - len(lines)), dup_cwl), t0)
    assert docs == len(lines) and distinct == len(set(lines))
    assert dup_cwl == 0, f"{dup_cwl} CloudWatch Logs events sent twice"


def test_a_non_json_message_in_a_batch_fails_alone(chain: Chain, names: str, table: str) -> None:
    t0 = time.monotonic()
    first, lines_a = _object(chain, names, 3000, seed=1)
    second, lines_b = _object(chain, names, 2000, seed=2)
    function = _function(chain, names, table)
    event = _sqs_event(
        json.dumps(_s3_event(chain, first)), "{not json", json.dumps(_s3_event(chain, second))
    )
    errored, payload = _invoke_sync(chain, function, event)
    assert not errored, payload
    assert payload["batchItemFailures"] == [{"itemIdentifier": "m1"}]
    assert [o["records"] for o in payload["objects"]] == [3000, 2000]
    _shipped_once(chain, names, lines_a + lines_b, "non_json_sqs_message", t0)


def test_a_failed_self_invoke_fails_its_message_and_its_retry_resumes(
    chain: Chain, names: str, table: str
) -> None:
    """The hand-off is refused once: the message is reported failed; its redelivery resumes
    at the offset reached and the chain goes on."""
    t0 = time.monotonic()
    key, lines = _object(chain, names, 60_000)
    event = _sqs_event(json.dumps(_s3_event(chain, key)))
    deny = Rule(403, DENIED, methods=("POST",), path=r"/invocations$")
    with FaultProxy(chain.endpoints.aws, [deny]) as proxy:
        function = _function(
            chain, names, table, RESERVE_SECONDS="16", AWS_ENDPOINT_URL_LAMBDA=proxy.url
        )
        errored, payload = _invoke_sync(chain, function, event)
        assert not errored, payload
        assert payload["batchItemFailures"] == [{"itemIdentifier": "m0"}]
        assert deny.injected == 1
        proxy.rules.clear()  # the next hand-offs go through
        errored, payload = _invoke_sync(chain, function, event)  # SQS redelivers the message
        assert not errored and payload["batchItemFailures"] == [], payload
        (summary,) = payload["objects"]
        assert summary["start_offset"] > 0
        assert summary["checkpoint"] == f"resumed at offset {summary['start_offset']}"
        _shipped_once(chain, names, lines, "failed_self_invoke", t0)


def test_a_duplicate_continuation_event_is_not_shipped_twice(
    chain: Chain, names: str, table: str
) -> None:
    t0 = time.monotonic()
    key, lines = _object(chain, names, 60_000)
    function = _function(chain, names, table, RESERVE_SECONDS="16")
    errored, payload = _invoke_sync(chain, function, _s3_event(chain, key))
    assert not errored, payload
    (summary,) = payload["objects"]
    assert summary["next_offset"], summary
    ddb = boto3_client("dynamodb", chain.endpoints)
    items = ddb.scan(TableName=table)["Items"]
    (item,) = [i for i in items if i["pk"]["S"].startswith(f"{chain.deployment.raw_bucket}/{key}@")]
    continuation = {
        "logferry_continue": {
            "bucket": chain.deployment.raw_bucket,
            "key": key,
            "etag": item["pk"]["S"].rsplit("@", 1)[1],
            "offset": summary["next_offset"],
            "token": item["token"]["S"],
        }
    }
    for _ in range(2):  # the same event twice more, beside the one the function sent
        _invoke(chain, function, continuation)
    _shipped_once(chain, names, lines, "duplicate_continuation_event", t0)
    refused = [m for m in chain.function_log(function) if "object not shipped" in m]
    assert len(refused) >= 2, "both duplicates were refused"


def test_three_concurrent_notices_ship_the_object_once(
    chain: Chain, names: str, table: str
) -> None:
    t0 = time.monotonic()
    key, lines = _object(chain, names, 20_000)
    function = _function(chain, names, table)
    event = _s3_event(chain, key)
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(_invoke_sync(chain, function, event)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    summaries = [payload["objects"][0] for _, payload in results]
    shipped = [s for s in summaries if s["checkpoint"] is None]
    assert len(shipped) == 1 and shipped[0]["records"] == len(lines), summaries
    _shipped_once(chain, names, lines, "three_concurrent_notices", t0)
    _, writes = _index_stats(chain, f"{names}-*")
    assert writes == len(lines), "one delivery wrote each line; the others stopped"
