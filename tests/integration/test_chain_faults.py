"""Injected faults on the local chain (issue #7): every test checks counts in == shipped + parked
and that nothing was written twice.

Each test deploys its own copy of a shipping function (no S3 trigger; invoked with S3-style
events as a notification would) with its own index prefix or log group, so the index stats
(``docs.count``, ``indexing.index_total``) and log streams it reads hold only its own writes.
Faults come from :class:`logferry.local.faultproxy.FaultProxy`, a real HTTP proxy in front of
the search node or the AWS emulator.

Run: .venv/bin/pytest tests/integration/test_chain_faults.py -s  (starts the stack if needed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import itertools
import json
import random
import shutil
import threading
import time
import urllib.error
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

import pytest

from logferry.demo import SAMPLE_LB, SampleObject, alb_object, sample_objects
from logferry.local.chain import Chain
from logferry.local.deploy import deploy_function
from logferry.local.endpoints import boto3_client, repo_root, wait_for
from logferry.local.faultproxy import FaultProxy, Rule
from logferry.samples.alb import alb_key, alb_lines
from logferry.sinks.s3 import Quarantine

pytestmark = pytest.mark.e2e
TIMEOUT = 180.0
BUILD_DIR = repo_root() / "build"
ES_429 = json.dumps(
    {
        "error": {"type": "es_rejected_execution_exception", "reason": "injected: queue full"},
        "status": 429,
    }
).encode()
THROTTLED = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'


# -- helpers -------------------------------------------------------------------------------
def _variant(chain: Chain, base: str, name: str, env: Mapping[str, str | None], **kw: Any) -> str:
    """Deploy a copy of the stack's function ``base`` (its key) as ``name`` with ``env`` changes.

    A ``None`` value removes the variable; ``kw`` overrides other spec fields (timeout...).
    The copy has no trigger and no failure queue: the tests invoke it themselves.
    """
    planned = chain.deployment.spec().function(base)
    environment = {k: v for k, v in {**planned.environment, **env}.items() if v is not None}
    copy = dataclasses.replace(
        planned, name=name, environment=environment, trigger=None, failure_queue=None, **kw
    )
    deploy_function(chain.endpoints, BUILD_DIR, copy, progress=lambda line: None)
    return name


def _s3_event(chain: Chain, key: str) -> dict[str, Any]:
    """The S3 ObjectCreated notification for an object as it is now in the raw bucket."""
    bucket = chain.deployment.raw_bucket
    head = chain.s3.head_object(Bucket=bucket, Key=key)
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": datetime.now(UTC).isoformat(),
                "s3": {
                    "bucket": {"name": bucket},
                    "object": {
                        "key": key,
                        "size": head["ContentLength"],
                        "eTag": head["ETag"].strip('"'),
                    },
                },
            }
        ]
    }


def _invoke(chain: Chain, function: str, event: dict[str, Any], sync: bool = False) -> Any:
    """Invoke ``function`` (asynchronously, as S3 does, unless ``sync``); the sync payload."""
    lam = boto3_client("lambda", chain.endpoints, config=_long_reads())
    kind = "RequestResponse" if sync else "Event"
    answer = lam.invoke(
        FunctionName=function, InvocationType=kind, Payload=json.dumps(event).encode()
    )
    assert "FunctionError" not in answer, answer["Payload"].read()
    return json.loads(answer["Payload"].read() or b"null")


def _long_reads() -> Any:
    from botocore.config import Config

    return Config(read_timeout=TIMEOUT, retries={"max_attempts": 1})


def _index_stats(chain: Chain, pattern: str) -> tuple[int, int]:
    """(documents, index operations) on the primaries of the indices matching ``pattern``."""
    chain.search(f"{pattern}/_refresh", method="POST")
    stats = chain.search(f"{pattern}/_stats/docs,indexing")["_all"]["primaries"]
    return int(stats["docs"]["count"]), int(stats["indexing"]["index_total"])


def _count_sum(chain: Chain, pattern: str) -> int:
    """Sum of ``status_counts.count`` over the status-count documents in ``pattern``."""
    chain.search(f"{pattern}/_refresh", method="POST")
    body = {"size": 0, "aggs": {"n": {"sum": {"field": "status_counts.count"}}}}
    return int(chain.search(f"{pattern}/_search", body)["aggregations"]["n"]["value"])


@pytest.fixture
def index_prefix(chain: Chain, request: pytest.FixtureRequest, run_id: str) -> Iterator[str]:
    """A fresh index prefix for one test; its indices and template are deleted afterwards."""
    prefix = f"faults-{request.node.name.split('_')[1]}-{run_id}".lower()
    yield prefix
    for row in chain.search(f"_cat/indices/{prefix}-*?format=json"):
        chain.search(str(row["index"]), method="DELETE")
    with contextlib.suppress(urllib.error.HTTPError):  # 404: no batch installed it
        chain.search(f"_index_template/{prefix}", method="DELETE")


def _apache(chain: Chain, run: str, lines: int) -> SampleObject:
    """An Apache access log object under ``faults/`` (no trigger watches that prefix)."""
    sample = next(
        s
        for s in sample_objects(chain.deployment, run, datetime.now(UTC), lines)
        if s.name == "apache"
    )
    return dataclasses.replace(sample, key=f"faults/{run}/{sample.key.rsplit('/', 1)[1]}")


def _parked_for(chain: Chain, uri: str) -> int:
    d = chain.deployment
    quarantine = Quarantine(chain.s3, d.quarantine_bucket, d.quarantine_prefix)
    return sum(1 for _, events in quarantine.iter_parked() for p in events if p.source == uri)


# -- 1. search answers 429 to every third bulk request ------------------------------------
def test_search_429_on_every_third_bulk_is_absorbed_by_retries(
    chain: Chain, run_id: str, index_prefix: str
) -> None:
    lines = 30_000  # 5,000 documents per bulk: at least 6 bulk requests for the lines alone
    sample = _apache(chain, f"{run_id}-429", lines)
    uri = chain.put(sample.key, sample.body)
    rule = Rule(429, ES_429, every=3, methods=("POST", "PUT"), path=r"/_bulk\b")
    with FaultProxy(chain.search_url, [rule]) as proxy:
        env = {"SEARCH_URL": proxy.url, "INDEX_PREFIX": index_prefix}
        function = _variant(chain, "access_log_to_search", "faults_search_429", env)
        _invoke(chain, function, _s3_event(chain, sample.key))
        summary = chain.wait_summaries(function, uri, 1, TIMEOUT)[-1]
    print(f"\n429 proxy: {rule.matched} bulk requests, {rule.injected} answered 429; {summary}")
    assert rule.injected >= 2 and rule.injected == rule.matched // 3
    assert summary["records"] == summary["documents"] == lines and not summary["error"]
    assert summary["failed"] == {"search": 0, "status_counts": 0}
    assert summary["parked"] == 0 and _parked_for(chain, uri) == 0
    docs, writes = _index_stats(chain, f"{index_prefix}-{sample.dataset}-*")
    assert (docs, writes) == (lines, lines), "each line indexed exactly once"
    assert _count_sum(chain, f"{index_prefix}-{sample.dataset}.status_counts-*") == lines


# -- 2. CloudWatch Logs throttles every third PutLogEvents --------------------------------
def test_cloudwatch_throttling_on_every_third_put_loses_and_repeats_nothing(
    chain: Chain, run_id: str
) -> None:
    lines = 20_000  # about 13 MB of ALB lines: 13+ PutLogEvents batches of up to 1 MB
    group = f"/logferry/faults-{run_id}"
    sample = alb_object(chain.deployment, f"{run_id}-throttle", lines, datetime.now(UTC))
    uri = chain.put(sample.key.replace("alb/", "faults/", 1), sample.body)
    rule = Rule(400, THROTTLED, every=3, headers={"X-Amz-Target": r"\.PutLogEvents$"})
    try:
        with FaultProxy(chain.endpoints.aws, [rule]) as proxy:
            env = {
                "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": proxy.url,  # S3 and Lambda stay direct
                "LOG_GROUP": group,
                "SINKS": "cloudwatch",
                "SEARCH_URL": None,
            }
            function = _variant(chain, "alb_to_cloudwatch", "faults_cwl_throttle", env)
            _invoke(chain, function, _s3_event(chain, uri.split("/", 3)[3]))
            summary = chain.wait_summaries(function, uri, 1, TIMEOUT)[-1]
        print(f"\nthrottle proxy: {rule.matched} PutLogEvents, {rule.injected} throttled")
        messages = [e["message"] for e in chain.log_events(group)]
        assert rule.injected >= 2 and rule.injected == rule.matched // 3
        assert summary["records"] == lines and not summary["error"]
        assert summary["shipped"] == {"cloudwatch": lines} and summary["parked"] == 0
        assert len(messages) == lines, "every event once"
        assert sorted(messages) == sorted(gzip.decompress(sample.body).decode().splitlines())
    finally:
        chain.logs.delete_log_group(logGroupName=group)


# -- 4. the same object notified three times at once --------------------------------------
def test_same_object_notified_three_times_concurrently(
    chain: Chain, run_id: str, index_prefix: str
) -> None:
    lines = 20_000
    sample = _apache(chain, f"{run_id}-thrice", lines)
    uri = chain.put(sample.key, sample.body)
    env = {"INDEX_PREFIX": index_prefix, "CHECKPOINT_TABLE": None}  # ids alone (see below)
    function = _variant(chain, "access_log_to_search", "faults_concurrent", env)
    event = _s3_event(chain, sample.key)
    spans: list[tuple[float, float]] = []
    results: list[Any] = []

    def deliver() -> None:
        began = time.monotonic()
        results.append(_invoke(chain, function, event, sync=True))
        spans.append((began, time.monotonic()))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    overlap = min(end for _, end in spans) - max(start for start, _ in spans)
    print(f"\n3 concurrent deliveries: overlap {overlap:.1f}s; {[s[1] - s[0] for s in spans]}")
    assert len(results) == 3 and overlap > 0, "the three invocations ran at the same time"
    summaries = [result["objects"][0] for result in results]
    assert all(s["object"] == uri and s["records"] == lines for s in summaries)
    assert all(s["parked"] == 0 and s["failed"]["search"] == 0 for s in summaries)
    docs, writes = _index_stats(chain, f"{index_prefix}-{sample.dataset}-*")
    assert docs == lines, "deterministic ids: three deliveries overwrite, never duplicate"
    assert writes == 3 * lines, "each delivery wrote each line once"
    assert _count_sum(chain, f"{index_prefix}-{sample.dataset}.status_counts-*") == lines


# -- 5. the key is deleted before the function reads it -----------------------------------
def test_key_deleted_before_the_read_is_reported_once(chain: Chain, run_id: str) -> None:
    sample = _apache(chain, f"{run_id}-gone", 100)
    uri = chain.put(sample.key, sample.body)
    event = _s3_event(chain, sample.key)
    chain.s3.delete_object(Bucket=chain.deployment.raw_bucket, Key=sample.key)
    function = _variant(chain, "access_log_to_search", "faults_gone", {})
    _invoke(chain, function, event)  # asynchronously, as S3 does: a crash would be retried
    summary = chain.wait_summaries(function, uri, 1, TIMEOUT)[0]
    time.sleep(10)  # the emulator retries a failed async invocation after 1 s and 2 s
    log = chain.function_log(function)
    assert len([s for s in chain.summaries(function) if s["object"] == uri]) == 1
    assert not [line for line in log if "Traceback" in line or '"object failed"' in line]
    assert summary["error"] and sample.key in summary["error"]
    assert "no longer exists" in summary["error"]
    assert summary["records"] == summary["documents"] == summary["parked"] == 0
    assert _parked_for(chain, uri) == 0
    assert chain.count(chain.source_query(uri)) == 0


# -- 3. a 2 GiB object handed on across forced short timeouts -----------------------------
BIG_BYTES = 2 * 1024**3
TOKEN_BYTES = 1600  # hex: 3,200 characters in each line's query string


def _write_big_alb(path: Path, lb_name: str, now: datetime) -> tuple[int, int, int]:
    """Stream ALB lines with long query strings into a gzip file until ``BIG_BYTES``.

    Never holds more than one 2,000-line batch in memory. Line ``n`` carries ``rid=<n>``
    (9 digits) and one of four 3,200-character tokens. Returns (lines, uncompressed bytes,
    characters): the characters are what the emulator's ``storedBytes`` counts.
    """
    rng = random.Random(7)
    tokens = [rng.randbytes(TOKEN_BYTES).hex() for _ in range(4)]
    lines = size = chars = 0
    start = now - timedelta(hours=1)
    with gzip.open(path, "wb", compresslevel=1) as out:
        while size < BIG_BYTES:
            batch = []
            for line in alb_lines(2000, start, seed=lines):
                head, _, tail = line.replace(f"app/{SAMPLE_LB}/", f"app/{lb_name}/", 1).partition(
                    " HTTP/"
                )
                sep = "&" if "?" in head else "?"
                batch.append(f"{head}{sep}rid={lines:09d}&token={tokens[lines % 4]} HTTP/{tail}")
                chars += len(batch[-1])
                lines += 1
            data = ("\n".join(batch) + "\n").encode()
            out.write(data)
            size += len(data)
            start += timedelta(seconds=8)  # 2,000 lines are ~4 ms apart
    return lines, size, chars


def test_2gib_object_is_handed_on_across_short_timeouts(
    chain: Chain, run_id: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    """A 2 GiB (uncompressed) ALB object through a copy of alb_to_cloudwatch with a 22 s timeout
    and RESERVE_SECONDS=12 (10 s of reading per invocation; each call may take 2.4 s, which a
    loaded 2-core machine needs: with 1 s, one CI run parked events, most likely a PutLogEvents
    that timed out): it must stop, flush and hand the object on many times.

    Lines are ~3.7 KB (a 3,200-character token in the query string), so 2 GiB is ~570,000
    lines. They go to CloudWatch Logs only: indexing 2 GiB of documents into the local search
    node takes ~20 minutes on a 2-core machine (measured 1.5-3 MB/s), the emulator takes them
    in ~2. The object is one gzip member (as ALB writes them): each continuation re-inflates
    up to its offset. Its stream's ``storedBytes`` (characters stored) must equal the
    characters of the lines, and the lines on each side of the first (up to) three hand-offs
    must be there once (each look-up scans every event in the emulator: ~3 s). How many
    hand-offs there are depends on the machine's speed, so at least two are asked for (with 15 s
    of reading a 2-core machine parsing ~14k of these lines a second needed only three
    invocations).
    """
    free = shutil.disk_usage(tmp_path).free
    assert free > 4 * 2**30, f"{free / 2**30:.1f} GiB free in {tmp_path}: need 4 GiB"
    d = chain.deployment
    began = time.monotonic()
    lb_name = f"{run_id}-big"
    key = alb_key(d.account_id, d.region, lb_name, datetime.now(UTC), prefix="faults")
    path = tmp_path / "big.log.gz"
    group = f"/logferry/faults-big-{run_id}"
    lines, size, chars = _write_big_alb(path, lb_name, datetime.now(UTC))
    generated = time.monotonic() - began
    try:
        with path.open("rb") as body:
            chain.s3.put_object(Bucket=d.raw_bucket, Key=key, Body=body)
        uri = f"s3://{d.raw_bucket}/{key}"
        env = {
            "LOG_GROUP": group,
            "SINKS": "cloudwatch",
            "SEARCH_URL": None,
            "RESERVE_SECONDS": "12",
        }
        function = _variant(chain, "alb_to_cloudwatch", "faults_big", env, timeout=22)
        shipping = time.monotonic()
        _invoke(chain, function, _s3_event(chain, key))

        def done() -> list[dict[str, Any]] | None:
            found = [s for s in chain.summaries(function) if s["object"] == uri]
            return found if found and found[-1]["next_offset"] is None else None

        summaries = sorted(
            wait_for(done, timeout=600, interval=3.0), key=itemgetter("start_offset")
        )
        shipped_in = time.monotonic() - shipping
        streams = chain.logs.describe_log_streams(logGroupName=group)["logStreams"]
        log = chain.function_log(function)
        print(
            f"\n2 GiB object: {lines} lines, {size} bytes ({path.stat().st_size} gzip) made in "
            f"{generated:.0f}s, shipped in {shipped_in:.0f}s by {len(summaries)} invocations"
        )
        assert len(summaries) >= 3, "at least two continuations"
        assert summaries[0]["start_offset"] == 0
        for before, after in itertools.pairwise(summaries):
            assert before["next_offset"] == after["start_offset"], "hand-offs chain exactly"
        assert not [line for line in log if "Task timed out" in line], "no invocation was killed"
        assert sum(s["records"] for s in summaries) == lines
        assert sum(s["bytes"] for s in summaries) == size
        assert sum(s["shipped"]["cloudwatch"] + s["parked"] for s in summaries) == lines
        troubled = [
            {k: s[k] for k in ("start_offset", "records", "parked", "parked_reasons", "error")}
            for s in summaries
            if s["parked"] or s["error"]
        ]
        assert troubled == [], "no invocation parked or failed"
        assert [s["storedBytes"] for s in streams] == [chars], "every line stored exactly once"
        ends = list(itertools.accumulate(s["records"] for s in summaries[:-1]))[:3]  # hand-offs
        for rid in [n for end in ends for n in (end - 1, end)]:  # the emulator scans all
            assert chain.count_log_events(group, f"rid={rid:09d}&") == 1, f"line {rid}"
        figures["faults_2gib"] = {
            "lines": lines,
            "bytes": size,
            "gzip_bytes": path.stat().st_size,
            "invocations": len(summaries),
            "generate_seconds": round(generated, 1),
            "ship_seconds": round(shipped_in, 1),
        }
    finally:
        path.unlink(missing_ok=True)
        chain.s3.delete_object(Bucket=d.raw_bucket, Key=key)
        with contextlib.suppress(chain.logs.exceptions.ResourceNotFoundException):
            chain.logs.delete_log_group(logGroupName=group)
