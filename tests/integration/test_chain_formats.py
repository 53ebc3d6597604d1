"""Every format through the deployed chain, driven only from its edges (S3 in; logs, search out).

Run: .venv/bin/pytest tests/integration/test_chain_formats.py  (starts the stack if needed).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_upload_faults import server_key, signed_query  # sibling module: signed requests

from logferry.demo import SampleObject, alb_object, csv_key, csv_rows, sample_objects
from logferry.local.chain import Chain
from logferry.local.endpoints import boto3_client, wait_for

pytestmark = pytest.mark.e2e
TIMEOUT = 120.0


@pytest.fixture(scope="module")
def samples(chain: Chain, run_id: str) -> dict[str, SampleObject]:
    """One object per format, put in the raw bucket at once (the chain runs them in parallel)."""
    found = {s.name: s for s in sample_objects(chain.deployment, run_id, datetime.now(UTC), 300)}
    for sample in found.values():
        chain.put(sample.key, sample.body)
    return found


def _uri(chain: Chain, sample: SampleObject) -> str:
    return sample.uri(chain.deployment.raw_bucket)


def assert_in_search(chain: Chain, sample: SampleObject) -> None:
    """Exactly one document per line, none an error document, all from this object."""
    query = chain.source_query(_uri(chain, sample), sample.dataset)
    chain.wait_count(query, sample.lines, TIMEOUT, what=f"{sample.name} documents")
    errors = {"bool": {"filter": [query], "must": [{"exists": {"field": "error.message"}}]}}
    assert chain.count(errors) == 0
    hit = chain.hits(query, size=1)[0]
    assert hit["event"]["dataset"] == sample.dataset
    assert hit["log"]["file"]["path"] == _uri(chain, sample)
    assert hit["@timestamp"].startswith(str(datetime.now(UTC).year))


def test_alb_reaches_cloudwatch_logs_and_search(
    chain: Chain, samples: dict[str, SampleObject]
) -> None:
    alb = samples["alb"]
    assert_in_search(chain, alb)
    group = chain.deployment.alb_log_group
    wait_for(
        lambda: chain.count_log_events(group, alb.marker) == alb.lines,
        timeout=TIMEOUT,
        what=f"{alb.lines} ALB events in {group}",
    )
    events = list(chain.log_events(group, f'"{alb.marker}"'))
    family = alb.key.rsplit("/", 1)[0]
    assert {e["logStreamName"] for e in events} == {family}
    assert {e["message"] for e in events} == set(gzip.decompress(alb.body).decode().splitlines())
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)
    hit = chain.hits(chain.source_query(_uri(chain, alb), alb.dataset), 1)[0]
    assert hit["http"]["response"]["status_code"] >= 100
    assert hit["aws"]["elb"]["name"].startswith(alb.marker.removesuffix("/"))
    assert "message" not in hit, "a parsed ALB line's raw text is in CloudWatch Logs, not search"


def test_firehose_cwl_object_without_suffix_reaches_search(
    chain: Chain, samples: dict[str, SampleObject]
) -> None:
    cwl = samples["cwl"]
    assert "." not in cwl.key.rsplit("/", 1)[1]
    assert_in_search(chain, cwl)
    hit = chain.hits(chain.source_query(_uri(chain, cwl), cwl.dataset), 1)[0]
    assert hit["aws"]["cloudwatch"]["log_group"] == "/ecs/web-api"


@pytest.mark.parametrize("name", ["nginx", "apigw"])
def test_log_sources_access_logs_reach_search(
    chain: Chain, samples: dict[str, SampleObject], name: str
) -> None:
    """nginx and API Gateway logs: the stack's log_sources functions (SINKS=search)."""
    assert_in_search(chain, samples[name])


def test_access_logs_reach_search_with_per_minute_status_counts(
    chain: Chain, samples: dict[str, SampleObject]
) -> None:
    sample = samples["apache"]
    assert_in_search(chain, sample)
    counts_query = chain.source_query(_uri(chain, sample), f"{sample.dataset}.status_counts")
    wait_for(lambda: chain.count(counts_query) > 0, timeout=TIMEOUT, what="status_counts")
    counts = chain.hits(counts_query, size=1000)
    assert sum(doc["status_counts"]["count"] for doc in counts) == sample.lines
    minutes = {doc["status_counts"]["minute"] for doc in counts}
    assert all(minute % 60_000 == 0 for minute in minutes)


