"""logferry.upload and functions/upload_url: validation, allowlist, presign, handler."""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.server import ThreadedMotoServer

from logferry import upload
from logferry.upload import UploadError

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
HANDLER_PATH = Path(__file__).parents[2] / "functions" / "upload_url" / "handler.py"


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def refused(fn: Any, *args: Any, **kwargs: Any) -> UploadError:
    with pytest.raises(UploadError) as info:
        fn(*args, **kwargs)
    return info.value


# ---------------------------------------------------------------- server names


@pytest.mark.parametrize(
    "name", ["web01", "a", "db-1.example.com", "A_b-c.d", "_x", "x" * 64, "host."]
)
def test_server_names_accepted(name: str) -> None:
    assert upload.parse_server(name) == name


@pytest.mark.parametrize(
    ("name", "code"),
    [
        (None, "missing_server"),
        ("", "missing_server"),
        ("x" * 65, "invalid_server"),
        ("a..b", "invalid_server"),
        ("..", "invalid_server"),
        (".hidden", "invalid_server"),
        ("-rf", "invalid_server"),
        ("a/b", "invalid_server"),
        ("a b", "invalid_server"),
        ("sérveur", "invalid_server"),
        ("ｗｅｂ", "invalid_server"),  # fullwidth letters
        ("web٣", "invalid_server"),  # Arabic-Indic digit
        ("web\n", "invalid_server"),
    ],
)
def test_server_names_refused(name: str | None, code: str) -> None:
    error = refused(upload.parse_server, name)
    assert (error.status, error.code) == (400, code)


# ---------------------------------------------------------------- dates


def parse_date(value: str | None, now: datetime = NOW, max_age_days: int = 31) -> date:
    return upload.parse_date(value, now=now, max_age_days=max_age_days)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-10", date(2024, 3, 10)),  # today
        ("20240310", date(2024, 3, 10)),
        ("2024-03-11", date(2024, 3, 11)),  # today somewhere east of UTC
        ("2024-02-29", date(2024, 2, 29)),  # leap day
        ("2024-02-08", date(2024, 2, 8)),  # exactly 31 days old
    ],
)
def test_dates_accepted(value: str, expected: date) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, "missing_date"),
        ("2024-03-12", "future_date"),
        ("2099-01-01", "future_date"),
        ("2024-02-07", "date_too_old"),  # 32 days old
        ("2023-02-29", "invalid_date"),  # not a leap year
        ("2024-02-30", "invalid_date"),
        ("2024-13-01", "invalid_date"),
        ("2024-3-10", "invalid_date"),
        ("2024/03/10", "invalid_date"),
        ("2024-03-10x", "invalid_date"),
        ("２０２４０３１０", "invalid_date"),  # fullwidth digits
        ("../../etc", "invalid_date"),
    ],
)
def test_dates_refused(value: str | None, code: str) -> None:
    error = refused(parse_date, value)
    assert (error.status, error.code) == (400, code)


def test_future_means_not_yet_started_anywhere() -> None:
    late = datetime(2024, 3, 10, 9, 59, tzinfo=UTC)  # 23:59 at UTC+14
    assert parse_date("2024-03-10", now=late) == date(2024, 3, 10)
    assert refused(parse_date, "2024-03-11", now=late).code == "future_date"
    assert parse_date("2024-03-11", now=datetime(2024, 3, 10, 10, 0, tzinfo=UTC))


def test_max_age_is_configurable() -> None:
    assert parse_date("2024-03-09", max_age_days=1) == date(2024, 3, 9)
    assert refused(parse_date, "2024-03-08", max_age_days=1).code == "date_too_old"


# ---------------------------------------------------------------- size, checksum, request

DIGEST = hashlib.sha256(b"hello").digest()
B64 = base64.b64encode(DIGEST).decode()


def test_sha256_hex_and_base64_normalised_to_base64() -> None:
    assert upload.parse_sha256(DIGEST.hex()) == B64
    assert upload.parse_sha256(DIGEST.hex().upper()) == B64
    assert upload.parse_sha256(B64) == B64


@pytest.mark.parametrize(
    "value", ["abc", DIGEST.hex()[:-1], base64.b64encode(DIGEST[:31]).decode(), B64[:-1], "é" * 44]
)
def test_sha256_refused(value: str) -> None:
    assert refused(upload.parse_sha256, value).code == "invalid_sha256"


@pytest.mark.parametrize("value", ["-1", "1.5", "abc", "١٢", str(upload.MAX_PUT_BYTES + 1)])
def test_size_refused(value: str) -> None:
    assert refused(upload.parse_size, value).code == "invalid_size"


