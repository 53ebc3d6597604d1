#!/usr/bin/env python3
"""`make bench-search`: logferry's search path vs an ESF-style raw-line shipper, on one node.

Both read the same generated gzip ALB object (bench_alb.py's generator) from the local stack's
S3 emulator and index it into the local stack's search node (started here unless a healthy
stack runs; stopped after if started here):

- logferry: ``process_object`` with only the search sink, wired by ``composition.Wiring`` from
  ``alb_to_cloudwatch``'s settings with ``SINKS=search``, in this process (the handler's work);
- baseline: what elastic-serverless-forwarder does: every raw line as ``message`` with ESF's
  metadata fields (``@timestamp`` of shipping, ``log.file.path``, ``log.offset``,
  ``aws.s3.*``, ``cloud.*``, ``event.dataset``, ``agent``), an id from object and offset,
  through the official ``elasticsearch.helpers.bulk`` (its default 500 actions a request)
  into an index with the engine's default dynamic mapping (no template: nothing parsed).

Each run deletes the index first; one untimed warm-up run of each comes first (a fresh
node's JIT would slow whichever went first); the order alternates; each figure is the median
of the runs. Handler CPU is this process's CPU time (all threads) over the run; engine CPU is the
node's ``process.cpu.total_in_millis`` from the run's start until a ``_refresh`` after it
(so it includes indexing, the refresh and merges during the run, not the force-merge);
store bytes are the primaries' searchable segments (``_segments``) after ``_refresh``,
``_forcemerge?max_num_segments=1`` and another ``_refresh``, the same for both.

``put_to_searchable_s``: a 10,000-line ALB object put into the stack's raw bucket, through the
deployed ``alb_to_cloudwatch`` (the emulator runs its zip; S3 -> SQS -> poller -> function)
until ``_count`` of its ``log.file.path`` reaches every line; ``_count`` is polled every 50 ms
and never forces a refresh, so the figure includes the index's refresh interval.

``LOGFERRY_SEARCH=opensearch`` runs it all against the stack's OpenSearch node instead (the
baseline then uses ``opensearchpy.helpers.bulk``). Environment (for a quick run):
``BENCH_SEARCH_LINES`` (200000), ``BENCH_SEARCH_RUNS`` (3), ``BENCH_SEARCH_PUTS`` (5),
``BENCH_SEARCH_PUT_LINES`` (10000), ``BENCH_SEARCH_DATASET_LINES`` (50000: ``search_datasets``,
engine CPU and store per document of each dataset with and without the raw line, see
``search_datasets.py``). The last line printed is one
JSON object with every figure; progress goes to stderr.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_alb import log, sample_file
from search_datasets import dataset_costs

from logferry.formats import get_format
from logferry.samples.alb import alb_key

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build"
ACCOUNT, REGION = "123456789012", "us-east-1"
BENCH_BUCKET = "bench-search"
OURS_PREFIX = "benchlf"
BASELINE_INDEX = "bench-esf"
POLL_S = 0.05
LENIENT = "ignore_unavailable=true&allow_no_indices=true"
"""Query parameters: a missing index is no error."""
PUT_TIMEOUT_S = 120.0
STATS_CACHE_S = 1.1
"""Longer than the node caches its process stats (1 s)."""


def env_int(name: str, default: int) -> int:
    """A positive count from the environment."""
    value = int(os.environ.get(name, default))
    if value < 1:
        raise SystemExit(f"{name}={value}: must be >= 1")
    return value


class Node:
    """Plain JSON requests to the search node (``engine``: elasticsearch or opensearch)."""

    def __init__(self, url: str, engine: str) -> None:
        self.url = url.rstrip("/")
        self.engine = engine

    def call(self, path: str, method: str = "GET", body: Any = None) -> Any:
        """One request; its JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read() or b"null")

    def cpu_ms(self) -> int:
        """The node's process CPU time so far (one node), read after the node's process stats
        cache (``monitor.process.refresh_interval``, 1 s) has lapsed, so it is not stale."""
        time.sleep(STATS_CACHE_S)
        nodes = self.call("_nodes/stats/process")["nodes"]
        return sum(int(n["process"]["cpu"]["total_in_millis"]) for n in nodes.values())

    def delete(self, pattern: str) -> None:
        """Delete the indices matching ``pattern`` (none is fine; wildcard deletes are refused)."""
        found = self.call(f"{pattern}/_settings/index.uuid?{LENIENT}")
        if names := list(found):
            self.call(",".join(names), "DELETE")

    def store(self, pattern: str) -> tuple[int, int]:
        """(documents, bytes of their segments) after a force-merge to one segment and a
        refresh: the primaries' searchable segments from ``_segments``, which the engine
        reads from disk (``_stats/store`` may be up to ``index.store.stats_refresh_interval``,
        10 s, old on OpenSearch and then still counts the merged-away segments)."""
        self.call(f"{pattern}/_refresh", "POST")
        self.call(f"{pattern}/_forcemerge?max_num_segments=1", "POST")
        self.call(f"{pattern}/_refresh", "POST")
        docs = size = 0
        for index in self.call(f"{pattern}/_segments")["indices"].values():
            for copies in index["shards"].values():
                for copy in copies:
                    if not copy["routing"]["primary"]:
                        continue
                    for segment in copy["segments"].values():
                        if segment["search"]:
                            docs += int(segment["num_docs"])
                            size += int(segment["size_in_bytes"])
        return docs, size


