"""Search sink against a tiny in-test HTTP engine (both clients), sleep stubbed."""

from __future__ import annotations

import json
import random
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import opensearchpy
import pytest
from moto import mock_aws

from logferry.deadline import Deadline
from logferry.model import Event
from logferry.sinks.retry import backoff_delay
from logferry.sinks.search import (
    ApiKeyAuth,
    BasicAuth,
    SearchSink,
    SigV4Auth,
    index_template,
    load_search_auth,
    make_client,
    template_variants,
)

Actions = list[tuple[dict[str, Any], dict[str, Any]]]
Responder = Callable[[Actions], tuple[int, dict[str, Any]]]
DAY_MS = 86_400_000
T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def items(*statuses: int) -> Responder:
    """A bulk answer with one item per action, with these statuses (cycled)."""

    def respond(actions: Actions) -> tuple[int, dict[str, Any]]:
        out = []
        for n, (head, _) in enumerate(actions):
            status = statuses[n % len(statuses)]
            item: dict[str, Any] = {"_index": head["index"]["_index"], "_id": head["index"]["_id"]}
            item["status"] = status
            if status >= 300:
                kind = "mapper_parsing_exception" if status == 400 else "es_rejected_execution"
                item["error"] = {"type": kind, "reason": f"rejected {status}"}
            out.append({"index": item})
        return 200, {"took": 1, "errors": any(s >= 300 for s in statuses), "items": out}

    return respond


def whole(status: int) -> Responder:
    """The whole request refused with ``status``."""
    return lambda _actions: (status, {"error": {"type": "x", "reason": f"whole {status}"}})


