"""The search sink's bulk path: the NDJSON body, requests in flight, the deadline, and a
cached sink across objects. Real local HTTP/TCP servers, no mocked client."""

from __future__ import annotations

import gzip
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import orjson
import pytest
from elasticsearch import helpers as es_helpers
from moto import mock_aws
from opensearchpy import helpers as os_helpers

from logferry.deadline import Deadline
from logferry.formats.base import LineFormat, base_document
from logferry.model import Document, Event, ObjectRef, ParseContext, Record
from logferry.pipeline import ObjectJob, process_object
from logferry.sinks import SinkBase
from logferry.sinks.bulk import ActionLines, bulk_body
from logferry.sinks.search import SearchSink, make_client
from logferry.sources.events import ObjectNotice

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
INDEX = "logferry-aws.alb-2023.11.14"
ALB = {"dataset": "aws.alb"}
Answer = Callable[[list[str]], list[int]]
"""Item statuses for a bulk request, from the ids it carries."""


class Engine:
    """A bulk endpoint: records raw bodies, answers items by ``answer``, counts requests
    in progress at once; ``gate`` (if set) is a barrier full batches wait at."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.answer: Answer = lambda ids: [201] * len(ids)
        self.gate: threading.Barrier | None = None
        self.gate_size = 0
        """Only requests of this many items wait at the gate (not the retries)."""
        self.busy = 0
        self.most_busy = 0
        self.lock = threading.Lock()

    def bulk(self, body: bytes) -> dict[str, Any]:
        with self.lock:
            self.bodies.append(body)
            self.busy += 1
            self.most_busy = max(self.most_busy, self.busy)
        try:
            heads = [json.loads(x) for x in body.splitlines()[0::2]]
            ids = [h["index"]["_id"] for h in heads]
            if self.gate is not None and len(ids) == self.gate_size:
                self.gate.wait()
            statuses = self.answer(ids)
            items = [{"index": {"status": s} | _error(s)} for s in statuses]
            return {"errors": any(s >= 300 for s in statuses), "items": items}
        finally:
            with self.lock:
                self.busy -= 1

    def ids(self) -> list[str]:
        return [json.loads(x)["index"]["_id"] for b in self.bodies for x in b.splitlines()[0::2]]


def _error(status: int) -> dict[str, Any]:
    if status < 300:
        return {}
    return {"error": {"type": f"kind_{status}", "reason": f"refused {status}"}}


@pytest.fixture
def engine() -> Iterator[tuple[Engine, str]]:
    fake = Engine()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _route(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            payload = fake.bulk(body) if self.path.split("?")[0].endswith("/_bulk") else {}
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = _route

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["elasticsearch", "opensearch"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def event(n: int, **extra: Any) -> Event:
    doc: dict[str, Any] = {"@timestamp": "x", "message": f"line {n}", "event": ALB, **extra}
    return Event(f"id-{n}", T0, doc, doc["message"], 0, orjson.dumps(doc))


def sink(url: str, kind: str, **kw: Any) -> SearchSink:
    kw.setdefault("sleep", lambda _s: None)
    client = make_client(url, kind, timeout=5)
    return SearchSink(client, install_template=False, rng=random.Random(7), **kw)


# -- the body --------------------------------------------------------------------------------
ODD_DOCS: list[dict[str, Any]] = [
    {"message": "plain", "event": ALB},
    {"message": 'é ü 東京 \U0001f600 \u2028 tab\t quote" back\\', "n": 1.5, "event": ALB},
    {
        "message": "x",
        "big": 2**64 - 1,
        "neg": -(2**63),
        "z": None,
        "l": [1, {"b": 1}],
        "event": ALB,
    },
]
ODD_IDS = ["id-1", 'quo"te\\back', "ünïcode-\U0001f600"]


def _reference_body(url: str, kind: str, engine: Engine) -> bytes:
    """What the official ``streaming_bulk`` helper sends for ODD_DOCS (the old path)."""
    client = make_client(url, kind, timeout=5)
    actions = [
        {"_op_type": "index", "_index": INDEX, "_id": i, "_source": d}
        for i, d in zip(ODD_IDS, ODD_DOCS, strict=True)
    ]
    helper = es_helpers if kind == "elasticsearch" else os_helpers
    list(helper.streaming_bulk(client, actions, chunk_size=10, max_retries=0))  # type: ignore[attr-defined]
    return engine.bodies.pop()


def test_body_is_byte_exact_with_the_official_helper(engine: tuple[Engine, str], kind: str) -> None:
    fake, url = engine
    reference = _reference_body(url, kind, fake)
    lines = ActionLines()
    events = [
        Event(i, T0, d, "m", 0, orjson.dumps(d)) for i, d in zip(ODD_IDS, ODD_DOCS, strict=True)
    ]
    built = bulk_body([lines.item(e, INDEX, e.document_json or b"") for e in events])
    assert built == reference
    s = sink(url, kind)
    for e in events:
        s.add(e)
    s.flush()
    assert fake.bodies == [reference]
    assert s.stats.bytes == len(reference) and s.stats.shipped == 3


def test_the_pipelines_json_is_sent_not_serialized_again(
    engine: tuple[Engine, str], kind: str
) -> None:
    fake, url = engine
    doc = {"message": "m", "event": {"dataset": "aws.alb"}}
    s = sink(url, kind)
    s.add(Event("a", T0, doc, "m", 0, b'{"already":"serialized"}'))
    s.add(Event("b", T0, doc, "m"))  # bypassed the pipeline: the sink serializes it
    s.flush()
    assert fake.bodies[0].splitlines()[1::2] == [b'{"already":"serialized"}', orjson.dumps(doc)]


def test_poison_document_is_parked_not_sent(engine: tuple[Engine, str], kind: str) -> None:
    fake, url = engine
    s = sink(url, kind)
    s.add(Event("p", T0, {"message": "m", "n": 2**70, "s": "\ud83d"}, "m\ud83d"))
    s.add(event(1))
    s.flush()
    [failure] = s.take_failures()
    assert failure.event.id == "p" and "serializer refuses" in failure.reason
    assert "integer beyond 64 bits" in failure.reason and failure.event.message == "m\ufffd"
    assert fake.ids() == ["id-1"]
    assert (s.stats.shipped, s.stats.failed, s.stats.extra["unserializable"]) == (1, 1, 1)


# -- requests in flight -------------------------------------------------------------------
def _mixed(seen: dict[str, int], lock: threading.Lock) -> Answer:
    """ids divisible by 7 are refused 400; by 5, answered 429 the first time."""

    def answer(ids: list[str]) -> list[int]:
        out = []
        for i in ids:
            n = int(i.split("-")[1])
            with lock:
                seen[i] = seen.get(i, 0) + 1
                first = seen[i] == 1
            out.append(400 if n % 7 == 0 else 429 if n % 5 == 0 and first else 201)
        return out

    return answer


@pytest.mark.parametrize("in_flight", [1, 2, 3])
def test_failures_and_stats_exact_with_requests_in_flight(
    engine: tuple[Engine, str], kind: str, in_flight: int
) -> None:
    fake, url = engine
    seen: dict[str, int] = {}
    fake.answer = _mixed(seen, threading.Lock())
    if in_flight > 1:  # every request waits until `in_flight` are in progress at once
        fake.gate, fake.gate_size = threading.Barrier(in_flight, timeout=10), 10
    s = sink(url, kind, max_docs=10, in_flight=in_flight)
    total = 10 * in_flight * 4  # whole rounds, so the barrier always fills
    for n in range(1, total + 1):
        s.add(event(n))
    s.flush()
    refused = [n for n in range(1, total + 1) if n % 7 == 0]
    retried = [n for n in range(1, total + 1) if n % 5 == 0 and n % 7 != 0]
    failures = s.take_failures()
    assert sorted(int(f.event.id.split("-")[1]) for f in failures) == refused
    assert all("400 kind_400: refused 400" in f.reason for f in failures)
    back, sent = failures[0].event, event(int(failures[0].event.id.split("-")[1]))
    assert (back.id, back.timestamp_ms, back.document, back.message) == (
        sent.id,
        sent.timestamp_ms,
        sent.document,
        sent.message,
    )  # the event is rebuilt whole from the bytes the sink kept
    assert s.stats.shipped == total - len(refused)
    assert s.stats.failed == len(refused)
    batches = total // 10
    assert s.stats.calls == batches * 2 and s.stats.retries == batches  # one 429 per batch
    assert sorted(seen) == sorted(f"id-{n}" for n in range(1, total + 1))
    assert all(seen[f"id-{n}"] == 2 for n in retried)
    assert fake.most_busy == in_flight
    assert s.stats.extra["kind_400"] == len(refused)


# -- the deadline --------------------------------------------------------------------------
@pytest.fixture
def black_hole() -> Iterator[str]:
    """A TCP server that accepts every connection and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("template", [False, True])
