"""scripts/log2aws.sh run for real against a local fake of the upload API and S3.

The fake API answers with the real ``logferry.upload.handle`` (presigning against the fake's
own address); the fake S3 checks what real S3 checks on such a PUT: every signed header is
present and ``x-amz-checksum-sha256`` matches the body (else 400 BadDigest).
"""

from __future__ import annotations

import base64
import fcntl
import gzip
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from logferry import upload

SCRIPT = Path(__file__).parents[2] / "scripts" / "log2aws.sh"
YESTERDAY = date.today() - timedelta(days=1)
KEYS = {"web01": "5e" * 32, "web02": "a7" * 32}
"""The servers' upload keys (the fake's Secrets Manager)."""
LOG_TEXT = b"2019-08-01 00:00:01 up 45 days, 20:04, 1 user, load average: 25.06, 22.63, 21.70\n"

if shutil.which("curl") is None:  # fail loudly: the script needs curl and so do its tests
    raise RuntimeError("curl is not installed (apt-get install -y curl)")


@dataclass
class FakeCloud:
    """State shared by the fake API and fake S3."""

    s3: Any
    allow: str = "127.0.0.0/8"
    api_statuses: list[int] = field(default_factory=list)  # forced answers, consumed in order
    put_statuses: list[int] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    objects: dict[str, tuple[bytes, dict[str, str]]] = field(default_factory=dict)

    def api(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.api_statuses:
            return self.api_statuses.pop(0), {"error": "forced", "code": "forced"}
        settings = upload.Settings(
            raw_bucket="raw-bucket", allowlist_param="unused", server_key_prefix="unused/"
        )
        response = upload.handle(
            upload.ApiRequest("GET", "127.0.0.1", query, "test"),
            settings=settings,
            s3_client=self.s3,
            allowlist=upload.AllowlistCache(lambda: self.allow),
            keys=upload.ServerKeys(KEYS.get),
        )
        return response.status, response.body

    def put(self, path: str, query: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        if self.put_statuses:
            return self.put_statuses.pop(0), "<Error><Code>Forced</Code></Error>"
        signed = parse_qs(query)["X-Amz-SignedHeaders"][0].split(";")
        missing = [h for h in signed if h not in headers]
        if missing:
            return 403, f"<Error><Code>SignatureDoesNotMatch</Code>{missing}</Error>"
        declared = headers.get("x-amz-checksum-sha256")
        actual = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if declared is not None and declared != actual:
            return 400, "<Error><Code>BadDigest</Code></Error>"
        self.objects[path.removeprefix("/raw-bucket/")] = (body, headers)
        return 200, ""


@dataclass
class Current:
    """The FakeCloud the running server answers for (a fresh one per test)."""

    cloud: FakeCloud | None = None

    def get(self) -> FakeCloud:
        assert self.cloud is not None
        return self.cloud


def make_server(current: Current) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # answers curl's "Expect: 100-continue" at once

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def reply(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            current.get().requests.append(("GET", url.path))
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            status, body = current.get().api(query)
            self.reply(status, json.dumps(body).encode())

        def do_PUT(self) -> None:
            url = urlsplit(self.path)
            current.get().requests.append(("PUT", url.path))
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, text = current.get().put(url.path, url.query, headers, body)
            etag = {"ETag": f'"{hashlib.md5(body).hexdigest()}"'} if status == 200 else {}
            self.reply(status, text.encode(), etag)

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Current, str]]:
    current = Current()
    httpd = make_server(current)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield current, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def s3_client(server: tuple[Current, str]) -> Any:
    """Presigns URLs that point at the fake server (path style)."""
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=server[1],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


@pytest.fixture
def cloud(server: tuple[Current, str], s3_client: Any) -> FakeCloud:
    server[0].cloud = FakeCloud(s3=s3_client)
    return server[0].cloud


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def env(tmp_path: Path, server: tuple[Current, str]) -> dict[str, str]:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / f"{YESTERDAY.isoformat()}.log").write_bytes(LOG_TEXT)
    key_file = tmp_path / "log2aws.key"
    key_file.write_text(f"# web01's upload key\n{KEYS['web01']}\n")
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TMPDIR": str(tmp_path),
        "LOG2AWS_API_URL": f"{server[1]}/api",
        "LOG2AWS_LOG_DIR": str(logs),
        "LOG2AWS_SERVER": "web01",
        "LOG2AWS_BACKOFF": "0",
        "LOG2AWS_RETRIES": "3",
        "LOG2AWS_TIMEOUT": "5",
        "LOG2AWS_LOCK_FILE": str(tmp_path / "log2aws.lock"),
        "LOG2AWS_KEY_FILE": str(key_file),
        "LOG2AWS_INSECURE_HTTP": "1",  # the fake API and S3 are plain HTTP
    }


