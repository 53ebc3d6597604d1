"""``logferry backfill`` on the local chain: mixed load balancers on parallel workers, and the
scale path (``--enqueue``) through a function's SQS trigger queue (issue #16).

Objects are ALB logs under keys of several accounts, regions and load balancers, outside
every trigger's prefix (nothing ships them but the backfill). Each test prints its
``FAULT`` result line: records in = shipped + parked, duplicates in search and CloudWatch.

Run: LOGFERRY_STATE_DIR=/tmp/stack-<you> .venv/bin/pytest tests/integration/test_backfill_faults.py
-s (starts the stack if it is down).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_chain_faults import TIMEOUT, _index_stats, _parked_for

from logferry import backfill
from logferry.backfill_queue import resolve_queue
from logferry.demo import SAMPLE_LB, text
from logferry.local.chain import Chain
from logferry.local.endpoints import boto3_client
from logferry.samples.alb import alb_key, alb_lines

pytestmark = pytest.mark.e2e
PLACES = [("111111111111", "us-east-1"), ("222222222222", "eu-west-1")]


@dataclass(frozen=True)
class LbObject:
    """One ALB log object: its URI, the account and region its key names, its lines."""

    uri: str
    account: str
    region: str
    lb_name: str
    lines: list[str]


def _put_lb_objects(chain: Chain, prefix: str, count: int, lines: int) -> list[LbObject]:
    """``count`` ALB objects under ``prefix``, each of its own load balancer (named after the
    prefix), over two accounts and regions."""
    now = datetime.now(UTC) - timedelta(hours=1)
    made = []
    for n in range(count):
        account, region = PLACES[n % len(PLACES)]
        lb_name = f"{prefix.replace('/', '-')}-lb{n}"  # unique to the run (shared log groups)
        rows = [
            row.replace(f"app/{SAMPLE_LB}/", f"app/{lb_name}/", 1)
            for row in alb_lines(lines, now, seed=n)
        ]
        key = alb_key(account, region, lb_name, now, prefix=prefix)
        made.append(LbObject(chain.put(key, text(rows)), account, region, lb_name, rows))
    return made


def _own_fields(chain: Chain, obj: LbObject, pattern: str) -> int:
    """Documents of ``obj`` whose per-object fields are its own: the path, the account
    (``cloud.account.id``, from the key) and the key's load balancer name. (``cloud.region``
    is the reader's region when it has one, the same for every object: not compared.)"""
    query = {"bool": {"filter": [
        {"term": {"log.file.path": obj.uri}},
        {"term": {"cloud.account.id": obj.account}},
        {"term": {"aws.elb.log_file.load_balancer_name": obj.lb_name}},
    ]}}  # fmt: skip
    chain.search(f"{pattern}/_refresh", method="POST")
    return int(chain.search(f"{pattern}/_count", {"query": query})["count"])


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    backfill.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def stack_env(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process environment pointed at the local stack (boto3 clients rebuilt)."""
    from logferry.clients import client

    for name, value in chain.endpoints.env().items():
        monkeypatch.setenv(name, value)
    client.cache_clear()
    yield
    client.cache_clear()


def test_backfill_over_mixed_load_balancers_keeps_each_objects_fields(
    chain: Chain, run_id: str, stack_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """16 objects of 16 load balancers in 2 accounts and regions, read with ``--format auto``
    on 4 workers into search and CloudWatch Logs: every document carries its own object's
    ``log.file.path``, ``cloud.account.id`` and key fields; every line once in each."""
    began = time.monotonic()
    d = chain.deployment
    index_prefix, group = f"bf-mixed-{run_id}".lower(), f"/logferry/bf-mixed-{run_id}"
    objects = _put_lb_objects(chain, f"backfill-{run_id}/mixed", 16, 3000)
    monkeypatch.setenv("INDEX_PREFIX", index_prefix)
    monkeypatch.setenv("QUARANTINE_BUCKET", d.quarantine_bucket)
    monkeypatch.setenv("QUARANTINE_PREFIX", d.quarantine_prefix)
    pattern = f"{index_prefix}-*"
    try:
        status = _cli([
            "backfill", f"s3://{d.raw_bucket}/backfill-{run_id}/mixed/", "--format", "auto",
            "-j", "4", "--sinks", "cloudwatch,search", "--search-url", d.search_url,
            "--log-group", group, "--state", str(tmp_path / "state.json"),
        ])  # fmt: skip
        assert status == 0
        records = sum(len(o.lines) for o in objects)
        docs, writes = _index_stats(chain, pattern)
        parked = sum(_parked_for(chain, o.uri) for o in objects)
        messages = [e["message"] for e in chain.log_events(group)]
        dup_cwl = len(messages) - len(set(messages))
        wrong = {o.uri: len(o.lines) - _own_fields(chain, o, pattern) for o in objects}
        print(
            f"\nFAULT backfill_mixed_load_balancers: in={records} shipped={docs} parked={parked} "
            f"dup_search={writes - docs} dup_cwl={dup_cwl} seconds={time.monotonic() - began:.1f}"
        )
        assert {uri: n for uri, n in wrong.items() if n} == {}, "documents with another's fields"
        assert records == docs + parked and parked == 0
        assert writes == docs, "each line indexed once"
        assert dup_cwl == 0 and sorted(messages) == sorted(r for o in objects for r in o.lines)
    finally:
        for row in chain.search(f"_cat/indices/{pattern}?format=json"):
            chain.search(str(row["index"]), method="DELETE")
        chain.logs.delete_log_group(logGroupName=group)


def test_enqueue_hands_objects_to_the_function_queue_once(
    chain: Chain, run_id: str, stack_env: None, tmp_path: Path
) -> None:
    """Five objects sent with ``--enqueue <alb function>`` to its SQS trigger queue: the
    function ships each once (one summary per object, its lines in search and CloudWatch
    Logs once); a rerun resumes after the cursor and sends nothing."""
    began = time.monotonic()
    d = chain.deployment
    objects = _put_lb_objects(chain, f"backfill-{run_id}/enqueue", 5, 400)
    argv = [
        "backfill", f"s3://{d.raw_bucket}/backfill-{run_id}/enqueue/",
        "--enqueue", d.alb_function, "--state", str(tmp_path / "cursor.json"),
    ]  # fmt: skip
    assert _cli([*argv, "--dry-run"]) == 0
    assert _cli(argv) == 0
    summaries = {o.uri: chain.wait_summaries(d.alb_function, o.uri, 1, TIMEOUT) for o in objects}
    for obj in objects:
        chain.wait_count(chain.source_query(obj.uri), len(obj.lines), TIMEOUT, obj.uri)
    assert _cli(argv) == 0  # resumes after the last key: nothing more to send
    time.sleep(10)  # a second delivery would show by now (the poller waits 1 s between polls)
    every = chain.summaries(d.alb_function)
    runs = {o.uri: sum(1 for s in every if s["object"] == o.uri) for o in objects}
    searched = {o.uri: chain.count(chain.source_query(o.uri)) for o in objects}
    in_cwl = {o.uri: chain.count_log_events(d.alb_log_group, f"app/{o.lb_name}/") for o in objects}
    records = sum(len(o.lines) for o in objects)
    parked = sum(s[-1]["parked"] for s in summaries.values())
    dup_search = sum(searched[o.uri] - len(o.lines) for o in objects)
    dup_cwl = sum(in_cwl[o.uri] - len(o.lines) for o in objects)
    print(
        f"\nFAULT backfill_enqueue: in={records} shipped={sum(searched.values())} "
        f"parked={parked} dup_search={dup_search} dup_cwl={dup_cwl} "
        f"seconds={time.monotonic() - began:.1f}"
    )
    assert runs == {o.uri: 1 for o in objects}, "each object handled once"
    assert all(not s[-1]["error"] for s in summaries.values())
    assert sum(searched.values()) + parked == records and parked == 0
    assert in_cwl == {o.uri: len(o.lines) for o in objects}
    sqs = boto3_client("sqs", chain.endpoints)
    url = resolve_queue(d.alb_function, boto3_client("lambda", chain.endpoints), sqs)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    assert left == {name: "0" for name in names}, "every message handled and deleted"
