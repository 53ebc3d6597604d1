"""A poison value in each format's object through the deployed function (issue #16, item 1).

For every format, an object (fresh generated lines where logferry has a generator, else the
format's golden input) gets one record with a value the serializer refuses: an integer
beyond 64 bits in a field of a text line, a lone surrogate (``"\\ud83d"``, a cut emoji as
``JSON.stringify`` writes it) in a JSON record. A copy of the shipping function with that
format and both sinks (search and CloudWatch Logs) gets the S3 notification, asynchronously
as S3 sends it (so a failing invocation would be retried and re-ship). Asserted: the object
completes in one invocation, every document reaches each sink or the quarantine
(in = shipped + parked over both sinks), the search index holds one write per document, the
log group no event twice, and the poison record is in search as its error document naming
the refused field, its raw text kept.

Golden inputs carry old times, which CloudWatch Logs refuses (older than 14 days): those
events are parked by the sink, and counted as parked here.

Run: LOGFERRY_STATE_DIR=/tmp/stack-x .venv/bin/pytest tests/integration/test_chain_poison.py -s
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import time
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_chain_faults import TIMEOUT, _index_stats, _invoke, _parked_for, _s3_event, _variant

from logferry import formats
from logferry.demo import sample_objects
from logferry.formats.base import shippable
from logferry.local.chain import Chain
from logferry.model import ObjectRef, ParseContext, Record

pytestmark = pytest.mark.e2e
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
HUGE = b"99999999999999999999999"
SURROGATE = '"\\ud83d"'  # JSON text of a lone surrogate
SENTINEL = "poison-goes-here"
FORMATS = {
    # format: golden input used when no generator exists (None: demo.sample_objects has one)
    "apache": None,
    "nginx": None,
    "alb": None,
    "apigw": None,
    "cwl": None,
    "serverlog": None,
    "elb": "elb/classic.log",
    "nlb": "nlb/tls.log",
    "cloudfront": "cloudfront/standard.log",
    "s3access": "s3access/access.log",
    "vpcflow": "vpcflow/default.log",
    "waf": "waf/firehose.log",
    "cloudtrail": "cloudtrail/records.json",
}
_FIELDS = re.compile(rb"([ \t])")


@dataclass
class Poisoned:
    """An object with one poison record: its bytes, and the record's poisoned text."""

    key: str
    body: bytes
    line: bytes


def _base_object(chain: Chain, name: str, run: str) -> tuple[str, bytes]:
    golden = FORMATS[name]
    if golden is None:
        sample = next(
            s
            for s in sample_objects(chain.deployment, run, datetime.now(UTC), 40)
            if s.name == name
        )
        body = sample.body
        return sample.key.rsplit("/", 1)[1], gzip.decompress(body) if body[
            :2
        ] == b"\x1f\x8b" else body
    return golden.rsplit("/", 1)[1], (GOLDEN / golden).read_bytes()


def _string_leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _string_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_leaves(item, (*path, index))
    elif isinstance(value, str):
        yield path


def _candidates(data: bytes) -> Iterator[bytes]:
    """``data`` with one value replaced by poison, every way there is."""
    try:
        value = json.loads(data)
    except ValueError:
        value = None
    if isinstance(value, dict):
        paths = list(_string_leaves(value))  # a log event's message first (cwl: one event)
        for path in sorted(paths, key=lambda path: path[-1] != "message"):
            copy = json.loads(data)
            node = copy
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = SENTINEL
            yield json.dumps(copy).replace(json.dumps(SENTINEL), SURROGATE).encode()
        return
    parts = _FIELDS.split(data)
    for index in range(0, len(parts), 2):
        yield b"".join([*parts[:index], HUGE, *parts[index + 1 :]])


def _poison(chain: Chain, name: str, run: str) -> Poisoned:
    """The format's object with its first record that can hold a refused value poisoned."""
    base_name, data = _base_object(chain, name, run)
    key = f"poison/{run}/{name}/{base_name.removesuffix('.gz')}"
    ctx = ParseContext(ObjectRef(chain.deployment.raw_bucket, key))
    fmt = formats.get_format(name).for_object(ctx.ref, data)
    for record in list(fmt.frame([data])):
        if any("error" in d for d in fmt.parse(record, ctx)):
            continue
        for line in _candidates(record.data):
            probe = Record(record.offset, line, record.line_no)
            docs = [shippable(d, probe, ctx, fmt.dataset)[0] for d in fmt.parse(probe, ctx)]
            if any("unserializable" in d.get("logferry", {}) for d in docs):
                end = record.offset + len(record.data)
                return Poisoned(key, data[: record.offset] + line + data[end:], line)
    raise AssertionError(f"{name}: no record of the sample can hold a poison value")


