"""S3 outputs: streamed CSV / NDJSON objects, and the quarantine where failed events are parked.

Writers keep at most one multipart part in memory: a small output becomes a single PutObject,
a big one a multipart upload (aborted if the writer is left with an exception). The quarantine
stores failures as gzipped NDJSON under
``<prefix>/<sink>/<yyyy>/<mm>/<dd>/<source-hash>-<offset>.ndjson.gz`` for ``logferry replay``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from logferry.model import Event, ObjectRef
from logferry.sinks import Failure

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB
"""S3's smallest multipart part (all but the last)."""


def _encryption_args(sse: str | None, kms_key_id: str | None) -> dict[str, str]:
    args: dict[str, str] = {}
    if sse:
        args["ServerSideEncryption"] = sse
    if kms_key_id:
        args["SSEKMSKeyId"] = kms_key_id
    return args


class ObjectWriter:
    """Stream bytes into one S3 object with bounded memory (optionally gzip-compressed).

    Use as a context manager: the object is completed on a clean exit and the upload is
    aborted (nothing written) if the block raises.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        *,
        content_type: str = "application/octet-stream",
        compress: bool = False,
        sse: str | None = "AES256",
        kms_key_id: str | None = None,
        part_size: int = 8 * MIB,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"s3://{bucket}/{key}: part_size {part_size} < {MIN_PART_SIZE}")
        self.bucket, self.key = bucket, key
        self.bytes_in = 0
        """Bytes written by the caller (before compression)."""
        self.bytes_out = 0
        """Bytes stored in S3 (after compression)."""
        self.parts = 0
        self._client = client
        self._part_size = part_size
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, 31) if compress else None
        self._args: dict[str, Any] = {"ContentType": content_type}
        if compress:
            self._args["ContentEncoding"] = "gzip"
        if metadata:
            self._args["Metadata"] = dict(metadata)
        self._args.update(_encryption_args(sse, kms_key_id))
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._etags: list[dict[str, Any]] = []
        self._closed = False

    @property
    def uri(self) -> str:
        """The object as ``s3://bucket/key``."""
        return f"s3://{self.bucket}/{self.key}"

    def write(self, data: bytes) -> None:
        """Append bytes; a full part is uploaded as soon as it is buffered."""
        if self._closed:
            raise ValueError(f"{self.uri}: write after close")
        self.bytes_in += len(data)
        self._buffer += self._compressor.compress(data) if self._compressor else data
        while len(self._buffer) >= self._part_size:
            self._upload_part(bytes(self._buffer[: self._part_size]))
            del self._buffer[: self._part_size]

    def close(self) -> None:
        """Finish the object: one PutObject if it stayed small, else the last part + complete."""
        if self._closed:
            return
        self._closed = True
        if self._compressor:
            self._buffer += self._compressor.flush()
        body = bytes(self._buffer)
        self._buffer.clear()
        if self._upload_id is None:
            self._client.put_object(Bucket=self.bucket, Key=self.key, Body=body, **self._args)
            self.bytes_out += len(body)
            return
        if body:
            self._upload_part(body)
        self._client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._etags},
        )

    def abort(self) -> None:
        """Drop what was written; abort the multipart upload if one was started."""
        self._closed = True
        self._buffer.clear()
        if self._upload_id is not None:
            self._client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id
            )

    def _upload_part(self, body: bytes) -> None:
        if self._upload_id is None:
            started = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, **self._args
            )
            self._upload_id = str(started["UploadId"])
        number = len(self._etags) + 1
        part = self._client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=body
        )
        self._etags.append({"PartNumber": number, "ETag": part["ETag"]})
        self.parts += 1
        self.bytes_out += len(body)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class CsvObjectWriter(ObjectWriter):
    """Write CSV rows (UTF-8, optional header) to an S3 object as they come."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        header: Sequence[str] | None = None,
        *,
        lineterminator: str = "\n",
        content_type: str = "text/csv; charset=utf-8",
        **options: Any,
    ) -> None:
        super().__init__(client, bucket, key, content_type=content_type, **options)
        self.rows = 0
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator=lineterminator)
        if header is not None:
            self._put(header)

    def write_row(self, row: Iterable[Any]) -> None:
        """Append one row (values formatted by :mod:`csv`; ``None`` becomes empty)."""
        self._put(row)
        self.rows += 1

    def write_rows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Append many rows."""
        for row in rows:
            self.write_row(row)

    def _put(self, row: Iterable[Any]) -> None:
        self._csv.writerow(row)
        self.write(self._text.getvalue().encode("utf-8"))
        self._text.seek(0)
        self._text.truncate()


