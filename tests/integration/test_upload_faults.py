"""Issues #5 and #16: the presigned upload path when things go wrong, with a 50 MB log, one
server asking for another's key, and a serverlog upload handed on across continuations.

Everything runs over real HTTP: the presign API behind the local gateway, the emulator's S3
(whose presign guard enforces expiry, signature and checksum as S3 does), the real
``scripts/log2aws.sh`` and curl, and ``serverlog_to_csv`` writing the CSV and graph.
Run: .venv/bin/pytest tests/integration/test_upload_faults.py  (starts the stack if needed).
"""

from __future__ import annotations

import base64
import collections
import gzip
import hashlib
import hmac
import http.client
import itertools
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from test_chain_faults import _invoke, _s3_event, _variant  # sibling module, on sys.path

from logferry.local.chain import Chain
from logferry.local.endpoints import boto3_client, wait_for
from logferry.samples.serverlog import serverlog_lines
from logferry.upload import SIGNATURE_VERSION

pytestmark = pytest.mark.e2e
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "log2aws.sh"
BIG_BYTES = 50 * 2**20
BODY = b"2024-03-09 00:00:01 up 45 days, 20:04, 1 user, load average: 0.10, 0.20, 0.30 1 0\n"
EX_UPLOAD = 5  # log2aws.sh: upload failed (PUT refused, checksum mismatch, retries exhausted)


