"""A slow or black-holed back end on the local chain (issue #16): every invocation ends before
its timeout, parks what it could not ship and hands the rest of its object on.

A copy of ``alb_to_cloudwatch`` ships to CloudWatch Logs and search with a 30 s timeout and
the default reserve (20 s: reading stops after 10 s, sink calls end by 20 s, parks by 26 s),
one back end behind a :class:`FaultProxy` rule: search's ``_bulk`` black-holed (read, never
answered) or every ``PutLogEvents`` held 2 s. Each test checks records in = shipped + parked
for each sink, replays the quarantine, then checks every line is in each back end once, and
prints one ``FAULT`` line for the faulty run (``in`` counts each line once per sink).

Run: LOGFERRY_STATE_DIR=/tmp/state-<you> \
     .venv/bin/pytest tests/integration/test_chain_deadline.py -s
"""

from __future__ import annotations

import gzip
import itertools
import time
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import pytest
from test_chain_faults import _index_stats, _invoke, _s3_event, _variant
from test_chain_replay import (
    PUT_LOG_EVENTS,
    Parked,
    _check_shipped_once,
    _cwl_duplicates,
    _finish,
    _quarantined,
    _replay_command,
    _result,
)

from logferry.demo import alb_object
from logferry.local.chain import Chain
from logferry.local.endpoints import wait_for
from logferry.local.faultproxy import FaultProxy, Rule

pytestmark = pytest.mark.e2e
FUNCTION_TIMEOUT = 30
SINKS = ("cloudwatch", "search")


def _alb(chain: Chain, token: str, lines: int) -> tuple[list[str], str, str]:
    """An ALB object of ``lines`` lines under ``faults/``: (its lines, its URI, its key)."""
    sample = alb_object(chain.deployment, token, lines, datetime.now(UTC))
    key = sample.key.replace("alb/", "faults/", 1)
    return gzip.decompress(sample.body).decode().splitlines(), chain.put(key, sample.body), key


def _env(token: str, search_url: str, **more: str) -> dict[str, str | None]:
    return {
        "SINKS": ",".join(SINKS),
        "LOG_GROUP": f"/logferry/{token}",
        "SEARCH_URL": search_url,
        "INDEX_PREFIX": token,
        "QUARANTINE_PREFIX": token,
        **more,
    }


def _chained(chain: Chain, function: str, uri: str) -> list[dict[str, Any]]:
    """The summaries of every invocation of ``uri`` (first to last), once the last is in."""

    def done() -> list[dict[str, Any]] | None:
        found = [s for s in chain.summaries(function) if s["object"] == uri]
        return found if any(s["next_offset"] is None for s in found) else None

    found = sorted(wait_for(done, timeout=600, interval=2.0), key=itemgetter("start_offset"))
    assert found[0]["start_offset"] == 0
    for before, after in itertools.pairwise(found):
        assert before["next_offset"] == after["start_offset"], "hand-offs chain exactly"
    return found


def _accounted(chain: Chain, function: str, summaries: list[dict[str, Any]], n: int) -> int:
    """Check no invocation was killed and in = shipped + parked for each sink; the total
    shipped over both sinks."""
    log = chain.function_log(function)
    assert not [line for line in log if "Task timed out" in line], "no invocation was killed"
    assert all(s["seconds"] < FUNCTION_TIMEOUT for s in summaries)
    assert sum(s["records"] for s in summaries) == n
    for sink in SINKS:
        assert sum(s["shipped"][sink] + s["failed"][sink] for s in summaries) == n, sink
    assert sum(s["parked"] for s in summaries) == sum(sum(s["failed"].values()) for s in summaries)
    return sum(sum(s["shipped"].values()) for s in summaries)


def _replayed(chain: Chain, parked: Parked, name: str, t0: float) -> None:
    status, out = _finish(_replay_command(chain, parked))
    print(f"\nreplay (exit {status}): {out.strip().splitlines()[-1] if out.strip() else ''}")
    assert status == 0, out
    _check_shipped_once(chain, parked, f"{name}_replayed", t0)


# -- a black-holed search: bulk requests are read and never answered ---------------------------
def test_black_holed_search_parks_before_the_timeout_and_replays_once(
    chain: Chain, names: str
) -> None:
    t0 = time.monotonic()
    lines = 8000  # more than one 5,000-document bulk: the first invocation hands on
    source, uri, key = _alb(chain, names, lines)
    hole = Rule(black_hole=True, methods=("POST", "PUT"), path=r"/_bulk\b")
    with FaultProxy(chain.search_url, [hole]) as proxy:
        env = _env(names, proxy.url)
        function = _variant(chain, "alb_to_cloudwatch", names, env, timeout=FUNCTION_TIMEOUT)
        _invoke(chain, function, _s3_event(chain, key))
        summaries = _chained(chain, function, uri)
    shipped = _accounted(chain, function, summaries, lines)
    parked_now, _ = _quarantined(chain, names)
    _, dup_cwl = _cwl_duplicates(chain, f"/logferry/{names}", source)
    _result("black_holed_search", 2 * lines, shipped, parked_now, (0, dup_cwl), t0)
    print(f"{len(summaries)} invocations, {hole.injected} bulks black-holed: {summaries}")
    assert hole.injected >= 2 and len(summaries) >= 2
    assert sum(s["shipped"]["search"] for s in summaries) == 0, "search answered nothing"
    assert parked_now == sum(s["parked"] for s in summaries), "every failure in the quarantine"
    assert dup_cwl == 0
    parked = Parked(source, uri, names, f"/logferry/{names}", names, summaries[-1])
    _replayed(chain, parked, "black_holed_search", t0)


# -- a slow CloudWatch Logs: every PutLogEvents held 2 s ----------------------------------------
def test_slow_cloudwatch_hands_on_and_parks_in_time_then_replays_once(
    chain: Chain, names: str
) -> None:
    t0 = time.monotonic()
    lines = 20_000  # ~13 MB: 13+ batches of 2 s each, more than one invocation can send
    source, uri, key = _alb(chain, names, lines)
    slow = Rule(delay=2.0, headers=PUT_LOG_EVENTS)
    with FaultProxy(chain.endpoints.aws, [slow]) as proxy:
        env = _env(names, chain.search_url, AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=proxy.url)
        function = _variant(chain, "alb_to_cloudwatch", names, env, timeout=FUNCTION_TIMEOUT)
        _invoke(chain, function, _s3_event(chain, key))
        summaries = _chained(chain, function, uri)
    shipped = _accounted(chain, function, summaries, lines)
    parked_now, _ = _quarantined(chain, names)
    docs, writes = _index_stats(chain, f"{names}-*")
    _, dup_cwl = _cwl_duplicates(chain, f"/logferry/{names}", source)
    _result("slow_cloudwatch", 2 * lines, shipped, parked_now, (writes - docs, dup_cwl), t0)
    print(f"{len(summaries)} invocations, {slow.injected} PutLogEvents held: {summaries}")
    assert slow.injected >= 2 and len(summaries) >= 2, "the object needed continuations"
    assert docs == writes == lines, "search: every line once"
    assert parked_now == sum(s["parked"] for s in summaries)
    assert dup_cwl == 0, f"{dup_cwl} CloudWatch Logs events stored twice"
    parked = Parked(source, uri, names, f"/logferry/{names}", names, summaries[-1])
    _replayed(chain, parked, "slow_cloudwatch", t0)
