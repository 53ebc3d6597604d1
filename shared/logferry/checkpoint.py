"""Per-object progress in DynamoDB: where a retried object resumes, and who may ship it.

One item per object revision (``pk`` = ``bucket/key@version-or-etag``):

- ``offset`` / ``resume``: the record boundary up to which every sink has acknowledged (or
  parked) what it was given, and the gzip member to read from there;
- ``token``: the chain segment the item belongs to (``""`` for the run a notice starts; a fresh
  random token for each continuation a run hands off);
- ``owner`` / ``lease_until``: the invocation shipping it now, until when (0: nobody);
- ``done``: set once the whole object is shipped;
- ``expires_at``: DynamoDB's TTL removes the item a week after its last write.

Who may claim: a fresh notice only an object nobody holds and no chain has handed on (a
redelivery of a shipped object, or a second notice while one runs, stops); a continuation
only with the token its predecessor handed off, and not while another invocation holds it (a
duplicate continuation event stops, a retry of a failed one resumes). A failed run releases its
claim so its retry resumes at once; a killed one's lease runs out.

Why DynamoDB (not S3 or SSM): conditional writes on several attributes in one call, strongly
consistent reads, TTL clean-up, and the cheapest write: an on-demand write request costs
$0.625 per million against $5 per million S3 PUTs; SSM Parameter Store has no conditional
update and allows 40 writes/s. An object costs one claim and one finish write, plus one write
per :data:`logferry.pipeline.CHECKPOINT_EVERY` records (about $1.25 per million objects).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from logferry.model import ObjectRef
from logferry.sources.events import ObjectNotice

log = logging.getLogger(__name__)

TTL_SECONDS = 7 * 24 * 3600
LEASE_MARGIN_SECONDS = 30.0
"""Added to the invocation's remaining time: a killed run's claim lapses this long after it."""


class LostClaim(RuntimeError):
    """Another invocation took the object over (this run's lease ran out): stop shipping."""


@dataclass(frozen=True)
class Claim:
    """This invocation holds the object from ``offset`` (``resume``: the gzip member start)."""

    pk: str
    owner: str
    token: str
    offset: int
    resume: tuple[int, int] | None


@dataclass(frozen=True)
class Refusal:
    """Why this invocation must not ship the object: it is done or someone else holds it."""

    reason: str


def object_key(ref: ObjectRef) -> str:
    """The item key of one object revision."""
    return f"{ref.bucket}/{ref.key}@{ref.version_id or ref.etag or ''}"


class Checkpoints:
    """Claims, advances and finishes objects' progress items in one DynamoDB table."""

    def __init__(self, client: Any, table: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self.table = table
        self._clock = clock

    def claim(
        self, notice: ObjectNotice, token: str | None, lease_seconds: float
    ) -> Claim | Refusal:
        """Take the object for this invocation, or say why not.

        ``token`` is ``None`` for a notice from S3/SQS/EventBridge and the continuation's token
        for a continuation event.
        """
        pk = object_key(notice.ref)
        owner = uuid.uuid4().hex
        now = self._clock()
        values: dict[str, Any] = {
            ":me": {"S": owner},
            ":lease": {"N": str(int(now + lease_seconds))},
            ":now": {"N": str(int(now))},
            ":exp": {"N": str(int(now + TTL_SECONDS))},
            ":start": {"N": str(notice.start_offset)},
            ":token": {"S": token or ""},
        }
        free = "attribute_not_exists(done) AND lease_until < :now AND #token = :token"
        try:
            item = self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": pk}},
                UpdateExpression=(
                    "SET #owner = :me, lease_until = :lease, expires_at = :exp, "
                    "#token = if_not_exists(#token, :token), "
                    "#offset = if_not_exists(#offset, :start)"
                ),
                ConditionExpression=f"attribute_not_exists(pk) OR ({free})",
                ExpressionAttributeNames={
                    "#owner": "owner",
                    "#token": "token",
                    "#offset": "offset",
                },
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except self._client.exceptions.ConditionalCheckFailedException:
            return Refusal(self._why_not(pk, token))
        offset = max(int(item["offset"]["N"]), notice.start_offset)
        resume = notice.resume_from
        if offset > notice.start_offset and "resume" in item:
            resume = _pair(item["resume"])
        elif offset > notice.start_offset:
            resume = None
        return Claim(pk, owner, token or "", offset, resume)

    def _why_not(self, pk: str, token: str | None) -> str:
        item = self._client.get_item(
            TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True
        ).get("Item", {})
        if "done" in item:
            return "already shipped"
        if item.get("token", {}).get("S", "") != (token or ""):
            return (
                "a duplicate continuation event (the chain has moved on)"
                if token
                else "handed on to a continuation"
            )
        return "being shipped by another invocation"

    def advance(self, claim: Claim, offset: int, resume: tuple[int, int] | None) -> None:
        """Record that everything before ``offset`` is acknowledged or parked."""
        self._owned(
            claim,
            "SET #offset = :offset" + (", resume = :resume" if resume else ""),
            {":offset": {"N": str(offset)}, **_resume_value(resume)},
        )

    def hand_off(self, claim: Claim, offset: int, resume: tuple[int, int] | None) -> str:
        """Pass the object on at ``offset``: only the returned token may claim it next."""
        token = uuid.uuid4().hex
        self._owned(
            claim,
            "SET #offset = :offset, #token = :next, lease_until = :zero"
            + (", resume = :resume" if resume else " REMOVE resume"),
            {
                ":offset": {"N": str(offset)},
                ":next": {"S": token},
                ":zero": {"N": "0"},
                **_resume_value(resume),
            },
        )
        return token

    def take_back(self, claim: Claim) -> None:
        """Undo a hand-off whose continuation could not be sent: this run's retry resumes."""
        self._owned(claim, "SET #token = :mine", {":mine": {"S": claim.token}})

    def release(self, claim: Claim) -> None:
        """Let go after a failure, so a retry resumes at the last checkpoint at once."""
        self._owned(claim, "SET lease_until = :zero", {":zero": {"N": "0"}})

    def finish(self, claim: Claim) -> None:
        """Mark the object shipped: later notices of this revision stop."""
        self._owned(
            claim,
            "SET done = :true, lease_until = :zero",
            {":true": {"BOOL": True}, ":zero": {"N": "0"}},
        )

    def _owned(self, claim: Claim, update: str, values: dict[str, Any]) -> None:
        names = {"#owner": "owner"}
        for name in ("offset", "token"):
            if f"#{name}" in update:
                names[f"#{name}"] = name
        try:
            self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": claim.pk}},
                UpdateExpression=update,
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":owner": {"S": claim.owner}},
            )
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise LostClaim(f"{claim.pk}: another invocation took the object over") from exc


def _resume_value(resume: tuple[int, int] | None) -> dict[str, Any]:
    return {":resume": {"L": [{"N": str(resume[0])}, {"N": str(resume[1])}]}} if resume else {}


def _pair(value: dict[str, Any]) -> tuple[int, int]:
    first, second = value["L"]
    return int(first["N"]), int(second["N"])
