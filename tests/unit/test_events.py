"""Which objects an invocation names: S3, SQS, SNS, EventBridge, continuation events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from logferry.sources.events import (
    EventFormatError,
    ObjectNotice,
    continuation_event,
    notices,
)


def s3_record(key: str, bucket: str = "raw", name: str = "ObjectCreated:Put") -> dict[str, Any]:
    return {
        "eventSource": "aws:s3",
        "eventName": name,
        "eventTime": "2024-03-01T00:05:00.000Z",
        "s3": {
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 12, "eTag": "abc", "versionId": "v1"},
        },
    }


def test_url_encoded_keys_and_several_records() -> None:
    event = {"Records": [s3_record("dir/a+b%2Bc%E2%9C%93.log"), s3_record("x%20y.gz")]}
    keys = [n.ref.key for n in notices(event)]
    assert keys == ["dir/a b+c✓.log", "x y.gz"]
    first = next(notices(event))
    assert first.ref.version_id == "v1"
    assert first.ref.etag == "abc"
    assert first.ref.size == 12


def test_test_event_and_removals_are_ignored() -> None:
    assert list(notices({"Event": "s3:TestEvent", "Bucket": "raw"})) == []
    assert list(notices({"Records": [s3_record("k", name="ObjectRemoved:Delete")]})) == []


def test_sqs_wrapped_keeps_message_ids() -> None:
    event = {
        "Records": [
            {
                "eventSource": "aws:sqs",
                "messageId": "m1",
                "body": json.dumps({"Records": [s3_record("a")]}),
            },
            {
                "eventSource": "aws:sqs",
                "messageId": "m2",
                "body": json.dumps({"Event": "s3:TestEvent"}),
            },
            {
                "eventSource": "aws:sqs",
                "messageId": "m3",
                "body": json.dumps({"Records": [s3_record("b")]}),
            },
        ]
    }
    got = [(n.ref.key, n.message_id) for n in notices(event)]
    assert got == [("a", "m1"), ("b", "m3")]


def test_sns_inside_sqs() -> None:
    sns = {"Type": "Notification", "Message": json.dumps({"Records": [s3_record("c%3Dd")]})}
    event = {"Records": [{"eventSource": "aws:sqs", "messageId": "m", "body": json.dumps(sns)}]}
    assert [n.ref.key for n in notices(event)] == ["c=d"]


def test_eventbridge_object_created() -> None:
    event = {
        "detail-type": "Object Created",
        "source": "aws.s3",
        "time": "2024-03-01T00:00:00Z",
        "detail": {"bucket": {"name": "raw"}, "object": {"key": "a/b.log", "etag": "e", "size": 3}},
    }
    (n,) = notices(event)
    assert (n.ref.bucket, n.ref.key, n.ref.etag) == ("raw", "a/b.log", "e")


def test_continuation_round_trip() -> None:
    (first,) = notices({"Records": [s3_record("k")]})
    (resumed,) = notices(continuation_event(first, 4096))
    assert resumed == ObjectNotice(first.ref, start_offset=4096)


def test_unknown_shape_is_a_clear_error() -> None:
    with pytest.raises(EventFormatError, match="no Records"):
        list(notices({"foo": 1}))
    bad = {"Records": [{"eventSource": "aws:sqs", "messageId": "m", "body": "not json"}]}
    with pytest.raises(EventFormatError, match="not JSON"):
        list(notices(bad))
