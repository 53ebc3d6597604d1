"""The ``csv`` sink: seed 002's analysis of on-prem uptime+vmstat logs, as CSV and a graph.

For an upload ``<prefix><server>/<date>.log[.gz]`` the analyzed bucket gets
``<server>/<date>.csv`` (the seed's columns), ``<server>/<date>.svg`` (load, CPU and memory
over the day) and, if some lines did not parse, ``<server>/<date>.rejects.csv`` with each
line's offset, reason and raw text — nothing is dropped silently.

An object handed on across invocations is written whole by every part: a continuation
(``start_offset > 0``) reads back the rows the earlier parts wrote, which carry the source
object (with its version or ETag) and the offset their part started at in their metadata,
and writes them again before its own; a CSV left by another object or revision, or by a
part that did not start before this one, is an error (the invocation is retried), never
silently overwritten.
"""

from __future__ import annotations

import csv
import io
import posixpath
from collections.abc import Iterator
from typing import Any

from logferry.model import Document, Event, ObjectRef
from logferry.sinks import Failure, SinkBase
from logferry.sinks.loadgraph import render_svg
from logferry.sinks.s3 import CsvObjectWriter, ObjectWriter

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

    def __init__(self, s3: Any, bucket: str, ref: ObjectRef, start_offset: int = 0) -> None:
        super().__init__()
        self._s3, self._bucket = s3, bucket
        self.base = output_base(ref)
        self._source = f"{ref.uri}#{ref.version_id or ref.etag or ''}"
        self._start = start_offset
        self._title = f"{self.base} ({ref.uri})"
        self._rows: list[dict[str, str]] = []
        self._csv = self._writer(f"{self.base}.csv", CSV_COLUMNS)
        self._rejects: CsvObjectWriter | None = None
        if start_offset:
            self._carry_over()

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

    def _reject(self, row: tuple[Any, ...] | list[str]) -> None:
        if self._rejects is None:
            self._rejects = self._writer(f"{self.base}.rejects.csv", REJECT_COLUMNS)
        self._rejects.write_row(row)
        self.stats.extra["rejected"] = self.stats.extra.get("rejected", 0) + 1

    def _writer(self, key: str, header: tuple[str, ...]) -> CsvObjectWriter:
        meta = {SOURCE_META: self._source, START_META: str(self._start)}
        return CsvObjectWriter(self._s3, self._bucket, key, header=header, metadata=meta)

    def _carry_over(self) -> None:
        """Rewrite what the earlier parts of this object wrote (a continuation run)."""
        for row in self._previous(f"{self.base}.csv", required=True):
            self._row(row)
        for row in self._previous(f"{self.base}.rejects.csv", required=False):
            self._reject(row)

    def _previous(self, key: str, *, required: bool) -> Iterator[list[str]]:
        uri = f"s3://{self._bucket}/{key}"
        try:
            found = self._s3.get_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.NoSuchKey:
            if required:
                raise RuntimeError(
                    f"{uri}: missing, but {self._source} continues at byte {self._start}"
                ) from None
            return
        meta = found.get("Metadata", {})
        started = meta.get(START_META, "")
        if (
            meta.get(SOURCE_META) != self._source
            or not started.isdigit()
            or int(started) >= self._start
        ):
            raise RuntimeError(
                f"{uri}: written for {meta.get(SOURCE_META)} from byte {started or '?'}, not by "
                f"an earlier part of {self._source} (this part starts at byte {self._start}); "
                "not overwritten"
            )
        rows = csv.reader(io.StringIO(found["Body"].read().decode("utf-8")))
        next(rows, None)  # the header
        yield from rows