def test_size_boundaries() -> None:
    assert upload.parse_size("0") == 0
    assert upload.parse_size(str(upload.MAX_PUT_BYTES)) == upload.MAX_PUT_BYTES


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ({"server": "web01", "date": "2024-03-09"}, "web01/2024-03-09.log"),
        ({"server": "web01", "date": "20240309"}, "web01/2024-03-09.log"),
        ({"server": "web01", "date": "20240309", "gzip": "1"}, "web01/2024-03-09.log.gz"),
        ({"server": "w", "date": "20240309", "compression": "gzip"}, "w/2024-03-09.log.gz"),
        ({"server": "w", "date": "20240309", "gzip": "0"}, "w/2024-03-09.log"),
    ],
)
def test_request_keys(query: dict[str, str], key: str) -> None:
    query = {**query, "size": "5", "sha256": B64}
    assert upload.parse_request(query, now=NOW, max_age_days=31).key == key


@pytest.mark.parametrize("missing", ["size", "sha256"])
def test_size_and_checksum_are_required(missing: str) -> None:
    query = {"server": "w", "date": "2024-03-09", "size": "5", "sha256": B64}
    del query[missing]
    error = refused(upload.parse_request, query, now=NOW, max_age_days=31)
    assert (error.status, error.code) == (400, f"missing_{missing}")
    assert f"query parameter {missing!r} is required" in error.message


def test_request_with_size_and_checksum() -> None:
    query = {"server": "w", "date": "2024-03-09", "size": "5", "sha256": DIGEST.hex()}
    req = upload.parse_request(query, now=NOW, max_age_days=31)
    assert (req.size, req.sha256_b64) == (5, B64)


# ---------------------------------------------------------------- allowlist


def test_allowlist_parsing_skips_malformed_entries() -> None:
    text = "10.0.0.0/8, 192.168.1.5\n2001:db8::/32,,  \n300.1.1.1, 10.0.0.0/33 ,nonsense"
    networks, invalid = upload.parse_allowlist(text)
    assert [str(n) for n in networks] == ["10.0.0.0/8", "192.168.1.5/32", "2001:db8::/32"]
    assert [m.split("'")[1] for m in invalid] == ["300.1.1.1", "10.0.0.0/33", "nonsense"]
    assert all("is not an IP network" in m for m in invalid)


@pytest.mark.parametrize(
    ("entry", "hint"),
    [
        ("10.1.2.7/8", "write 10.0.0.0/8 for the network or 10.1.2.7/32 for the one address"),
        ("10.1.2.3/24", "write 10.1.2.0/24 for the network or 10.1.2.3/32"),
        ("2001:db8::1/32", "write 2001:db8::/32 for the network or 2001:db8::1/128"),
    ],
)
def test_allowlist_host_bits_are_refused_not_widened(entry: str, hint: str) -> None:
    networks, invalid = upload.parse_allowlist(f"192.168.1.0/24,{entry}")
    assert [str(n) for n in networks] == ["192.168.1.0/24"]
    assert len(invalid) == 1
    assert invalid[0].startswith(f"allowlist entry {entry!r} has host bits set")
    assert hint in invalid[0]
    assert not upload.ip_allowed("10.200.0.1", networks)


def test_a_refused_allowlist_entry_is_logged_as_an_error(caplog: pytest.LogCaptureFixture) -> None:
    cache = upload.AllowlistCache(lambda: "10.1.2.7/8")
    with caplog.at_level(logging.ERROR, logger="logferry.upload"):
        assert cache.networks() == []
    assert "allowlist entry '10.1.2.7/8' has host bits set" in caplog.text
    assert "allows nobody" in caplog.text


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [
        ("10.255.255.255", True),
        ("11.0.0.0", False),
        ("192.168.1.5", True),
        ("192.168.1.6", False),
        ("2001:db8:ffff::1", True),
        ("2001:db9::1", False),
        ("::ffff:192.168.1.5", True),  # IPv4-mapped IPv6
        ("::ffff:192.168.1.6", False),
        ("not-an-ip", False),
        ("", False),
    ],
)
def test_ip_allowed(ip: str, allowed: bool) -> None:
    networks, _ = upload.parse_allowlist("10.0.0.0/8,192.168.1.5,2001:db8::/32")
    assert upload.ip_allowed(ip, networks) is allowed