def ndjson_line(document: Mapping[str, Any]) -> bytes:
    """One compact JSON line (UTF-8, non-ASCII kept, unknown types as strings)."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)
    return (text + "\n").encode("utf-8")


class NdjsonObjectWriter(ObjectWriter):
    """Write one JSON document per line to an S3 object as they come."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        *,
        content_type: str = "application/x-ndjson",
        **options: Any,
    ) -> None:
        super().__init__(client, bucket, key, content_type=content_type, **options)
        self.rows = 0

    def write_document(self, document: Mapping[str, Any]) -> None:
        """Append one document as a JSON line."""
        self.write(ndjson_line(document))
        self.rows += 1


@dataclass(frozen=True)
class ParkedEvent:
    """An event read back from the quarantine, with why, where to and where from it failed."""

    event: Event
    reason: str
    sink: str
    source: str

    def as_failure(self) -> Failure:
        """The parked event as the :class:`Failure` it was parked from."""
        return Failure(self.event, self.reason)


def source_hash(source: str) -> str:
    """Short stable hash of a source URI, used in quarantine keys."""
    return hashlib.blake2b(source.encode("utf-8"), digest_size=8).hexdigest()


class Quarantine:
    """The park store: failed events as gzipped NDJSON objects, read back for replay."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "quarantine",
        *,
        sse: str | None = "AES256",
        kms_key_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client
        self._sse, self._kms_key_id = sse, kms_key_id
        self._clock = clock

    def key_for(self, sink: str, source: str, offset: int) -> str:
        """Where failures of ``sink`` for ``source`` read from ``offset`` are parked today."""
        day = time.strftime("%Y/%m/%d", time.gmtime(self._clock()))
        return f"{self.prefix}/{sink}/{day}/{source_hash(source)}-{offset}.ndjson.gz"

    def park(
        self,
        failures: Sequence[Failure],
        *,
        sink: str,
        source: ObjectRef | str,
        offset: int = 0,
        reason: str | None = None,
    ) -> str | None:
        """Write ``failures`` to one quarantine object and return its key (None if empty).

        ``source`` is the object the events were read from and ``offset`` where this read of
        it started: park once per (sink, source, offset). Parking the same triple again (a
        retried invocation) replaces the object instead of duplicating it. ``reason``
        overrides each failure's own reason.
        """
        if not failures:
            return None
        uri = source.uri if isinstance(source, ObjectRef) else source
        key = self.key_for(sink, uri, offset)
        with NdjsonObjectWriter(
            self._client,
            self.bucket,
            key,
            compress=True,
            sse=self._sse,
            kms_key_id=self._kms_key_id,
        ) as out:
            for failure in failures:
                e = failure.event
                out.write_document(
                    {
                        "id": e.id,
                        "timestamp_ms": e.timestamp_ms,
                        "message": e.message,
                        "document": e.document,
                        "reason": reason or failure.reason,
                        "sink": sink,
                        "source": uri,
                    }
                )
        return key

    def iter_parked(self, prefix: str | None = None) -> Iterator[tuple[str, list[ParkedEvent]]]:
        """Yield ``(key, events)`` for each parked object under ``prefix`` (default: all).

        ``prefix`` narrows the listing, e.g. ``quarantine/cloudwatch/2026/11``.
        """
        listing = (prefix or self.prefix).rstrip("/") + "/"
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=listing):
            for item in page.get("Contents", []):
                key = str(item["Key"])
                if key.endswith(".ndjson.gz"):
                    yield key, self.read(key)

    def read(self, key: str) -> list[ParkedEvent]:
        """The events parked in one object."""
        body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
        events: list[ParkedEvent] = []
        with gzip.GzipFile(fileobj=body) as lines:
            for line_no, line in enumerate(lines, 1):
                if line.strip():
                    events.append(_parked(line, f"s3://{self.bucket}/{key}", line_no))
        return events

    def delete(self, key: str) -> None:
        """Remove a parked object (after its events were replayed)."""
        self._client.delete_object(Bucket=self.bucket, Key=key)


def _parked(line: bytes, uri: str, line_no: int) -> ParkedEvent:
    try:
        row = json.loads(line)
        event = Event(
            id=str(row["id"]),
            timestamp_ms=int(row["timestamp_ms"]),
            document=dict(row["document"]),
            message=str(row["message"]),
        )
        return ParkedEvent(event, str(row["reason"]), str(row["sink"]), str(row["source"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{uri} line {line_no}: not a parked event: {exc}") from exc
