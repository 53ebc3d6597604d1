"""CloudWatch Logs sink: PutLogEvents batches that respect every documented limit.

Limits (PutLogEvents API reference, checked 2026-11): a batch holds at most 10,000 events and
1,048,576 bytes counted as the sum of the messages' UTF-8 bytes plus 26 bytes per event; events
in a batch are in chronological order and span less than 24 hours; each event is at most 1 MB
(256 KB before AWS raised it; configurable). Events older than 14 days (or the group's retention)
or more than 2 hours in the future are rejected by the service, so they are not sent but handed
back as failures. Sequence tokens are no longer needed and not used (an
``InvalidSequenceTokenException`` from an old endpoint is retried; ``DataAlreadyAccepted``
means the batch is stored).

Deadline: no call starts unless the sink's deadline leaves ``call_seconds`` (the bounded
client's connect + read timeout, see :mod:`logferry.clients`), so every call ends before it; no
backoff sleeps past that point. What is then still buffered or unsent fails with reason
``deadline`` (parked). A call that timed out waiting for its answer may have been stored: it
is not retried (a retry could store it twice) but parked with reason ``unknown_outcome:...``,
and ``logferry replay`` looks such events up in the stream before sending them again.
"""

from __future__ import annotations

import posixpath
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, NamedTuple

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    HTTPClientError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from logferry.deadline import DEFAULT_RESERVE_SECONDS, DeadlineExceeded, call_bound
from logferry.model import Event, ObjectRef
from logferry.sinks import Failure, SinkBase, fast_put
from logferry.sinks.retry import backoff_delay, retryable_status

EVENT_OVERHEAD = 26
"""Bytes PutLogEvents adds to each event's UTF-8 message size when it counts a batch."""
MAX_BATCH_BYTES = 1_048_576
MAX_BATCH_EVENTS = 10_000
MAX_EVENT_BYTES = 1_048_576
"""Largest event, message bytes plus the 26 bytes overhead: "1 MB" since April 2025 (it was
256 KB = 262,144; pass ``max_event_bytes=262_144`` for an endpoint with the old limit)."""
RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922}
    | {3288, 3653}
)
"""The values PutRetentionPolicy accepts."""
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

_STREAM_UNSAFE = re.compile(r"[:*]")
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "RequestLimitExceeded",
        "SlowDown",
        "InvalidSequenceTokenException",
    }
)
ALREADY_STORED = "DataAlreadyAcceptedException"
"""The batch was accepted before (an old endpoint's answer to a repeated token): success."""
UNKNOWN_OUTCOME = "unknown_outcome"
"""Reason prefix of events whose call timed out after it was sent: maybe stored."""


@dataclass(frozen=True)
class Limits:
    """The PutLogEvents limits a plan must respect (defaults: the documented ones)."""

    batch_bytes: int = MAX_BATCH_BYTES
    batch_events: int = MAX_BATCH_EVENTS
    event_bytes: int = MAX_EVENT_BYTES
    span_ms: int = DAY_MS
    max_age_ms: int = 14 * DAY_MS
    max_future_ms: int = 2 * HOUR_MS

    def __post_init__(self) -> None:
        if not EVENT_OVERHEAD + 256 <= self.event_bytes <= self.batch_bytes:
            raise ValueError(
                f"event_bytes={self.event_bytes} must be in [{EVENT_OVERHEAD + 256}, "
                f"batch_bytes={self.batch_bytes}]"
            )


DEFAULT_LIMITS = Limits()


class LogEvent(NamedTuple):
    """One InputLogEvent on its way out, with its PutLogEvents size and the event it came from.

    A named tuple holding the event's id, not the event: one is made per line, and buffers
    must not keep documents alive.
    """

    timestamp: int
    message: str
    size: int
    """UTF-8 bytes of ``message`` plus :data:`EVENT_OVERHEAD`."""
    event_id: str
    whole: Event | None = None
    """For a part of a split event: the event (without its document) the part came from."""

    @property
    def source(self) -> Event:
        """The event to park if this one cannot be shipped (its whole message, no document)."""
        if self.whole is not None:
            return self.whole
        return Event(self.event_id, self.timestamp, {}, self.message)


