"""What goes wrong in production, on the local chain: redelivery, corrupt objects, bad lines,
and the search engine going away (events parked in the quarantine, then replayed).

Run: .venv/bin/pytest tests/integration/test_chain_failures.py  (starts the stack if needed).
"""

from __future__ import annotations

import gzip
import os
import signal
from datetime import UTC, datetime
from typing import Any

import pytest

from logferry.composition import Wiring
from logferry.demo import SampleObject, alb_object, sample_objects
from logferry.local import search_node, stack
from logferry.local.chain import Chain
from logferry.local.endpoints import load_endpoints, wait_for
from logferry.replay import replay, wiring_builder
from logferry.settings import Settings
from logferry.sinks.s3 import Quarantine

pytestmark = pytest.mark.e2e
TIMEOUT = 120.0


def _uri(chain: Chain, sample: SampleObject) -> str:
    return sample.uri(chain.deployment.raw_bucket)


def _summaries(chain: Chain, function: str, uri: str, expected: int) -> list[dict[str, Any]]:
    return chain.wait_summaries(function, uri, expected, TIMEOUT)


def test_same_object_notified_twice_creates_no_duplicates(chain: Chain, run_id: str) -> None:
    sample = alb_object(chain.deployment, f"{run_id}-twice", 300, datetime.now(UTC))
    query = chain.source_query(chain.put(sample.key, sample.body), sample.dataset)
    chain.wait_count(query, 300, TIMEOUT, what="documents after the first notification")
    chain.put(sample.key, sample.body)  # same bytes, same key: a second ObjectCreated event
    second = _summaries(chain, sample.function, _uri(chain, sample), 2)[-1]
    # the same revision again: its checkpoint stops it (a new version id would re-ship it)
    assert second["checkpoint"] == "already shipped" or second["shipped"]["search"] == 300
    assert chain.count(query) == 300


def test_corrupt_object_is_reported_and_others_are_unaffected(chain: Chain, run_id: str) -> None:
    d = chain.deployment
    good = alb_object(d, f"{run_id}-good", 200, datetime.now(UTC))
    bad = alb_object(d, f"{run_id}-bad", 200, datetime.now(UTC))
    corrupt = bad.body[:20] + bytes(range(256)) * 8  # a gzip header, then garbage
    bad_uri = chain.put(bad.key, corrupt)
    good_uri = chain.put(good.key, good.body)
    chain.wait_count(chain.source_query(good_uri, good.dataset), 200, TIMEOUT, what="good docs")
    summary = _summaries(chain, bad.function, bad_uri, 1)[-1]
    assert summary["error"] and bad.key.rsplit("/", 1)[1] in summary["error"]
    errors = [
        line
        for line in chain.function_log(bad.function)
        if '"level":"ERROR"' in line and bad.key.rsplit("/", 1)[1] in line
    ]
    assert errors, f"no ERROR line naming {bad.key} in /aws/lambda/{bad.function}"
    assert chain.count(chain.source_query(bad_uri, bad.dataset)) == summary["documents"]


def test_unparseable_lines_are_shipped_with_an_error(chain: Chain, run_id: str) -> None:
    d = chain.deployment
    sample = alb_object(d, f"{run_id}-mixed", 200, datetime.now(UTC))
    lines = gzip.decompress(sample.body).decode().splitlines()
    lines[10] = "this is not an ALB line"
    lines[20] = lines[20][:40]
    uri = chain.put(sample.key, gzip.compress(("\n".join(lines) + "\n").encode()))
    query = chain.source_query(uri, sample.dataset)
    chain.wait_count(query, 200, TIMEOUT, what="documents incl. unparseable lines")
    errors = {"bool": {"filter": [query], "must": [{"exists": {"field": "error.message"}}]}}
    assert chain.count(errors) == 2
    hit = chain.hits(errors, 2)
    assert {h["message"] for h in hit} == {lines[10], lines[20]}
    assert all(uri in h["error"]["message"] for h in hit)


def _kill_search(chain: Chain) -> None:
    """Kill the search node by the PID in endpoints.json (as a crash would)."""
    os.kill(load_endpoints().pids["search"], signal.SIGKILL)
    wait_for(lambda: not search_node.is_ready(chain.search_url), timeout=30, what="search down")


def _restart_search(chain: Chain) -> None:
    """`up` again: the healthy components are kept, the same engine is started anew."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LOGFERRY_SEARCH", chain.deployment.search_engine)
        stack.up(progress=lambda line: print(f"[stack] {line}"))
    wait_for(lambda: search_node.is_ready(chain.search_url), timeout=120, what="search back up")


def test_search_down_parks_events_then_replay_ships_them(chain: Chain, run_id: str) -> None:
    d = chain.deployment
    now = datetime.now(UTC)

    def apache(run: str) -> SampleObject:
        return next(s for s in sample_objects(d, run, now, 400) if s.name == "apache")

    warm, sample = apache(f"{run_id}w"), apache(f"{run_id}q")
    # A first object warms the function up while search still runs (as in production).
    warm_uri = chain.put(warm.key, warm.body)
    chain.wait_count(chain.source_query(warm_uri, warm.dataset), 400, TIMEOUT, what="warm-up")
    _kill_search(chain)
    try:
        uri = chain.put(sample.key, sample.body)
        summary = _summaries(chain, sample.function, uri, 1)[-1]
    finally:
        _restart_search(chain)
    assert summary["failed"]["search"] >= sample.lines
    assert summary["parked"] >= sample.lines
    quarantine = Quarantine(chain.s3, d.quarantine_bucket, d.quarantine_prefix)
    parked = {
        key: events
        for key, events in quarantine.iter_parked()
        if events and all(p.source == uri for p in events)
    }
    events = [p for found in parked.values() for p in found]
    assert len(events) == summary["parked"]
    assert all(p.reason for p in events)
    env = {"SEARCH_URL": d.search_url, "SEARCH_ENGINE": d.search_engine}
    settings = Settings.from_env("apache", {**env, "INDEX_PREFIX": d.index_prefix})
    build = wiring_builder(Wiring(settings, {"s3": chain.s3, "logs": chain.logs}.__getitem__))
    shipped = 0
    for sink in ("search", "status_counts"):  # the documents, and their per-minute counts
        replayed = replay(quarantine, build, prefix=f"{d.quarantine_prefix}/{sink}")
        assert replayed.failed == 0, replayed.line()
        shipped += replayed.shipped
    assert shipped >= len(events)
    assert not any(key in parked for key, _ in quarantine.iter_parked())
    chain.wait_count(chain.source_query(uri, sample.dataset), sample.lines, TIMEOUT, what="replay")
    counts = chain.hits(chain.source_query(uri, f"{sample.dataset}.status_counts"), 1000)
    assert sum(doc["status_counts"]["count"] for doc in counts) == sample.lines