def sha256_b64(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


EX_REFUSED = 4  # log2aws.sh: the API refused (4xx)
_KEYS: dict[str, str] = {}


def server_key(chain: Chain, server: str) -> str:
    """``server``'s upload key (hex), stored once as its secret in the emulator."""
    if server not in _KEYS:
        lam = boto3_client("lambda", chain.endpoints)
        config = lam.get_function_configuration(FunctionName=chain.deployment.upload_function)
        prefix = config["Environment"]["Variables"]["SERVER_KEY_PREFIX"]
        key = secrets.token_hex(32)
        boto3_client("secretsmanager", chain.endpoints).create_secret(
            Name=f"{prefix}{server}", SecretString=key
        )
        _KEYS[server] = key
    return _KEYS[server]


def signed_query(server: str, body: bytes, day: date, key: str, gzip_flag: bool = False) -> str:
    """The API's query string for ``body``, signed with ``key`` as log2aws.sh signs it."""
    sha_hex, ts = hashlib.sha256(body).hexdigest(), int(time.time())
    fields = [SIGNATURE_VERSION, server, day.isoformat(), "1" if gzip_flag else "0"]
    message = "\n".join([*fields, str(len(body)), sha_hex, str(ts)]).encode()
    signature = hmac.new(bytes.fromhex(key), message, hashlib.sha256).hexdigest()
    query = {"server": server, "date": day.isoformat(), "size": len(body), "sha256": sha_hex}
    if gzip_flag:
        query["gzip"] = "1"
    return urllib.parse.urlencode({**query, "ts": ts, "signature": signature})


def api_get(chain: Chain, query: str) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of the upload API for ``query``."""
    try:
        with urllib.request.urlopen(f"{chain.deployment.upload_api_url}?{query}", timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def upload_url(chain: Chain, server: str, body: bytes, day: date | None = None) -> dict[str, Any]:
    """The API's answer for one day's log of ``server`` (signed with its key), bound to
    ``body``'s length and SHA-256."""
    query = signed_query(server, body, day or datetime.now(UTC).date(), server_key(chain, server))
    status, answer = api_get(chain, query)
    assert status == 200, answer
    return answer


def put(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """PUT ``body`` to a presigned URL; (status, S3's error code or "")."""
    # An explicit type: urllib would send a form type, and moto would parse the form.
    headers = {**headers, "Content-Type": "text/plain"}
    request = urllib.request.Request(url, data=body, headers=headers, method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, ""
    except urllib.error.HTTPError as refused:
        return refused.code, error_code(refused.read())


def error_code(xml: bytes) -> str:
    return xml.split(b"<Code>", 1)[-1].split(b"</Code>", 1)[0].decode()


def absent(chain: Chain, key: str, bucket: str | None = None) -> bool:
    """True if ``bucket`` (the raw bucket by default) has no object ``key``."""
    try:
        chain.s3.head_object(Bucket=bucket or chain.deployment.raw_bucket, Key=key)
    except ClientError as error:
        return error.response["Error"]["Code"] in ("404", "NoSuchKey")
    return False


@contextmanager
def url_ttl(chain: Chain, seconds: int) -> Iterator[None]:
    """The deployed upload function hands out ``seconds``-long URLs, restored afterwards."""
    lam = boto3_client("lambda", chain.endpoints)
    name = chain.deployment.upload_function
    env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    short = {**env, "URL_TTL_SECONDS": str(seconds)}
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": short})
    try:
        yield
    finally:
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": env})


def wait_past_expiry(url: str) -> None:
    """Sleep until the URL's X-Amz-Date + X-Amz-Expires has passed (plus a second)."""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    signed = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    deadline = signed.timestamp() + int(query["X-Amz-Expires"]) + 1
    time.sleep(max(0.0, deadline - time.time()))


def run_log2aws(
    chain: Chain,
    server: str,
    day: date,
    logs: Path,
    tmp: Path,
    path: str | None = None,
    key_of: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """The real scripts/log2aws.sh, as cron runs it, against the deployed API (plain HTTP,
    so with LOG2AWS_INSECURE_HTTP=1), holding ``key_of``'s key (default: ``server``'s)."""
    key_file = tmp / f"{key_of or server}.key"
    key_file.write_text(server_key(chain, key_of or server) + "\n")
    env = {
        "PATH": path or os.environ["PATH"],
        "LOG2AWS_API_URL": chain.deployment.upload_api_url,
        "LOG2AWS_LOG_DIR": str(logs),
        "LOG2AWS_SERVER": server,
        "LOG2AWS_LOCK_FILE": str(tmp / "log2aws.lock"),
        "LOG2AWS_RETRIES": "2",
        "LOG2AWS_BACKOFF": "1",
        "LOG2AWS_KEY_FILE": str(key_file),
        "LOG2AWS_INSECURE_HTTP": "1",
    }
    return subprocess.run(
        ["bash", str(SCRIPT), "--date", day.isoformat()],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def slow_put_curl(folder: Path) -> str:
    """A PATH whose ``curl`` starts every PUT 3 s late (a slow link), then runs the real curl."""
    real = shutil.which("curl")
    assert real, "curl is not installed"
    folder.mkdir()
    shim = folder / "curl"
    shim.write_text(f'#!/bin/sh\ncase " $* " in *" -X PUT "*) sleep 3 ;; esac\nexec {real} "$@"\n')
    shim.chmod(0o755)
    return f"{folder}:{os.environ['PATH']}"


def test_an_expired_url_is_refused_and_log2aws_exits_5(
    chain: Chain, run_id: str, tmp_path: Path
) -> None:
    server = f"late-{run_id}"
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / f"{yesterday.isoformat()}.log").write_bytes(BODY)
    with url_ttl(chain, 1):
        answer = upload_url(chain, server, BODY)
        assert answer["expires_in"] == 1
        wait_past_expiry(answer["url"])
        assert put(answer["url"], BODY, answer["headers"]) == (403, "AccessDenied")
        run = run_log2aws(
            chain, server, yesterday, logs, tmp_path, path=slow_put_curl(tmp_path / "bin")
        )
    assert absent(chain, answer["key"])
    assert run.returncode == EX_UPLOAD, run.stderr
    assert "HTTP 403" in run.stderr and "Request has expired" in run.stderr
    assert absent(chain, f"{chain.deployment.upload_prefix}{server}/{yesterday.isoformat()}.log.gz")


def test_a_url_reused_for_another_key_is_refused(chain: Chain, run_id: str) -> None:
    answer = upload_url(chain, f"a-{run_id}", BODY)
    other_key = answer["key"].replace(f"a-{run_id}", f"b-{run_id}")
    reused = answer["url"].replace(answer["key"], other_key)
    assert reused != answer["url"]
    assert put(reused, BODY, answer["headers"]) == (403, "SignatureDoesNotMatch")
    assert absent(chain, other_key)
    assert absent(chain, answer["key"])


def put_short(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """Declare ``len(body)`` bytes, send half of them and close the sending side."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    try:
        connection.putrequest("PUT", f"{parts.path}?{parts.query}")
        for name, value in {**headers, "Content-Type": "text/plain"}.items():
            connection.putheader(name, value)
        connection.endheaders()
        connection.send(body[: len(body) // 2])
        assert connection.sock is not None
        connection.sock.shutdown(socket.SHUT_WR)
        reply = connection.getresponse()
        return reply.status, error_code(reply.read())
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("same length, other bytes", (400, "BadDigest")),
        ("one byte longer", (403, "SignatureDoesNotMatch")),  # Content-Length is signed
        ("half the declared length", (400, "IncompleteBody")),
    ],
)
def test_a_tampered_body_is_refused(
    chain: Chain, run_id: str, case: str, expected: tuple[int, str]
) -> None:
    server = f"tamper-{run_id}-{case.split()[0]}"
    answer = upload_url(chain, server, BODY)
    assert answer["headers"]["x-amz-checksum-sha256"] == sha256_b64(BODY)
    if case == "half the declared length":
        assert put_short(answer["url"], BODY, answer["headers"]) == expected
    else:
        tampered = BODY.replace(b"0.10", b"9.90") if case.startswith("same") else BODY + b"\n"
        headers = {k: v for k, v in answer["headers"].items() if k != "Content-Length"}
        assert put(answer["url"], tampered, headers) == expected
    assert absent(chain, answer["key"])


def big_log(day: date, size: int) -> tuple[bytes, int]:
    """At least ``size`` bytes of load lines for ``day`` and their count: 16 different days'
    worth at one line a minute (each its own random walk), repeated (generating 50 MB of
    distinct lines would take longer than the upload)."""
    lines = [line for seed in range(16) for line in serverlog_lines(day, step_minutes=1, seed=seed)]
    block = ("\n".join(lines) + "\n").encode()
    copies = -(-size // len(block))
    return block * copies, len(lines) * copies


def test_a_50_mb_log_uploads_intact_and_becomes_csv_and_graph(
    chain: Chain, run_id: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    d = chain.deployment
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    body, lines = big_log(yesterday, BIG_BYTES)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / f"{yesterday.isoformat()}.log").write_bytes(body)
    server = f"big-{run_id}"
    began = time.monotonic()
    run = run_log2aws(chain, server, yesterday, logs, tmp_path)
    uploaded = time.monotonic() - began
    assert run.returncode == 0, run.stderr
    key = f"{d.upload_prefix}{server}/{yesterday.isoformat()}.log.gz"
    stored = chain.s3.get_object(Bucket=d.raw_bucket, Key=key)["Body"].read()
    sent = re.search(r"uploaded .* sha256=([0-9a-f]{64})", run.stderr)
    assert sent, run.stderr
    assert hashlib.sha256(stored).hexdigest() == sent[1]  # the checksum the URL was bound to
    assert hashlib.sha256(gzip.decompress(stored)).digest() == hashlib.sha256(body).digest()
    graph = f"{server}/{yesterday.isoformat()}.svg"  # written once the CSV is complete
    wait_for(
        lambda: chain.s3.head_object(Bucket=d.analyzed_bucket, Key=graph),
        timeout=420,
        interval=3.0,
        what=f"s3://{d.analyzed_bucket}/{graph}",
    )
    converted = time.monotonic() - began
    csv = chain.s3.get_object(Bucket=d.analyzed_bucket, Key=f"{server}/{yesterday}.csv")
    assert len(csv["Body"].read().splitlines()) - 1 == lines
    svg = chain.s3.get_object(Bucket=d.analyzed_bucket, Key=graph)["Body"].read()
    assert b"<svg" in svg
    assert absent(chain, f"{server}/{yesterday}.rejects.csv", d.analyzed_bucket)
    print(
        f"\n50 MB log ({lines} lines, {len(stored) / 2**20:.1f} MiB gzip): log2aws.sh took "
        f"{uploaded:.1f}s, CSV + graph after {converted:.1f}s"
    )
    figures["upload_50mb"] = {
        "lines": lines,
        "bytes": len(body),
        "gzip_bytes": len(stored),
        "log2aws_seconds": round(uploaded, 1),
        "csv_and_graph_seconds": round(converted, 1),
    }


def fault_line(name: str, records_in: int, shipped: int, parked: int, began: float) -> None:
    """The issue's result line (no search or CloudWatch sink here: their duplicates are 0)."""
    print(
        f"\nFAULT {name}: in={records_in} shipped={shipped} parked={parked} dup_search=0 "
        f"dup_cwl=0 seconds={time.monotonic() - began:.1f}"
    )


def csv_rows(chain: Chain, key: str) -> list[list[str]]:
    """The data rows (header dropped) of a CSV in the analyzed bucket."""
    text = chain.s3.get_object(Bucket=chain.deployment.analyzed_bucket, Key=key)["Body"].read()
    return [line.split(",") for line in text.decode().splitlines()[1:]]


def test_one_server_writing_another_servers_key_is_refused(
    chain: Chain, run_id: str, tmp_path: Path
) -> None:
    """web-a holds its own key and asks for web-b's log of the day, through log2aws.sh and
    straight at the API: 403 naming the reason, nothing written; web-b's own upload (sent
    before) stays the only version and its CSV holds its lines once."""
    began = time.monotonic()
    d = chain.deployment
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    victim, intruder = f"web-b-{run_id}", f"web-a-{run_id}"
    server_key(chain, intruder)
    own = "".join(f"{line}\n" for line in serverlog_lines(yesterday, seed=1))
    forged = "".join(f"{line}\n" for line in serverlog_lines(yesterday, seed=2))
    for who, text in ((victim, own), (intruder, forged)):
        (tmp_path / who).mkdir()
        (tmp_path / who / f"{yesterday.isoformat()}.log").write_text(text)
    sent = run_log2aws(chain, victim, yesterday, tmp_path / victim, tmp_path)
    assert sent.returncode == 0, sent.stderr
    key = f"{d.upload_prefix}{victim}/{yesterday.isoformat()}.log.gz"
    stored = chain.s3.head_object(Bucket=d.raw_bucket, Key=key)

    refused = run_log2aws(chain, victim, yesterday, tmp_path / intruder, tmp_path, key_of=intruder)
    assert refused.returncode == EX_REFUSED, refused.stderr
    assert "HTTP 403" in refused.stderr and '"code": "bad_signature"' in refused.stderr
    assert f"signature does not match server '{victim}''s key" in refused.stderr
    body = gzip.compress(forged.encode())
    query = signed_query(victim, body, yesterday, server_key(chain, intruder), gzip_flag=True)
    status, answer = api_get(chain, query)
    assert (status, answer["code"]) == (403, "bad_signature") and "url" not in answer
    unsigned = urllib.parse.urlencode({"server": victim, "date": yesterday.isoformat()})
    status, answer = api_get(chain, f"{unsigned}&gzip=1&sha256={hashlib.sha256(body).hexdigest()}")
    assert (status, answer["code"]) == (400, "missing_size")
    assert "query parameter 'size' is required" in answer["error"]

    versions = chain.s3.list_object_versions(Bucket=d.raw_bucket, Prefix=key).get("Versions", [])
    assert [(v["Key"], v["ETag"]) for v in versions] == [(key, stored["ETag"])], "nothing written"
    assert stored.get("VersionId") not in (None, "null"), "the raw bucket is versioned"
    graph = f"{victim}/{yesterday.isoformat()}.svg"
    wait_for(
        lambda: chain.s3.head_object(Bucket=d.analyzed_bucket, Key=graph),
        timeout=180,
        interval=2.0,
        what=f"s3://{d.analyzed_bucket}/{graph}",
    )
    rows = csv_rows(chain, f"{victim}/{yesterday.isoformat()}.csv")
    lines = own.count("\n")
    assert sorted(r[0] for r in rows) == sorted(line.split(" up ")[0] for line in own.splitlines())
    assert len(rows) == lines
    fault_line("one server writing another's key", lines, len(rows), 0, began)


def continued_serverlog(days: int, day: date) -> tuple[bytes, int]:
    """``days`` days of one-a-minute load lines (every line's time distinct), gzip, and the
    line count."""
    lines = [
        line
        for back in range(days)
        for line in serverlog_lines(day - timedelta(days=back), step_minutes=1, seed=back)
    ]
    return gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1), len(lines)


def test_a_continued_serverlog_upload_lands_every_line_once(
    chain: Chain, run_id: str, figures: dict[str, Any]
) -> None:
    """A serverlog upload through a copy of serverlog_to_csv with a 10 s timeout and
    RESERVE_SECONDS=7: the object is handed on several times; the CSV holds every line once,
    the graph is written, the summaries add up."""
    began = time.monotonic()
    d = chain.deployment
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    server = f"cont-{run_id}"
    body, lines = continued_serverlog(100, yesterday)
    key = f"faults/uploads/{server}/{yesterday.isoformat()}.log.gz"  # no trigger watches faults/
    chain.s3.put_object(Bucket=d.raw_bucket, Key=key, Body=body)
    uri = f"s3://{d.raw_bucket}/{key}"
    function = _variant(
        chain, "serverlog_to_csv", "faults_serverlog", {"RESERVE_SECONDS": "7"}, timeout=10
    )
    _invoke(chain, function, _s3_event(chain, key))

    def done() -> list[dict[str, Any]] | None:
        found = sorted(
            (s for s in chain.summaries(function) if s["object"] == uri),
            key=lambda s: int(s["start_offset"]),
        )
        return found if found and found[-1]["next_offset"] is None else None

    summaries = wait_for(done, timeout=300, interval=2.0, what=f"the last part of {uri}")
    assert len(summaries) >= 2, "at least one continuation"
    assert summaries[0]["start_offset"] == 0
    for before, after in itertools.pairwise(summaries):
        assert before["next_offset"] == after["start_offset"], "hand-offs chain exactly"
    assert not [line for line in chain.function_log(function) if "Task timed out" in line]
    assert all(not s["error"] and s["parked"] == 0 for s in summaries)
    assert sum(s["records"] for s in summaries) == lines
    shipped = sum(s["shipped"]["csv"] for s in summaries)
    assert shipped == lines, "the summaries count each line once"

    base = f"{server}/{yesterday.isoformat()}"
    rows = csv_rows(chain, f"{base}.csv")
    times = collections.Counter(row[0] for row in rows)
    duplicated = sum(n - 1 for n in times.values())
    assert (len(rows), len(times), duplicated) == (lines, lines, 0), "every line once"
    graph = chain.s3.get_object(Bucket=d.analyzed_bucket, Key=f"{base}.svg")["Body"].read()
    assert b"<svg" in graph
    assert absent(chain, f"{base}.rejects.csv", d.analyzed_bucket)
    fault_line("a continued serverlog upload", lines, shipped, 0, began)
    print(f"  {len(summaries)} invocations, offsets {[s['start_offset'] for s in summaries]}")
    figures["faults_serverlog_continued"] = {"lines": lines, "invocations": len(summaries)}
    chain.s3.delete_object(Bucket=d.raw_bucket, Key=key)
