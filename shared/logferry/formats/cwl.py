"""CloudWatch Logs subscription envelopes as Firehose delivers them to S3.

Firehose concatenates the (decompressed) envelopes with no separator, sometimes with
newlines between: ``{"messageType":"DATA_MESSAGE",...}{"messageType":...}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from logferry.config import option
from logferry.formats import jsonutil
from logferry.formats.base import LogFormat, error_document, put
from logferry.formats.timeparse import is_epoch_ms, iso_from_epoch_ms
from logferry.model import Document, ParseContext, Record

MARKER = b'{"messageType"'
"""How every envelope starts. It cannot occur inside one: quotes in JSON strings are escaped."""

MAX_ENVELOPE_BYTES = 64 * 1024 * 1024
"""A buffer growing past this without a next envelope start is cut, so memory stays bounded."""


_RESERVED = frozenset({"@timestamp", "message", "event", "log", "cloud", "aws", "error"})

LEVEL_KEYS = ("level", "severity", "log.level", "lvl", "loglevel")
"""JSON message keys lifted into ``log.level`` (first one present wins)."""


def frame_envelopes(
    chunks: Iterable[bytes], start_offset: int = 0, max_envelope: int = MAX_ENVELOPE_BYTES
) -> Iterator[Record]:
    """One record per envelope (``line_no`` counts envelopes), whatever the chunking.

    The stream is cut before each ``{"messageType"``; each piece is then decoded with
    ``raw_decode`` so concatenated objects in another key order, or garbage after an
    envelope, become records of their own (garbage or a truncated envelope gives a
    record that does not parse). Memory holds one envelope plus one chunk.
    """
    buf = bytearray()
    buf_offset = start_offset
    scanned = 1
    count = 0

    def emit(end: int) -> Iterator[Record]:
        nonlocal count
        for offset, data in jsonutil.split_objects(bytes(buf[:end]), buf_offset):
            count += 1
            yield Record(offset, data, count)

    for chunk in chunks:
        if not chunk:
            continue
        buf += chunk
        while True:
            nxt = buf.find(MARKER, scanned)
            if nxt < 0:
                scanned = max(1, len(buf) - len(MARKER) + 1)
                if len(buf) > max_envelope:
                    yield from emit(len(buf))
                    buf_offset += len(buf)
                    buf.clear()
                    scanned = 1
                break
            yield from emit(nxt)
            del buf[:nxt]
            buf_offset += nxt
            scanned = 1
    yield from emit(len(buf))


def _envelope_fields(envelope: dict[str, Any], ctx: ParseContext) -> Document:
    """The fields every event of an envelope shares: ``cloud.*`` and ``aws.cloudwatch.*``."""
    shared: Document = {}
    put(shared, "cloud.account.id", envelope.get("owner") or ctx.account_id)
    put(shared, "cloud.region", ctx.region)
    put(shared, "aws.cloudwatch.log_group", envelope.get("logGroup"))
    put(shared, "aws.cloudwatch.log_stream", envelope.get("logStream"))
    put(shared, "aws.cloudwatch.subscription_filters", envelope.get("subscriptionFilters"))
    return shared


@dataclass(frozen=True)
class CwlOptions:
    """The ``cwl`` format's options."""

    json_namespace: str = option(
        "CWL_JSON_NAMESPACE", "json", "where the fields of a JSON log message go (`json.*`)"
    )


class CwlFormat(LogFormat):
    """CloudWatch Logs subscription data (``aws.cloudwatch_logs``): one document per log event.

    ``@timestamp`` is the event's timestamp, ``message`` its text, ``event.id`` its id;
    owner, group, stream and filters go to ``cloud.account.id`` and ``aws.cloudwatch.*``.
    A message holding a JSON object is also parsed into ``<json_namespace>.*`` (its level
    lifted into ``log.level``). CONTROL_MESSAGE envelopes give no documents.
    """

    name = "cwl"
    dataset = "aws.cloudwatch_logs"
    Options = CwlOptions

    def __init__(self, json_namespace: str = "json") -> None:
        parts = json_namespace.split(".")
        if not all(parts) or parts[0] in _RESERVED:
            raise ValueError(f"bad json_namespace {json_namespace!r} (empty part or reserved name)")
        self.json_namespace = json_namespace

    def frame(self, chunks: Iterable[bytes], start_offset: int = 0) -> Iterator[Record]:
        """Cut the stream into envelopes (see :func:`frame_envelopes`)."""
        return frame_envelopes(chunks, start_offset)

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One document per log event, in order; a bad envelope gives one error document."""
        try:
            envelope = json.loads(record.data.decode("utf-8", "replace"))
        except ValueError as exc:
            truncated = record.data[:1] == b"{"
            reason = f"not a JSON envelope ({exc})" if truncated else "garbage between envelopes"
            return [error_document(record, ctx, self.dataset, reason)]
        if not isinstance(envelope, dict):
            return [error_document(record, ctx, self.dataset, "envelope is not a JSON object")]
        kind = envelope.get("messageType")
        if kind == "CONTROL_MESSAGE":
            return []
        events = envelope.get("logEvents")
        if kind != "DATA_MESSAGE" or not isinstance(events, list):
            reason = f"not a DATA_MESSAGE envelope with logEvents (messageType {kind!r})"
            return [error_document(record, ctx, self.dataset, reason)]
        shared = _envelope_fields(envelope, ctx)
        return [self._event_document(record, ctx, shared, event) for event in events]

    def _event_document(
        self, record: Record, ctx: ParseContext, shared: Document, event: Any
    ) -> Document:
        if not isinstance(event, dict):
            return error_document(record, ctx, self.dataset, "log event is not a JSON object")
        message = event.get("message")
        if not isinstance(message, str):
            message = json.dumps(message)
        # Built directly, not with base_document(): its message is the event's, not the record's.
        doc: Document = {
            "message": message,
            "event": {"dataset": self.dataset},
            "log": {"file": {"path": ctx.ref.uri}, "offset": record.offset},
        }
        for key, value in shared.items():
            doc[key] = {k: dict(v) if isinstance(v, dict) else v for k, v in value.items()}
        event_id = event.get("id")
        if event_id is not None:
            doc["event"]["id"] = event_id
        timestamp = event.get("timestamp")
        if is_epoch_ms(timestamp):
            doc["@timestamp"] = iso_from_epoch_ms(timestamp)
        else:
            doc["@timestamp"] = ctx.extra.get("object_time") or iso_from_epoch_ms(0)
            doc["error"] = {
                "message": f"{ctx.ref.uri} line {record.line_no}: "
                f"log event {event_id!r} has no timestamp"
            }
        if message[:1] == "{" or message.lstrip()[:1] == "{":
            self._put_json(doc, message)
        return doc

    def _put_json(self, doc: Document, message: str) -> None:
        try:
            fields = jsonutil.loads(message)
        except ValueError:
            return
        if not isinstance(fields, dict):
            return
        put(doc, self.json_namespace, fields)
        for key in LEVEL_KEYS:
            level = fields.get(key)
            if isinstance(level, str) and level:
                put(doc, "log.level", level.lower())
                break
