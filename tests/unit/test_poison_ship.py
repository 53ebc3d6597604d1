"""A value the serializer or the engine refuses: one error document or one parked event,
never a failed object (serialize, formats.base.shippable, the pipeline, the search sink, the
``logferry parse`` command)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from moto import mock_aws
from test_pipeline import ListParker, ListSink  # a sibling module: tests/unit is on sys.path
from test_sink_search import FakeEngine, Responder, Sleeps, engine, kind  # noqa: F401 (fixtures)

from logferry import formats
from logferry.formats.base import shippable, unserializable_document
from logferry.model import Event, ObjectRef, ParseContext, Record
from logferry.pipeline import ObjectJob, process_object
from logferry.serialize import Poison, clean, find_poison, representable
from logferry.sinks.search import SearchSink, make_client
from logferry.sources.events import ObjectNotice

HUGE = 99999999999999999999999
CTX = ParseContext(
    ObjectRef("raw", "web/access.log"), extra={"object_time": "2026-11-01T00:00:00.000Z"}
)
GOOD = b'1.2.3.4 - - [01/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 2326 "-" "curl"'
POISON = b'1.2.3.4 - - [01/Nov/2026:10:00:01 +0000] "GET /b HTTP/1.1" 200 %d "-" "curl"' % HUGE
NODE = json.dumps({"msg": "cut emoji \ud83d", "n": 1})  # what JSON.stringify writes


# -- serialize ------------------------------------------------------------------------------
def test_representable_joins_pairs_and_replaces_lone_surrogates() -> None:
    text = "ok"
    assert representable(text) is text
    assert representable("a\ud83d\ude00b") == "a\U0001f600b"
    assert representable("a\ud83db\udc00") == "a\ufffdb\ufffd"


def test_find_poison_names_each_field_and_why() -> None:
    doc = {"http": {"bytes": HUGE}, "tags": ["x", "\ud83d"], "f": float("nan"), 3: "k", "b": b"x"}
    assert find_poison(doc) == [
        Poison("http.bytes", str(HUGE), "integer beyond 64 bits"),
        Poison("tags.1", "\ufffd", "text with a lone surrogate"),
        Poison("3", "3", "key that is not valid text"),
        Poison("b", "b'x'", "bytes is not a JSON type"),
    ]
    assert find_poison({"n": 2**64 - 1, "m": -(2**63), "ok": "\U0001f600"}) == []
    orjson.dumps(clean(doc))


# -- shippable: the one check -----------------------------------------------------------------
def _apache() -> Any:
    return formats.get_format("apache").for_object(CTX.ref, GOOD)


def test_a_document_that_serializes_is_shipped_as_parsed() -> None:
    fmt = _apache()
    record = Record(0, GOOD, 1)
    doc = fmt.parse(record, CTX)[0]
    same, body = shippable(doc, record, CTX, fmt.dataset)
    assert same is doc and body == orjson.dumps(doc)


def test_a_huge_byte_count_becomes_the_lines_error_document() -> None:
    fmt = _apache()
    record = Record(81, POISON, 2)
    doc, body = shippable(fmt.parse(record, CTX)[0], record, CTX, fmt.dataset)
    assert orjson.loads(body) == doc
    assert doc["message"] == POISON.decode()
    assert doc["@timestamp"] == "2026-11-01T10:00:01.000Z"
    assert doc["event"] == {"dataset": "apache.access", "kind": "pipeline_error"}
    assert doc["log"] == {"file": {"path": "s3://raw/web/access.log"}, "offset": 81}
    assert doc["error"]["message"] == (
        "s3://raw/web/access.log line 2: not shipped as parsed, the serializer refuses field "
        f"http.response.body.bytes: integer beyond 64 bits ({HUGE})"
    )
    assert doc["logferry"]["unserializable"] == [
        {
            "field": "http.response.body.bytes",
            "value": str(HUGE),
            "reason": "integer beyond 64 bits",
        }
    ]
    assert "http" not in doc


def test_a_lone_surrogate_in_a_json_message_keeps_the_line_representable() -> None:
    record = Record(0, NODE.encode(), 7)
    doc = {"message": json.loads(NODE)["msg"], "event": {"dataset": "node.app"}, "@timestamp": 5}
    fixed = unserializable_document(doc, record, CTX, "fallback.dataset")
    assert fixed["message"] == "cut emoji \ufffd"
    assert fixed["event"]["dataset"] == "node.app"
    assert fixed["@timestamp"] == "2026-11-01T00:00:00.000Z"  # not a text time: the object's
    assert (
        "field message: text with a lone surrogate (cut emoji \ufffd)" in fixed["error"]["message"]
    )
    orjson.dumps(fixed)


# -- the pipeline -------------------------------------------------------------------------------
@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="raw")
        yield client


def _run(s3: Any, key: str, body: bytes, fmt: Any, sinks: list[Any], parker: Any = None) -> Any:
    s3.put_object(Bucket="raw", Key=key, Body=gzip.compress(body))
    notice = ObjectNotice(ObjectRef("raw", key))
    return process_object(ObjectJob(s3, notice, fmt, sinks, parker=parker))


def test_the_poison_line_is_counted_and_the_rest_of_the_object_ships(
    s3: Any,
    engine: tuple[FakeEngine, str],  # noqa: F811
    kind: str,  # noqa: F811
) -> None:
    fake, url = engine
    search = SearchSink(make_client(url, kind), sleep=Sleeps())
    text = ListSink("text")
    body = b"\n".join([GOOD, POISON, GOOD, POISON, GOOD]) + b"\n"
    summary = _run(s3, "web/access.log", body, formats.get_format("apache"), [search, text])
    assert (summary.records, summary.documents, summary.parse_errors) == (5, 5, 2)
    assert summary.shipped == {"search": 5, "text": 5} and summary.parked == 0
    sources = [source for _, source in fake.bulks[-1]]
    lines = body.decode().splitlines()
    assert [s.get("message") for s in sources] == [None, lines[1], None, lines[3], None], (
        "parsed apache lines leave the raw line out of search; the error documents keep it"
    )
    assert [e.message for e in text.events] == lines, "the text sink gets every raw line"
    assert [s["logferry"]["unserializable"][0]["value"] for s in sources if "error" in s] == [
        str(HUGE),
        str(HUGE),
    ]
    assert all(e.document_bytes == len(orjson.dumps(e.document)) for e in text.events)


def test_a_lone_surrogate_never_reaches_a_text_only_sink(s3: Any) -> None:
    """No sink reads documents (CloudWatch Logs only): the message itself is checked."""
    envelope = {
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/ecs/node",
        "logStream": "web", "subscriptionFilters": ["f"],
        "logEvents": [
            {"id": "1", "timestamp": 1790000000000, "message": "fine"},
            {"id": "2", "timestamp": 1790000000001, "message": "cut \ud83d"},
            {"id": "3", "timestamp": 1790000000002, "message": NODE},
        ],
    }  # fmt: skip
    text = ListSink("text")
    text.needs_documents = False
    body = json.dumps(envelope).encode()
    summary = _run(s3, "firehose/x", body, formats.get_format("cwl"), [text])
    assert (summary.records, summary.documents, summary.parse_errors) == (1, 3, 1)
    messages = [e.message for e in text.events]
    assert messages[:2] == ["fine", "cut \ufffd"]
    assert all(orjson.dumps(m) for m in messages)  # PutLogEvents' body is orjson's


# -- the engine refuses a value -------------------------------------------------------------------
def _refusing(kind_of_error: str) -> Responder:
    """Every action whose source has ``refuse`` answered 400 ``kind_of_error``."""

    def respond(actions: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[int, dict[str, Any]]:
        out = []
        for head, source in actions:
            item: dict[str, Any] = {**head["index"], "status": 201}
            if "refuse" in source:
                reason = "failed to parse field [refuse] of type [long]"
                item.update(status=400, error={"type": kind_of_error, "reason": reason})
            out.append({"index": item})
        return 200, {"took": 1, "errors": True, "items": out}

    return respond


@pytest.mark.parametrize("error", ["mapper_parsing_exception", "document_parsing_exception"])
def test_a_value_the_engine_refuses_is_parked_and_the_rest_ships(
    s3: Any,
    engine: tuple[FakeEngine, str],  # noqa: F811
    kind: str,  # noqa: F811
    error: str,
) -> None:
    fake, url = engine
    fake.script = [_refusing(error)]
    sleeps = Sleeps()
    search = SearchSink(make_client(url, kind), sleep=sleeps)
    parker = ListParker()

    class Refused(type(formats.get_format("apache"))):  # type: ignore[misc]
        def parse(self, record: Record, ctx: ParseContext) -> list[Any]:
            docs = super().parse(record, ctx)
            if b"/b " in record.data:
                docs[0]["refuse"] = "not a long"
            return docs

    lines = [GOOD, GOOD.replace(b"/a ", b"/b "), GOOD]
    summary = _run(s3, "web/r.log", b"\n".join(lines) + b"\n", Refused(), [search], parker)
    assert summary.records == 3 and summary.parse_errors == 0
    assert summary.shipped == {"search": 2} and summary.failed == {"search": 1}
    assert summary.parked == 1 and summary.records == summary.shipped["search"] + summary.parked
    sink_name, failure, source = parker.parked[0]
    assert (sink_name, source) == ("search", "s3://raw/web/r.log")
    assert f"400 {error}: failed to parse field [refuse]" in failure.reason
    assert failure.event.message == lines[1].decode() and "message" not in failure.event.document
    assert sleeps == [], "a refusal is not retried"


def test_an_unmeasured_event_the_serializer_refuses_is_parked_not_raised(
    engine: tuple[FakeEngine, str],  # noqa: F811
    kind: str,  # noqa: F811
) -> None:
    """Events that bypass the pipeline (a replay of old parked rows): parked, never raised."""
    fake, url = engine
    search = SearchSink(make_client(url, kind), sleep=Sleeps())
    bad = {"message": "x \ud83d", "n": HUGE, "event": {"dataset": "apache.access"}}
    search.add(Event("id-1", 1790000000000, bad, "x \ud83d"))
    search.add(Event("id-2", 1790000000000, {"message": "fine"}, "fine"))
    search.flush()
    failures = search.take_failures()
    assert [f.event.id for f in failures] == ["id-1"]
    assert failures[0].reason == (
        "search: serializer refuses message: text with a lone surrogate; n: integer beyond 64 bits"
    )
    orjson.dumps(failures[0].event.document), orjson.dumps(failures[0].event.message)
    assert (search.stats.shipped, search.stats.failed) == (1, 1)
    assert [source["message"] for _, source in fake.bulks[0]] == ["fine"]


def test_nan_ships_as_null_through_both_clients(
    engine: tuple[FakeEngine, str],  # noqa: F811
    kind: str,  # noqa: F811
) -> None:
    fake, url = engine
    search = SearchSink(make_client(url, kind), sleep=Sleeps())
    doc = {"message": "m", "f": float("nan"), "g": float("inf")}
    search.add(Event("id-1", 1790000000000, doc, "m"))
    search.flush()
    assert fake.bulks[0][0][1] == {"message": "m", "f": None, "g": None}


# -- logferry parse ------------------------------------------------------------------------------
def test_parse_prints_the_poison_line_as_an_error_document_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(GOOD + b"\n" + POISON + b"\n" + GOOD + b"\n")
    out = subprocess.run(
        [sys.executable, "-m", "logferry.cli", "parse", "--format", "apache", "-v", str(path)],
        capture_output=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0 and b"Traceback" not in out.stderr, out.stderr
    docs = [json.loads(line) for line in out.stdout.splitlines()]
    assert [d["message"] for d in docs] == [GOOD.decode(), POISON.decode(), GOOD.decode()]
    assert "error" in docs[1] and "error" not in docs[0] and "error" not in docs[2]
    assert b"line 2: not shipped as parsed" in out.stderr
    assert b"3 records, 3 documents, 1 did not parse" in out.stderr