@pytest.fixture
def group(chain: Chain, run_id: str, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"/logferry/poison-{request.node.callspec.id}-{run_id}"
    yield name
    with contextlib.suppress(chain.logs.exceptions.ResourceNotFoundException):
        chain.logs.delete_log_group(logGroupName=name)


@pytest.fixture
def prefix(chain: Chain, run_id: str, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"poison-{request.node.callspec.id}-{run_id}".lower()
    yield name
    for row in chain.search(f"_cat/indices/{name}-*?format=json"):
        chain.search(str(row["index"]), method="DELETE")
    with contextlib.suppress(urllib.error.HTTPError):
        chain.search(f"_index_template/{name}", method="DELETE")


def _error_docs(chain: Chain, prefix: str) -> list[dict[str, Any]]:
    chain.search(f"{prefix}-*/_refresh", method="POST")
    query = {"query": {"exists": {"field": "logferry.unserializable.field"}}, "size": 100}
    return [h["_source"] for h in chain.search(f"{prefix}-*/_search", query)["hits"]["hits"]]


@pytest.mark.parametrize("name", list(FORMATS))
def test_a_poison_value_ships_as_its_lines_error_document(
    chain: Chain, run_id: str, name: str, group: str, prefix: str
) -> None:
    began = time.monotonic()
    poisoned = _poison(chain, name, run_id)
    uri = chain.put(poisoned.key, gzip.compress(poisoned.body, mtime=0))
    env = {
        "LOG_FORMAT": name,
        "SINKS": "search,cloudwatch",
        "INDEX_PREFIX": prefix,
        "LOG_GROUP": group,
    }
    function = _variant(chain, "access_log_to_search", f"poison_{name}", env)
    _invoke(chain, function, _s3_event(chain, poisoned.key))
    summaries = chain.wait_summaries(function, uri, 1, TIMEOUT)
    time.sleep(2.0)  # a failed invocation would be retried: give a retry time to show
    summaries = [s for s in chain.summaries(function) if s["object"] == uri]
    summary = summaries[-1]
    documents = summary["documents"]
    docs, writes = _index_stats(chain, f"{prefix}-*")
    events = list(chain.log_events(group)) if summary["shipped"]["cloudwatch"] else []
    parked = _parked_for(chain, uri)
    shipped = docs + len(events)
    dup_search = writes - summary["shipped"]["search"]
    dup_cwl = len(events) - summary["shipped"]["cloudwatch"]
    print(
        f"\nFAULT poison_{name}: in={2 * documents} shipped={shipped} parked={parked} "
        f"dup_search={dup_search} dup_cwl={dup_cwl} seconds={time.monotonic() - began:.1f}"
    )
    assert len(summaries) == 1 and not summary["error"], summaries
    assert summary["next_offset"] is None and summary["parse_errors"] >= 1
    assert summary["records"] >= 2 and documents >= summary["records"] - summary["skipped"]
    assert summary["parked"] == parked, "every failure the summary counts is in the quarantine"
    assert 2 * documents == shipped + parked, "in = shipped + parked over both sinks"
    assert docs == summary["shipped"]["search"] and dup_search == 0, "one write per document"
    assert dup_cwl == 0, "no event twice in the log group"
    errors = _error_docs(chain, prefix)
    assert len(errors) == 1, errors
    error = errors[0]
    assert error["log"]["file"]["path"] == uri and error["event"]["kind"] == "pipeline_error"
    assert "the serializer refuses field" in error["error"]["message"]
    bad = error["logferry"]["unserializable"][0]
    if HUGE in poisoned.line:  # a text line: one line, one document, the raw line kept
        assert bad["reason"] == "integer beyond 64 bits" and abs(int(bad["value"])) >= 2**64
        assert error["message"] == poisoned.line.decode()
    else:
        assert "\ufffd" in bad["value"] and bad["reason"] == "text with a lone surrogate"
