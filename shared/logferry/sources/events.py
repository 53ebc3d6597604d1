"""Which S3 objects an invocation is about: S3, SQS-wrapped, SNS-wrapped and EventBridge events."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote_plus

from logferry.model import ObjectRef

CREATED_EVENT_PREFIXES = ("ObjectCreated:", "s3:ObjectCreated:")


@dataclass(frozen=True)
class ObjectNotice:
    """One object to process, and where the notice came from."""

    ref: ObjectRef
    start_offset: int = 0
    message_id: str | None = None
    """The SQS message id, for partial batch failure reporting."""
    event_time: str | None = None
    resume_from: tuple[int, int] | None = None
    """Gzip member start ``(compressed, uncompressed)`` a continuation may read from."""
    token: str | None = None
    """A continuation's chain token (see :mod:`logferry.checkpoint`); ``None`` for others."""


@dataclass(frozen=True)
class Message:
    """One SQS message's notices (``message_id``), or a whole non-SQS event's (``None``).

    ``error`` is set, and ``notices`` empty, for a message that is not an event logferry
    understands: only that message fails."""

    message_id: str | None
    notices: list[ObjectNotice]
    error: EventFormatError | None = None


class EventFormatError(ValueError):
    """An event that is not any of the shapes logferry understands."""


def messages(event: Mapping[str, Any]) -> Iterator[Message]:
    """The event's SQS messages one by one, each with its notices or its own error; any
    other event as one message (whose error raises: it has nothing to retry separately)."""
    records = event.get("Records")
    if not (isinstance(records, list) and records and _is_sqs(records[0])):
        yield Message(None, list(notices(event)))
        return
    for record in records:
        message_id = record["messageId"]
        try:
            found = list(_with_message_id(_from_body(record.get("body", "")), message_id))
        except EventFormatError as exc:
            yield Message(message_id, [], exc)
            continue
        yield Message(message_id, found)


def _is_sqs(record: Any) -> bool:
    return isinstance(record, dict) and record.get("eventSource") == "aws:sqs"


def notices(event: Mapping[str, Any]) -> Iterator[ObjectNotice]:
    """Every S3 object an invocation's event names, in order.

    Understands S3 notifications (several records per event, URL-encoded keys), the same
    wrapped in SQS messages or SNS notifications, EventBridge "Object Created" events and
    logferry's own continuation messages. ``s3:TestEvent`` messages and non-create
    records are ignored.
    """
    if event.get("Event") == "s3:TestEvent":
        return
    if "detail-type" in event:
        yield from _eventbridge(event)
        return
    if "logferry_continue" in event:
        yield continuation_notice(event["logferry_continue"])
        return
    records = event.get("Records")
    if not isinstance(records, list):
        raise EventFormatError(f"event has no Records, detail-type or Event: keys {sorted(event)}")
    for record in records:
        source = record.get("eventSource") or record.get("EventSource")
        if source == "aws:sqs":
            yield from _with_message_id(_from_body(record.get("body", "")), record["messageId"])
        elif source == "aws:sns":
            yield from _from_body(record["Sns"]["Message"])
        elif "s3" in record:
            notice = _s3_record(record)
            if notice:
                yield notice


def _from_body(body: str) -> Iterator[ObjectNotice]:
    try:
        inner = json.loads(body)
    except json.JSONDecodeError as exc:
        raise EventFormatError(f"message body is not JSON: {body[:200]!r}") from exc
    if isinstance(inner, dict) and inner.get("Type") == "Notification" and "Message" in inner:
        yield from _from_body(inner["Message"])
    elif isinstance(inner, dict):
        yield from notices(inner)


def _with_message_id(items: Iterator[ObjectNotice], message_id: str) -> Iterator[ObjectNotice]:
    for item in items:
        yield replace(item, message_id=message_id)


def _s3_record(record: Mapping[str, Any]) -> ObjectNotice | None:
    name = str(record.get("eventName", ""))
    if name and not name.startswith(CREATED_EVENT_PREFIXES):
        return None
    s3 = record["s3"]
    obj = s3["object"]
    ref = ObjectRef(
        bucket=s3["bucket"]["name"],
        key=unquote_plus(obj["key"]),
        version_id=obj.get("versionId") or None,
        etag=obj.get("eTag") or obj.get("etag") or None,
        size=obj.get("size"),
    )
    return ObjectNotice(ref, event_time=record.get("eventTime"))


def _eventbridge(event: Mapping[str, Any]) -> Iterator[ObjectNotice]:
    if event.get("detail-type") != "Object Created":
        return
    detail = event["detail"]
    obj = detail["object"]
    ref = ObjectRef(
        bucket=detail["bucket"]["name"],
        key=obj["key"],
        version_id=obj.get("version-id") or None,
        etag=obj.get("etag") or None,
        size=obj.get("size"),
    )
    yield ObjectNotice(ref, event_time=event.get("time"))


def continuation_notice(body: Mapping[str, Any]) -> ObjectNotice:
    """The notice a function sends itself to resume an object at a byte offset."""
    ref = ObjectRef(
        bucket=body["bucket"],
        key=body["key"],
        version_id=body.get("version_id"),
        etag=body.get("etag"),
        size=body.get("size"),
    )
    member = body.get("gzip_member")
    resume = (int(member[0]), int(member[1])) if member else None
    return ObjectNotice(
        ref, start_offset=int(body["offset"]), resume_from=resume, token=body.get("token")
    )


def continuation_event(
    notice: ObjectNotice,
    offset: int,
    resume_from: tuple[int, int] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """The event that makes the next invocation resume ``notice``'s object at ``offset``.

    ``resume_from``: a gzip member start at or before ``offset`` to read from; ``token``: the
    chain token that lets it claim the object's checkpoint.
    """
    ref = notice.ref
    body: dict[str, Any] = {
        "bucket": ref.bucket,
        "key": ref.key,
        "version_id": ref.version_id,
        "etag": ref.etag,
        "size": ref.size,
        "offset": offset,
    }
    if resume_from is not None:
        body["gzip_member"] = list(resume_from)
    if token is not None:
        body["token"] = token
    return {"logferry_continue": body}
