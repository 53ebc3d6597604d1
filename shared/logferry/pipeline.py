"""The flow of one S3 object: open -> frame -> parse -> sinks -> summary (GUIDE §3)."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import chain
from typing import Any, Protocol

from logferry.deadline import NO_DEADLINE, Deadline, call_bound
from logferry.formats.base import (
    LogFormat,
    parser_failure,
    shippable,
    shippable_message,
    shippable_without_message,
)
from logferry.model import Document, Event, IdMaker, ParseContext, Record, iso
from logferry.sinks import Failure, Sink
from logferry.sources.events import ObjectNotice
from logferry.sources.s3 import ObjectGoneError, open_object
from logferry.sources.stream import CorruptObjectError, prefetched

log = logging.getLogger(__name__)

DRAIN_EVERY = 5000
STOP_CHECK_EVERY = 100
"""Records between two looks at the clock (a monotonic read: cheap, but not per record)."""
"""Records between two collections of sink failures (bounds the memory they hold)."""
CHECKPOINT_EVERY = DRAIN_EVERY
"""Records between two checkpoints (when the job keeps them): at each, every sink is flushed
and its failures parked, so a retry resumes there and repeats at most this many records."""
ERROR_RECORDS_BYTES = 160_000
"""How many bytes of unparked events (gzipped, base64) a :class:`ParkError` message carries:
with the request and the stack trace it stays under the 256 KB of an on-failure destination's
record."""
ROWS_TAG = "quarantine rows (NDJSON, gzip, base64): "


class ParkError(RuntimeError):
    """Events a sink did not ship and the quarantine did not take: they travel in this error.

    The message's first line says how many, of which sinks, and the first park error; the
    second is :data:`ROWS_TAG` and the events in the quarantine's row shape (``id``,
    ``timestamp_ms``, ``message``, ``document``, ``reason``, ``sink``, ``source``) as gzipped
    NDJSON in base64, at most :data:`ERROR_RECORDS_BYTES` (:func:`rows_in` reads them back).
    What does not fit is counted; the invocation record's request (the object notice)
    re-reads it. ``__cause__`` is the first park error.
    """

    def __init__(self, source: str, unparked: Sequence[tuple[str, Failure]], first: str) -> None:
        self.source = source
        self.unparked = list(unparked)
        rows = [_row(sink, failure, source) for sink, failure in self.unparked]
        blob = _packed(rows)
        while len(blob) > ERROR_RECORDS_BYTES:  # keep the share that fits, then re-check
            rows = rows[: max(0, int(len(rows) * ERROR_RECORDS_BYTES / len(blob) * 0.95))]
            blob = _packed(rows)
        self.carried = len(rows)
        per_sink = ", ".join(
            f"{name} ({n})" for name, n in Counter(sink for sink, _ in self.unparked).items()
        )
        left = len(self.unparked) - len(rows)
        head = (
            f"{source}: {len(self.unparked)} events of sink {per_sink} could not be parked "
            f"(first error: {first}); {len(rows)} travel below"
            + (f", {left} left out (re-ship the object to recover them)" if left else "")
        )
        super().__init__(f"{head}\n{ROWS_TAG}{blob}")


def _packed(rows: Sequence[str]) -> str:
    data = "".join(f"{row}\n" for row in rows).encode("utf-8")
    return base64.b64encode(gzip.compress(data, 9, mtime=0)).decode("ascii")


def rows_in(message: str) -> list[dict[str, Any]]:
    """The quarantine rows a :class:`ParkError` message carries (none if it carries none)."""
    for line in message.splitlines():
        if line.startswith(ROWS_TAG):
            data = gzip.decompress(base64.b64decode(line[len(ROWS_TAG) :]))
            return [json.loads(row) for row in data.splitlines() if row.strip()]
    return []


def _row(sink: str, failure: Failure, source: str) -> str:
    e = failure.event
    row = {
        "id": e.id,
        "timestamp_ms": e.timestamp_ms,
        "message": e.message,
        "document": e.document,
        "reason": failure.reason,
        "sink": sink,
        "source": source,
    }
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str)


@dataclass
class _Unparked:
    """Failures the parker refused during one object, with the first refusal."""

    failures: list[tuple[str, Failure]] = field(default_factory=list)
    first: BaseException | None = None

    def add(self, sink: str, failures: Sequence[Failure], error: BaseException) -> None:
        self.failures.extend((sink, f) for f in failures)
        self.first = self.first or error

    def error(self, source: str) -> ParkError:
        first = f"{type(self.first).__name__}: {self.first}" if self.first else "unknown"
        error = ParkError(source, self.failures, first)
        error.__cause__ = self.first
        return error


class Parker(Protocol):
    """Where events a sink could not ship are parked for ``logferry replay``."""

    def park(
        self,
        failures: Sequence[Failure],
        *,
        sink: str,
        source: str,
        offset: int = 0,
        deadline: Deadline = NO_DEADLINE,
    ) -> str | None:
        """Store the failures (``offset``: where in the source they were read); return where.

        No attempt starts that would end past ``deadline``."""
        ...


@dataclass
class Summary:
    """What happened to one object: logged as one JSON line and returned by the handler."""

    object: str
    format: str
    start_offset: int = 0
    records: int = 0
    documents: int = 0
    parse_errors: int = 0
    skipped: int = 0
    shipped: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    parked: int = 0
    parked_reasons: dict[str, int] = field(default_factory=dict)
    """Parked events by reason (the part before any ``:``), e.g. ``{"deadline": 3}``."""
    bytes: int = 0
    gzip: bool = False
    seconds: float = 0.0
    next_offset: int | None = None
    """Set when the run stopped early (time budget): where the next invocation resumes."""
    error: str | None = None
    object_time_ms: int | None = None
    """The object's LastModified (ms since the epoch), for the lag metric."""
    resume_from: tuple[int, int] | None = None
    """With ``next_offset`` on a multi-member gzip: the member start to resume from."""
    format_detail: str | None = None
    """What the format chose for this object (e.g. an Apache/nginx preset)."""
    checkpoint: str | None = None
    """With checkpoints: where this run resumed, or why it did not ship (e.g. already shipped)."""

    def to_json(self) -> str:
        """One JSON line."""
        return json.dumps(asdict(self), sort_keys=True)


