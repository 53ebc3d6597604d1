"""Core data types shared by sources, formats and sinks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

Document = dict[str, Any]
"""One log document, nested JSON with Elastic Common Schema field names."""


@dataclass(frozen=True)
class ObjectRef:
    """One S3 object: where it is and which version of it we read."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None

    @property
    def uri(self) -> str:
        """The object as an ``s3://bucket/key`` URI (used as ``log.file.path``).

        A local file (no bucket, as ``logferry parse`` reads) is just its path.
        """
        return f"s3://{self.bucket}/{self.key}" if self.bucket else self.key

    @property
    def revision(self) -> str:
        """The version id if the bucket is versioned, else the ETag, else empty."""
        return self.version_id or (self.etag or "").strip('"')


class Record(NamedTuple):
    """One framed record (usually a line) of an object's uncompressed bytes.

    A named tuple, not a dataclass: one is made per line, so construction cost matters.
    """

    offset: int
    """Byte offset of the record's first byte in the uncompressed stream."""
    data: bytes
    """The record's bytes, without the line terminator."""
    line_no: int
    """1-based line (or envelope) number, counted from where reading started."""


@dataclass(frozen=True)
class ParseContext:
    """What a parser may know about the object a record came from."""

    ref: ObjectRef
    account_id: str | None = None
    region: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def doc_id(ref: ObjectRef, offset: int, sub_index: int = 0) -> str:
    """Deterministic document id from (bucket, key, revision, byte offset, sub index).

    Identical lines at different offsets stay distinct; a redelivered event or a
    retried invocation produces the same ids, so the search engine overwrites
    instead of duplicating.
    """
    return IdMaker(ref)(offset, sub_index)


class IdMaker:
    """:func:`doc_id` for many records of one object: the object's part is hashed once.

    An id is a 24-hex-digit digest of (bucket, key, revision), a ``-``, the record's byte
    offset in hex, and ``-<sub index>`` for the second and later documents of one record:
    one string format per event instead of one hash.
    """

    def __init__(self, ref: ObjectRef) -> None:
        whole = f"{ref.bucket}\0{ref.key}\0{ref.revision}".encode()
        self._prefix = hashlib.blake2b(whole, digest_size=12).hexdigest() + "-"

    def __call__(self, offset: int, sub_index: int = 0) -> str:
        """The id of the ``sub_index``-th document of the record at ``offset``."""
        if sub_index:
            return f"{self._prefix}{offset:x}-{sub_index}"
        return f"{self._prefix}{offset:x}"


@dataclass(slots=True)
class Event:
    """A document on its way to the sinks, with its deterministic id and time."""

    id: str
    timestamp_ms: int
    """The event's own time, milliseconds since the epoch (from ``@timestamp``)."""
    document: Document
    message: str
    """The text line-oriented sinks (CloudWatch Logs) send; usually the raw line."""
    document_bytes: int = 0
    """Size of the document as JSON when the pipeline has serialized it (0: not measured)."""
    document_json: bytes | None = field(default=None, compare=False, repr=False)
    """The document as orjson wrote it when the pipeline checked it (``None``: not serialized);
    the search sink puts these bytes into its bulk body instead of serializing again."""


def iso(dt: datetime) -> str:
    """Format a datetime as ISO 8601 UTC with milliseconds and a ``Z``."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
