"""Poison values in every format's lines: parse -> shippable -> orjson and the search sink.

Each example takes a golden input of one format, puts one poison value into one of its
records (a field of a text line, or a scalar of a JSON record) and parses the object as the
pipeline does. Nothing may raise; each record yields as many documents as before (a text
line exactly one, its raw text kept), or one error document; every document serializes with
orjson, and the real search sink, whose client serializes it again, gets it accepted by an
engine that parses strictly (no NaN, valid UTF-8).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_golden import cases  # a sibling module: pytest puts tests/unit on sys.path
from test_sink_search import FakeEngine, Sleeps, _handler

from logferry import formats
from logferry.formats.base import LogFormat, shippable
from logferry.model import Document, Event, ObjectRef, ParseContext, Record
from logferry.pipeline import timestamp_ms
from logferry.sinks.search import SearchSink, make_client

TEXT_POISON = [
    b"99999999999999999999999", b"-99999999999999999999999", b"18446744073709551616",
    b"NaN", b"nan", b"inf", b"-Infinity", b"1e999", b"\x00", b"\x1b[31m", b"\x7f",
    b"\xff\xfe", b"\xed\xa0\xbd", b"\xc3", b"\\ud83d", b'"\\ud83d"', b"\\xed\\xa0\\xbd",
    b'"99999999999999999999999"', b"%ED%A0%BD", b"%FF",
]  # fmt: skip
"""Tokens for a field of a text line: huge integers, NaN/inf, control characters, invalid
UTF-8 (a CESU-8 lone surrogate too), escaped surrogates as servers write them."""

JSON_POISON = [
    "99999999999999999999999", "-99999999999999999999999", "18446744073709551616",
    "NaN", "Infinity", "-Infinity", "1e999", '"\\ud83d"', '"x\\udc00y"', '"\\u0000\\u001b"',
    '"99999999999999999999999"', '"NaN"', '"1e999"', '"\\ud83d\\ude00"',
    json.dumps('{"bytes": 99999999999999999999999, "text": "\\ud83d", "f": NaN}'),
    json.dumps("status=200 bytes=99999999999999999999999 \ud83d", ensure_ascii=True),
]  # fmt: skip
"""JSON literals for a scalar of a JSON record: the same values, and JSON log messages
holding them (CloudWatch Logs events whose message is itself JSON)."""

_SEPARATORS = re.compile(rb"([ \t,])")
_SENTINEL = "\u2603POISON\u2603"


class StrictEngine(FakeEngine):
    """A fake engine that refuses a bulk body a real one would: invalid UTF-8, NaN/Infinity."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []

    def bulk(self, body: bytes) -> tuple[int, dict[str, Any]]:
        for line in body.splitlines():
            try:
                json.loads(line.decode("utf-8"), parse_constant=_refuse)
            except ValueError as exc:
                self.refused.append(f"{exc}: {line[:200]!r}")
        return super().bulk(body)


def _refuse(constant: str) -> None:
    raise ValueError(f"non-standard JSON number {constant}")


@pytest.fixture(scope="module")
def strict_engine() -> Iterator[tuple[StrictEngine, str]]:
    import threading
    from http.server import ThreadingHTTPServer

    fake = StrictEngine()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class Case:
    """One golden input: its format, context, records and each record's document count."""

    def __init__(self, path: Path) -> None:
        spec_path = path.with_name(path.name.split(".")[0] + ".spec.json")
        spec = json.loads(spec_path.read_text()) if spec_path.exists() else {}
        self.name = f"{path.parent.name}/{path.name}"
        self.options = spec.get("options", {})
        self.format_name = path.parent.name
        data = path.read_bytes()
        self.data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        self.ctx = ParseContext(
            ObjectRef("golden-bucket", spec.get("key", f"{self.format_name}/{path.name}")),
            "123456789012",
            "eu-west-1",
            extra={"object_time": "2024-03-01T00:00:00.000Z"},
        )
        self.records, self.counts = self.parse(self.data)

    def __repr__(self) -> str:
        return f"Case({self.name})"

    def fmt(self, data: bytes) -> LogFormat:
        """A fresh format instance, chosen for the object as the pipeline does."""
        fmt = formats.get_format(self.format_name, **self.options)
        return fmt.for_object(self.ctx.ref, data, 0)

    def parse(self, data: bytes) -> tuple[list[Record], list[int]]:
        """Records and their document counts (unchecked: the golden tests check these)."""
        fmt = self.fmt(data)
        records = list(fmt.frame([data]))
        return records, [len(fmt.parse(r, self.ctx)) for r in records]

    def ship(self, data: bytes) -> list[tuple[Record, list[Document], LogFormat]]:
        """Each record with its documents after :func:`shippable`, as the pipeline makes them."""
        fmt = self.fmt(data)
        out = []
        for record in fmt.frame([data]):
            docs = [
                shippable(d, record, self.ctx, fmt.dataset)[0] for d in fmt.parse(record, self.ctx)
            ]
            out.append((record, docs, fmt))
        return out


