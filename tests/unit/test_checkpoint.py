"""Checkpoints: who may claim an object's progress item, and where a claim resumes (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from logferry.checkpoint import Checkpoints, Claim, LostClaim, Refusal, object_key
from logferry.model import ObjectRef
from logferry.sources.events import ObjectNotice

TABLE = "lf-checkpoints"
NOTICE = ObjectNotice(ObjectRef("raw", "a/b.log.gz", etag="e1"))


class Clock:
    """A settable clock for lease expiry."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def claimed(result: Claim | Refusal) -> Claim:
    assert isinstance(result, Claim), result
    return result


def refused(result: Claim | Refusal) -> str:
    assert isinstance(result, Refusal), result
    return result.reason


def test_a_fresh_object_is_claimed_from_its_start(table: Any) -> None:
    claim = claimed(Checkpoints(table, TABLE).claim(NOTICE, None, 300))
    assert (claim.offset, claim.resume, claim.token) == (0, None, "")
    item = table.get_item(TableName=TABLE, Key={"pk": {"S": object_key(NOTICE.ref)}})["Item"]
    assert item["owner"]["S"] == claim.owner
    assert int(item["expires_at"]["N"]) > int(item["lease_until"]["N"])


def test_a_second_notice_while_one_runs_is_refused(table: Any) -> None:
    checkpoints = Checkpoints(table, TABLE)
    claimed(checkpoints.claim(NOTICE, None, 300))
    assert refused(checkpoints.claim(NOTICE, None, 300)) == "being shipped by another invocation"


def test_a_retry_after_a_failure_resumes_at_the_last_checkpoint(table: Any) -> None:
    checkpoints = Checkpoints(table, TABLE)
    first = claimed(checkpoints.claim(NOTICE, None, 300))
    checkpoints.advance(first, 5000, (100, 4000))
    checkpoints.release(first)
    retry = claimed(checkpoints.claim(NOTICE, None, 300))
    assert (retry.offset, retry.resume) == (5000, (100, 4000))
    assert retry.owner != first.owner


def test_a_killed_runs_claim_lapses_with_its_lease(table: Any) -> None:
    clock = Clock()
    checkpoints = Checkpoints(table, TABLE, clock)
    first = claimed(checkpoints.claim(NOTICE, None, 60))
    checkpoints.advance(first, 777, None)
    clock.now += 30
    refused(checkpoints.claim(NOTICE, None, 60))
    clock.now += 31
    assert claimed(checkpoints.claim(NOTICE, None, 60)).offset == 777
    with pytest.raises(LostClaim, match="another invocation"):
        checkpoints.advance(first, 900, None)  # the killed run, had it lived on, must stop


def test_a_shipped_object_is_not_shipped_again(table: Any) -> None:
    checkpoints = Checkpoints(table, TABLE)
    checkpoints.finish(claimed(checkpoints.claim(NOTICE, None, 300)))
    assert refused(checkpoints.claim(NOTICE, None, 300)) == "already shipped"


def test_a_new_revision_is_a_new_item(table: Any) -> None:
    checkpoints = Checkpoints(table, TABLE)
    checkpoints.finish(claimed(checkpoints.claim(NOTICE, None, 300)))
    again = ObjectNotice(ObjectRef("raw", "a/b.log.gz", etag="e2"))
    assert claimed(checkpoints.claim(again, None, 300)).offset == 0


def test_only_the_handed_off_token_continues_and_only_once(table: Any) -> None:
    checkpoints = Checkpoints(table, TABLE)
    first = claimed(checkpoints.claim(NOTICE, None, 300))
    token = checkpoints.hand_off(first, 9000, (300, 8800))
    assert refused(checkpoints.claim(NOTICE, None, 300)) == "handed on to a continuation"
    continuation = ObjectNotice(NOTICE.ref, 9000, resume_from=(300, 8800), token=token)
    second = claimed(checkpoints.claim(continuation, token, 300))
    assert (second.offset, second.resume, second.token) == (9000, (300, 8800), token)
    assert refused(checkpoints.claim(continuation, token, 300)) == (
        "being shipped by another invocation"
    )
    checkpoints.hand_off(second, 20000, None)
    assert refused(checkpoints.claim(continuation, token, 300)).startswith(
        "a duplicate continuation event"
    )


def test_a_retried_continuation_resumes_where_it_failed(table: Any) -> None:
    checkpoints = Checkpoints(table, TABLE)
    token = checkpoints.hand_off(claimed(checkpoints.claim(NOTICE, None, 300)), 9000, None)
    continuation = ObjectNotice(NOTICE.ref, 9000, token=token)
    failed = claimed(checkpoints.claim(continuation, token, 300))
    checkpoints.advance(failed, 14000, None)
    checkpoints.release(failed)
    assert claimed(checkpoints.claim(continuation, token, 300)).offset == 14000


def test_a_hand_off_that_could_not_be_sent_is_taken_back(table: Any) -> None:
    checkpoints = Checkpoints(table, TABLE)
    first = claimed(checkpoints.claim(NOTICE, None, 300))
    checkpoints.hand_off(first, 9000, None)
    checkpoints.take_back(first)
    checkpoints.release(first)
    assert claimed(checkpoints.claim(NOTICE, None, 300)).offset == 9000


def test_a_continuation_without_an_item_starts_one(table: Any) -> None:
    """Checkpoints switched on mid-chain: the continuation still ships."""
    continuation = ObjectNotice(NOTICE.ref, 4242, token="t0")
    assert claimed(Checkpoints(table, TABLE).claim(continuation, "t0", 300)).offset == 4242