class FakeEngine:
    """Records bulk bodies and index-template calls; answers bulks from a script."""

    def __init__(self) -> None:
        self.bulks: list[Actions] = []
        self.script: list[Responder] = []
        self.templates: dict[str, dict[str, Any]] = {}
        self.template_puts = 0
        self.unknown: tuple[str, ...] = ()
        """Words (a field type, a setting) whose template this engine refuses with 400."""

    def bulk(self, body: bytes) -> tuple[int, dict[str, Any]]:
        lines = [json.loads(x) for x in body.splitlines() if x.strip()]
        actions = list(zip(lines[0::2], lines[1::2], strict=True))
        self.bulks.append(actions)
        respond = self.script.pop(0) if self.script else items(201)
        return respond(actions)

    def template(self, method: str, name: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if method == "PUT":
            self.template_puts += 1
            refused = [word for word in self.unknown if f'"{word}"' in body.decode()]
            if refused:
                error = {"type": "mapper_parsing_exception", "reason": f"unknown {refused[0]}"}
                return 400, {"error": error, "status": 400}
            self.templates[name] = json.loads(body)
            return 200, {"acknowledged": True}
        if name not in self.templates:
            return 404, {"error": {"type": "resource_not_found_exception"}, "status": 404}
        found = {"name": name, "index_template": self.templates[name]}
        return 200, {"index_templates": [found]}


def _handler(engine: FakeEngine) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?")[0]
            if path.endswith("/_bulk"):
                self._answer(*engine.bulk(body))
            elif path.startswith("/_index_template/"):
                self._answer(*engine.template(self.command, path.rsplit("/", 1)[1], body))
            else:
                self._answer(200, {"version": {"number": "8.19.3"}, "tagline": "fake"})

        do_GET = do_PUT = do_POST = _route

    return Handler


@pytest.fixture
def engine() -> Iterator[tuple[FakeEngine, str]]:
    fake = FakeEngine()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["elasticsearch", "opensearch"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def event(n: int, dataset: str | None = "aws.alb", ts: int = T0, pad: int = 0) -> Event:
    doc: dict[str, Any] = {"@timestamp": "x", "message": f"line {n}" + "x" * pad}
    if dataset is not None:
        doc["event"] = {"dataset": dataset}
    return Event(f"id-{n}", ts, doc, doc["message"])


def sink(url: str, kind: str, sleeps: Sleeps | None = None, **kw: Any) -> SearchSink:
    client = make_client(url, kind, timeout=5)
    return SearchSink(
        client, sleep=Sleeps() if sleeps is None else sleeps, rng=random.Random(7), **kw
    )


# -- naming and ids ----------------------------------------------------------------------
def test_index_name_from_prefix_dataset_and_utc_day() -> None:
    s = sink("http://127.0.0.1:9", "opensearch", prefix="logs")
    assert s.index_for(event(1)) == "logs-aws.alb-2023.11.14"
    assert s.index_for(event(1, ts=T0 + DAY_MS)) == "logs-aws.alb-2023.11.15"
    assert s.index_for(event(1, dataset=None)) == "logs-unknown-2023.11.14"
    assert s.index_for(event(1, dataset="Apache Access/X*")) == "logs-apache-access-x-2023.11.14"


def test_index_pattern_is_configurable() -> None:
    s = sink("http://127.0.0.1:9", "opensearch", index_pattern="{prefix}-{date:%Y.%m}-{dataset}")
    assert s.index_for(event(1)) == "logferry-2023.11-aws.alb"


def test_invalid_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="index prefix 'Logs'"):
        sink("http://127.0.0.1:9", "opensearch", prefix="Logs")


def test_id_and_op_type_pass_through(engine: tuple[FakeEngine, str], kind: str) -> None:
    fake, url = engine
    s = sink(url, kind)
    s.add(event(1))
    s.add(event(2, dataset="apache.access"))
    s.flush()
    heads = [head for head, _ in fake.bulks[0]]
    assert heads == [
        {"index": {"_index": "logferry-aws.alb-2023.11.14", "_id": "id-1"}},
        {"index": {"_index": "logferry-apache.access-2023.11.14", "_id": "id-2"}},
    ]
    assert fake.bulks[0][1][1] == event(2, dataset="apache.access").document
    assert (s.stats.shipped, s.stats.calls, s.stats.failed) == (2, 1, 0)
    assert s.stats.bytes > 0
    assert s.take_failures() == []


# -- batching ----------------------------------------------------------------------------
def test_batches_by_count(engine: tuple[FakeEngine, str], kind: str) -> None:
    fake, url = engine
    s = sink(url, kind, max_docs=3)
    for n in range(7):
        s.add(event(n))
    assert sum(len(b) for b in fake.bulks) <= 6  # full batches go to senders, the 7th waits
    s.flush()
    assert sorted(len(b) for b in fake.bulks) == [1, 3, 3]  # two requests may overlap
    assert s.stats.shipped == 7


def test_batches_by_bytes(engine: tuple[FakeEngine, str], kind: str) -> None:
    fake, url = engine
    s = sink(url, kind, max_bytes=2_500)
    for n in range(5):
        s.add(event(n, pad=1_000))
    s.flush()
    assert sorted(len(b) for b in fake.bulks) == [1, 2, 2]
    assert all(len(json.dumps(b)) < 2_500 for b in fake.bulks)


# -- retries and failures ----------------------------------------------------------------
def test_429_item_is_retried_then_succeeds(engine: tuple[FakeEngine, str], kind: str) -> None:
    fake, url = engine
    fake.script = [items(201, 429, 201), items(201)]
    sleeps = Sleeps()
    s = sink(url, kind, sleeps, backoff_base=0.5)
    for n in range(3):
        s.add(event(n))
    s.flush()
    assert [[h["index"]["_id"] for h, _ in b] for b in fake.bulks] == [
        ["id-0", "id-1", "id-2"],
        ["id-1"],
    ]
    assert (s.stats.shipped, s.stats.failed, s.stats.retries, s.stats.calls) == (3, 0, 1, 2)
    assert len(sleeps) == 1 and 0.0 <= sleeps[0] <= 0.5
    assert s.take_failures() == []


def test_whole_request_503_is_retried(engine: tuple[FakeEngine, str], kind: str) -> None:
    fake, url = engine
    fake.script = [whole(503), whole(429), items(201)]
    sleeps = Sleeps()
    s = sink(url, kind, sleeps)
    s.add(event(1))
    s.add(event(2))
    s.flush()
    assert [len(b) for b in fake.bulks] == [2, 2, 2]
    assert (s.stats.shipped, s.stats.retries) == (2, 2)
    assert len(sleeps) == 2


def test_mapping_error_becomes_failure_without_retry(
    engine: tuple[FakeEngine, str], kind: str
) -> None:
    fake, url = engine
    fake.script = [items(201, 400)]
    sleeps = Sleeps()
    s = sink(url, kind, sleeps)
    s.add(event(1))
    s.add(event(2))
    s.flush()
    failures = s.take_failures()
    assert [f.event.id for f in failures] == ["id-2"]
    assert "400 mapper_parsing_exception: rejected 400" in failures[0].reason
    assert "logferry-aws.alb-2023.11.14" in failures[0].reason
    assert (s.stats.shipped, s.stats.failed, s.stats.calls) == (1, 1, 1)
    assert s.stats.extra["mapper_parsing_exception"] == 1
    assert sleeps == [] and s.take_failures() == []


def test_retries_run_out_into_failures(engine: tuple[FakeEngine, str], kind: str) -> None:
    fake, url = engine
    fake.script = [items(503)] * 3
    s = sink(url, kind, max_retries=2)
    s.add(event(1))
    s.flush()
    assert len(fake.bulks) == 3
    [failure] = s.take_failures()
    assert failure.reason.startswith("search: 503 es_rejected_execution")


def test_413_splits_the_batch_in_half(engine: tuple[FakeEngine, str], kind: str) -> None:
    fake, url = engine
    fake.script = [whole(413), whole(413), items(201), items(201)]
    s = sink(url, kind)
    for n in range(4):
        s.add(event(n))
    s.flush()
    assert [len(b) for b in fake.bulks] == [4, 2, 1, 1, 2]
    assert (s.stats.shipped, s.stats.failed) == (4, 0)


def test_single_document_413_is_a_failure(engine: tuple[FakeEngine, str], kind: str) -> None:
    fake, url = engine
    fake.script = [whole(413)]
    s = sink(url, kind)
    s.add(event(1))
    s.flush()
    [failure] = s.take_failures()
    assert "413" in failure.reason and len(fake.bulks) == 1


def test_connection_refused_fails_after_retries(kind: str) -> None:
    with socket.socket() as sock:  # a port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = Sleeps()
    s = sink(f"http://127.0.0.1:{port}", kind, sleeps, max_retries=3)
    for n in range(3):
        s.add(event(n))
    s.flush()
    failures = s.take_failures()
    assert [f.event.id for f in failures] == ["id-0", "id-1", "id-2"]
    assert "ConnectionError" in failures[0].reason
    assert (s.stats.calls, s.stats.retries, len(sleeps)) == (4, 3, 3)
    assert s.stats.extra["connection_error"] == 3
    assert s.stats.extra["template_errors"] == 1


def test_backoff_grows_with_full_jitter_and_cap() -> None:
    rng = random.Random(7)
    draws = {n: [backoff_delay(n, 1.0, 4.0, rng) for _ in range(200)] for n in (1, 3, 6)}
    assert max(draws[1]) <= 1.0 and max(draws[3]) <= 4.0 and max(draws[6]) <= 4.0
    assert max(draws[3]) > 1.0 and min(draws[6]) < 1.0


# -- index template ----------------------------------------------------------------------
def test_template_installed_once_with_mappings(engine: tuple[FakeEngine, str], kind: str) -> None:
    fake, url = engine
    s = sink(url, kind, prefix="logs", replicas=1)
    for n in range(2):
        s.add(event(n))
        s.flush()
    assert fake.template_puts == 1
    body = fake.templates["logs"]
    assert body["index_patterns"] == ["logs-*"]
    assert body["template"]["settings"]["number_of_replicas"] == 1
    props = body["template"]["mappings"]["properties"]
    assert props["source"]["properties"]["ip"]["type"] == "ip"
    assert props["@timestamp"]["type"] == "date"
    sink(url, kind, prefix="logs").flush()
    s2 = sink(url, kind, prefix="logs")
    s2.add(event(9))
    s2.flush()
    assert fake.template_puts == 1  # same version already there: not put again


def test_newer_template_version_is_kept(engine: tuple[FakeEngine, str], kind: str) -> None:
    fake, url = engine
    fake.templates["logferry"] = {"version": 99, "index_patterns": ["logferry-*"]}
    s = sink(url, kind)
    s.add(event(1))
    s.flush()
    assert fake.template_puts == 0 and fake.templates["logferry"]["version"] == 99


@pytest.mark.parametrize(
    ("unknown", "message", "mode", "puts"),
    [
        ((), "match_only_text", "logsdb", 1),
        (("match_only_text",), "text", "logsdb", 2),  # Elasticsearch without mapper-extras
        (("mode",), "match_only_text", None, 3),  # OpenSearch 2.12+
        (("match_only_text", "mode"), "text", None, 4),  # OpenSearch before 2.12
    ],
)
def test_template_falls_back_to_what_the_engine_accepts(
    engine: tuple[FakeEngine, str],
    kind: str,
    unknown: tuple[str, ...],
    message: str,
    mode: str | None,
    puts: int,
) -> None:
    fake, url = engine
    fake.unknown = unknown
    s = sink(url, kind, index_mode="logsdb", refresh_interval="2s")
    s.add(event(1))
    s.flush()
    installed = fake.templates["logferry"]["template"]
    assert installed["mappings"]["properties"]["message"]["type"] == message
    assert installed["settings"].get("mode") == mode
    assert installed["settings"]["refresh_interval"] == "2s"
    assert fake.template_puts == puts and s.stats.shipped == 1
    assert "template_errors" not in s.stats.extra


def test_template_refused_in_every_variant_is_retried(engine: tuple[FakeEngine, str]) -> None:
    fake, url = engine
    fake.unknown = ("codec",)  # in every variant
    s = sink(url, "elasticsearch")
    s.add(event(1))
    s.flush()
    assert "logferry" not in fake.templates and s.stats.extra["template_errors"] == 1
    fake.unknown = ()
    s.add(event(2))
    s.flush()
    assert fake.templates["logferry"]["version"] == index_template(["x"])["version"]


def test_template_variants_cheapest_first_without_repeats() -> None:
    standard = template_variants(index_template(["x-*"]))
    assert len(standard) == 2  # no index.mode to drop
    logsdb = template_variants(index_template(["x-*"], index_mode="logsdb"))
    assert [v["template"]["settings"].get("mode") for v in logsdb] == [
        "logsdb",
        "logsdb",
        None,
        None,
    ]
    plain = json.dumps(logsdb[1])
    assert "match_only_text" not in plain and '"match_only_text"' in json.dumps(logsdb[0])
    trail = logsdb[1]["template"]["mappings"]["properties"]["aws"]["properties"]["cloudtrail"]
    assert trail["properties"]["request_parameters"] == {"type": "text", "norms": False}


def test_template_settings_for_cost() -> None:
    settings = index_template(["x-*"])["template"]["settings"]
    assert settings["codec"] == "best_compression"
    assert "refresh_interval" not in settings and "mode" not in settings  # engine defaults
    assert (
        index_template(["x-*"], refresh_interval="30s")["template"]["settings"]["refresh_interval"]
        == "30s"
    )


def test_template_maps_ecs_fields() -> None:
    props = index_template(["x-*"])["template"]["mappings"]["properties"]
    assert props["http"]["properties"]["response"]["properties"]["status_code"]["type"] == "short"
    assert props["log"]["properties"]["offset"]["type"] == "long"
    assert props["url"]["properties"]["original"]["type"] == "keyword"
    assert props["message"] == {"type": "match_only_text"}
    assert props["trace"]["properties"]["id"] == {"type": "keyword", "doc_values": False}
    assert props["aws"]["properties"]["vpcflow"]["properties"]["pkt_srcaddr"]["type"] == "ip"
    elb = props["aws"]["properties"]["elb"]["properties"]
    assert elb["request_processing_time"]["properties"]["sec"]["type"] == "float"


# -- auth and clients --------------------------------------------------------------------
@mock_aws
def test_load_search_auth_reads_secrets_manager() -> None:
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    basic = sm.create_secret(Name="b", SecretString='{"username": "u", "password": "p"}')["ARN"]
    key = sm.create_secret(Name="k", SecretString='{"api_key": "abc"}')["ARN"]
    bad = sm.create_secret(Name="x", SecretString='{"user": "u"}')["ARN"]
    assert load_search_auth(basic, sm) == BasicAuth("u", "p")
    assert load_search_auth(key, sm) == ApiKeyAuth("abc")
    assert "p" not in repr(BasicAuth("u", "p")).replace("username", "")
    with pytest.raises(ValueError, match="expected keys username"):
        load_search_auth(bad, sm)


def test_make_client_auth_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = make_client("https://search.example:443", "opensearch", SigV4Auth("eu-west-1", "aoss"))
    assert isinstance(client, opensearchpy.OpenSearch)
    assert client.transport.kwargs["http_auth"].service == "aoss"
    with pytest.raises(ValueError, match="use engine opensearch"):
        make_client("http://127.0.0.1:9", "elasticsearch", SigV4Auth("eu-west-1"))
    with pytest.raises(ValueError, match="unknown search engine 'solr'"):
        make_client("http://127.0.0.1:9", "solr")


def test_basic_auth_header_reaches_the_engine(kind: str) -> None:
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            data = b'{"cluster_name": "x", "status": "green"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        make_client(url, kind, BasicAuth("u", "p")).cluster.health()
        make_client(url, kind, ApiKeyAuth("abc")).cluster.health()
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["Basic dTpw", "ApiKey abc"]


# -- the invocation's deadline -----------------------------------------------------------------
def test_past_the_deadline_nothing_is_sent_and_the_batch_fails_as_deadline(
    engine: tuple[FakeEngine, str], kind: str
) -> None:
    fake, url = engine
    s = sink(url, kind, install_template=False)
    s.set_deadline(Deadline.after(-1.0))
    s.add(event(1))
    s.add(event(2))
    s.flush()
    assert fake.bulks == [] and s.stats.calls == 0
    failures = s.take_failures()
    assert [f.event.id for f in failures] == ["id-1", "id-2"]
    assert all(f.reason.startswith("deadline") for f in failures)
    assert s.stats.failed == 2