def test_empty_allowlist_denies_everyone() -> None:
    assert not upload.ip_allowed("127.0.0.1", [])
    assert not upload.ip_allowed("::1", upload.parse_allowlist(" , \n")[0])


def test_allowlist_cache_ttl_and_logging(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []
    clock = [0.0]
    values = iter(["10.0.0.0/8,bogus", "", "10.0.0.0/8"])

    def fetch() -> str:
        calls.append(1)
        return next(values)

    cache = upload.AllowlistCache(fetch, ttl_seconds=60, clock=lambda: clock[0])
    assert calls == []  # lazy: nothing fetched before the first request
    with caplog.at_level(logging.WARNING, logger="logferry.upload"):
        assert [str(n) for n in cache.networks()] == ["10.0.0.0/8"]
    assert "'bogus'" in caplog.text
    clock[0] = 59.9
    cache.networks()
    assert len(calls) == 1
    clock[0] = 60.0
    with caplog.at_level(logging.WARNING, logger="logferry.upload"):
        assert cache.networks() == []
    assert "empty" in caplog.text
    assert len(calls) == 2


# ---------------------------------------------------------------- settings


KEYS_ENV = {"SERVER_KEY_PREFIX": "logferry/upload/servers/"}


def test_settings_from_env() -> None:
    s = upload.Settings.from_env(
        {**KEYS_ENV, "RAW_BUCKET": "raw", "ALLOWLIST_PARAM": "/p", "MAX_AGE_DAYS": "7"}
    )
    assert (s.raw_bucket, s.url_ttl_seconds, s.allowlist_ttl_seconds, s.max_age_days) == (
        "raw",
        300,
        60,
        7,
    )
    assert s.upload_prefix == ""
    env = {**KEYS_ENV, "RAW_BUCKET": "r", "ALLOWLIST_PARAM": "/p", "UPLOAD_PREFIX": "uploads/"}
    assert upload.Settings.from_env(env).upload_prefix == "uploads/"
    for bad in ("uploads", "/uploads/"):
        with pytest.raises(ValueError, match="UPLOAD_PREFIX"):
            upload.Settings.from_env({**env, "UPLOAD_PREFIX": bad})
    with pytest.raises(ValueError, match="RAW_BUCKET"):
        upload.Settings.from_env({**KEYS_ENV, "ALLOWLIST_PARAM": "/p"})
    with pytest.raises(ValueError, match="SERVER_KEY_PREFIX"):
        upload.Settings.from_env({"RAW_BUCKET": "r", "ALLOWLIST_PARAM": "/p"})
    with pytest.raises(ValueError, match="URL_TTL_SECONDS"):
        upload.Settings.from_env({**env, "URL_TTL_SECONDS": "0"})


# ---------------------------------------------------------------- presign (local signing, no AWS)


@pytest.fixture(scope="module")
def s3_local() -> Any:
    """An S3 client with fake keys: presigning is a local computation."""
    return boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4"),
    )


def signed_headers(url: str) -> list[str]:
    return parse_qs(urlparse(url).query)["X-Amz-SignedHeaders"][0].split(";")


def test_presign_binds_length_and_checksum(s3_local: Any) -> None:
    req = upload.UploadRequest("web01", date(2024, 3, 9), True, 5, B64)
    body = upload.presign_put(s3_local, "raw", req, 300)
    assert body["key"] == "web01/2024-03-09.log.gz"
    assert (body["method"], body["expires_in"]) == ("PUT", 300)
    assert body["headers"] == {"Content-Length": "5", "x-amz-checksum-sha256": B64}
    assert {"content-length", "x-amz-checksum-sha256"} <= set(signed_headers(body["url"]))
    assert parse_qs(urlparse(body["url"]).query)["X-Amz-Expires"] == ["300"]
    assert urlparse(body["url"]).path.endswith("web01/2024-03-09.log.gz")


def test_presign_under_prefix(s3_local: Any) -> None:
    req = upload.UploadRequest("w", date(2024, 3, 9), False, 5, B64)
    body = upload.presign_put(s3_local, "raw", req, 60, prefix="uploads/")
    assert body["key"] == "uploads/w/2024-03-09.log"
    assert urlparse(body["url"]).path.endswith("/uploads/w/2024-03-09.log")


# ---------------------------------------------------------------- handle() and the Lambda handler

SETTINGS = upload.Settings(
    raw_bucket="raw", allowlist_param="/logferry/allow", server_key_prefix="lf/servers/"
)
KEY_A, KEY_B = "a1" * 32, "b2" * 32
SERVER_SECRETS = {"web01": KEY_A, "web02": f"{KEY_B}\n{'c3' * 32}"}  # web02 mid-rotation
TS = str(int(NOW.timestamp()))