def timestamp_ms(doc: Document, default_ms: int) -> int:
    """Milliseconds since the epoch from a document's ``@timestamp`` (or ``default_ms``)."""
    value = doc.get("@timestamp")
    if not isinstance(value, str):
        return default_ms
    try:
        return int(datetime.fromisoformat(value).timestamp() * 1000)
    except ValueError:
        return default_ms


@dataclass
class ObjectJob:
    """Everything needed to ship one object."""

    s3: Any
    notice: ObjectNotice
    fmt: LogFormat
    sinks: Sequence[Sink]
    parker: Parker | None = None
    account_id: str | None = None
    region: str | None = None
    remaining_seconds: Callable[[], float] | None = None
    """Time left in the invocation; when it drops below ``reserve_seconds`` the run stops."""
    reserve_seconds: float = 10.0
    checkpoint: Callable[[int, tuple[int, int] | None], None] | None = None
    """Told ``(offset, gzip member start)`` every :data:`CHECKPOINT_EVERY` records, once
    everything before ``offset`` is acknowledged by every sink or parked."""
    keep_message: bool = False
    """Keep the raw line as ``message`` in documents whose format's fields hold the whole
    line (:attr:`LogFormat.fields_hold_line`); events carry it to text sinks either way."""


@dataclass(frozen=True)
class _Deadlines:
    """The points one run works to, from the invocation's end (see :func:`call_bound`)."""

    stop: Deadline = NO_DEADLINE
    """Stop reading: the reserve before the end."""
    sinks: Deadline = NO_DEADLINE
    """No sink call ends past it: half the reserve before the end."""
    park: Deadline = NO_DEADLINE
    """No park attempt ends past it: one call's time (the hand-off's) before the end; an
    attempt may start until two calls before the end, half a call after the sinks' deadline."""

    @classmethod
    def of(cls, job: ObjectJob) -> _Deadlines:
        if job.remaining_seconds is None:
            return cls()
        left, reserve = job.remaining_seconds(), job.reserve_seconds
        return cls(
            Deadline.after(left - reserve),
            Deadline.after(left - reserve / 2),
            Deadline.after(left - call_bound(reserve)),
        )


