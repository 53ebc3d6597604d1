"""Quarantine and replay faults on the local chain (issue #16): an unwritable quarantine, replay
run twice, two replays at once, and a replay killed mid-way then rerun.

Events are parked by a copy of ``alb_to_cloudwatch`` shipping to CloudWatch Logs (through a
:class:`FaultProxy` that rejects every ``PutLogEvents``) and to search (a closed port), with a
quarantine prefix of its own; ``logferry replay`` then runs as a subprocess, as a user runs it.
Each test prints one ``FAULT`` line and checks records in == shipped + parked, no duplicate in
search, and counts CloudWatch duplicates (asserted 0).

Run: LOGFERRY_STATE_DIR=/tmp/stack-<you> .venv/bin/pytest tests/integration/test_chain_replay.py
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from test_chain_faults import _index_stats, _long_reads, _s3_event, _variant

from logferry.demo import alb_object
from logferry.local.chain import Chain
from logferry.local.endpoints import boto3_client, wait_for
from logferry.local.faultproxy import FaultProxy, Rule
from logferry.pipeline import rows_in
from logferry.sinks.s3 import Quarantine

pytestmark = pytest.mark.e2e
TIMEOUT = 180.0
REJECTED = b'{"__type":"InvalidParameterException","message":"injected: rejected"}'
DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>injected: Access Denied</Message></Error>"
)
PUT_LOG_EVENTS = {"X-Amz-Target": r"\.PutLogEvents$"}


@dataclass
class Parked:
    """What a test parked: the source lines, where, and the names it ships them under."""

    lines: list[str]
    uri: str
    prefix: str
    group: str
    index_prefix: str
    summary: dict[str, Any]


def _closed_port_url() -> str:
    """An http:// URL nothing listens on (connection refused, as a dead node)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _invoke_sync(chain: Chain, function: str, event: dict[str, Any]) -> tuple[bool, Any]:
    """(errored, payload) of a synchronous invocation."""
    lam = boto3_client("lambda", chain.endpoints, config=_long_reads())
    answer = lam.invoke(FunctionName=function, Payload=json.dumps(event).encode())
    return "FunctionError" in answer, json.loads(answer["Payload"].read() or b"null")


def _cwl_duplicates(chain: Chain, group: str, lines: list[str]) -> tuple[int, int]:
    """(distinct source lines in the group, events beyond one per line)."""
    with contextlib.suppress(chain.logs.exceptions.ResourceNotFoundException):
        got = Counter(e["message"] for e in chain.log_events(group))
        want = Counter(lines)
        assert set(got) <= set(want), "only source lines in the group"
        return len(got), sum(max(0, n - want[m]) for m, n in got.items())
    return 0, 0


def _quarantined(chain: Chain, prefix: str) -> tuple[int, list[str]]:
    """(events parked under ``prefix``, marker keys left there)."""
    d = chain.deployment
    q = Quarantine(chain.s3, d.quarantine_bucket, prefix)
    events = sum(len(evs) for _, evs in q.iter_parked())
    listed = chain.s3.list_objects_v2(Bucket=d.quarantine_bucket, Prefix=f"{prefix}/_replay/")
    return events, [o["Key"] for o in listed.get("Contents", [])]


def _result(name: str, n: int, shipped: int, parked: int, dup: tuple[int, int], t0: float) -> None:
    print(
        f"\nFAULT {name}: in={n} shipped={shipped} parked={parked} dup_search={dup[0]} "
        f"dup_cwl={dup[1]} seconds={time.monotonic() - t0:.1f}"
    )


def _park(
    chain: Chain, token: str, lines: int, s3_url: str | None = None
) -> tuple[list[str], bool, Any]:
    """Ship an ALB object of ``lines`` lines with both back ends refusing; (its lines,
    whether the invocation errored, its payload).

    ``s3_url`` points the function's S3 client elsewhere (a proxy refusing the quarantine).
    """
    sample = alb_object(chain.deployment, token, lines, datetime.now(UTC))
    source = gzip.decompress(sample.body).decode().splitlines()
    key = sample.key.replace("alb/", "faults/", 1)
    chain.put(key, sample.body)
    with FaultProxy(chain.endpoints.aws, [Rule(400, REJECTED, headers=PUT_LOG_EVENTS)]) as cwl:
        env = {
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": cwl.url,
            "AWS_ENDPOINT_URL_S3": s3_url,
            "SINKS": "cloudwatch,search",
            "LOG_GROUP": f"/logferry/{token}",
            "SEARCH_URL": _closed_port_url(),
            "INDEX_PREFIX": token,
            "QUARANTINE_PREFIX": token,
        }
        function = _variant(chain, "alb_to_cloudwatch", token, env)
        return (source, *_invoke_sync(chain, function, _s3_event(chain, key)))


def _parked(chain: Chain, token: str, lines: int) -> Parked:
    source, errored, payload = _park(chain, token, lines)
    assert not errored, payload
    summary = payload["objects"][0]
    assert summary["parked"] == 2 * lines, summary  # every line, for each of the two sinks
    return Parked(source, summary["object"], token, f"/logferry/{token}", token, summary)