def utf8_len(text: str) -> int:
    """Number of bytes ``text`` takes in UTF-8 (what PutLogEvents counts)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def time_verdict(
    timestamp_ms: int,
    now_ms: int,
    limits: Limits = DEFAULT_LIMITS,
    retention_days: int | None = None,
) -> str | None:
    """``"too_old"`` / ``"too_new"`` if the service would reject an event at that time."""
    max_age = limits.max_age_ms
    if retention_days is not None:
        max_age = min(max_age, retention_days * DAY_MS)
    if timestamp_ms < now_ms - max_age:
        return "too_old"
    if timestamp_ms > now_ms + limits.max_future_ms:
        return "too_new"
    return None


def _part_prefix(part: int, total: int, event_id: str) -> str:
    return f"[logferry part {part}/{total} id={event_id}] "


def _utf8_chunks(data: bytes, room: int) -> Iterator[bytes]:
    """Cut ``data`` into pieces of at most ``room`` bytes, never inside a UTF-8 character."""
    start = 0
    while start < len(data):
        end = min(start + room, len(data))
        while end < len(data) and end > start and data[end] & 0xC0 == 0x80:
            end -= 1
        yield data[start:end]
        start = end


def split_message(message: str, event_id: str, max_bytes: int) -> list[str]:
    """Split ``message`` into numbered parts of at most ``max_bytes`` UTF-8 bytes each.

    Each part starts with ``[logferry part i/n id=<event id>] ``; a message that fits is
    returned unchanged as the only element.
    """
    data = message.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return [message]
    total = 2
    while True:
        room = max_bytes - utf8_len(_part_prefix(total, total, event_id))
        if room < 4:
            raise ValueError(f"event {event_id}: {max_bytes} bytes leave no room for a part")
        chunks = list(_utf8_chunks(data, room))
        if len(str(len(chunks))) <= len(str(total)):
            n = len(chunks)
            return [
                _part_prefix(i, n, event_id) + chunk.decode("utf-8", "surrogatepass")
                for i, chunk in enumerate(chunks, 1)
            ]
        total = len(chunks)


def to_log_events(event: Event, limits: Limits = DEFAULT_LIMITS) -> list[LogEvent]:
    """The event as one InputLogEvent, or several numbered parts if it exceeds the event limit.

    Parts keep a slim copy of the event (no document): a CloudWatch failure is parked and
    replayed as its whole message.
    """
    message = event.message
    size = utf8_len(message) + EVENT_OVERHEAD
    if size <= limits.event_bytes:
        return [LogEvent(event.timestamp_ms, message, size, event.id)]
    slim = Event(event.id, event.timestamp_ms, {}, message)
    parts = split_message(message, event.id, limits.event_bytes - EVENT_OVERHEAD)
    return [
        LogEvent(event.timestamp_ms, p, utf8_len(p) + EVENT_OVERHEAD, event.id, slim) for p in parts
    ]


def plan_batches(
    events: Iterable[LogEvent], limits: Limits = DEFAULT_LIMITS
) -> Iterator[list[LogEvent]]:
    """Sort ``events`` by time and cut them into the fewest PutLogEvents batches greedily.

    A batch closes only when the next event would break a limit (count, bytes, or a span of
    24 h or more), so every batch but the last is as full as the limits allow.
    """
    batch: list[LogEvent] = []
    size = 0
    for ev in sorted(events, key=attrgetter("timestamp")):
        if batch and (
            len(batch) >= limits.batch_events
            or size + ev.size > limits.batch_bytes
            or ev.timestamp - batch[0].timestamp >= limits.span_ms
        ):
            yield batch
            batch, size = [], 0
        batch.append(ev)
        size += ev.size
    if batch:
        yield batch


def rejected_indices(info: Mapping[str, Any], n: int) -> dict[int, str]:
    """Map batch index -> reason from a response's ``rejectedLogEventsInfo``.

    ``tooOldLogEventEndIndex`` and ``expiredLogEventEndIndex`` are exclusive ends,
    ``tooNewLogEventStartIndex`` an inclusive start (API reference, RejectedLogEventsInfo).
    """
    out: dict[int, str] = {}
    for key, reason in (
        ("tooOldLogEventEndIndex", "too_old"),
        ("expiredLogEventEndIndex", "expired"),
    ):
        out.update((i, reason) for i in range(min(int(info.get(key) or 0), n)))
    start = info.get("tooNewLogEventStartIndex")
    if start is not None:
        out.update((i, "too_new") for i in range(max(int(start), 0), n))
    return out


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore exception (its class name if it has none)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or type(exc).__name__)
    return type(exc).__name__


def outcome_unknown(exc: BaseException) -> bool:
    """Whether the request reached the service and its answer was lost (timeout, cut)."""
    return isinstance(exc, ReadTimeoutError | ConnectionClosedError)


def is_transient(exc: BaseException) -> bool:
    """Whether a call that raised ``exc`` is worth retrying (throttling, 5xx, connection);
    never one whose outcome is unknown (a retry could store the batch twice)."""
    if outcome_unknown(exc):
        return False
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return error_code(exc) in TRANSIENT_CODES or (status > 0 and retryable_status(status))
    return isinstance(exc, BotoConnectionError | HTTPClientError)


@dataclass
class _Buffer:
    events: list[LogEvent] = field(default_factory=list)
    bytes: int = 0

    def extend(self, events: list[LogEvent]) -> None:
        self.events += events
        for e in events:  # one event, almost always: a loop beats sum() over a generator
            self.bytes += e.size


def stream_name(template: str, ref: ObjectRef) -> str:
    """The CloudWatch Logs stream for an object: one stream per object family.

    ``{family}`` is the key's folder (e.g. an ALB's per-day folder), ``{key}`` the whole
    key, ``{basename}`` its file name, ``{bucket}`` the bucket.
    """
    family = posixpath.dirname(ref.key) or ref.bucket
    name = template.format(
        family=family, key=ref.key, basename=posixpath.basename(ref.key), bucket=ref.bucket
    )
    return _STREAM_UNSAFE.sub("_", name)[:512] or "default"


class CloudWatchSink(SinkBase):
    """Ship events to CloudWatch Logs with few, full, valid PutLogEvents calls.

    Events are buffered per stream; when a buffer holds ``buffer_bytes`` (at least two batches'
    worth, or twice a batch's event count) it is sorted and all batches but the last are sent;
    the last stays buffered to be filled up. ``flush``
    sends everything. Streams are sent in parallel (one batch in flight per stream). Nothing is
    raised for AWS errors: what cannot be shipped comes back from :meth:`take_failures`.
    ``shipped`` counts events: a split event is one, shipped once all its parts are.
    ``call_seconds`` is the longest one call of ``client`` takes (its timeouts): a call starts
    only if the deadline leaves that much.
    """

    needs_documents = False
    """Only messages and times are shipped: the pipeline may skip building full documents."""

    def __init__(
        self,
        client: Any,
        log_group: str,
        stream: str | Callable[[Event], str],
        *,
        max_event_bytes: int = MAX_EVENT_BYTES,
        retention_days: int | None = None,
        create: bool = True,
        max_workers: int = 4,
        max_attempts: int = 8,
        buffer_bytes: int = 4 * MAX_BATCH_BYTES,
        base_delay: float = 0.1,
        max_delay: float = 20.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        call_seconds: float = call_bound(DEFAULT_RESERVE_SECONDS),
        name: str = "cloudwatch",
    ) -> None:
        if retention_days is not None and retention_days not in RETENTION_DAYS:
            raise ValueError(
                f"log group {log_group}: retention_days={retention_days} is not one of "
                f"{sorted(RETENTION_DAYS)}"
            )
        self.name = name
        super().__init__()
        self.log_group = log_group
        self._client = client
        self._stream = stream
        self._limits = Limits(event_bytes=max_event_bytes)
        self._retention_days = retention_days
        self._create = create
        self._max_workers = max(1, max_workers)
        self._max_attempts = max(1, max_attempts)
        self._buffer_bytes = max(buffer_bytes, 2 * self._limits.batch_bytes)
        self._base_delay, self._max_delay = base_delay, max_delay
        self._clock, self._sleep = clock, sleep
        self._call_seconds = call_seconds
        self._rng = random.Random()
        fast_put.install(client)
        self._buffers: dict[str, _Buffer] = {}
        self._inflight: dict[str, Future[None]] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._failures: dict[str, Failure] = {}
        self._lock = threading.Lock()
        self._create_lock = threading.Lock()
        self._group_ready = False
        self._ready_streams: set[str] = set()
        self._parts_left: dict[str, int] = {}
        """Split events in flight: their parts not yet shipped."""

    # -- Sink protocol -------------------------------------------------------------------
    def add(self, event: Event) -> None:
        """Queue one event (or hand it back as a failure if the service would reject it)."""
        now_ms = int(self._clock() * 1000)
        reason = time_verdict(event.timestamp_ms, now_ms, self._limits, self._retention_days)
        if reason is None and not event.message:
            reason = "empty_message"
        if reason is None and self.deadline.expired():
            reason = "deadline"
        if reason is not None:
            self._fail([event], reason)
            return
        parts = to_log_events(event, self._limits)
        if len(parts) > 1:
            self._count("split")
            with self._lock:
                self._parts_left[event.id] = len(parts)
        stream = self._stream if isinstance(self._stream, str) else self._stream(event)
        buf = self._buffers.get(stream)
        if buf is None:
            buf = self._buffers[stream] = _Buffer()
        buf.extend(parts)
        if buf.bytes >= self._buffer_bytes or len(buf.events) >= 2 * self._limits.batch_events:
            batches = list(plan_batches(buf.events, self._limits))
            self._buffers[stream] = rest = _Buffer()
            rest.extend(batches.pop())
            self._dispatch(stream, batches)

    def flush(self) -> None:
        """Send everything buffered and wait until every batch is shipped or failed."""
        for stream, buf in self._buffers.items():
            self._dispatch(stream, list(plan_batches(buf.events, self._limits)))
        self._buffers.clear()
        inflight, self._inflight = self._inflight, {}
        try:
            for future in inflight.values():
                future.result()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None

    def take_failures(self) -> list[Failure]:
        """Return (and forget) the events not shipped since the last call, one per event."""
        with self._lock:
            failures, self._failures = list(self._failures.values()), {}
        return failures

    # -- sending -------------------------------------------------------------------------
    def _dispatch(self, stream: str, batches: list[list[LogEvent]]) -> None:
        if not batches:
            return
        previous = self._inflight.get(stream)
        if previous is not None:
            previous.result()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix="cwl")
        self._inflight[stream] = self._executor.submit(self._send_all, stream, batches)

    def _send_all(self, stream: str, batches: list[list[LogEvent]]) -> None:
        for batch in batches:
            self._put_batch(stream, batch)

    def _put_batch(self, stream: str, batch: list[LogEvent]) -> None:
        request = {
            "logGroupName": self.log_group,
            "logStreamName": stream,
            "logEvents": [{"timestamp": e.timestamp, "message": e.message} for e in batch],
        }
        try:
            response = self._put(stream, request)
        except DeadlineExceeded:
            self._fail_parts(batch, "deadline")
            return
        except (ClientError, BotoCoreError) as exc:
            unknown = outcome_unknown(exc)
            prefix = f"{UNKNOWN_OUTCOME}:" if unknown else "aws:"
            self._fail_parts(batch, f"{prefix}{error_code(exc)}")
            if unknown:
                self._count(UNKNOWN_OUTCOME)
            return
        rejected = rejected_indices(response.get("rejectedLogEventsInfo") or {}, len(batch))
        shipped = [e for i, e in enumerate(batch) if i not in rejected]
        with self._lock:
            self.stats.shipped += self._completed(shipped)
            self.stats.bytes += sum(e.size for e in shipped)
        for i, reason in rejected.items():
            self._fail_parts([batch[i]], reason)

    def _completed(self, shipped: list[LogEvent]) -> int:
        """How many events ``shipped`` completes (a split event: its last part); under the
        lock."""
        done = 0
        for e in shipped:
            if e.whole is None:
                done += 1
                continue
            left = self._parts_left.pop(e.event_id, None)
            if left is not None and left > 1:
                self._parts_left[e.event_id] = left - 1
            elif left is not None:
                done += 1
        return done

    def _fail_parts(self, batch: list[LogEvent], reason: str) -> None:
        """Fail the events of ``batch``; a split event once (its later parts are not counted)."""
        with self._lock:
            failed = [
                e.source
                for e in batch
                if e.whole is None or self._parts_left.pop(e.event_id, None) is not None
            ]
        self._fail(failed, reason)

    def _put(self, stream: str, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._call(self._put_log_events, request)
        except ClientError as exc:
            code = error_code(exc)
            if code == ALREADY_STORED:
                return {}
            missing = code == "ResourceNotFoundException"
            if not (self._create and missing and self._ensure(stream)):
                raise
        try:
            return self._call(self._put_log_events, request)
        except ClientError as exc:
            if error_code(exc) == ALREADY_STORED:
                return {}
            raise

    def _put_log_events(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            self.stats.calls += 1
        response: dict[str, Any] = self._client.put_log_events(**request)
        return response

    def _call(self, fn: Callable[..., dict[str, Any]], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Call ``fn(**kwargs)``, retrying transient errors with full-jitter backoff.

        Raises :class:`DeadlineExceeded` rather than start a call (or sleep) that would end
        past the deadline.
        """
        attempt = 1
        while True:
            self._room(0.0)
            try:
                return fn(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                if attempt >= self._max_attempts or not is_transient(exc):
                    raise
            delay = backoff_delay(attempt, self._base_delay, self._max_delay, self._rng)
            self._room(delay)
            self._count_retry()
            self._sleep(delay)
            attempt += 1

    def _room(self, wait: float) -> None:
        """Raise :class:`DeadlineExceeded` unless ``wait`` and then one call fit."""
        if self.deadline.left() < wait + self._call_seconds:
            raise DeadlineExceeded(
                f"{self.log_group}: {self.deadline.left():.1f} s left, a call needs "
                f"{wait + self._call_seconds:.1f} s"
            )

    def _ensure(self, stream: str) -> bool:
        """Create the group (once per sink) and ``stream``; False if already done for it."""
        with self._create_lock:
            if stream in self._ready_streams:
                return False
            if not self._group_ready:
                group = {"logGroupName": self.log_group}
                if self._create_idempotent(self._client.create_log_group, group) and (
                    self._retention_days is not None
                ):
                    retention = {**group, "retentionInDays": self._retention_days}
                    self._call(self._client.put_retention_policy, retention)
                self._group_ready = True
            stream_args = {"logGroupName": self.log_group, "logStreamName": stream}
            self._create_idempotent(self._client.create_log_stream, stream_args)
            self._ready_streams.add(stream)
            return True

    def _create_idempotent(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> bool:
        """Call a Create* API; False (no error) if the resource already exists."""
        try:
            self._call(fn, kwargs)
        except ClientError as exc:
            if error_code(exc) != "ResourceAlreadyExistsException":
                raise
            return False
        self._count("created")
        return True

    # -- bookkeeping ---------------------------------------------------------------------
    def _fail(self, events: list[Event], reason: str) -> None:
        with self._lock:
            for event in events:
                if event.id not in self._failures:
                    self._failures[event.id] = Failure(event, reason)
                    self.stats.failed += 1
                    self.stats.extra[reason] = self.stats.extra.get(reason, 0) + 1

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats.extra[key] = self.stats.extra.get(key, 0) + 1

    def _count_retry(self) -> None:
        with self._lock:
            self.stats.retries += 1
