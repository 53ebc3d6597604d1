"""Per-minute counts by HTTP status code (what seed 003's Kinesis Analytics SQL computed)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

from logferry.deadline import Deadline
from logferry.model import Document, Event, ObjectRef, doc_id, iso
from logferry.sinks import Failure, Sink, SinkBase

MINUTE_MS = 60_000
NO_STATUS = -1
"""The id part of "no status" (an error document, a "-" status): apart from status 0."""


def count_document(
    dataset: str, minute_ms: int, status: int | None, count: int, source: str
) -> Document:
    """One ``<dataset>.status_counts`` document: ``count`` requests with ``status`` in a minute."""
    doc: Document = {
        "@timestamp": iso(datetime.fromtimestamp(minute_ms / 1000, tz=UTC)),
        "event": {"dataset": f"{dataset}.status_counts", "kind": "metric"},
        "status_counts": {"count": count, "minute": minute_ms},
        "log": {"file": {"path": source}},
        "message": f"{count} requests with status {status} in the minute",
    }
    if status is not None:
        doc["http"] = {"response": {"status_code": status}}
    return doc


class StatusCounts(SinkBase):
    """A sink that counts events per (minute, status) and, on flush, ships the counts.

    The counts of one run go to ``inner`` (a search sink of its own, which it wraps: the
    count documents that ``inner`` cannot ship come back from :meth:`take_failures`, to be
    parked under this sink's name and replayed through a search sink) as documents with
    deterministic ids (object, the byte offset the run started at, minute, status): a
    redelivered object overwrites its own counts, and the runs of an object handed on across
    invocations keep theirs side by side
    (``status_counts.from_offset`` says which part each counts). A search aggregation sums
    them across objects and parts.
    """

    name = "status_counts"

    def __init__(self, inner: Sink, ref: ObjectRef) -> None:
        super().__init__()
        self._inner = inner
        self._ref = ref
        self._source = ref.uri
        self._counts: Counter[tuple[str, int, int | None]] = Counter()
        self._from_offset: int | None = None

    def add(self, event: Event) -> None:
        """Count one event (error documents without a status count as ``None``)."""
        doc = event.document
        if self._from_offset is None:
            self._from_offset = int(doc.get("log", {}).get("offset") or 0)
        status = doc.get("http", {}).get("response", {}).get("status_code")
        dataset = doc.get("event", {}).get("dataset", "unknown")
        minute = event.timestamp_ms - event.timestamp_ms % MINUTE_MS
        self._counts[(dataset, minute, status if isinstance(status, int) else None)] += 1

    def flush(self) -> None:
        """Ship the counts gathered so far to the inner sink."""
        start = self._from_offset or 0
        ids = replace(self._ref, key=f"{self._ref.key}#status_counts@{start}")
        for (dataset, minute, status), count in sorted(
            self._counts.items(), key=lambda kv: (kv[0][1], kv[0][2] or 0)
        ):
            doc = count_document(dataset, minute, status, count, self._source)
            doc["status_counts"]["from_offset"] = start
            part = NO_STATUS if status is None else status
            self._inner.add(Event(doc_id(ids, minute, part), minute, doc, doc["message"]))
            self.stats.shipped += 1
        self._counts.clear()
        self._from_offset = None
        self._inner.flush()

    def set_deadline(self, deadline: Deadline) -> None:
        """The inner sink's calls are bounded by ``deadline`` too."""
        super().set_deadline(deadline)
        self._inner.set_deadline(deadline)

    def take_failures(self) -> list[Failure]:
        """The count documents the inner sink could not ship (counted as failed, not shipped)."""
        failures = self._inner.take_failures()
        self.stats.shipped -= len(failures)
        self.stats.failed += len(failures)
        return failures
