"""Real local search nodes (Elasticsearch 8 and OpenSearch 2 from Maven Central jars) and the
search sink against each.

Installs into the cache (``$LOGFERRY_CACHE`` or ``~/.cache/logferry``; a first install takes one
to two minutes per engine), starts one node per engine on a free port in a tmp dir, and stops it
by PID.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from logferry.local import search_node
from logferry.model import Event
from logferry.sinks.search import SearchSink, make_client

pytestmark = pytest.mark.e2e
T0 = 1_700_000_000_000


@pytest.fixture(scope="module", params=search_node.ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def node(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    install_dir = search_node.install(engine)
    port = search_node.free_port()
    data = tmp_path_factory.mktemp(f"{engine}-node")
    argv = search_node.command(engine, install_dir, port, data)
    with (data / "node.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            waited = search_node.wait_ready(url, proc, timeout=120)
            rss = psutil.Process(proc.pid).memory_info().rss >> 20
            print(f"{engine} node pid {proc.pid} ready in {waited:.1f} s, RSS {rss} MiB")
            yield url
        finally:
            search_node.stop(proc)
    assert proc.returncode is not None
    assert not psutil.pid_exists(proc.pid) or psutil.Process(proc.pid).status() == "zombie"


def test_command_binds_loopback_and_keeps_data_in_the_given_dir(tmp_path: Path) -> None:
    for engine in search_node.ENGINES:
        argv = search_node.command(engine, tmp_path, 19999, tmp_path / "d")
        assert any(a.startswith(str(tmp_path / "d")) for a in argv) and "19999" in argv
        assert any(a.startswith("-Xmx") for a in argv)


def test_node_indexes_and_searches_a_document(engine: str, node: str) -> None:
    assert search_node.is_ready(node)
    client = make_client(node, engine)
    versions = {n["version"] for n in client.nodes.info()["nodes"].values()}
    assert versions == {search_node.VERSIONS[engine]}
    client.index(index="smoke", id="1", body={"message": "hello ferry"}, refresh=True)
    hits = client.search(index="smoke", body={"query": {"match": {"message": "ferry"}}})
    assert [h["_id"] for h in hits["hits"]["hits"]] == ["1"]
    client.indices.delete(index="smoke")


def events(count: int) -> Iterator[Event]:
    """``count`` ALB-like events, 5 s apart from 2023-11-14T22:13:20Z (two UTC days)."""
    for n in range(count):
        ts = T0 + n * 5_000
        doc = {
            "@timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts / 1000)),
            "message": f"GET /item/{n} 200",
            "event": {"dataset": "aws.alb"},
            "source": {"ip": f"10.0.{n % 256}.{n // 256 % 256}", "port": 40000 + n % 1000},
            "http": {"response": {"status_code": 200 + n % 4}},
            "url": {"original": f"/item/{n}"},
            "log": {"offset": n * 120},
            "aws": {"elb": {"request_processing_time": {"sec": 0.001}}},
        }
        yield Event(f"alb-{n}", ts, doc, str(doc["message"]))


def test_sink_ships_10000_events_and_redelivery_keeps_the_count(engine: str, node: str) -> None:
    client = make_client(node, engine)
    sink = SearchSink(client, prefix="itest")
    started = time.monotonic()
    for ev in events(10_000):
        sink.add(ev)
    sink.flush()
    print(f"{engine}: 10,000 events in {time.monotonic() - started:.1f} s, {sink.stats}")
    assert sink.take_failures() == []
    assert (sink.stats.shipped, sink.stats.failed) == (10_000, 0)
    client.indices.refresh(index="itest-*")
    assert client.count(index="itest-*")["count"] == 10_000
    days = sorted(client.indices.get(index="itest-*"))
    assert days == ["itest-aws.alb-2023.11.14", "itest-aws.alb-2023.11.15"]
    mapping = client.indices.get_mapping(index=days[0])[days[0]]["mappings"]["properties"]
    assert mapping["source"]["properties"]["ip"]["type"] == "ip"

    again = SearchSink(client, prefix="itest")
    for ev in events(10_000):
        again.add(ev)
    again.flush()
    client.indices.refresh(index="itest-*")
    assert again.stats.shipped == 10_000
    assert client.count(index="itest-*")["count"] == 10_000


def test_mapping_error_comes_back_as_a_failure(engine: str, node: str) -> None:
    sink = SearchSink(make_client(node, engine), prefix="itest")
    # a value where the template maps an object: ignore_malformed cannot help
    bad = Event("bad-1", T0, {"event": {"dataset": "aws.alb"}, "log": "flat"}, "x")
    sink.add(bad)
    sink.flush()
    [failure] = sink.take_failures()
    back = failure.event  # rebuilt from the bytes the sink kept (no document dicts queued)
    assert (back.id, back.timestamp_ms, back.document, back.message) == (
        bad.id,
        bad.timestamp_ms,
        bad.document,
        bad.message,
    )
    assert failure.reason.startswith("search: 400 ") and "parsing_exception" in failure.reason
    assert "[log]" in failure.reason


def test_malformed_values_are_left_out_and_the_document_indexed(engine: str, node: str) -> None:
    """An address, port or status a line got wrong must not cost the whole document."""
    client = make_client(node, engine)
    sink = SearchSink(client, prefix="itest")
    doc = {
        "event": {"dataset": "aws.alb"},
        "message": "odd line",
        "source": {"ip": "", "port": 2817},
        "destination": {"ip": "nope", "port": 99_999_999_999},
        "http": {"response": {"status_code": 99_999}},
    }
    sink.add(Event("odd-1", T0, doc, "odd line"))
    sink.flush()
    assert sink.take_failures() == [] and sink.stats.shipped == 1
    client.indices.refresh(index="itest-*")
    hits = client.search(index="itest-*", body={"query": {"ids": {"values": ["odd-1"]}}})
    [hit] = hits["hits"]["hits"]
    assert hit["_source"] == doc  # the source keeps what the line said
    assert {"destination.ip", "destination.port", "http.response.status_code"} <= set(
        hit["_ignored"]
    )
    assert "source.port" not in hit["_ignored"]
