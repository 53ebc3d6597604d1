"""The ``csv`` sink: seed 002's analysis of on-prem uptime+vmstat logs, as CSV and a graph.

For an upload ``<prefix><server>/<date>.log[.gz]`` the analyzed bucket gets
``<server>/<date>.csv`` (the seed's columns), ``<server>/<date>.svg`` (load, CPU and memory
over the day) and, if some lines did not parse, ``<server>/<date>.rejects.csv`` with each
line's offset, reason and raw text — nothing is dropped silently.

An object handed on across invocations is written whole by every part: a continuation
(``start_offset > 0``) reads back the rows the earlier parts wrote, which carry the source
object (with its version or ETag), the offset their part started at and how many of their bytes
came before that part's rows in their metadata, and writes them again before its own
(copied inside S3 when large: :mod:`logferry.sinks.csv_append`). A part run again (a
retried invocation) finds its own earlier output and keeps only the bytes before its rows,
so every line is in the CSV once. A CSV left by another object or
revision, or by a part that started after this one, is an error (the invocation is
retried), never silently overwritten.
"""

from __future__ import annotations

import posixpath
from typing import Any

from logferry.model import Document, Event, ObjectRef
from logferry.sinks import Failure, SinkBase
from logferry.sinks.csv_append import AppendingCsvWriter, Earlier, head_rows
from logferry.sinks.loadgraph import render_svg
from logferry.sinks.s3 import ObjectWriter

CSV_COLUMNS: tuple[str, ...] = (
    "datetime", "past-times", "users", "load-average01", "load-average05", "load-average15",
    "procs-r", "procs-b", "mem-swpd", "mem-free", "mem-buff", "mem-cache", "swap-in",
    "swap-out", "buff-in", "buff-out", "system-in", "system-cs", "cpu-us", "cpu-sy", "cpu-id",
    "cpu-wa", "cpu-st",
)  # fmt: skip
"""The seed's CSV header, in order."""

VMSTAT_KEYS = (
    "r", "b", "swpd", "free", "buff", "cache", "si", "so",
    "bi", "bo", "in", "cs", "us", "sy", "id", "wa", "st",
)  # fmt: skip
"""The ``serverlog.vmstat.*`` fields behind the CSV's last 17 columns, in order."""

REJECT_COLUMNS = ("offset", "error", "line")
MAX_GRAPH_ROWS = 10_000
"""Rows kept for the graph (a day at one row per 10 s); later rows still reach the CSV."""
SOURCE_META, START_META = "logferry-source", "logferry-start-offset"
BEFORE_META = "logferry-bytes-before"
"""Bytes of the object before its writer's part's first row (the header, earlier parts)."""
GRAPH_HEAD_BYTES = 4 * 1024**2
"""Bytes of an earlier CSV read back for the graph's rows."""


def csv_row(doc: Document) -> list[str]:
    """The seed's CSV row (:data:`CSV_COLUMNS`) for a parsed ``serverlog.load`` document.

    Raises ``ValueError`` for a document that is not one (e.g. an error document).
    """
    try:
        s = doc["serverlog"]
        load, vm = s["load"], s["vmstat"]
        users = s.get("users")
        return [
            s["datetime"],
            s["uptime"],
            "" if users is None else str(users),
            load["1"],
            load["5"],
            load["15"],
            *(str(vm[c]) for c in VMSTAT_KEYS),
        ]
    except (KeyError, TypeError):
        raise ValueError("not a parsed serverlog document") from None


def output_base(ref: ObjectRef) -> str:
    """``<server>/<date>`` for ``[prefix/]<server>/<date>.log[.gz]``."""
    server = posixpath.basename(posixpath.dirname(ref.key)) or "unknown"
    name = posixpath.basename(ref.key).split(".")[0] or "unknown"
    return f"{server}/{name}"