def signed(query: dict[str, str], key: str, ts: str = TS) -> dict[str, str]:
    """``query`` with size and sha256 filled in, signed with ``key`` as log2aws.sh does."""
    query = {"size": "5", "sha256": DIGEST.hex(), **query}
    req = upload.parse_request(query, now=NOW, max_age_days=31)
    return {**query, "ts": ts, "signature": upload.sign(bytes.fromhex(key), req, int(ts))}


def call(
    s3: Any, *, method: str = "GET", ip: str = "10.1.1.1", allow: str = "10.0.0.0/8", **query: str
) -> upload.ApiResponse:
    return upload.handle(
        upload.ApiRequest(method, ip, query, "req-1"),
        settings=SETTINGS,
        s3_client=s3,
        allowlist=upload.AllowlistCache(lambda: allow),
        keys=upload.ServerKeys(SERVER_SECRETS.get),
        now=NOW,
    )


def test_handle_allowed(s3_local: Any) -> None:
    r = call(s3_local, **signed({"server": "web01", "date": "20240309", "gzip": "1"}, KEY_A))
    assert r.status == 200
    assert set(r.body) == {"url", "key", "expires_in", "method", "headers"}
    assert r.decision == {
        "ip": "10.1.1.1",
        "server": "web01",
        "date": "20240309",
        "key": "web01/2024-03-09.log.gz",
        "decision": "allowed",
        "reason": "ok",
        "status": 200,
    }


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"ip": "11.0.0.1", "server": "w", "date": "20240309"}, 403, "ip_not_allowed"),
        ({"allow": "", "server": "w", "date": "20240309"}, 403, "ip_not_allowed"),
        ({"allow": "10.1.1.7/8", "server": "w", "date": "20240309"}, 403, "ip_not_allowed"),
        ({"method": "POST", "server": "w", "date": "20240309"}, 405, "method_not_allowed"),
        ({"server": "../etc", "date": "20240309"}, 400, "invalid_server"),
        ({"server": "w", "date": "20990101"}, 400, "future_date"),
        ({"server": "w"}, 400, "missing_date"),
        ({"server": "w", "date": "20240309", "sha256": "x", "size": "5"}, 400, "invalid_sha256"),
        ({"server": "w", "date": "20240309", "sha256": B64}, 400, "missing_size"),
        ({"server": "w", "date": "20240309", "size": "5"}, 400, "missing_sha256"),
        (
            {"server": "w", "date": "20240309", "size": "5", "sha256": B64},
            403,
            "signature_required",
        ),
    ],
)
def test_handle_refusals(s3_local: Any, kwargs: dict[str, str], status: int, code: str) -> None:
    r = call(s3_local, **kwargs)
    assert (r.status, r.body["code"], r.decision["reason"]) == (status, code, code)
    assert r.decision["decision"] == "denied"
    assert set(r.body) == {"error", "code"}


def test_one_server_cannot_ask_for_another_servers_key(s3_local: Any) -> None:
    query = {"server": "web02", "date": "20240309", "gzip": "1"}
    r = call(s3_local, **signed(query, KEY_A))  # web01's key, web02's name
    assert (r.status, r.body["code"], r.decision["decision"]) == (403, "bad_signature", "denied")
    assert r.body["error"] == (
        "signature does not match server 'web02''s key: a server may only ask for URLs of "
        "its own logs"
    )
    assert r.decision["key"] is None and "url" not in r.body


def test_either_key_of_a_rotation_is_accepted(s3_local: Any) -> None:
    for key in SERVER_SECRETS["web02"].split():
        assert call(s3_local, **signed({"server": "web02", "date": "20240309"}, key)).status == 200


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"size": "6"}, "bad_signature"),  # a signed field changed after signing
        ({"sha256": hashlib.sha256(b"other").hexdigest()}, "bad_signature"),
        ({"date": "20240308"}, "bad_signature"),
        ({"gzip": "1"}, "bad_signature"),
        ({"ts": str(int(NOW.timestamp()) + 1)}, "bad_signature"),
        ({"ts": str(int(NOW.timestamp()) - 301)}, "stale_signature"),
        ({"ts": "soon"}, "signature_required"),
        ({"server": "nobody"}, "bad_signature"),  # no key: not told apart from a wrong one
    ],
)
def test_signature_refusals(s3_local: Any, change: dict[str, str], code: str) -> None:
    query = {**signed({"server": "web01", "date": "20240309"}, KEY_A), **change}
    r = call(s3_local, **query)
    assert (r.status, r.body["code"]) == (403, code)