def _replay_command(chain: Chain, parked: Parked, batch: int = 1000) -> subprocess.Popen[str]:
    d = chain.deployment
    argv = [
        *(sys.executable, "-m", "logferry.cli", "replay"),
        *("--bucket", d.quarantine_bucket, "--prefix", parked.prefix),
        *("--sinks", "cloudwatch,search", "--log-group", parked.group),
        *("--search-url", chain.search_url, "--batch", str(batch)),
    ]
    env = {
        **os.environ,
        **chain.endpoints.env(),
        "INDEX_PREFIX": parked.index_prefix,
        "SEARCH_ENGINE": d.search_engine,
        "LOG_FORMAT": "loadbalancer",
    }
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=TIMEOUT)
    return process.returncode, out + err


def _check_shipped_once(chain: Chain, parked: Parked, name: str, t0: float) -> None:
    """Every line once in search and in CloudWatch Logs, nothing left parked; the result line."""
    n = len(parked.lines)
    docs, _ = _index_stats(chain, f"{parked.index_prefix}-*")
    cwl_lines, dup_cwl = _cwl_duplicates(chain, parked.group, parked.lines)
    left, markers = _quarantined(chain, parked.prefix)
    _result(name, n, min(docs, cwl_lines), left, (max(0, docs - n), dup_cwl), t0)
    assert docs == n, "every line indexed once (deterministic ids)"
    assert cwl_lines == n and left == 0 and markers == []
    assert dup_cwl == 0, f"{dup_cwl} CloudWatch Logs events sent twice"


# -- an unwritable quarantine: the failures travel in the invocation's error ---------------
def test_unwritable_quarantine_raises_with_every_failure(chain: Chain, names: str) -> None:
    t0 = time.monotonic()
    lines = 200
    bucket = chain.deployment.quarantine_bucket
    denied = Rule(
        403, DENIED, methods=("PUT", "POST"), path=rf"^/{bucket}/", content_type="application/xml"
    )
    with FaultProxy(chain.endpoints.aws, [denied]) as s3_proxy:
        source, errored, payload = _park(chain, names, lines, s3_url=s3_proxy.url)
    assert errored, payload
    head = payload["errorMessage"].splitlines()[0]
    parked = rows_in(payload["errorMessage"])
    print(f"\nunwritable quarantine: {denied.injected} PUTs refused; {head[:300]}")
    assert payload["errorType"] == "ParkError"
    assert denied.injected >= 2 * 3, "each sink's park was tried three times"
    assert "AccessDenied" in head and f"{2 * lines} events" in head
    by_sink = Counter(row["sink"] for row in parked)
    assert by_sink == {"cloudwatch": lines, "search": lines}, "every failure in the error"
    assert sorted(r["message"] for r in parked if r["sink"] == "cloudwatch") == sorted(source)
    left, _ = _quarantined(chain, names)
    cwl_lines, dup_cwl = _cwl_duplicates(chain, f"/logferry/{names}", source)
    _result("unwritable_quarantine", lines, cwl_lines, len(parked) // 2, (0, dup_cwl), t0)
    assert left == 0 and cwl_lines == 0, "nothing shipped, nothing parked: all in the error"
    assert lines == cwl_lines + len(parked) // 2


# -- replay twice ----------------------------------------------------------------------------
def test_replay_twice_ships_each_record_once(chain: Chain, names: str) -> None:
    t0 = time.monotonic()
    parked = _parked(chain, names, 300)
    first, out1 = _finish(_replay_command(chain, parked))
    second, out2 = _finish(_replay_command(chain, parked))
    print(f"\nfirst replay: {out1.strip().splitlines()[-1]}\nsecond: {out2.strip()}")
    assert first == 0 and "600 events: 600 shipped" in out1, out1
    assert second == 0 and "0 parked objects" in out2, out2
    _check_shipped_once(chain, parked, "replay_twice", t0)


# -- two replays at once -----------------------------------------------------------------------
def test_two_replays_at_once_ship_each_record_once(chain: Chain, names: str) -> None:
    t0 = time.monotonic()
    parked = _parked(chain, names, 3000)
    runs = [_replay_command(chain, parked, batch=100) for _ in range(2)]
    results = [_finish(run) for run in runs]
    for status, out in results:
        print(f"\nconcurrent replay (exit {status}): {out.strip().splitlines()[-1]}")
    shipped = sum(int(out.split(" events: ")[1].split(" ")[0]) for _, out in results)
    assert shipped == 6000, "the two runs together shipped each parked event once"
    assert any(" 0 busy" not in out for _, out in results), "the runs overlapped"
    _check_shipped_once(chain, parked, "replay_two_at_once", t0)


# -- replay killed mid-way, then rerun ---------------------------------------------------------
def test_replay_killed_midway_then_rerun_ships_each_record_once(chain: Chain, names: str) -> None:
    t0 = time.monotonic()
    lines = 3000
    parked = _parked(chain, names, lines)
    victim = _replay_command(chain, parked, batch=100)

    def some_shipped() -> bool:
        return _cwl_duplicates(chain, parked.group, parked.lines)[0] >= lines // 3

    wait_for(some_shipped, timeout=TIMEOUT, interval=0.05, what="a third of the lines shipped")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    at_kill, _ = _cwl_duplicates(chain, parked.group, parked.lines)
    left, markers = _quarantined(chain, parked.prefix)
    print(f"\nkilled with {at_kill} of {lines} lines in CloudWatch Logs, {left} events parked")
    assert at_kill < lines and markers, "killed mid-way: the replay had a claim and work left"
    status, out = _finish(_replay_command(chain, parked, batch=100))
    print(f"rerun (exit {status}): {out.splitlines()[0]}")
    assert status == 0 and "1 resumed" in out, out
    _check_shipped_once(chain, parked, "replay_killed_midway", t0)