def test_serverlog_upload_becomes_csv_and_graph(
    chain: Chain, samples: dict[str, SampleObject]
) -> None:
    sample = samples["serverlog"]
    d = chain.deployment
    wait_for(
        lambda: csv_rows(chain, csv_key(sample, d)) == sample.lines,
        timeout=TIMEOUT,
        what=f"{sample.lines} CSV rows",
    )
    graph = csv_key(sample, d, ".svg")  # written after the CSV is complete
    svg = wait_for(
        lambda: chain.s3.get_object(Bucket=d.analyzed_bucket, Key=graph)["Body"].read(),
        timeout=30,
        what=f"s3://{d.analyzed_bucket}/{graph}",
    )
    assert svg.lstrip().startswith((b"<svg", b"<?xml"))


def test_upload_url_through_the_local_api_gateway(chain: Chain, run_id: str) -> None:
    """GET a presigned URL over HTTP, PUT the day's log to it, and the CSV appears."""
    d = chain.deployment
    day = datetime.now(UTC).date()
    server = f"web-{run_id}"
    body = next(s for s in sample_objects(d, run_id, datetime.now(UTC), 10) if s.dataset is None)
    query = signed_query(server, body.body, day, server_key(chain, server))
    with urllib.request.urlopen(f"{d.upload_api_url}?{query}", timeout=60) as response:
        assert response.status == 200
        answer = json.loads(response.read())
    assert answer["key"] == f"{d.upload_prefix}{server}/{day.isoformat()}.log"
    # An explicit type: urllib would send a form type, and the emulator would parse the form.
    headers = {**answer["headers"], "Content-Type": "text/plain"}
    put = urllib.request.Request(answer["url"], data=body.body, headers=headers, method="PUT")
    with urllib.request.urlopen(put, timeout=30) as response:
        assert response.status == 200
    stored = chain.s3.get_object(Bucket=d.raw_bucket, Key=answer["key"])["Body"].read()
    assert stored == body.body
    uploaded = SampleObject("upload", answer["key"], body.body, body.lines, "", None)
    wait_for(
        lambda: csv_rows(chain, csv_key(uploaded, d)) == body.lines,
        timeout=TIMEOUT,
        what="the uploaded log's CSV",
    )