def measured(node: Node, pattern: str, ship: Callable[[], int]) -> dict[str, float]:
    """Run ``ship`` (it returns the documents it shipped) against a fresh ``pattern``."""
    node.delete(pattern)
    cpu0, engine0, wall0 = time.process_time(), node.cpu_ms(), time.perf_counter()
    shipped = ship()
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    node.call(f"{pattern}/_refresh", "POST")
    engine = node.cpu_ms() - engine0
    docs, store = node.store(pattern)
    if docs != shipped:
        raise RuntimeError(f"{pattern}: {docs} documents searchable, {shipped} shipped")
    return {
        "docs_per_s": docs / wall,
        "handler_cpu_us_per_doc": cpu * 1e6 / docs,
        "engine_cpu_us_per_doc": engine * 1e3 / docs,
        "store_bytes_per_doc": store / docs,
    }


def ours(node: Node, key: str, log_format: str = "alb", keep_message: bool = False) -> int:
    """logferry's search path for one object, as the deployed function wires it."""
    from logferry.clients import client
    from logferry.composition import Wiring, function_settings
    from logferry.model import ObjectRef
    from logferry.pipeline import ObjectJob, process_object
    from logferry.runtime import build_format
    from logferry.sources.events import ObjectNotice

    env = {
        "SINKS": "search",
        "SEARCH_URL": node.url,
        "SEARCH_ENGINE": node.engine,
        "SEARCH_AUTH": "none",
        "INDEX_PREFIX": OURS_PREFIX,
        "LOG_FORMAT": log_format,
        "SEARCH_KEEP_MESSAGE": str(keep_message).lower(),
    }
    settings = function_settings("alb_to_cloudwatch", env)
    ref = ObjectRef(BENCH_BUCKET, key)
    job = ObjectJob(
        s3=client("s3"),
        notice=ObjectNotice(ref),
        fmt=build_format(settings),
        sinks=Wiring(settings, client).sinks_for(ref),
        account_id=ACCOUNT,
        region=REGION,
        keep_message=settings.search.keep_message,
    )
    summary = process_object(job)
    if summary.error or summary.shipped["search"] != summary.documents:
        raise RuntimeError(f"logferry run incomplete: {summary.to_json()}")
    return summary.documents


def esf_documents(key: str, body: bytes) -> Iterator[dict[str, Any]]:
    """ESF's documents for one object: the raw line plus metadata, nothing parsed."""
    uri = f"https://{BENCH_BUCKET}.s3.{REGION}.amazonaws.com/{key}"
    offset = 0
    for raw in gzip.decompress(body).splitlines(keepends=True):
        line = raw.rstrip(b"\n").decode("utf-8", errors="replace")
        ident = hashlib.sha256(f"{BENCH_BUCKET}/{key}/{offset}".encode()).hexdigest()[:20]
        yield {
            "_index": BASELINE_INDEX,
            "_id": ident,
            "_source": {
                "@timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "message": line,
                "log": {"file": {"path": uri}, "offset": offset},
                "aws": {
                    "s3": {
                        "bucket": {"name": BENCH_BUCKET, "arn": f"arn:aws:s3:::{BENCH_BUCKET}"},
                        "object": {"key": key},
                    }
                },
                "cloud": {"provider": "aws", "region": REGION},
                "event": {"dataset": "aws.elb_logs"},
                "agent": {
                    "name": "elastic-serverless-forwarder",
                    "type": "elastic-serverless-forwarder",
                    "version": "1.20.1",
                },
            },
        }
        offset += len(raw)