def test_black_holed_endpoint_does_not_hold_the_sink_past_the_deadline(
    black_hole: str, kind: str, template: bool
) -> None:
    client = make_client(black_hole, kind, timeout=60)
    s = SearchSink(client, install_template=template, max_docs=5, request_timeout=60)
    s.set_deadline(Deadline.after(1.0))
    started = time.monotonic()
    for n in range(12):
        s.add(event(n))
    s.flush()
    held = time.monotonic() - started
    failures = s.take_failures()
    assert sorted(f.event.id for f in failures) == sorted(f"id-{n}" for n in range(12))
    assert all(f.reason.startswith("deadline") for f in failures), failures[0].reason
    assert held < 10, f"held {held:.1f} s past a 1 s deadline"  # 60 s without the deadline
    assert (s.stats.shipped, s.stats.failed, s.stats.extra["deadline"]) == (0, 12, 12)


def test_nothing_is_sent_once_the_deadline_has_passed(
    engine: tuple[Engine, str], kind: str
) -> None:
    fake, url = engine
    s = sink(url, kind, max_docs=2)
    s.set_deadline(Deadline(time.monotonic() - 1))
    for n in range(5):
        s.add(event(n))
    s.flush()
    failures = s.take_failures()
    assert [f.event.id for f in failures] == [f"id-{n}" for n in range(5)]
    assert all(f.reason.startswith("deadline: passed before the batch was sent") for f in failures)
    assert fake.bodies == [] and s.stats.calls == 0


