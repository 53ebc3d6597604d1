"""What every log format provides, and the helpers formats share."""

from __future__ import annotations

import ipaddress
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from functools import lru_cache, partial
from itertools import accumulate, chain, count, repeat
from operator import add
from typing import Any, ClassVar

import orjson

from logferry.formats.timeparse import time_in_line
from logferry.model import Document, ObjectRef, ParseContext, Record, iso
from logferry.serialize import clean, find_poison, representable

MAX_LINE_BYTES = 8 * 1024 * 1024
"""A line longer than this is cut into pieces (each still shipped) so memory stays bounded."""


class LogFormat(ABC):
    """A log format: how to cut an object's bytes into records and records into documents.

    Besides :meth:`frame` and :meth:`parse`, a format may override :meth:`parse_minimal`
    (what a text-only sink needs), :meth:`event_message` (the text line-oriented sinks
    ship) and :meth:`for_object` (a format that picks another per object). ``Options`` is
    the dataclass of its settings (see :mod:`logferry.config`), whose fields are its
    constructor's keyword arguments.
    """

    name: ClassVar[str] = ""
    dataset: str = ""
    Options: ClassVar[type[Any] | None] = None
    fields_hold_line: ClassVar[bool] = False
    """True when a parsed document's fields hold every field of its line (unknown trailing
    fields included; times normalized to UTC at millisecond precision), so its raw
    ``message`` repeats them: the pipeline then leaves it out of the document unless asked to
    keep it (``SEARCH_KEEP_MESSAGE``); the event still carries it. Lines that did not parse
    always keep it. Leave it false for a format that drops or decodes a value it could not
    convert (the raw line is then the only place that value survives)."""

    @abstractmethod
    def frame(self, chunks: Iterable[bytes], start_offset: int = 0) -> Iterator[Record]:
        """Cut uncompressed bytes (starting at ``start_offset``) into records."""

    @abstractmethod
    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """Turn one record into documents; a bad record gives one document with ``error``."""

    def parse_minimal(self, record: Record, ctx: ParseContext) -> list[Document]:
        """Documents holding at least ``@timestamp``, ``message``, ``log.file.path`` and (same
        verdicts as :meth:`parse`) ``error``: used when no sink reads documents. By default
        the whole :meth:`parse`."""
        return self.parse(record, ctx)

    def event_message(self, doc: Document) -> str:
        """The text a line-oriented sink (CloudWatch Logs) ships: by default the raw line."""
        return str(doc.get("message", ""))

    @property
    def detail(self) -> str | None:
        """What this format chose within itself for the object (an Apache/nginx preset), shown
        in the run summary and by ``logferry parse``; ``None`` when there is nothing to say."""
        return None

    def for_object(self, ref: ObjectRef, head: bytes, start_offset: int = 0) -> LogFormat:
        """The format that reads object ``ref``, whose uncompressed bytes from
        ``start_offset`` begin with ``head`` (the first chunk): by default this one. A format
        that chooses per object (by key or content) returns the chosen one."""
        return self


_new_record = partial(tuple.__new__, Record)
"""``Record(offset, data, line_no)`` from one tuple, callable from C (``map``) without a frame."""


def frame_lines(
    chunks: Iterable[bytes], start_offset: int = 0, max_line: int = MAX_LINE_BYTES
) -> Iterator[Record]:
    """Split a byte stream into lines (LF or CRLF), keeping each line's byte offset.

    Memory is bounded by the chunk size plus ``max_line``: a longer line is emitted in
    ``max_line`` pieces. Empty lines are skipped (they carry nothing) but counted in
    ``line_no``. A last line without a terminator is still emitted. The records of each
    chunk come from C iterators chained together: no Python frame runs per line.
    """
    return chain.from_iterable(_record_runs(chunks, start_offset, max_line))


def _record_runs(chunks: Iterable[bytes], pos: int, max_line: int) -> Iterator[Iterable[Record]]:
    """The records of the stream, one iterable per chunk (``pos``: offset of the first byte)."""
    tail = b""  # bytes after the last LF seen, starting at offset pos
    line_no = 0
    for chunk in chunks:
        if not chunk:
            continue
        data = tail + chunk if tail else chunk
        end = data.rfind(b"\n") + 1
        body, tail = data[:end], data[end:]
        if body:
            yield _split_lines(body, pos, line_no)
            pos += end
            line_no += body.count(b"\n")
        pieces = []
        while len(tail) > max_line:
            line_no += 1
            pieces.append(Record(pos, tail[:max_line], line_no))
            tail = tail[max_line:]
            pos += max_line
        if pieces:
            yield pieces
    if tail:
        line = tail[:-1] if tail[-1] == 13 else tail
        if line:
            yield (Record(pos, line, line_no + 1),)