def run(env: dict[str, str], *args: str) -> Run:
    proc = subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,  # as from cron: no TTY
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def test_happy_path_uploads_gzip_with_checksum(cloud: FakeCloud, env: dict[str, str]) -> None:
    result = run(env)
    assert result.code == 0, result.stderr
    key = f"web01/{YESTERDAY.isoformat()}.log.gz"
    body, headers = cloud.objects[key]
    assert gzip.decompress(body) == LOG_TEXT
    assert (
        headers["x-amz-checksum-sha256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
    )
    assert headers["content-length"] == str(len(body))
    assert f"key={key}" in result.stderr and "uploaded" in result.stderr
    assert f"etag={hashlib.md5(body).hexdigest()}" in result.stderr
    assert "warning" not in result.stderr
    assert [m for m, _ in cloud.requests] == ["GET", "PUT"]


def test_resend_a_day_with_config_file_and_name_pattern(
    cloud: FakeCloud, env: dict[str, str], tmp_path: Path
) -> None:
    day = YESTERDAY - timedelta(days=3)
    (Path(env["LOG2AWS_LOG_DIR"]) / day.strftime("%Y%m%d.log")).write_bytes(b"old day\n")
    conf = tmp_path / "log2aws.conf"
    conf.write_text(
        f'# comment\nLOG2AWS_LOG_NAME="%Y%m%d.log"\nLOG2AWS_API_URL={env.pop("LOG2AWS_API_URL")}\n'
    )
    result = run(env, "--config", str(conf), "--date", day.isoformat())
    assert result.code == 0, result.stderr
    assert gzip.decompress(cloud.objects[f"web01/{day.isoformat()}.log.gz"][0]) == b"old day\n"


def test_dry_run_uploads_nothing(cloud: FakeCloud, env: dict[str, str]) -> None:
    result = run(env, "--dry-run")
    assert result.code == 0, result.stderr
    assert "dry run" in result.stderr
    assert cloud.requests == [] and cloud.objects == {}


def test_api_refusal_is_exit_4(cloud: FakeCloud, env: dict[str, str]) -> None:
    cloud.allow = "10.0.0.0/8"
    result = run(env)
    assert result.code == 4
    assert "HTTP 403" in result.stderr and "ip_not_allowed" in result.stderr
    assert cloud.objects == {}


def test_another_servers_key_is_refused_with_exit_4(cloud: FakeCloud, env: dict[str, str]) -> None:
    env["LOG2AWS_SERVER"] = "web02"  # web01's key file, web02's name
    result = run(env)
    assert result.code == 4, result.stderr
    assert "HTTP 403" in result.stderr and "bad_signature" in result.stderr
    assert "does not match server 'web02''s key" in result.stderr
    assert [m for m, _ in cloud.requests] == ["GET"] and cloud.objects == {}


def test_a_server_without_a_key_is_refused(cloud: FakeCloud, env: dict[str, str]) -> None:
    env["LOG2AWS_SERVER"] = "web03"
    result = run(env)
    assert result.code == 4
    assert "bad_signature" in result.stderr and cloud.objects == {}


def test_http_is_refused_unless_told(cloud: FakeCloud, env: dict[str, str]) -> None:
    del env["LOG2AWS_INSECURE_HTTP"]
    refused = run(env)
    assert refused.code == 2
    assert "LOG2AWS_API_URL is http://" in refused.stderr
    assert "--insecure-http" in refused.stderr and cloud.requests == []
    allowed = run(env, "--insecure-http")
    assert allowed.code == 0, allowed.stderr
    assert len(cloud.objects) == 1


@pytest.mark.parametrize(("insecure", "code"), [("0", 4), ("1", 0)])
def test_an_http_upload_url_is_refused_unless_told(insecure: str, code: int) -> None:
    """The API's answer is checked too: an http:// upload URL would send the log in clear."""
    shell = (
        f'source <(sed "/^main \\"\\$@\\"/d" {SCRIPT}); LOG2AWS_INSECURE_HTTP={insecure}; '
        'check_scheme "the upload URL" "http://bucket.example/key" 4'
    )
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=False)
    assert proc.returncode == code, proc.stderr
    assert ("the upload URL is http://" in proc.stderr) is (code == 4)


def test_a_malformed_key_file_is_a_config_error(env: dict[str, str]) -> None:
    Path(env["LOG2AWS_KEY_FILE"]).write_text("not-hex\n")
    result = run(env, "--dry-run")
    assert result.code == 2
    assert "the key must be hex digits" in result.stderr


def test_the_script_signs_as_the_service_checks() -> None:
    """hmac_sha256 in bash (printf + sha256sum) gives Python's HMAC-SHA256, NUL bytes too."""
    key, message = "00ff" * 8 + "5c36" * 8, "logferry-upload-v1\nweb01\n2024-03-09\n1\n5\nab\n1"
    shell = f'source <(sed "/^main \\"\\$@\\"/d" {SCRIPT}); hmac_sha256 "$1" "$2"'
    proc = subprocess.run(
        ["bash", "-c", shell, "_", key, message], capture_output=True, text=True, check=True
    )
    expected = hmac.new(bytes.fromhex(key), message.encode(), hashlib.sha256).hexdigest()
    assert proc.stdout.strip() == expected