def test_signature_is_over_normalised_values() -> None:
    req = upload.UploadRequest("web01", date(2024, 3, 9), True, 5, B64)
    assert upload.string_to_sign(req, 1710000000) == (
        f"logferry-upload-v1\nweb01\n2024-03-09\n1\n5\n{DIGEST.hex()}\n1710000000".encode()
    )


@pytest.mark.parametrize("text", ["", "  \n "])
def test_a_secret_without_keys_is_an_unknown_server(text: str) -> None:
    assert upload.ServerKeys(lambda _: text).keys("w") == []


def test_a_malformed_key_names_its_secret() -> None:
    keys = upload.ServerKeys(lambda _: f"{KEY_A} short", name_of=lambda s: f"lf/servers/{s}")
    with pytest.raises(ValueError, match=r"secret lf/servers/w: key 2 is not at least 32 hex"):
        keys.keys("w")


def test_server_keys_are_cached_per_server() -> None:
    fetched: list[str] = []
    clock = [0.0]

    def fetch(server: str) -> str | None:
        fetched.append(server)
        return SERVER_SECRETS.get(server)

    keys = upload.ServerKeys(fetch, ttl_seconds=60, clock=lambda: clock[0])
    assert keys.keys("web01") == [bytes.fromhex(KEY_A)]
    assert keys.keys("web01") == [bytes.fromhex(KEY_A)] and keys.keys("nobody") == []
    clock[0] = 60.0
    keys.keys("web01")
    assert fetched == ["web01", "nobody", "web01"]


def test_handle_internal_error_hides_details(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> str:
        raise RuntimeError("secret detail")

    with caplog.at_level(logging.ERROR, logger="logferry.upload"):
        r = upload.handle(
            upload.ApiRequest("GET", "10.0.0.1", {}, "req-9"),
            settings=SETTINGS,
            s3_client=None,
            allowlist=upload.AllowlistCache(broken),
            keys=upload.ServerKeys(SERVER_SECRETS.get),
        )
    assert r.status == 500
    assert r.body == {"error": "internal error", "code": "internal_error", "request_id": "req-9"}
    assert "secret detail" not in json.dumps(r.to_api_gateway())
    assert "secret detail" in caplog.text  # but the operator sees it


@dataclass
class FakeContext:
    function_name: str = "upload_url"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:upload_url"
    aws_request_id: str = "lambda-req-1"


def load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("upload_url_handler", HANDLER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("RAW_BUCKET", "raw")
    monkeypatch.setenv("ALLOWLIST_PARAM", "/logferry/allow")
    monkeypatch.setenv("UPLOAD_PREFIX", "uploads/")
    monkeypatch.setenv("SERVER_KEY_PREFIX", "lf/servers/")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "upload_url")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    with mock_aws():
        yield load_handler()


def rest_event(ip: str, query: dict[str, str] | None, method: str = "GET") -> dict[str, Any]:
    return {
        "httpMethod": method,
        "path": "/",
        "queryStringParameters": query,
        "requestContext": {"requestId": "apigw-1", "identity": {"sourceIp": ip}},
    }


def http_event(ip: str, query: dict[str, str], method: str = "GET") -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": "/",
        "queryStringParameters": query,
        "requestContext": {"requestId": "apigw-2", "http": {"method": method, "sourceIp": ip}},
    }


def test_handler_import_makes_no_aws_call(lambda_env: ModuleType) -> None:
    # mock_aws is active but no parameter exists: an import-time SSM read would have failed.
    assert lambda_env._wiring.cache_info().currsize == 0