class ServerLogCsvSink(SinkBase):
    """CSV rows for parsed server-log documents, rejects for the others, the graph on flush."""

    name = "csv"
    flushes_midway = False  # flush writes the whole CSV and graph: no checkpoint mid-object

    def __init__(self, s3: Any, bucket: str, ref: ObjectRef, start_offset: int = 0) -> None:
        super().__init__()
        self._s3, self._bucket = s3, bucket
        self.base = output_base(ref)
        self._source = f"{ref.uri}#{ref.version_id or ref.etag or ''}"
        self._start = start_offset
        self._title = f"{self.base} ({ref.uri})"
        self._rows: list[dict[str, str]] = []
        earlier = self._earlier(f"{self.base}.csv", required=True) if start_offset else None
        earlier_rejects = (
            self._earlier(f"{self.base}.rejects.csv", required=False) if start_offset else None
        )
        if earlier is not None:  # the graph starts with the earlier parts' rows
            for row in head_rows(s3, bucket, earlier, MAX_GRAPH_ROWS, GRAPH_HEAD_BYTES):
                self._rows.append(dict(zip(CSV_COLUMNS, row, strict=False)))
        self._csv = self._writer(f"{self.base}.csv", CSV_COLUMNS, earlier)
        self._rejects: AppendingCsvWriter | None = None
        if earlier_rejects is not None:
            self._rejects = self._writer(
                f"{self.base}.rejects.csv", REJECT_COLUMNS, earlier_rejects
            )

    def add(self, event: Event) -> None:
        """One CSV row, or one rejects row for a line that did not parse."""
        doc = event.document
        if "error" in doc:
            self._reject((doc["log"]["offset"], doc["error"]["message"], doc["message"]))
        else:
            self._row(csv_row(doc))
        self.stats.shipped += 1

    def flush(self) -> None:
        """Finish the CSV (and rejects) objects and write the graph next to them."""
        self._csv.close()
        if self._rejects is not None:
            self._rejects.close()
        with ObjectWriter(
            self._s3, self._bucket, f"{self.base}.svg", content_type="image/svg+xml"
        ) as out:
            out.write(render_svg(self._rows, self._title).encode("utf-8"))
        self.stats.calls += 1

    def take_failures(self) -> list[Failure]:
        """S3 errors raise (the invocation is retried); there are no per-event failures."""
        return []

    def _row(self, row: list[str]) -> None:
        self._csv.write_row(row)
        if len(self._rows) < MAX_GRAPH_ROWS:
            self._rows.append(dict(zip(CSV_COLUMNS, row, strict=True)))

    def _reject(self, row: tuple[Any, ...]) -> None:
        if self._rejects is None:
            self._rejects = self._writer(f"{self.base}.rejects.csv", REJECT_COLUMNS, None)
        self._rejects.write_row(row)
        self.stats.extra["rejected"] = self.stats.extra.get("rejected", 0) + 1

    def _writer(
        self, key: str, header: tuple[str, ...], earlier: Earlier | None
    ) -> AppendingCsvWriter:
        before = earlier.size if earlier else len(",".join(header)) + 1
        meta = {SOURCE_META: self._source, START_META: str(self._start), BEFORE_META: str(before)}
        return AppendingCsvWriter(
            self._s3, self._bucket, key, header, metadata=meta, earlier=earlier
        )

    def _earlier(self, key: str, *, required: bool) -> Earlier | None:
        """The bytes of ``key`` the parts before this one wrote (None: there is no ``key``)."""
        uri = f"s3://{self._bucket}/{key}"
        try:
            found = self._s3.head_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.ClientError as error:
            if error.response["Error"]["Code"] not in ("404", "NoSuchKey"):
                raise
            if required:
                raise RuntimeError(
                    f"{uri}: missing, but {self._source} continues at byte {self._start}"
                ) from None
            return None
        meta = found.get("Metadata", {})
        started, before = meta.get(START_META, ""), meta.get(BEFORE_META, "")
        if (
            meta.get(SOURCE_META) != self._source
            or not started.isdigit()
            or int(started) > self._start
            or (int(started) == self._start and not before.isdigit())
        ):
            raise RuntimeError(
                f"{uri}: written for {meta.get(SOURCE_META)} from byte {started or '?'}, not by "
                f"an earlier part of {self._source} (this part starts at byte {self._start}); "
                "not overwritten"
            )
        # A part that ran before (a retried invocation) keeps only what came before its rows.
        size = int(before) if int(started) == self._start else int(found["ContentLength"])
        return Earlier(key, size, found.get("VersionId"))
