"""Lambda's SQS event source mappings, run by our poller instead of moto's synchronous call.

moto 5.2.5 invokes the function inside `SendMessage` itself, deletes the batch on success and
ignores `ReportBatchItemFailures`. This poller does what Lambda does: for every enabled SQS
mapping it receives up to `BatchSize` messages with the queue's visibility timeout, invokes
the function synchronously with the SQS event, deletes the batch on success (all but the
reported `batchItemFailures` when the mapping has `ReportBatchItemFailures`) and leaves
the messages of a failed invocation to reappear after the visibility timeout. moto's
`ReceiveMessage` applies the queue's redrive policy: a message received `maxReceiveCount`
times moves to the dead-letter queue on the next receive.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Invoke = Callable[[str, str, str, str], tuple[str, bool]]
"""(account, region, function ARN, event JSON) -> (response payload, errored)."""
DEFAULT_BATCH_SIZE = 10
DEFAULT_CONCURRENCY = 4
REPORT_FAILURES = "ReportBatchItemFailures"


def sqs_record(message: Any, queue_arn: str) -> dict[str, Any]:
    """One `Records[]` entry of Lambda's SQS event for a received moto `Message`."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    return {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": dict(message.message_attributes or {}),
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def sqs_event(messages: list[Any], queue_arn: str) -> dict[str, Any]:
    """Lambda's SQS event for a batch of received messages."""
    return {"Records": [sqs_record(message, queue_arn) for message in messages]}


def to_delete(
    message_ids: list[str], payload: str, errored: bool, response_types: list[str] | None
) -> list[str]:
    """The message ids of a batch to delete after its invocation, as Lambda decides.

    A function error keeps every message; success deletes all of them, except with
    `ReportBatchItemFailures` the `batchItemFailures` it names. A response naming an
    unknown or empty id fails the whole batch (Lambda's rule).
    """
    if errored:
        return []
    if REPORT_FAILURES not in (response_types or []):
        return list(message_ids)
    try:
        response = json.loads(payload or "null")
    except ValueError:
        return list(message_ids)
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not failures:
        return list(message_ids)
    failed = {item.get("itemIdentifier") if isinstance(item, dict) else None for item in failures}
    if not failed <= set(message_ids):
        return []
    return [message_id for message_id in message_ids if message_id not in failed]


class SqsPoller:
    """Polls every enabled SQS event source mapping of moto's Lambda backends."""

    def __init__(
        self, invoke: Invoke, interval: float = 0.1, workers: int = DEFAULT_CONCURRENCY
    ) -> None:
        self.invoke = invoke
        self.interval = interval
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sqs-esm")
        self.workers = workers
        self._busy: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def start(self) -> None:
        """Poll in a daemon thread until `stop`."""
        threading.Thread(target=self._run, name="sqs-poller", daemon=True).start()

    def stop(self) -> None:
        """Stop polling; invocations under way finish."""
        self._stopped.set()
        self.pool.shutdown(wait=False)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self.poll_once()
            except Exception as error:  # one bad mapping must not stop the others
                print(f"sqs poller: {error!r}", file=sys.stderr, flush=True)
            time.sleep(self.interval)

    def poll_once(self, wait: bool = False) -> int:
        """Start a batch for every mapping with visible messages and a free slot.

        Returns how many batches started; `wait` runs them to completion first (for tests).
        """
        started = []
        for esm in mappings():
            limit = _concurrency(esm, self.workers)
            while True:
                with self._lock:
                    free = limit - self._busy.get(esm.uuid, 0)
                batch = receive(esm, free) if free > 0 else None
                if batch is None:
                    break
                with self._lock:
                    self._busy[esm.uuid] = self._busy.get(esm.uuid, 0) + 1
                started.append(self.pool.submit(self._process, esm, *batch))
        if wait:
            for future in started:
                future.result()
        return len(started)

    def _process(self, esm: Any, queue: Any, messages: list[Any]) -> None:
        try:
            event = json.dumps(sqs_event(messages, queue.queue_arn))
            payload, errored = self.invoke(esm.account_id, esm.region, esm.function_arn, event)
            ids = [message.id for message in messages]
            keep = set(ids) - set(to_delete(ids, payload, errored, esm.function_response_types))
            for message in messages:
                if message.id not in keep:
                    queue.delete_message(message.receipt_handle)
        except Exception as error:
            print(f"sqs poller: {esm.function_arn}: {error!r}", file=sys.stderr, flush=True)
        finally:
            with self._lock:
                self._busy[esm.uuid] -= 1


def _concurrency(esm: Any, default: int) -> int:
    """The mapping's `ScalingConfig.MaximumConcurrency`, bounded by the poller's workers."""
    configured = (esm.scaling_config or {}).get("MaximumConcurrency")
    return min(int(configured), default) if configured else default


def mappings() -> list[Any]:
    """Every enabled event source mapping whose source is an SQS queue."""
    from moto.awslambda.models import lambda_backends

    found = []
    for account in list(lambda_backends.values()):
        for backend in list(account.values()):
            for esm in list(backend._event_source_mappings.values()):
                if esm.enabled and ":sqs:" in esm.event_source_arn:
                    found.append(esm)
    return found


def receive(esm: Any, pollers: int = 1) -> tuple[Any, list[Any]] | None:
    """(queue, messages) received for `esm` with the queue's visibility timeout, or None.

    Like Lambda's concurrent pollers, `pollers` free slots share the visible messages: a
    batch takes at most its share (and at most BatchSize), so a burst is spread.
    """
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, queue_name = esm.event_source_arn.split(":")
    backend = sqs_backends[account][region]
    queue = backend.queues.get(queue_name)
    if queue is None:
        return None
    share = -(-len(queue.messages) // max(1, pollers))
    count = max(1, min(int(esm.batch_size or DEFAULT_BATCH_SIZE), share))
    timeout = int(queue.visibility_timeout)  # type: ignore[attr-defined]
    messages = backend.receive_message(queue_name, count, 0, timeout)
    return (queue, messages) if messages else None


def detach_from_queue(esm: Any) -> None:
    """Stop moto's synchronous invocation inside SendMessage for the SQS mapping `esm`."""
    from moto.sqs.models import sqs_backends

    if ":sqs:" not in esm.event_source_arn:
        return
    _, _, _, region, account, queue_name = esm.event_source_arn.split(":")
    queue = sqs_backends[account][region].queues.get(queue_name)
    if queue is not None:
        queue.lambda_event_source_mappings.pop(esm.function_arn, None)
