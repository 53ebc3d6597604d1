"""``logferry backfill --enqueue``: S3-event messages in batches of ten, the cursor and resume,
retries of entries SQS failed, the trigger queue of a function, dry run (moto S3 and SQS)."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from logferry.backfill import ObjectInfo, list_objects, register
from logferry.backfill_queue import (
    Cursor,
    EnqueueError,
    batches,
    enqueue,
    resolve_queue,
    send_batch,
)
from logferry.config import ConfigError
from logferry.sources.events import notices

BUCKET = "history"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def sqs(s3: Any) -> Any:
    """A moto SQS client (inside the ``s3`` fixture's mock)."""
    return boto3.client("sqs", region_name="us-east-1")


def _put(s3: Any, n: int) -> list[str]:
    keys = [f"old/{i:03d} a+b.log" for i in range(n)]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    return keys


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message body on the queue (received and deleted)."""
    bodies: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        for message in got:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _keys(bodies: list[dict[str, Any]]) -> list[str]:
    """The object keys the function would read from these messages."""
    return [notice.ref.key for body in bodies for notice in notices(body)]


def test_batches_of_ten() -> None:
    infos = [ObjectInfo(str(n), "e", 1, T0) for n in range(23)]
    assert [len(b) for b in batches(infos)] == [10, 10, 3]


def test_enqueue_sends_one_s3_event_per_object_and_saves_the_cursor(
    s3: Any, sqs: Any, tmp_path: Path
) -> None:
    keys = _put(s3, 23)
    url = sqs.create_queue(QueueName="trigger")["QueueUrl"]
    cursor = Cursor(tmp_path / "cursor.json", f"s3://{BUCKET}/old/", url)
    out = io.StringIO()
    totals = enqueue(list_objects(s3, BUCKET, "old/"), sqs, url, BUCKET, cursor, out=out)
    assert (totals.enqueued, totals.batches, totals.error) == (23, 3, None)
    assert sorted(_keys(_drain(sqs, url))) == keys  # URL-encoded keys decode as S3's do
    saved = Cursor.load(cursor.path, cursor.source, url)
    assert (saved.last_key, saved.enqueued) == (keys[-1], 23)
    assert "23 enqueued (" in out.getvalue() and "objects/s" in out.getvalue()
    rest = list_objects(s3, BUCKET, "old/", start_after=saved.last_key)
    assert enqueue(rest, sqs, url, BUCKET, saved, out=out).enqueued == 0


class Interrupting:
    """Passes ``calls`` batches to SQS, then raises KeyboardInterrupt (Ctrl-C mid-run)."""

    def __init__(self, sqs: Any, calls: int) -> None:
        self.sqs, self.calls = sqs, calls

    def send_message_batch(self, **kw: Any) -> Any:
        if self.calls == 0:
            raise KeyboardInterrupt
        self.calls -= 1
        return self.sqs.send_message_batch(**kw)


def test_interrupted_run_resumes_after_the_last_acknowledged_batch(
    s3: Any, sqs: Any, tmp_path: Path
) -> None:
    keys = _put(s3, 23)
    url = sqs.create_queue(QueueName="trigger")["QueueUrl"]
    path, source = tmp_path / "cursor.json", f"s3://{BUCKET}/old/"
    cursor = Cursor(path, source, url)
    objects = list_objects(s3, BUCKET, "old/")
    first = enqueue(objects, Interrupting(sqs, 2), url, BUCKET, cursor, out=io.StringIO())
    assert first.interrupted and first.enqueued == 20
    again = Cursor.load(path, source, url)
    assert again.last_key == keys[19]
    rest = list_objects(s3, BUCKET, "old/", start_after=again.last_key)
    assert enqueue(rest, sqs, url, BUCKET, again, out=io.StringIO()).enqueued == 3
    assert sorted(_keys(_drain(sqs, url))) == keys, "each object once"
    assert Cursor.load(path, source, url).enqueued == 23


class Flaky:
    """Fails the entries named in ``fail`` once (``sender``: as the sender's fault)."""

    def __init__(self, fail: set[str], sender: bool = False) -> None:
        self.fail, self.sender = fail, sender
        self.sent: list[list[str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> Any:
        self.sent.append([e["Id"] for e in Entries])
        failed = [e["Id"] for e in Entries if e["Id"] in self.fail]
        if not self.sender:
            self.fail -= set(failed)
        return {
            "Successful": [{"Id": e["Id"]} for e in Entries if e["Id"] not in failed],
            "Failed": [
                {"Id": i, "SenderFault": self.sender, "Code": "X", "Message": "no"} for i in failed
            ],
        }


def test_entries_sqs_failed_are_sent_again_and_sender_faults_raise() -> None:
    batch = [ObjectInfo(f"k{n}", "e", 1, T0) for n in range(4)]
    waits: list[float] = []
    flaky = Flaky({"1", "3"})
    send_batch(flaky, "u", BUCKET, batch, sleep=waits.append)
    assert flaky.sent == [["0", "1", "2", "3"], ["1", "3"]] and waits == [0.5]
    with pytest.raises(EnqueueError, match=rf"s3://{BUCKET}/k2: X: no"):
        send_batch(Flaky({"2"}, sender=True), "u", BUCKET, batch, sleep=waits.append)

    class Always(Flaky):
        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> Any:
            self.fail = {"0"}
            return super().send_message_batch(QueueUrl, Entries)

    always = Always({"0"})
    with pytest.raises(EnqueueError, match="refused 1 messages"):
        send_batch(always, "u", BUCKET, batch, attempts=3, sleep=waits.append)
    assert len(always.sent) == 3


def test_a_refused_batch_stops_the_run_and_keeps_the_cursor(tmp_path: Path) -> None:
    cursor = Cursor(tmp_path / "c.json", "s3://b/", "u")
    infos = [ObjectInfo(f"k{n:02d}", "e", 1, T0) for n in range(15)]
    totals = enqueue(infos, Flaky({"2"}, sender=True), "u", "b", cursor, out=io.StringIO())
    assert totals.error and "s3://b/k02" in totals.error and totals.enqueued == 0
    assert cursor.last_key is None and not cursor.path.exists()


class Mappings:
    def __init__(self, arns: list[str]) -> None:
        self.arns = arns

    def list_event_source_mappings(self, FunctionName: str) -> Any:
        return {"EventSourceMappings": [{"EventSourceArn": arn} for arn in self.arns]}


def test_resolve_queue_of_a_function_or_a_url(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="lf-alb_to_cloudwatch")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    found = resolve_queue("lf-alb", Mappings([arn["QueueArn"]]), sqs)
    assert found == url
    assert resolve_queue(url, Mappings([]), sqs) == url
    with pytest.raises(ConfigError, match="function lf-alb: 0 SQS triggers"):
        resolve_queue("lf-alb", Mappings(["arn:aws:kinesis:us-east-1:1:stream/s"]), sqs)


def test_cursor_of_another_source_is_refused(tmp_path: Path) -> None:
    Cursor(tmp_path / "c.json", "s3://a/", "u", "k", 1).save()
    with pytest.raises(ConfigError, match="cursor of s3://a/ to u"):
        Cursor.load(tmp_path / "c.json", "s3://b/", "u")


@pytest.fixture
def cli_clients(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from logferry.clients import client

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client.cache_clear()
    yield
    client.cache_clear()


def test_command_dry_run_then_enqueue_then_resume(
    s3: Any,
    sqs: Any,
    cli_clients: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keys = _put(s3, 12)
    url = sqs.create_queue(QueueName="trigger")["QueueUrl"]
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    cursor = str(tmp_path / "cursor.json")
    base = ["backfill", f"s3://{BUCKET}/old/", "--enqueue", url, "--state", cursor]
    dry = parser.parse_args([*base, "--dry-run"])
    assert dry.func(dry) == 0
    assert f"12 objects (12 B) to enqueue to {url}" in capsys.readouterr().out
    assert _drain(sqs, url) == []
    args = parser.parse_args(base)
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "12 objects enqueued in 2 batches" in out and f"last key {keys[-1]}" in out
    assert args.func(args) == 0
    assert "0 objects enqueued in 0 batches" in capsys.readouterr().out
    assert sorted(_keys(_drain(sqs, url))) == keys