def json_lines(module: ModuleType, caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The handler's log records as its Powertools formatter writes them."""
    fmt = module.logger.registered_formatter
    return [json.loads(fmt.format(r)) for r in caplog.records if r.name == "upload_url"]


def live_signed(query: dict[str, str], key: str) -> dict[str, str]:
    """``query`` signed now (the handler checks the clock)."""
    query = {"size": "5", "sha256": DIGEST.hex(), **query}
    now = datetime.now(UTC)
    req = upload.parse_request(query, now=now, max_age_days=31)
    ts = int(now.timestamp())
    return {**query, "ts": str(ts), "signature": upload.sign(bytes.fromhex(key), req, ts)}


def test_handler_rest_and_http_api(
    lambda_env: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    boto3.client("ssm").put_parameter(
        Name="/logferry/allow", Type="StringList", Value="203.0.113.0/24,2001:db8::/32"
    )
    boto3.client("secretsmanager").create_secret(Name="lf/servers/web01", SecretString=KEY_A)
    query = live_signed({"server": "web01", "date": datetime.now(UTC).date().isoformat()}, KEY_A)
    other = {**query, "server": "web02"}  # web02 has no secret; web01's signature anyway
    ok = lambda_env.handler(rest_event("203.0.113.7", query), FakeContext())
    assert ok["statusCode"] == 200
    assert json.loads(ok["body"])["key"] == f"uploads/web01/{query['date']}.log"
    assert json.loads(ok["body"])["url"].startswith("https://raw.s3.ap-northeast-1.amazonaws.com/")
    v2 = lambda_env.handler(http_event("2001:db8::5", query), FakeContext())
    assert v2["statusCode"] == 200
    denied = lambda_env.handler(http_event("198.51.100.1", query), FakeContext())
    assert denied["statusCode"] == 403
    assert json.loads(denied["body"])["code"] == "ip_not_allowed"
    missing = lambda_env.handler(rest_event("203.0.113.7", None), FakeContext())
    assert (missing["statusCode"], json.loads(missing["body"])["code"]) == (400, "missing_server")
    unknown = lambda_env.handler(rest_event("203.0.113.7", other), FakeContext())
    assert (unknown["statusCode"], json.loads(unknown["body"])["code"]) == (403, "bad_signature")
    lines = json_lines(lambda_env, caplog)
    decisions = [x for x in lines if x["message"] == "upload url decision"]
    assert [d["decision"] for d in decisions] == [
        "allowed",
        "allowed",
        "denied",
        "denied",
        "denied",
    ]
    assert decisions[-1]["reason"] == "unknown_server", "the log tells what the caller is not"
    assert decisions[2]["ip"] == "198.51.100.1" and decisions[2]["reason"] == "ip_not_allowed"
    assert decisions[0]["key"] == f"uploads/web01/{query['date']}.log"


def test_handler_missing_parameter_is_500_with_request_id(
    lambda_env: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    query = live_signed({"server": "web01", "date": datetime.now(UTC).date().isoformat()}, KEY_A)
    r = lambda_env.handler(rest_event("203.0.113.7", query), FakeContext())
    body = json.loads(r["body"])
    assert r["statusCode"] == 500
    assert body == {
        "error": "internal error",
        "code": "internal_error",
        "request_id": "lambda-req-1",
    }
    assert "Traceback" not in r["body"]
    assert "ParameterNotFound" in caplog.text  # logged for the operator
    assert json_lines(lambda_env, caplog)[-1]["function_request_id"] == "lambda-req-1"


# ---------------------------------------------------------------- real HTTP PUT to a moto server


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def put(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    # urllib would default to a form content type, which moto's server tries to parse.
    headers = {"Content-Type": "application/octet-stream", **headers}
    request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_put_through_presigned_url(moto_endpoint: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, config=Config(signature_version="s3v4"))
    s3.create_bucket(Bucket="raw-put")
    body = gzip.compress(b"2024-03-09 00:00:01 up 1 day, load average: 0.1, 0.2, 0.3\n")
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    req = upload.UploadRequest("web01", date(2024, 3, 9), True, len(body), digest)
    answer = upload.presign_put(s3, "raw-put", req, 300)
    status, headers = put(answer["url"], body, answer["headers"])
    assert status == 200
    assert headers["ETag"].strip('"') == hashlib.md5(body).hexdigest()
    stored = s3.get_object(Bucket="raw-put", Key="web01/2024-03-09.log.gz")["Body"].read()
    assert stored == body


def test_moto_does_not_enforce_the_signed_checksum(moto_endpoint: str) -> None:
    """Characterises moto 5.2.5: it verifies neither presigned signatures nor
    x-amz-checksum-sha256 against the body (real S3 answers 400 BadDigest, or 403
    SignatureDoesNotMatch when the header differs from the signed one). If moto starts
    enforcing this, flip the assertion and test the refusal here."""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, config=Config(signature_version="s3v4"))
    s3.create_bucket(Bucket="raw-bad")
    req = upload.UploadRequest("web01", date(2024, 3, 9), False, 5, B64)  # sha256("hello")
    answer = upload.presign_put(s3, "raw-bad", req, 300)
    status, _ = put(answer["url"], b"HELLO", answer["headers"])
    assert status == 200
