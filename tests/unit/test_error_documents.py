"""Error documents keep the line's own time when it can be read, else the object's, flagged."""

from __future__ import annotations

import pytest

from logferry.formats.base import error_document
from logferry.formats.timeparse import time_in_line
from logferry.model import ObjectRef, ParseContext, Record

CTX = ParseContext(ObjectRef("b", "k.log"), extra={"object_time": "2024-03-01T00:00:00.000Z"})


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTT', "2000-10-10T20:55:36.000Z"),
        ("tls 2.0 2020-04-01T08:53:00 truncated", "2020-04-01T08:53:00.000Z"),
        ("app 2024-03-01 10:00:00.5+02:00 cut", "2024-03-01T08:00:00.500Z"),
        ("h2 2018-07-02T22:23:00.186641Z app/x", "2018-07-02T22:23:00.186Z"),
        ("nothing that looks like a time", None),
        ("2019-13-45T99:00:00 is no date", None),
    ],
)
def test_time_in_line(line: str, expected: str | None) -> None:
    assert time_in_line(line) == expected


def test_error_document_prefers_the_lines_time_then_the_objects() -> None:
    own = error_document(Record(0, b"h2 2018-07-02T22:23:00.186641Z cut", 1), CTX, "x", "bad")
    assert own["@timestamp"] == "2018-07-02T22:23:00.186Z"
    assert own["logferry"] == {"timestamp_from": "line"}
    none = error_document(Record(0, b"garbage", 2), CTX, "x", "bad")
    assert none["@timestamp"] == "2024-03-01T00:00:00.000Z"
    assert none["logferry"] == {"timestamp_from": "object"}
    bare = error_document(Record(0, b"garbage", 2), ParseContext(ObjectRef("b", "k")), "x", "r")
    assert bare["logferry"] == {"timestamp_from": "ingest"} and bare["message"] == "garbage"
