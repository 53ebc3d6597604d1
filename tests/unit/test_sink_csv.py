"""The csv sink: the seed's CSV, rejects and graph; continuations carry earlier parts over."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from logferry.formats.serverlog import ServerLogFormat
from logferry.model import Event, ObjectRef, ParseContext, Record
from logferry.sinks.csv import CSV_COLUMNS, ServerLogCsvSink

BUCKET = "analyzed"
REF = ObjectRef("raw", "uploads/web01/2019-08-01.log", etag="e1")
LINE = (
    "2019-08-01 {:02d}:00:01 up 45 days, 20:04, 1 user, load average: 0.5, 0.4, 0.3 "
    "1 0 0 379918752 0 8428556 0 0 1852 156 0 0 26 12 60 2 0"
)


def events(hours: range, garbage: bool = False) -> list[Event]:
    fmt, ctx = ServerLogFormat(), ParseContext(REF)
    out = []
    for hour in hours:
        text = "garbage" if garbage else LINE.format(hour)
        record = Record(hour * 200, text.encode(), hour + 1)
        (doc,) = fmt.parse(record, ctx)
        out.append(Event(f"id{hour}", 0, doc, doc["message"]))
    return out


def ship(s3: Any, start: int, items: list[Event], ref: ObjectRef = REF) -> None:
    sink = ServerLogCsvSink(s3, BUCKET, ref, start)
    for event in items:
        sink.add(event)
    sink.flush()


def rows(s3: Any, key: str) -> list[list[str]]:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return list(csv.reader(io.StringIO(body)))


def test_a_continuation_keeps_the_rows_of_the_earlier_parts(s3: Any) -> None:
    ship(s3, 0, events(range(0, 3)) + events(range(3, 4), garbage=True))
    ship(s3, 3 * 200, events(range(4, 6)))
    ship(s3, 5 * 200, events(range(6, 8)))
    table = rows(s3, "web01/2019-08-01.csv")
    assert table[0] == list(CSV_COLUMNS)
    assert [r[0] for r in table[1:]] == [f"2019-08-01 {h:02d}:00:01" for h in (0, 1, 2, 4, 5, 6, 7)]
    assert len(rows(s3, "web01/2019-08-01.rejects.csv")) == 2  # header + the garbage line
    svg = s3.get_object(Bucket=BUCKET, Key="web01/2019-08-01.svg")["Body"].read()
    assert svg.count(b"<polyline") >= 3


def test_a_part_run_again_keeps_every_line_once(s3: Any) -> None:
    """A retried invocation of a part (its output already written) drops its earlier rows."""
    ship(s3, 0, events(range(0, 3)) + events(range(3, 4), garbage=True))
    ship(s3, 4 * 200, events(range(4, 6)) + events(range(6, 7), garbage=True))
    ship(s3, 4 * 200, events(range(4, 6)) + events(range(6, 7), garbage=True))  # the retry
    ship(s3, 7 * 200, events(range(7, 8)))
    ship(s3, 7 * 200, events(range(7, 8)))  # the last part, retried too
    table = rows(s3, "web01/2019-08-01.csv")
    assert [r[0] for r in table[1:]] == [f"2019-08-01 {h:02d}:00:01" for h in (0, 1, 2, 4, 5, 7)]
    rejects = rows(s3, "web01/2019-08-01.rejects.csv")
    assert [r[0] for r in rejects[1:]] == ["600", "1200"]  # each garbage line once
    head = s3.head_object(Bucket=BUCKET, Key="web01/2019-08-01.csv")["Metadata"]
    body = s3.get_object(Bucket=BUCKET, Key="web01/2019-08-01.csv")["Body"].read()
    before = len(b"".join(body.splitlines(keepends=True)[:6]))  # the header and 5 earlier rows
    assert (head["logferry-start-offset"], head["logferry-bytes-before"]) == ("1400", str(before))


def test_large_earlier_rows_are_copied_inside_s3(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Earlier parts' 6 MiB of rows become the first part of the new CSV by UploadPartCopy:
    the continuation never downloads them (only the graph's first rows)."""
    row = LINE.format(1).replace(" ", ",") + "\n"
    earlier = (",".join(CSV_COLUMNS) + "\n" + row * (6 * 2**20 // len(row) + 1)).encode()
    meta = {"logferry-source": f"{REF.uri}#e1", "logferry-start-offset": "0"}
    s3.put_object(Bucket=BUCKET, Key="web01/2019-08-01.csv", Body=earlier, Metadata=meta)
    reads: list[str] = []
    real_get = s3.get_object

    def get_object(**kwargs: Any) -> Any:
        reads.append(kwargs.get("Range", "whole"))
        return real_get(**kwargs)

    monkeypatch.setattr(s3, "get_object", get_object)
    ship(s3, 5000, events(range(20, 22)))
    monkeypatch.undo()
    table = rows(s3, "web01/2019-08-01.csv")
    assert len(table) == earlier.count(b"\n") + 2
    assert [r[0] for r in table[-2:]] == ["2019-08-01 20:00:01", "2019-08-01 21:00:01"]
    assert reads == ["bytes=0-4194303"]  # the graph's head, not the 6 MiB
    head = s3.head_object(Bucket=BUCKET, Key="web01/2019-08-01.csv")
    assert head["Metadata"]["logferry-bytes-before"] == str(len(earlier))


def test_a_continuation_never_overwrites_another_objects_csv(s3: Any) -> None:
    ship(s3, 0, events(range(0, 2)))
    other = ObjectRef(REF.bucket, REF.key, etag="e2")  # the object was replaced since
    with pytest.raises(RuntimeError, match="not overwritten"):
        ship(s3, 400, events(range(2, 3)), other)
    ship(s3, 400, events(range(2, 3)))
    with pytest.raises(RuntimeError, match="not overwritten"):
        ship(s3, 200, events(range(1, 2)))  # a stale part: the CSV is already past it
    assert len(rows(s3, "web01/2019-08-01.csv")) == 4


def test_a_continuation_without_the_first_part_fails(s3: Any) -> None:
    with pytest.raises(RuntimeError, match="missing"):
        ship(s3, 400, events(range(2, 3)))
