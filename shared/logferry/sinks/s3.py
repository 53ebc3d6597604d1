"""S3 outputs: streamed CSV / NDJSON objects, and the quarantine where failed events are parked.

Writers keep at most one multipart part in memory: a small output becomes a single PutObject,
a big one a multipart upload (aborted if the writer is left with an exception). The quarantine
stores failures as gzipped NDJSON under
``<prefix>/<sink>/<yyyy>/<mm>/<dd>/<source-hash>-<offset>-r<revision>-<ms>-<random>.ndjson.gz``
for ``logferry replay``: every park gets a key of its own and is written with a conditional
put (``If-None-Match: *``), so no park ever replaces another. Keys of the older layout
(``<source-hash>-<offset>.ndjson.gz``) are still read. Replay markers live under
``<prefix>/_replay/``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import random
import re
import secrets
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from botocore.exceptions import BotoCoreError, ClientError

from logferry.deadline import (
    DEFAULT_RESERVE_SECONDS,
    NO_DEADLINE,
    Deadline,
    DeadlineExceeded,
    call_bound,
)
from logferry.model import Event, ObjectRef
from logferry.sinks import Failure
from logferry.sinks.retry import backoff_delay

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
        create_only: bool = False,
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
        self._condition = {"IfNoneMatch": "*"} if create_only else {}
        """``create_only``: the object is written only if the key does not exist yet."""
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
            self._client.put_object(
                Bucket=self.bucket, Key=self.key, Body=body, **self._args, **self._condition
            )
            self.bytes_out += len(body)
            return
        if body:
            self._upload_part(body)
        self._client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._etags},
            **self._condition,
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


_KEY = re.compile(
    r"(?P<hash>[0-9a-f]{16})-(?P<offset>\d+)"
    r"(?:-r(?P<revision>\d+)-(?P<unique>\d+-[0-9a-f]+))?\.ndjson\.gz$"
)
MARKERS = "_replay"
"""Folder under the quarantine prefix that holds replay markers (never parked events)."""


@dataclass(frozen=True)
class ParkedKey:
    """What a quarantine key says: the source offset, the revision and the unique part."""

    offset: int
    revision: int
    unique: str | None
    """``None`` for a key of the older layout (``<hash>-<offset>.ndjson.gz``)."""


def parse_key(key: str) -> ParkedKey:
    """Read a quarantine key of either layout (offset 0, revision 0 if it is neither)."""
    match = _KEY.search(key)
    if match is None:
        return ParkedKey(0, 0, None)
    return ParkedKey(int(match["offset"]), int(match["revision"] or 0), match["unique"])


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "")
    return ""


def is_precondition_failed(exc: BaseException) -> bool:
    """Whether an S3 call failed because its ``If-None-Match``/``If-Match`` did not hold."""
    return _error_code(exc) in {"PreconditionFailed", "ConditionalRequestConflict"}


class Quarantine:
    """The park store: failed events as gzipped NDJSON objects, read back for replay.

    A park is written under a key of its own with a conditional put, retried ``attempts``
    times with backoff; if every attempt fails the last error is raised (the caller keeps
    the failures). With a ``deadline`` an attempt (or a backoff) starts only if it and one
    call of ``call_seconds`` (the client's timeouts) end before it; else
    :class:`~logferry.deadline.DeadlineExceeded` is raised.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "quarantine",
        *,
        sse: str | None = "AES256",
        kms_key_id: str | None = None,
        clock: Callable[[], float] = time.time,
        attempts: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        call_seconds: float = call_bound(DEFAULT_RESERVE_SECONDS),
    ) -> None:
        self.bucket = bucket
        self._call_seconds = call_seconds
        self.prefix = prefix.strip("/")
        self._client = client
        self._sse, self._kms_key_id = sse, kms_key_id
        self._clock = clock
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._sleep = sleep
        self._rng = random.Random()

    def key_for(self, sink: str, source: str, offset: int, revision: int = 0) -> str:
        """A new key, never handed out before, for failures of ``sink`` for ``source`` read
        from ``offset`` (``revision``: how many replays re-parked them), under today's date."""
        now = self._clock()
        day = time.strftime("%Y/%m/%d", time.gmtime(now))
        unique = f"{int(now * 1000)}-{secrets.token_hex(6)}"
        return (
            f"{self.prefix}/{sink}/{day}/{source_hash(source)}-{offset}"
            f"-r{revision}-{unique}.ndjson.gz"
        )

    def park(
        self,
        failures: Sequence[Failure],
        *,
        sink: str,
        source: ObjectRef | str,
        offset: int = 0,
        reason: str | None = None,
        revision: int = 0,
        key: str | None = None,
        deadline: Deadline = NO_DEADLINE,
    ) -> str | None:
        """Write ``failures`` to a new quarantine object and return its key (None if empty).

        ``source`` is the object the events were read from and ``offset`` where this read of
        it started; ``revision`` counts the replays that parked them again. ``key`` (from
        :meth:`key_for` with the same sink, source, offset and revision) is a key chosen
        beforehand. An existing object is never replaced: a key that is taken on the first
        attempt is swapped for a fresh one; taken on a retry, it is the earlier attempt's own
        write (its answer was lost). ``reason`` overrides each failure's own.
        """
        if not failures:
            return None
        uri = source.uri if isinstance(source, ObjectRef) else source
        key = key or self.key_for(sink, uri, offset, revision)
        wait = 0.0
        for attempt in range(1, self._attempts + 1):
            if deadline.left() < wait + self._call_seconds:
                raise DeadlineExceeded(
                    f"s3://{self.bucket}/{key}: {deadline.left():.1f} s left, a park attempt "
                    f"needs {wait + self._call_seconds:.1f} s"
                )
            if wait:
                self._sleep(wait)
            try:
                self._write(key, failures, sink, uri, reason)
                return key
            except (ClientError, BotoCoreError) as exc:
                if is_precondition_failed(exc):
                    if attempt > 1:
                        return key  # the previous attempt was stored; its answer was lost
                    key = self.key_for(sink, uri, offset, revision)
                elif attempt == self._attempts:
                    raise
                wait = backoff_delay(attempt, self._backoff, 4 * self._backoff, self._rng)
        raise RuntimeError(f"s3://{self.bucket}/{key}: no free key in {self._attempts} attempts")

    def _write(
        self, key: str, failures: Sequence[Failure], sink: str, uri: str, reason: str | None
    ) -> None:
        with NdjsonObjectWriter(
            self._client,
            self.bucket,
            key,
            compress=True,
            sse=self._sse,
            kms_key_id=self._kms_key_id,
            create_only=True,
        ) as out:
            for failure in failures:
                out.write_document(parked_row(failure, sink, uri, reason))

    def keys(self, prefix: str | None = None) -> Iterator[str]:
        """The keys of the parked objects under ``prefix`` (default: all), markers left out."""
        listing = (prefix or self.prefix).rstrip("/") + "/"
        markers = f"{self.prefix}/{MARKERS}/"
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=listing):
            for item in page.get("Contents", []):
                key = str(item["Key"])
                if key.endswith(".ndjson.gz") and not key.startswith(markers):
                    yield key

    def iter_parked(self, prefix: str | None = None) -> Iterator[tuple[str, list[ParkedEvent]]]:
        """Yield ``(key, events)`` for each parked object under ``prefix`` (default: all).

        ``prefix`` narrows the listing, e.g. ``quarantine/cloudwatch/2026/11``.
        """
        for key in self.keys(prefix):
            yield key, self.read(key)

    def read(self, key: str) -> list[ParkedEvent]:
        """The events parked in one object."""
        body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
        events: list[ParkedEvent] = []
        with gzip.GzipFile(fileobj=body) as lines:
            for line_no, line in enumerate(lines, 1):
                if line.strip():
                    events.append(parked_event(line, f"s3://{self.bucket}/{key}", line_no))
        return events

    def exists(self, key: str) -> bool:
        """Whether an object is (still) there."""
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        """Remove a parked object (after its events were replayed)."""
        self._client.delete_object(Bucket=self.bucket, Key=key)

    def marker_key(self, key: str) -> str:
        """Where replay keeps its claim and progress for the parked object ``key``."""
        rest = key[len(self.prefix) + 1 :] if key.startswith(self.prefix + "/") else key
        return f"{self.prefix}/{MARKERS}/{rest.removesuffix('.ndjson.gz')}.json"

    def read_marker(self, key: str) -> tuple[dict[str, Any], str] | None:
        """The replay marker of parked object ``key`` and its ETag (None if there is none)."""
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self.marker_key(key))
        except ClientError as exc:
            if _error_code(exc) in {"404", "NoSuchKey"}:
                return None
            raise
        return dict(json.loads(answer["Body"].read())), str(answer["ETag"])

    def write_marker(self, key: str, state: Mapping[str, Any], etag: str | None) -> str | None:
        """Store a replay marker only if it is still ``etag`` (``None``: only if there is none);
        return the new ETag, or ``None`` if another writer got there first."""
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            answer = self._client.put_object(
                Bucket=self.bucket,
                Key=self.marker_key(key),
                Body=json.dumps(dict(state), sort_keys=True).encode(),
                ContentType="application/json",
                **condition,
                **_encryption_args(self._sse, self._kms_key_id),
            )
        except ClientError as exc:
            if is_precondition_failed(exc) or _error_code(exc) in {"NoSuchKey", "404"}:
                return None
            raise
        return str(answer["ETag"])

    def delete_marker(self, key: str) -> None:
        """Remove the replay marker of parked object ``key``."""
        self._client.delete_object(Bucket=self.bucket, Key=self.marker_key(key))


def parked_row(
    failure: Failure, sink: str, source: str, reason: str | None = None
) -> dict[str, Any]:
    """One parked event as the quarantine stores it (one NDJSON line)."""
    e = failure.event
    return {
        "id": e.id,
        "timestamp_ms": e.timestamp_ms,
        "message": e.message,
        "document": e.document,
        "reason": reason or failure.reason,
        "sink": sink,
        "source": source,
    }


def parked_event(line: bytes | str, uri: str, line_no: int) -> ParkedEvent:
    """Read one parked line back (``uri``/``line_no`` name it in the error if it is not one)."""
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