CASES = [Case(p) for p in cases()]
SHIPPING = [c for c in CASES if any(c.counts)]


def _is_json(record: Record) -> bool:
    try:
        return isinstance(json.loads(record.data), dict)
    except ValueError:
        return False


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def _poison_json(data: bytes, leaf: int, literal: str) -> bytes:
    value = json.loads(data)
    paths = list(_leaves(value))
    path = paths[leaf % len(paths)]
    node = value
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = _SENTINEL
    text = json.dumps(value, ensure_ascii=False).replace(
        json.dumps(_SENTINEL, ensure_ascii=False), literal
    )
    return text.encode("utf-8")


def _poison_text(data: bytes, field: int, token: bytes) -> bytes:
    parts = _SEPARATORS.split(data)
    fields = list(range(0, len(parts), 2))
    parts[fields[field % len(fields)]] = token
    return b"".join(parts)


def _poisoned(case: Case, which: int, field: int, pick: int) -> tuple[bytes, int, bool]:
    """The object with one poison value in its ``which``-th record that has documents."""
    shipping = [i for i, n in enumerate(case.counts) if n]
    as_json = [i for i in shipping if _is_json(case.records[i])]
    candidates = as_json or shipping  # a JSON format's damaged records are no place for poison
    index = candidates[which % len(candidates)]
    record = case.records[index]
    if as_json:
        new = _poison_json(record.data, field, JSON_POISON[pick % len(JSON_POISON)])
    else:
        new = _poison_text(record.data, field, TEXT_POISON[pick % len(TEXT_POISON)])
    end = record.offset + len(record.data)
    return case.data[: record.offset] + new + case.data[end:], index, bool(as_json)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    case=st.sampled_from(SHIPPING),
    which=st.integers(0, 1000),
    field=st.integers(0, 1000),
    pick=st.integers(0, 1000),
)
def test_a_poison_value_never_stops_a_format_and_every_document_ships(
    strict_engine: tuple[StrictEngine, str], case: Case, which: int, field: int, pick: int
) -> None:
    fake, url = strict_engine
    fake.refused.clear()
    fake.bulks.clear()
    data, index, as_json = _poisoned(case, which, field, pick)
    shipped = case.ship(data)
    assert len(shipped) == len(case.records), f"{case.name}: framing changed"
    record, docs, _ = shipped[index]
    before = case.counts[index]
    if as_json:
        assert len(docs) == before or (len(docs) == 1 and "error" in docs[0]), case.name
    else:
        assert len(docs) == before == 1, f"{case.name}: one document per line"
        assert docs[0]["message"] == record.data.decode("utf-8", "replace")
    sink = SearchSink(make_client(url, "elasticsearch"), sleep=Sleeps(), max_docs=10_000)
    for rec, rec_docs, fmt in shipped:
        for n, doc in enumerate(rec_docs):
            body = orjson.dumps(doc)  # raises if the check let a refused value through
            message = fmt.event_message(doc)
            orjson.dumps(message)  # what CloudWatch Logs' request body holds
            ts = timestamp_ms(doc, 0)
            sink.add(Event(f"{rec.offset}-{n}", ts, doc, message, len(body)))
    sink.flush()
    assert sink.take_failures() == []
    assert fake.refused == [], fake.refused[:3]


def test_every_format_is_fuzzed() -> None:
    assert {c.format_name for c in SHIPPING} == set(formats.names())