def test_backoff_never_sleeps_past_the_deadline(engine: tuple[Engine, str], kind: str) -> None:
    fake, url = engine
    fake.answer = lambda ids: [503] * len(ids)
    sleeps: list[float] = []
    s = sink(url, kind, sleep=sleeps.append, backoff_base=100.0, backoff_cap=100.0)
    s.set_deadline(Deadline.after(30.0))
    s.add(event(1))
    s.flush()
    [failure] = s.take_failures()
    assert failure.reason.startswith("deadline: no time left to retry; last answer 503 kind_503")
    assert sleeps == [] and len(fake.bodies) == 1 and s.stats.retries == 0


# -- a cached sink across objects ------------------------------------------------------------
class _Lines(LineFormat):
    name = "lines"
    dataset = "aws.alb"

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        doc = base_document(record, ctx, self.dataset)
        doc["@timestamp"] = "2023-11-14T22:13:20.000Z"
        return [doc]


class _FlushRaises(SinkBase):
    """A sink listed before search whose flush fails (a bug, a broken client)."""

    name = "broken"

    def add(self, event: Event) -> None:
        return None

    def flush(self) -> None:
        raise RuntimeError("flush failed")

    def take_failures(self) -> list[Any]:
        return []


def test_an_exception_mid_object_leaves_nothing_pending_for_the_next(
    engine: tuple[Engine, str], kind: str
) -> None:
    fake, url = engine
    search = sink(url, kind, max_docs=1000)  # one sink for both objects, as runtime caches it
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="raw")
        for name in ("a", "b"):
            body = "".join(f"{name} line {n}\n" for n in range(30)).encode()
            s3.put_object(Bucket="raw", Key=f"{name}.log.gz", Body=gzip.compress(body))
        first_object = ObjectNotice(ObjectRef("raw", "a.log.gz"))
        job = ObjectJob(s3, first_object, _Lines(), [_FlushRaises(), search])
        with pytest.raises(RuntimeError, match="flush failed"):
            process_object(job)
        first = set(fake.ids())
        assert len(first) == 30 and search.stats.shipped == 30
        job = ObjectJob(s3, ObjectNotice(ObjectRef("raw", "b.log.gz")), _Lines(), [search])
        summary = process_object(job)
    assert summary.shipped == {"search": 30}
    second = set(fake.ids()) - first
    assert len(second) == 30 and len(fake.ids()) == 60