def process_object(job: ObjectJob) -> Summary:
    """Ship one object through the job's sinks and return its summary.

    A record that does not parse is still shipped (with ``error.message``) and counted.
    A corrupt or truncated object ships everything readable, then reports the error.
    Events a sink could not ship are parked, never dropped: if the quarantine refuses them
    (after its retries) the run stops and raises :class:`ParkError`, which carries them. If
    time runs low the run stops at a record boundary and ``next_offset`` says where to resume;
    what the sinks hold is then shipped or failed by their deadline and parked. Every run
    reads at least :data:`STOP_CHECK_EVERY` records, so a continuation started late still
    makes progress (its events fail as ``deadline`` and are parked if no time is left).
    """
    started = time.monotonic()
    notice = job.notice
    summary = Summary(object=notice.ref.uri, format=job.fmt.name, start_offset=notice.start_offset)
    base = {sink.name: (sink.stats.shipped, sink.stats.failed) for sink in job.sinks}
    unparked = _Unparked()
    deadlines = _Deadlines.of(job)
    for sink in job.sinks:  # half the reserve is left for parking and the hand-off
        sink.set_deadline(deadlines.sinks)
    try:
        stream = open_object(job.s3, notice.ref, notice.start_offset, resume=notice.resume_from)
        summary.gzip = stream.gzip
        object_time = iso(stream.last_modified or datetime.now(UTC))
        ctx = ParseContext(
            stream.ref, job.account_id, job.region, extra={"object_time": object_time}
        )
        default_ms = int(datetime.fromisoformat(object_time).timestamp() * 1000)
        summary.object_time_ms = default_ms if stream.last_modified else None
        chunks = prefetched(stream.chunks)
        try:
            head = next(chunks, b"")
            fmt = job.fmt.for_object(stream.ref, head, notice.start_offset)
            summary.format, summary.format_detail = fmt.name, fmt.detail
            records = fmt.frame(chain((head,), chunks), notice.start_offset)
            mark = None
            if job.checkpoint is not None and all(s.flushes_midway for s in job.sinks):
                members, checkpoint = stream.members, job.checkpoint

                def mark(offset: int) -> None:
                    start = members.before(offset) if members is not None else None
                    checkpoint(offset, (start.compressed, start.uncompressed) if start else None)

            _ship_records(
                job, fmt, ctx, records, summary, default_ms, base, unparked, deadlines, mark
            )
        finally:
            chunks.close()  # stops the reading thread before the member index is read
        if summary.next_offset is not None and stream.members is not None:
            summary.resume_from = stream.members.before(summary.next_offset)
    except (CorruptObjectError, ObjectGoneError) as exc:
        summary.error = str(exc)
    finally:
        try:
            _flush_all(job.sinks)
        finally:  # what failed is collected even when a flush raised
            position = summary.start_offset + summary.bytes
            _drain(job, summary, base, position, unparked, deadlines.park)
            summary.seconds = round(time.monotonic() - started, 3)
        if unparked.failures:  # replaces the error in flight, which is its __context__
            raise unparked.error(summary.object)
    return summary


def _flush_all(sinks: Sequence[Sink]) -> None:
    """Flush every sink, even after one raised (a cached sink must not carry this object's
    events into the next); the first error is raised once all are flushed."""
    error: Exception | None = None
    for sink in sinks:
        try:
            sink.flush()
        except Exception as exc:
            error = error or exc
    if error is not None:
        raise error