def test_retries_on_503_then_succeeds(cloud: FakeCloud, env: dict[str, str]) -> None:
    cloud.api_statuses = [503]
    cloud.put_statuses = [500]
    result = run(env)
    assert result.code == 0, result.stderr
    assert result.stderr.count("retry:") == 2
    assert [m for m, _ in cloud.requests] == ["GET", "GET", "PUT", "GET", "PUT"]
    assert len(cloud.objects) == 1


def test_gives_up_after_retries(cloud: FakeCloud, env: dict[str, str]) -> None:
    cloud.api_statuses = [503, 502, 500]
    result = run(env)
    assert result.code == 5
    assert "after 3 attempts" in result.stderr


def test_checksum_mismatch_is_exit_5(
    cloud: FakeCloud, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = cloud.put

    def corrupting(path: str, query: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        return original(path, query, headers, body + b"x")

    monkeypatch.setattr(cloud, "put", corrupting)
    result = run(env)
    assert result.code == 5
    assert "checksum mismatch" in result.stderr


def test_lock_held_is_exit_6(cloud: FakeCloud, env: dict[str, str]) -> None:
    with open(env["LOG2AWS_LOCK_FILE"], "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run(env)
    assert result.code == 6
    assert cloud.requests == []
    assert run(env).code == 0  # released: the next run proceeds


def test_mkdir_lock_without_flock(cloud: FakeCloud, env: dict[str, str], tmp_path: Path) -> None:
    tools = "bash curl gzip sha256sum md5sum base64 od tr sed awk head tail cut wc cat mkdir rm "
    tools += "mktemp date hostname cp sleep grep"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools.split():
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    env["PATH"] = str(bin_dir)
    lock_dir = Path(env["LOG2AWS_LOCK_FILE"] + ".d")
    lock_dir.mkdir()
    (lock_dir / "pid").write_text(str(os.getpid()))  # a live owner
    assert run(env).code == 6
    (lock_dir / "pid").write_text("999999999")  # a dead owner: stale lock is taken over
    result = run(env)
    assert result.code == 0, result.stderr
    assert not lock_dir.exists()


def test_missing_log_file_is_exit_3(cloud: FakeCloud, env: dict[str, str]) -> None:
    result = run(env, "--date", (YESTERDAY - timedelta(days=1)).isoformat())
    assert result.code == 3
    assert "no readable log file" in result.stderr
    assert cloud.requests == []


def test_help(cloud: FakeCloud, env: dict[str, str]) -> None:
    result = run(env, "--help")
    assert result.code == 0
    assert "Exit codes" in result.stdout and "LOG2AWS_API_URL" in result.stdout


@pytest.mark.parametrize(
    ("args", "unset", "code", "message"),
    [
        (["--bogus"], None, 1, "unknown argument"),
        (["--date", "2024-02-30"], None, 1, "not a calendar date"),
        (["--date", "yesterday"], None, 1, "YYYY-MM-DD"),
        ([], "LOG2AWS_API_URL", 2, "LOG2AWS_API_URL is not set"),
        ([], "LOG2AWS_KEY_FILE", 2, "cannot read the server key file /etc/log2aws.key"),
        (["--config", "/nonexistent/log2aws.conf"], None, 2, "cannot read config"),
    ],
)
def test_usage_and_config_errors(
    cloud: FakeCloud,
    env: dict[str, str],
    args: list[str],
    unset: str | None,
    code: int,
    message: str,
) -> None:
    if unset:
        env.pop(unset)
    result = run(env, *args)
    assert result.code == code
    assert message in result.stderr


def test_shellcheck_clean() -> None:
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is not installed (apt-get install -y shellcheck)")
    proc = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_example_config_is_valid(cloud: FakeCloud, env: dict[str, str]) -> None:
    example = SCRIPT.with_name("log2aws.conf.example")
    result = run(env, "--config", str(example), "--dry-run")  # env's LOG2AWS_* win
    assert result.code == 0, result.stderr
    assert cloud.requests == []


def test_uploads_to_a_moto_server(cloud: FakeCloud, env: dict[str, str]) -> None:
    """Same script, URL presigned for a moto S3 server: moto's real S3 answers."""
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        s3 = boto3.client(
            "s3",
            region_name="us-east-1",
            endpoint_url=f"http://{host}:{port}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(signature_version="s3v4"),
        )
        s3.create_bucket(Bucket="raw-bucket")
        cloud.s3 = s3
        result = run(env)
        assert result.code == 0, result.stderr
        key = f"web01/{YESTERDAY.isoformat()}.log.gz"
        stored = s3.get_object(Bucket="raw-bucket", Key=key)["Body"].read()
        assert gzip.decompress(stored) == LOG_TEXT
        assert "warning" not in result.stderr  # moto's ETag is the body's MD5
    finally:
        moto.stop()
