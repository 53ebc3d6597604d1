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
import json
import urllib.error
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from logferry.demo import SampleObject, alb_object, sample_objects
from logferry.local.chain import Chain
from logferry.local.deploy import FunctionPlan, Names, deploy_function, plan
from logferry.local.endpoints import boto3_client, repo_root
from logferry.local.faultproxy import FaultProxy, Rule
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
def _variant(chain: Chain, base: str, name: str, env: dict[str, str | None], **kw: Any) -> str:
    """Deploy a copy of the planned function ``base`` as ``name`` with ``env`` changes.

    A ``None`` value removes the variable; ``kw`` overrides other plan fields (timeout...).
    """
    d = chain.deployment
    planned = next(fn for fn in plan(Names(), d.search_url, d.search_engine) if fn.name == base)
    environment = {k: v for k, v in {**planned.environment, **env}.items() if v is not None}
    copy: FunctionPlan = dataclasses.replace(
        planned, name=name, environment=environment, prefix=None, **kw
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
