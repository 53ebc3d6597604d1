"""``logferry backfill --enqueue``: hand a bucket's history to the deployed function's queue.

Instead of processing here, each listed object becomes one S3-event-shaped message (what the
bucket's notification would have sent) on the function's SQS trigger queue, ten to a
``SendMessageBatch``, so the Lambda fleet does the work at its own concurrency, with the
queue's retries and dead-letter queue. Listing is in key order (as ListObjectsV2 returns it)
and streamed, never held whole: after every batch SQS acknowledged, a cursor file records the
last key, so a rerun of the same command lists from after it. Only a batch cut off by Ctrl-C
or a crash between its send and its cursor write can be sent again (at most ten objects:
search overwrites them by id; CloudWatch Logs would hold those objects' lines twice).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from logferry.backfill import ObjectInfo, s3_event
from logferry.config import ConfigError

BATCH = 10
"""Entries per SendMessageBatch (the SQS maximum)."""


class EnqueueError(RuntimeError):
    """SQS refused some messages of a batch after the retries (names the objects)."""


@dataclass
class Cursor:
    """The last key enqueued from ``source`` to ``queue_url`` and how many so far."""

    path: Path
    source: str
    queue_url: str
    last_key: str | None = None
    enqueued: int = 0

    @classmethod
    def load(cls, path: Path, source: str, queue_url: str) -> Cursor:
        """The saved cursor, or a fresh one; a cursor of another source or queue is refused."""
        if not path.exists():
            return cls(path, source, queue_url)
        data = json.loads(path.read_text())
        if (data.get("source"), data.get("queue_url")) != (source, queue_url):
            raise ConfigError(
                f"{path}: cursor of {data.get('source')} to {data.get('queue_url')}, not of "
                f"{source} to {queue_url} (give another --state)"
            )
        return cls(path, source, queue_url, data.get("last_key"), int(data.get("enqueued", 0)))

    def save(self) -> None:
        """Write the cursor atomically."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = {"source": self.source, "queue_url": self.queue_url,
                "last_key": self.last_key, "enqueued": self.enqueued}  # fmt: skip
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)


def resolve_queue(target: str, lambda_client: Any, sqs: Any) -> str:
    """``target`` if it is a queue URL, else the URL of function ``target``'s SQS trigger
    (its one event source mapping from SQS)."""
    if target.startswith(("https://", "http://")):
        return target
    mappings = lambda_client.list_event_source_mappings(FunctionName=target)
    arns = [
        str(m["EventSourceArn"])
        for m in mappings.get("EventSourceMappings", [])
        if ":sqs:" in str(m.get("EventSourceArn", ""))
    ]
    if len(arns) != 1:
        raise ConfigError(
            f"function {target}: {len(arns)} SQS triggers ({', '.join(arns) or 'none'}); "
            "give the queue URL to --enqueue"
        )
    account, name = arns[0].split(":")[4:6]
    answer = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
    return str(answer["QueueUrl"])


def batches(objects: Iterable[ObjectInfo], size: int = BATCH) -> Iterator[list[ObjectInfo]]:
    """``objects`` in lists of ``size`` (the last one shorter)."""
    batch: list[ObjectInfo] = []
    for info in objects:
        batch.append(info)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def send_batch(
    sqs: Any,
    queue_url: str,
    bucket: str,
    batch: list[ObjectInfo],
    *,
    attempts: int = 4,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Send one message per object; entries SQS fails on its side are sent again (backoff
    0.5, 1, 2 s). Raises :class:`EnqueueError` naming the objects still refused."""
    pending = {
        str(n): {"Id": str(n), "MessageBody": json.dumps(s3_event(bucket, info))}
        for n, info in enumerate(batch)
    }
    refused: list[str] = []
    for attempt in range(attempts):
        answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=list(pending.values()))
        failed = answer.get("Failed", [])
        refused = [
            f"s3://{bucket}/{batch[int(f['Id'])].key}: {f.get('Code')}: {f.get('Message')}"
            for f in failed
        ]
        if not failed:
            return
        if any(f.get("SenderFault") for f in failed) or attempt == attempts - 1:
            break
        pending = {str(f["Id"]): pending[str(f["Id"])] for f in failed}
        sleep(0.5 * 2**attempt)
    raise EnqueueError(f"{queue_url} refused {len(refused)} messages: " + "; ".join(refused))


@dataclass
class EnqueueTotals:
    """What an enqueue run did."""

    enqueued: int = 0
    batches: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    error: str | None = None
    last_key: str | None = None


@dataclass
class _Pace:
    out: TextIO
    every: float
    clock: Callable[[], float]
    started: float = field(init=False)
    last: float = field(init=False, default=float("-inf"))

    def __post_init__(self) -> None:
        self.started = self.clock()

    def line(self, totals: EnqueueTotals, cursor: Cursor, final: bool = False) -> None:
        now = self.clock()
        if not final and now - self.last < self.every:
            return
        self.last = now
        totals.seconds = now - self.started
        rate = totals.enqueued / max(totals.seconds, 1e-6)
        print(
            f"backfill: {totals.enqueued} enqueued ({rate:.0f} objects/s), "
            f"{cursor.enqueued} in all, last {cursor.last_key}",
            file=self.out,
            flush=True,
        )


def enqueue(
    objects: Iterable[ObjectInfo],
    sqs: Any,
    queue_url: str,
    bucket: str,
    cursor: Cursor,
    *,
    out: TextIO | None = None,
    every: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> EnqueueTotals:
    """Send ``objects`` (in key order, after ``cursor.last_key``) in batches of ten; save the
    cursor after each. Stops at the first batch SQS refuses (``error``) or at Ctrl-C
    (``interrupted``)."""
    totals = EnqueueTotals()
    pace = _Pace(out or sys.stderr, every, clock)
    pending = batches(objects)
    try:
        for batch in pending:
            try:
                send_batch(sqs, queue_url, bucket, batch, sleep=sleep)
            except EnqueueError as exc:
                totals.error = str(exc)
                break
            cursor.last_key, cursor.enqueued = batch[-1].key, cursor.enqueued + len(batch)
            cursor.save()
            totals.enqueued += len(batch)
            totals.batches += 1
            pace.line(totals, cursor)
    except KeyboardInterrupt:  # the batch under way may be sent: its cursor is not written
        totals.interrupted = True
    totals.last_key = cursor.last_key
    pace.line(totals, cursor, final=True)
    return totals