def _split_lines(body: bytes, pos: int, line_no: int) -> Iterator[Record]:
    """The records of ``body`` (whole lines, ending with a LF) starting at offset ``pos``.

    The usual case (no CR, no empty line) is a ``map`` over ``zip``: built in C, one record
    per line without a Python loop iteration; the other cases go line by line.
    """
    lines = body.split(b"\n")
    lines.pop()  # the empty string after the last LF
    if b"\r" not in body and b"\n\n" not in body and body[0] != 10:
        offsets = accumulate(map(add, map(len, lines), repeat(1)), initial=pos)
        return map(_new_record, zip(offsets, lines, count(line_no + 1)))
    return _split_slowly(lines, pos, line_no)


def _split_slowly(lines: list[bytes], pos: int, line_no: int) -> Iterator[Record]:
    for line in lines:
        line_no += 1
        size = len(line)
        if size and line[-1] == 13:  # CR of a CRLF
            line = line[:-1]
        if line:
            yield Record(pos, line, line_no)
        pos += size + 1


class LineFormat(LogFormat):
    """Base for line-oriented formats: framing is :func:`frame_lines`."""

    def frame(self, chunks: Iterable[bytes], start_offset: int = 0) -> Iterator[Record]:
        """Cut the stream into lines."""
        return frame_lines(chunks, start_offset)


def decode(data: bytes) -> str:
    """Decode UTF-8, replacing invalid bytes (the raw line is never lost)."""
    return data.decode("utf-8", errors="replace")


def put(doc: Document, dotted: str, value: Any) -> None:
    """Set ``doc['a']['b']['c'] = value`` for ``dotted='a.b.c'``; ``None`` values are skipped."""
    if value is None:
        return
    parts = dotted.split(".")
    node = doc
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def base_document(record: Record, ctx: ParseContext, dataset: str) -> Document:
    """The fields every document has: message, dataset, file path, offset, cloud metadata."""
    doc: Document = {
        "message": decode(record.data),
        "event": {"dataset": dataset},
        "log": {"file": {"path": ctx.ref.uri}, "offset": record.offset},
    }
    put(doc, "cloud.account.id", ctx.account_id)
    put(doc, "cloud.region", ctx.region)
    return doc


def error_document(
    record: Record,
    ctx: ParseContext,
    dataset: str,
    reason: str,
    fallback_ts: str | None = None,
    line_zone: tzinfo = UTC,
) -> Document:
    """A document for a record that did not parse: raw message kept, ``error.message`` says why.

    ``@timestamp`` is the line's own time when it holds one it can be read from
    (:func:`~logferry.formats.timeparse.time_in_line`), else ``fallback_ts`` (the format's
    guess, e.g. the key's interval), else the object's time (``ctx.extra['object_time']``),
    else now, so the document lands in a sensible daily index; ``logferry.timestamp_from``
    says which (``line``, ``object`` or ``ingest``). A time the line writes without an
    offset is in ``line_zone`` (the servers' zone, for formats that know it).
    """
    doc = base_document(record, ctx, dataset)
    own = time_in_line(doc["message"], line_zone)
    fallback = fallback_ts or ctx.extra.get("object_time")
    doc["@timestamp"] = own or fallback or iso(datetime.now(UTC))
    doc["logferry"] = {"timestamp_from": "line" if own else "object" if fallback else "ingest"}
    doc["error"] = {"message": f"{ctx.ref.uri} line {record.line_no}: {reason}"}
    put(doc, "event.kind", "pipeline_error")
    return doc


def parser_failure(
    record: Record, ctx: ParseContext, fmt: LogFormat, exc: Exception
) -> list[Document]:
    """The error document for a record ``fmt.parse`` raised on (a parser bug, not bad input).

    The line is kept and counted like any line that does not parse, and the rest of the
    object goes on: one odd line must not stop an object or loop its retries.
    """
    reason = f"the {fmt.name} parser failed: {type(exc).__name__}: {exc}"
    return [error_document(record, ctx, fmt.dataset, reason)]


