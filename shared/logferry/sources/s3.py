"""Reading one S3 object as a stream of uncompressed bytes, with constant memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from logferry.model import ObjectRef
from logferry.sources.gzip_index import OBJECT_START, MemberIndex, usable
from logferry.sources.stream import CHUNK_SIZE, CorruptObjectError, decompressed, skip_bytes


class ObjectGoneError(Exception):
    """The object was deleted, or replaced by a new version, before or while we read it."""


@dataclass
class ObjectStream:
    """An open S3 object: resolved metadata plus a stream of uncompressed chunks."""

    ref: ObjectRef
    """The object, with ``etag``/``version_id``/``size`` filled in from the GET."""
    gzip: bool
    last_modified: datetime | None
    chunks: Iterator[bytes]
    """Uncompressed bytes from ``start_offset`` on."""
    start_offset: int
    members: MemberIndex | None = None
    """For gzip: the member starts read so far (where a continuation can resume)."""


def open_object(
    s3: Any,
    ref: ObjectRef,
    start_offset: int = 0,
    chunk_size: int = CHUNK_SIZE,
    resume: tuple[int, int] | None = None,
) -> ObjectStream:
    """Open ``ref`` for streaming, starting ``start_offset`` bytes into its uncompressed data.

    Gzip is detected from the magic bytes, not the key's suffix. A plain object resumes with
    a ranged GET; a gzip object is inflated from its start and the first ``start_offset``
    uncompressed bytes are skipped. If ``ref`` names a version or ETag, that exact revision
    is read (a replaced object raises :class:`ObjectGoneError` instead of mixing revisions).
    ``resume`` (a gzip member start at or before ``start_offset``, from the previous run's
    :attr:`ObjectStream.members`) makes a gzip object read from that member on instead.
    """
    args: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        args["VersionId"] = ref.version_id
    elif ref.etag:
        args["IfMatch"] = ref.etag if ref.etag.startswith('"') else f'"{ref.etag}"'
    origin = usable(resume, start_offset) or OBJECT_START
    members = MemberIndex(origin)
    ranged = {"Range": f"bytes={origin.compressed}-"} if origin.compressed else {}
    resp = _get(s3, ref, {**args, **ranged})
    gz, chunks = decompressed(_body_chunks(resp["Body"], chunk_size), ref.uri, members.add)
    if origin.compressed and not gz:
        raise CorruptObjectError(f"{ref.uri}: no gzip member at byte {origin.compressed}")
    if start_offset and not gz:
        resp["Body"].close()
        resp = _get(s3, ref, {**args, "Range": f"bytes={start_offset}-"})
        chunks = _body_chunks(resp["Body"], chunk_size)
    elif start_offset:
        chunks = skip_bytes(chunks, start_offset - origin.uncompressed)
    resolved = replace(
        ref,
        etag=resp.get("ETag", ref.etag),
        version_id=resp.get("VersionId", ref.version_id) if ref.version_id else ref.version_id,
        size=_total_size(resp, ref),
    )
    return ObjectStream(
        resolved, gz, resp.get("LastModified"), chunks, start_offset, members if gz else None
    )


def _get(s3: Any, ref: ObjectRef, args: dict[str, Any]) -> dict[str, Any]:
    try:
        resp: dict[str, Any] = s3.get_object(**args)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "NoSuchVersion", "404"):
            raise ObjectGoneError(f"{ref.uri}: object no longer exists ({code})") from exc
        if code in ("PreconditionFailed", "412"):
            raise ObjectGoneError(
                f"{ref.uri}: object was replaced (ETag is no longer {ref.etag})"
            ) from exc
        if code == "InvalidRange":
            return {"Body": _EmptyBody(), "ETag": ref.etag}
        raise
    return resp


def _total_size(resp: dict[str, Any], ref: ObjectRef) -> int | None:
    content_range = resp.get("ContentRange")
    if content_range and "/" in content_range:
        return int(content_range.rsplit("/", 1)[1])
    size = resp.get("ContentLength")
    return int(size) if size is not None else ref.size


def _body_chunks(body: Any, chunk_size: int) -> Iterator[bytes]:
    try:
        while chunk := body.read(chunk_size):
            yield chunk
    finally:
        body.close()


class _EmptyBody:
    """Body of a range request that starts at or past the end: nothing left to read."""

    def read(self, _size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        return None