def _ship_records(
    job: ObjectJob,
    fmt: LogFormat,
    ctx: ParseContext,
    records: Iterable[Record],
    summary: Summary,
    default_ms: int,
    base: dict[str, tuple[int, int]],
    unparked: _Unparked,
    deadlines: _Deadlines,
    mark: Callable[[int], None] | None = None,
) -> None:
    make_id = IdMaker(ctx.ref)
    measure = any(s.needs_documents for s in job.sinks)
    parse = fmt.parse if measure else fmt.parse_minimal
    drop_message = fmt.fields_hold_line and not job.keep_message
    render = fmt.event_message
    sinks = job.sinks
    parser_failed = False
    for record in records:
        if (
            summary.records % STOP_CHECK_EVERY == 0
            and summary.records  # every run makes progress, however late it starts
            and deadlines.stop.expired()
        ):
            summary.next_offset = record.offset
            return
        if mark is not None and summary.records and summary.records % CHECKPOINT_EVERY == 0:
            for sink in sinks:
                sink.flush()
            _drain(job, summary, base, record.offset, unparked, deadlines.park)
            if unparked.failures:
                return
            mark(record.offset)
        summary.records += 1
        summary.bytes += len(record.data) + 1
        try:
            docs = parse(record, ctx)
        except Exception as exc:  # a parser bug: keep the line, go on with the object
            docs = parser_failure(record, ctx, fmt, exc)
            if not parser_failed:  # the traceback once per object, the count for every line
                parser_failed = True
                log.exception("%s line %d: parser failed", summary.object, record.line_no)
        if not docs:
            summary.skipped += 1
        for index, doc in enumerate(docs):
            size, body = 0, None
            if not measure:
                message = render(doc)
                if not message.isascii() and (
                    fixed := shippable_message(doc, message, record, ctx, fmt.dataset)
                ):
                    doc, message = fixed, render(fixed)
            elif drop_message and "error" not in doc:  # the event carries the raw line
                message = render(doc)
                doc, body = shippable_without_message(doc, message, record, ctx, fmt.dataset)
                if "error" in doc:
                    message = render(doc)
                size = len(body)
            else:  # one serializer check for every sink: a refused value -> error doc
                doc, body = shippable(doc, record, ctx, fmt.dataset)
                message = render(doc)
                size = len(body)
            if "error" in doc:
                summary.parse_errors += 1
            event = Event(
                make_id(record.offset, index),
                timestamp_ms(doc, default_ms),
                doc,
                message,
                size,
                body,
            )
            for sink in sinks:
                sink.add(event)
        summary.documents += len(docs)
        if summary.records % DRAIN_EVERY == 0:
            _drain(job, summary, base, record.offset, unparked, deadlines.park)
            if unparked.failures:  # stop reading: the quarantine is refusing
                return


def _drain(
    job: ObjectJob,
    summary: Summary,
    base: dict[str, tuple[int, int]],
    position: int,
    unparked: _Unparked,
    deadline: Deadline,
) -> None:
    """Collect sink failures and park them (by ``deadline``); update the per-sink counters.

    Failures the parker refuses (or that have no parker) go to ``unparked``, never dropped.
    """
    for sink in job.sinks:
        failures = sink.take_failures()
        shipped0, failed0 = base[sink.name]
        summary.shipped[sink.name] = sink.stats.shipped - shipped0
        summary.failed[sink.name] = sink.stats.failed - failed0
        if not failures:
            continue
        if job.parker is None:
            error = RuntimeError(f"sink {sink.name} failed and no quarantine is configured")
            unparked.add(sink.name, failures, error)
            continue
        try:
            job.parker.park(
                failures, sink=sink.name, source=summary.object, offset=position, deadline=deadline
            )
        except Exception as exc:  # kept in unparked; raised with them as ParkError
            log.error(
                "%s: parking %d events of %s failed: %s",
                summary.object,
                len(failures),
                sink.name,
                exc,
            )
            unparked.add(sink.name, failures, exc)
            continue
        summary.parked += len(failures)
        for failure in failures:
            reason = failure.reason.partition(":")[0]
            summary.parked_reasons[reason] = summary.parked_reasons.get(reason, 0) + 1