def shippable(
    doc: Document, record: Record, ctx: ParseContext, dataset: str, option: int = 0
) -> tuple[Document, bytes]:
    """``doc`` and its JSON (``orjson.dumps`` with ``option``); a document orjson refuses
    is replaced by its line's :func:`unserializable_document`, which it accepts.

    The one check every shipping path makes before a sink sees a document: the hot path is
    the one ``dumps`` call, the slow path runs only when it raises.
    """
    try:
        return doc, orjson.dumps(doc, option=option)
    except TypeError:
        fixed = unserializable_document(doc, record, ctx, dataset)
        return fixed, orjson.dumps(fixed, option=option)


def shippable_without_message(
    doc: Document, event_text: str, record: Record, ctx: ParseContext, dataset: str
) -> tuple[Document, bytes]:
    """:func:`shippable` for a parsed document whose raw line is left out: ``doc`` loses its
    ``message`` (the event carries ``event_text``, what text sinks ship). Text that is not
    valid, or a value orjson refuses, gives the line's :func:`unserializable_document`
    (message kept), as :func:`shippable` does."""
    if event_text.isascii() or representable(event_text) is event_text:
        line = doc.pop("message", None)
        try:
            return doc, orjson.dumps(doc)
        except TypeError:
            if line is not None:
                doc["message"] = line  # the error document keeps the raw line
    fixed = unserializable_document(doc, record, ctx, dataset)
    return fixed, orjson.dumps(fixed)


def shippable_message(
    doc: Document, message: str, record: Record, ctx: ParseContext, dataset: str
) -> Document | None:
    """``None`` when ``message`` (the text a line-oriented sink ships) is valid text, else
    the line's :func:`unserializable_document` (for documents nobody serializes)."""
    if message.isascii() or representable(message) is message:
        return None
    return unserializable_document(doc, record, ctx, dataset)


def unserializable_document(
    doc: Document, record: Record, ctx: ParseContext, dataset: str
) -> Document:
    """The error document of a line whose document holds values the serializer refuses.

    The message (the raw line) is kept, lone surrogates replaced by U+FFFD; so are the
    document's ``@timestamp``, ``log`` and ``cloud``. ``error.message`` names each refused
    field and why; ``logferry.unserializable`` holds each field, its value as text and the
    reason.
    """
    found = find_poison(doc)
    fields = "; ".join(f"field {p.field}: {p.reason} ({p.value})" for p in found)
    reason = f"not shipped as parsed, the serializer refuses {fields or 'the document'}"
    event = doc.get("event")
    own = event.get("dataset") if isinstance(event, dict) else None
    fixed = error_document(
        record, ctx, representable(own) if isinstance(own, str) else dataset, reason
    )
    for name in ("message", "log", "cloud"):
        if name in doc:
            fixed[name] = clean(doc[name])
    stamp = doc.get("@timestamp")
    if isinstance(stamp, str):
        fixed["@timestamp"] = representable(stamp)
        fixed["logferry"]["timestamp_from"] = "line"
    fixed["logferry"]["unserializable"] = [
        {"field": p.field, "value": p.value, "reason": p.reason} for p in found
    ]
    return fixed


def to_int(value: str | None) -> int | None:
    """``'-'`` or empty as ``None``, else an int (``None`` if it is not a number)."""
    if value is None or value in ("-", ""):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def to_float(value: str | None) -> float | None:
    """``'-'`` or empty as ``None``, else a float (``None`` if it is not a finite number:
    NaN and infinities have no JSON form a search engine takes)."""
    if value is None or value in ("-", ""):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def dash_none(value: str | None) -> str | None:
    """``'-'`` (the AWS logs' null) and empty strings as ``None``."""
    return None if value in (None, "-", "") else value


@lru_cache(maxsize=4096)
def is_ip(value: str) -> bool:
    """Whether ``value`` is an IPv4/IPv6 address (cached: clients repeat)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def put_address(doc: Document, field: str, value: str | None) -> None:
    """``<field>.address`` always, ``<field>.ip`` too when the value is an IP address: an
    ip-typed field gets only valid IPs (a host name or ``12.34.178.90.32`` would make the
    engine reject the whole document)."""
    if value is None:
        return
    put(doc, f"{field}.address", value)
    if is_ip(value):
        put(doc, f"{field}.ip", value)
