"""Seed 002's analysis step: on-prem uptime+vmstat logs -> CSV and a load graph in S3.

For an upload ``<prefix><server>/<date>.log[.gz]`` the analyzed bucket gets
``<server>/<date>.csv`` (the seed's columns), ``<server>/<date>.svg`` (load, CPU and memory
over the day) and, if some lines did not parse, ``<server>/<date>.rejects.csv`` with each
line's number, reason and raw text — nothing is dropped silently.
"""

from __future__ import annotations

import posixpath
from typing import Any

from logferry.formats.serverlog import CSV_COLUMNS, csv_row
from logferry.model import Event, ObjectRef
from logferry.reports.loadgraph import render_svg
from logferry.sinks import Failure, SinkStats
from logferry.sinks.s3 import CsvObjectWriter, ObjectWriter

MAX_GRAPH_ROWS = 10_000
"""Rows kept for the graph (a day at one row per 10 s); later rows still reach the CSV."""


def output_base(ref: ObjectRef) -> str:
    """``<server>/<date>`` for ``[prefix/]<server>/<date>.log[.gz]``."""
    server = posixpath.basename(posixpath.dirname(ref.key)) or "unknown"
    name = posixpath.basename(ref.key).split(".")[0] or "unknown"
    return f"{server}/{name}"


class ServerLogCsvSink:
    """A sink writing parsed server-log documents as CSV rows, then the graph on flush."""

    name = "csv"

    def __init__(self, s3: Any, bucket: str, ref: ObjectRef) -> None:
        self.stats = SinkStats()
        self._s3, self._bucket = s3, bucket
        self.base = output_base(ref)
        self._title = f"{self.base} ({ref.uri})"
        self._csv = CsvObjectWriter(s3, bucket, f"{self.base}.csv", header=CSV_COLUMNS)
        self._rejects: CsvObjectWriter | None = None
        self._rows: list[dict[str, str]] = []

    def add(self, event: Event) -> None:
        """One CSV row, or one rejects row for a line that did not parse."""
        doc = event.document
        if "error" in doc:
            self._reject(doc)
            return
        row = csv_row(doc)
        self._csv.write_row(row)
        if len(self._rows) < MAX_GRAPH_ROWS:
            self._rows.append(dict(zip(CSV_COLUMNS, row, strict=True)))
        self.stats.shipped += 1

    def _reject(self, doc: dict[str, Any]) -> None:
        if self._rejects is None:
            self._rejects = CsvObjectWriter(
                self._s3,
                self._bucket,
                f"{self.base}.rejects.csv",
                header=("offset", "error", "line"),
            )
        self._rejects.write_row((doc["log"]["offset"], doc["error"]["message"], doc["message"]))
        self.stats.extra["rejected"] = self.stats.extra.get("rejected", 0) + 1
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