def test_log2aws_script_uploads_through_the_gateway(
    chain: Chain, run_id: str, tmp_path: Path
) -> None:
    """The real scripts/log2aws.sh, as cron runs it: yesterday's log -> gzip -> CSV + graph."""
    d = chain.deployment
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    body = next(s for s in sample_objects(d, run_id, datetime.now(UTC), 50) if s.dataset is None)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / f"{yesterday.isoformat()}.log").write_bytes(body.body)
    server = f"cron-{run_id}"
    key_file = tmp_path / "log2aws.key"
    key_file.write_text(server_key(chain, server))
    env = {
        "PATH": os.environ["PATH"],
        "LOG2AWS_API_URL": d.upload_api_url,
        "LOG2AWS_LOG_DIR": str(logs),
        "LOG2AWS_SERVER": server,
        "LOG2AWS_LOCK_FILE": str(tmp_path / "log2aws.lock"),
        "LOG2AWS_BACKOFF": "1",
        "LOG2AWS_KEY_FILE": str(key_file),
        "LOG2AWS_INSECURE_HTTP": "1",  # the local gateway is plain HTTP
    }
    script = Path(__file__).resolve().parents[2] / "scripts" / "log2aws.sh"
    run = subprocess.run(
        ["bash", str(script), "--date", yesterday.isoformat()],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    key = f"{d.upload_prefix}{server}/{yesterday.isoformat()}.log.gz"
    stored = chain.s3.get_object(Bucket=d.raw_bucket, Key=key)["Body"].read()
    assert gzip.decompress(stored) == body.body
    uploaded = SampleObject("cron", key, stored, body.lines, "", None)
    wait_for(
        lambda: csv_rows(chain, csv_key(uploaded, d)) == body.lines,
        timeout=TIMEOUT,
        what="the CSV of the log log2aws.sh uploaded",
    )
    svg = wait_for(
        lambda: chain.s3.get_object(Bucket=d.analyzed_bucket, Key=csv_key(uploaded, d, ".svg"))[
            "Body"
        ].read(),
        timeout=30,
        what="the load graph of the uploaded log",
    )
    assert b"<svg" in svg


def _refusal(url: str) -> tuple[int, str]:
    """(HTTP status, the JSON body's ``code``) of a request the API must refuse."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=60)
    return refused.value.code, json.loads(refused.value.read())["code"]


def _days_from_today(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"date": "1999-01-01"}, "missing_server"),
        ({"server": "web 01", "date": "1999-01-01"}, "invalid_server"),
        ({"server": "..", "date": "1999-01-01"}, "invalid_server"),
        ({"server": "a" * 65, "date": "1999-01-01"}, "invalid_server"),
        ({"server": "web01"}, "missing_date"),
        ({"server": "web01", "date": "yesterday"}, "invalid_date"),
        ({"server": "web01", "date": "2025-02-30"}, "invalid_date"),
        ({"server": "web01", "date": "1999-01-01"}, "date_too_old"),
        ({"server": "web01", "date": "+2"}, "future_date"),
    ],
)
def test_upload_url_refuses_a_bad_request_with_400(
    chain: Chain, query: dict[str, str], code: str
) -> None:
    if query.get("date") == "+2":
        query = {**query, "date": _days_from_today(2)}
    url = f"{chain.deployment.upload_api_url}?{urllib.parse.urlencode(query)}"
    assert _refusal(url) == (400, code)


def test_upload_url_refuses_a_caller_outside_the_allowlist_with_403(
    chain: Chain, run_id: str
) -> None:
    """The allowlist lives in SSM: without 127.0.0.1 in it, the local caller gets a 403."""
    d = chain.deployment
    lam = boto3_client("lambda", chain.endpoints)
    ssm = boto3_client("ssm", chain.endpoints)
    name = d.upload_function
    env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    allowed = ssm.get_parameter(Name=d.allowlist_param)["Parameter"]["Value"]
    server, day = f"allow-{run_id}", datetime.now(UTC).date() - timedelta(days=1)
    url = f"{d.upload_api_url}?{signed_query(server, b'x', day, server_key(chain, server))}"
    ssm.put_parameter(Name=d.allowlist_param, Value="10.0.0.0/8", Type="StringList", Overwrite=True)
    fresh = {**env, "ALLOWLIST_TTL_SECONDS": "1"}  # a new environment: no cached old list
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": fresh})
    try:
        assert _refusal(url) == (403, "ip_not_allowed")
    finally:
        ssm.put_parameter(Name=d.allowlist_param, Value=allowed, Type="StringList", Overwrite=True)
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": env})
    with urllib.request.urlopen(url, timeout=60) as reply:
        assert reply.status == 200 and json.loads(reply.read())["url"]


@pytest.mark.parametrize("name", ["日本語 ログ", "a+b c+d"])
def test_unicode_and_plus_in_keys(chain: Chain, run_id: str, name: str) -> None:
    """S3 URL-encodes keys in notifications ('+' is a literal plus, ' ' becomes '+')."""
    d = chain.deployment
    lb_name = f"{run_id}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"
    sample = alb_object(d, lb_name, 50, datetime.now(UTC))
    folder, _, file = sample.key.rpartition("/")
    key = f"{folder}/{name}/{file}"
    chain.put(key, sample.body)
    uri = f"s3://{d.raw_bucket}/{key}"
    chain.wait_count(chain.source_query(uri, "aws.alb"), 50, TIMEOUT, what=f"documents of {key}")
    group = d.alb_log_group
    wait_for(
        lambda: chain.count_log_events(group, sample.marker) == 50,
        timeout=TIMEOUT,
        what=f"50 events of {key} in {group}",
    )
