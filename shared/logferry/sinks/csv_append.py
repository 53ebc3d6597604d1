"""A CSV object that continues an earlier one: its first bytes, then new rows.

A continuation of the ``csv`` sink must write the rows the earlier parts wrote before its
own. Reading them back and writing them again costs every part the whole CSV so far (a big
upload handed on many times spends its budget on that alone), so the earlier bytes are
copied inside S3 (``UploadPartCopy`` of a byte range) when they are large enough to be a
multipart part, and read back only when they are small.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MIN_COPY_BYTES = 5 * 1024**2
"""S3's least size of a part that is not the last: smaller earlier bytes are read back."""
PART_BYTES = 8 * 1024**2


@dataclass(frozen=True)
class Earlier:
    """The first ``size`` bytes of ``key`` (version ``version_id``) start the new object."""

    key: str
    size: int
    version_id: str | None = None

    def source(self, bucket: str) -> dict[str, str]:
        """The ``CopySource`` of these bytes."""
        found = {"Bucket": bucket, "Key": self.key}
        if self.version_id:
            found["VersionId"] = self.version_id
        return found


class AppendingCsvWriter:
    """Write ``earlier``'s bytes (or ``header`` when there are none), then rows, to ``key``.

    Parts of :data:`PART_BYTES` are uploaded as they fill; ``close`` completes the object
    (one PutObject when it stayed small). ``bytes_before_rows`` is the length of what came
    before the first new row (the header or the earlier bytes).
    """

    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        header: Iterable[str],
        *,
        metadata: Mapping[str, str],
        earlier: Earlier | None = None,
    ) -> None:
        self._s3, self.bucket, self.key = s3, bucket, key
        self._args = {"ContentType": "text/csv; charset=utf-8", "Metadata": dict(metadata)}
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\n")
        self.rows = 0
        if earlier is None:
            self._put(header)
        elif earlier.size >= MIN_COPY_BYTES:
            self._start_upload()
            self._copy(earlier)
        elif earlier.size:
            self._buffer += read_range(s3, bucket, earlier, earlier.size)

    def write_row(self, row: Iterable[Any]) -> None:
        """Append one row."""
        self._put(row)
        self.rows += 1
        if len(self._buffer) >= PART_BYTES:
            if self._upload_id is None:
                self._start_upload()
            self._upload(bytes(self._buffer))
            self._buffer.clear()

    def close(self) -> None:
        """Complete the object."""
        if self._upload_id is None:
            body = bytes(self._buffer)
            self._s3.put_object(Bucket=self.bucket, Key=self.key, Body=body, **self._args)
            return
        if self._buffer or not self._parts:
            self._upload(bytes(self._buffer))
            self._buffer.clear()
        self._s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    def _put(self, row: Iterable[Any]) -> None:
        self._csv.writerow(row)
        self._buffer += self._text.getvalue().encode("utf-8")
        self._text.seek(0)
        self._text.truncate()

    def _start_upload(self) -> None:
        started = self._s3.create_multipart_upload(Bucket=self.bucket, Key=self.key, **self._args)
        self._upload_id = started["UploadId"]

    def _copy(self, earlier: Earlier) -> None:
        number = len(self._parts) + 1
        answer = self._s3.upload_part_copy(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            CopySource=earlier.source(self.bucket),
            CopySourceRange=f"bytes=0-{earlier.size - 1}",
        )
        self._parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})

    def _upload(self, body: bytes) -> None:
        number = len(self._parts) + 1
        answer = self._s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=body
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})


def read_range(s3: Any, bucket: str, earlier: Earlier, size: int) -> bytes:
    """The first ``size`` bytes of ``earlier``'s object."""
    extra = {"VersionId": earlier.version_id} if earlier.version_id else {}
    found = s3.get_object(Bucket=bucket, Key=earlier.key, Range=f"bytes=0-{size - 1}", **extra)
    return bytes(found["Body"].read())


def head_rows(
    s3: Any, bucket: str, earlier: Earlier, limit: int, max_bytes: int
) -> list[list[str]]:
    """Up to ``limit`` data rows (the header skipped) from the first ``max_bytes`` bytes."""
    size = min(earlier.size, max_bytes)
    if size <= 0:
        return []
    text = read_range(s3, bucket, earlier, size).decode("utf-8", errors="replace")
    if size < earlier.size:
        text = text[: text.rfind("\n") + 1]  # a row cut by the range is left out
    rows = csv.reader(io.StringIO(text))
    next(rows, None)
    return [row for _, row in zip(range(limit), rows, strict=False)]