def baseline(node: Node, key: str) -> int:
    """ESF's way: read the object, ship raw lines with the official client's
    ``helpers.bulk`` (``elasticsearch``'s; ``opensearchpy``'s on OpenSearch, which ESF does
    not ship to: the same helper of that engine's official client)."""
    from logferry.clients import client

    body = client("s3").get_object(Bucket=BENCH_BUCKET, Key=key)["Body"].read()
    if node.engine == "opensearch":
        import opensearchpy
        from opensearchpy import helpers as os_helpers

        bulk: Callable[..., Any] = os_helpers.bulk
        engine: Any = opensearchpy.OpenSearch(node.url, timeout=120)
    else:
        import elasticsearch
        from elasticsearch import helpers as es_helpers

        bulk = es_helpers.bulk
        engine = elasticsearch.Elasticsearch(node.url, request_timeout=120)
    shipped, errors = bulk(engine, esf_documents(key, body), raise_on_error=False)
    if isinstance(errors, list) and errors:  # a list with raise_on_error=False
        raise RuntimeError(f"baseline: {len(errors)} bulk errors, first {errors[0]}")
    return int(shipped)


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs."""
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def compare(node: Node, key: str, runs: int) -> dict[str, Any]:
    """Both ways ``runs`` times, alternating which goes first."""
    results: dict[str, list[dict[str, float]]] = {"ours": [], "baseline": []}
    steps: dict[str, Callable[[], dict[str, float]]] = {
        "ours": lambda: measured(node, f"{OURS_PREFIX}-*", lambda: ours(node, key)),
        "baseline": lambda: measured(node, BASELINE_INDEX, lambda: baseline(node, key)),
    }
    for name in ("ours", "baseline"):  # JIT and caches of the node warm: not counted
        log(f"{name} warm-up run")
        steps[name]()
    for run in range(runs):
        order = ("ours", "baseline") if run % 2 == 0 else ("baseline", "ours")
        for name in order:
            log(f"{name} run {run + 1}/{runs}")
            results[name].append(steps[name]())
            log(f"  {json.dumps({k: round(v, 1) for k, v in results[name][-1].items()})}")
    node.delete(f"{OURS_PREFIX}-*")
    node.delete(BASELINE_INDEX)
    mine, theirs = median_of(results["ours"]), median_of(results["baseline"])
    return {
        "search_docs_per_s": round(mine["docs_per_s"], 1),
        "search_baseline_docs_per_s": round(theirs["docs_per_s"], 1),
        "search_speedup": round(mine["docs_per_s"] / theirs["docs_per_s"], 2),
        "handler_cpu_us_per_doc": round(mine["handler_cpu_us_per_doc"], 1),
        "engine_cpu_us_per_doc": round(mine["engine_cpu_us_per_doc"], 1),
        "store_bytes_per_doc": round(mine["store_bytes_per_doc"], 1),
        "baseline_handler_cpu_us_per_doc": round(theirs["handler_cpu_us_per_doc"], 1),
        "baseline_engine_cpu_us_per_doc": round(theirs["engine_cpu_us_per_doc"], 1),
        "baseline_store_bytes_per_doc": round(theirs["store_bytes_per_doc"], 1),
        "search_runs": {
            name: [round(r["docs_per_s"], 1) for r in rs] for name, rs in results.items()
        },
    }


def searchable(chain: Any, query: dict[str, Any]) -> int:
    """``_count`` of ``query`` over the pipeline's indices without forcing a refresh; 0 while
    a just-created index has no started shard (503)."""
    try:
        return int(chain.search(f"{chain.index_pattern()}/_count?{LENIENT}", query)["count"])
    except urllib.error.HTTPError as exc:
        if exc.code == 503:
            return 0
        raise


def put_to_searchable(chain: Any, lines: int, puts: int) -> dict[str, Any]:
    """Seconds from PutObject to every line searchable, through the deployed function."""
    seconds: list[float] = []
    for n in range(puts):
        when = datetime.now(UTC) - timedelta(minutes=5 * (n + 1))
        path = sample_file(lines, when.replace(minute=0, second=0, microsecond=0))
        d = chain.deployment
        name = alb_key(d.account_id, d.region, f"bench-put-{time.time_ns()}", when)
        key = d.alb_prefix + name.removeprefix("AWSLogs/")  # the stack's ALB trigger prefix
        query = {"query": {"term": {"log.file.path": f"s3://{d.raw_bucket}/{key}"}}}
        body = path.read_bytes()
        if searchable(chain, query):
            raise RuntimeError(f"{key}: documents in search before the put")
        started = time.monotonic()
        chain.put(key, body)
        while searchable(chain, query) < lines:
            if time.monotonic() - started > PUT_TIMEOUT_S:
                raise RuntimeError(f"{key}: not all {lines} lines searchable in {PUT_TIMEOUT_S}s")
            time.sleep(POLL_S)
        seconds.append(time.monotonic() - started)
        log(f"put {n + 1}/{puts}: {seconds[-1]:.2f}s to {lines} searchable")
    return {
        "put_to_searchable_s": round(statistics.median(seconds), 2),
        "put_to_searchable_runs_s": [round(s, 2) for s in seconds],
    }


def main() -> int:
    lines = env_int("BENCH_SEARCH_LINES", 200_000)
    runs = env_int("BENCH_SEARCH_RUNS", 3)
    puts = env_int("BENCH_SEARCH_PUTS", 5)
    put_lines = env_int("BENCH_SEARCH_PUT_LINES", 10_000)
    dataset_lines = env_int("BENCH_SEARCH_DATASET_LINES", 50_000)
    os.environ.setdefault("LOGFERRY_STATE_DIR", str(ROOT / ".cache" / "bench" / "state-search"))

    from logferry.local.chain import Chain
    from logferry.local.deploy import deploy
    from logferry.local.stack import LocalStack

    if not (BUILD_DIR / "alb_to_cloudwatch.zip").is_file():
        raise SystemExit(f"bench: no {BUILD_DIR}/alb_to_cloudwatch.zip: run `make build` first")
    start = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    path = sample_file(lines, start)
    stack = LocalStack(progress=lambda line: log(f"[stack] {line}"))
    endpoints = stack.start()
    try:
        os.environ.update(endpoints.env())
        search_url = endpoints.search or ""
        if not search_url or endpoints.search_engine not in ("elasticsearch", "opensearch"):
            raise SystemExit("bench: the local stack has no search node (LOGFERRY_SEARCH=none?)")
        from logferry.clients import client

        s3 = client("s3")
        s3.create_bucket(Bucket=BENCH_BUCKET)
        key = alb_key(ACCOUNT, REGION, "bench-lb", start + timedelta(minutes=55))
        s3.put_object(Bucket=BENCH_BUCKET, Key=key, Body=path.read_bytes())
        node = Node(search_url, endpoints.search_engine)
        node.call("_cluster/health?wait_for_status=yellow&timeout=60s")
        result = {
            "search_engine": node.engine,
            "search_lines": lines,
            **compare(node, key, runs),
        }
        result["search_datasets"] = dataset_costs(
            dataset_lines,
            start,
            lambda k, body: s3.put_object(Bucket=BENCH_BUCKET, Key=k, Body=body),
            lambda fmt, k, keep: measured(
                node, f"{OURS_PREFIX}-*", lambda: ours(node, k, fmt, keep)
            ),
            lambda fmt: get_format(fmt).fields_hold_line,
            log,
        )
        node.delete(f"{OURS_PREFIX}-*")
        log("deploying the local stack's functions for put_to_searchable")
        chain = Chain(endpoints, deploy(endpoints, BUILD_DIR, progress=lambda line: None))
        result.update(put_to_searchable(chain, put_lines, puts))
    finally:
        stack.stop()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
