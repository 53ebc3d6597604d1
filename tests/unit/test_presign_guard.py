"""logferry.local.presign_guard: URLs presigned by boto3, sent through werkzeug's test client
to the guard in front of a recording stand-in for moto."""

from __future__ import annotations

import base64
import hashlib
import io
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from werkzeug.test import Client

from logferry.local.presign_guard import PresignGuard, S3Error, query_auth, spool

ENDPOINT = "http://127.0.0.1:4566"
BODY = b"2024-03-09 00:00:01 up 45 days, 20:04, 1 user, load average: 0.1, 0.2, 0.3\n"


class Recorder:
    """The app behind the guard: records each request it gets and its body."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, Any], bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.calls.append((environ, environ["wsgi.input"].read()))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"stored"]


def sha256_b64(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def presign(key: str, body: bytes = BODY, *, access_key: str = "test", expires: int = 300) -> str:
    s3 = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key="test",
        config=Config(signature_version="s3v4"),
    )
    params = {"Bucket": "raw", "Key": key, "ContentLength": len(body)}
    params["ChecksumSHA256"] = sha256_b64(body)
    return str(
        s3.generate_presigned_url("put_object", Params=params, ExpiresIn=expires, HttpMethod="PUT")
    )


def send(
    url: str,
    body: bytes = BODY,
    *,
    clock: float | None = None,
    checksum: str | None = None,
    stream: io.BytesIO | None = None,
) -> tuple[int, bytes, Recorder]:
    recorder = Recorder()
    guard = PresignGuard(
        recorder, {"test": "test"}, clock=lambda: clock or time.time(), spool_bytes=1024
    )
    parts = urlsplit(url)
    headers = {"x-amz-checksum-sha256": checksum or sha256_b64(body)}
    response = Client(guard).put(
        f"{parts.path}?{parts.query}",
        base_url=f"{parts.scheme}://{parts.netloc}",
        data=body,
        headers={**headers, "Content-Type": "application/octet-stream"},
        environ_overrides={"wsgi.input": stream} if stream else {},
    )
    return response.status_code, response.get_data(), recorder


def error_code(xml: bytes) -> str:
    return xml.split(b"<Code>")[1].split(b"</Code>")[0].decode()


def test_a_valid_presigned_put_reaches_the_app_with_its_body() -> None:
    status, answer, recorder = send(presign("web01/2024-03-09.log"))
    assert (status, answer) == (200, b"stored")
    assert [body for _, body in recorder.calls] == [BODY]


def test_a_large_body_is_spooled_and_reaches_the_app_whole() -> None:
    body = bytes(range(256)) * 12_000  # 3 MB, far past the 1 KiB in-memory spool
    status, _, recorder = send(presign("web01/big.log", body), body)
    assert status == 200
    assert recorder.calls[0][1] == body


def test_an_expired_url_is_access_denied() -> None:
    url = presign("web01/2024-03-09.log", expires=60)
    status, answer, recorder = send(url, clock=time.time() + 61)
    assert status == 403
    assert error_code(answer) == "AccessDenied"
    assert b"<Message>Request has expired</Message>" in answer
    assert b"<X-Amz-Expires>60</X-Amz-Expires>" in answer
    assert recorder.calls == []


def test_a_url_reused_for_another_key_does_not_match_its_signature() -> None:
    url = presign("web01/2024-03-09.log").replace("/2024-03-09.log?", "/2024-03-10.log?")
    status, answer, recorder = send(url)
    assert status == 403
    assert error_code(answer) == "SignatureDoesNotMatch"
    assert b"/raw/web01/2024-03-10.log" in answer  # the canonical request S3 computed
    assert recorder.calls == []


def test_a_body_of_another_length_does_not_match_the_signed_content_length() -> None:
    status, answer, recorder = send(presign("web01/a.log"), BODY + b"x")
    assert (status, error_code(answer)) == (403, "SignatureDoesNotMatch")
    assert recorder.calls == []


def test_a_tampered_body_is_a_bad_digest() -> None:
    tampered = BODY.replace(b"0.1", b"9.9")
    assert len(tampered) == len(BODY)
    status, answer, recorder = send(presign("web01/a.log"), tampered, checksum=sha256_b64(BODY))
    assert status == 400
    assert error_code(answer) == "BadDigest"
    assert b"The SHA256 you specified did not match" in answer
    assert recorder.calls == []


def test_a_body_shorter_than_its_content_length_is_incomplete() -> None:
    short = io.BytesIO(BODY[:10])
    status, answer, recorder = send(presign("web01/a.log"), stream=short)
    assert (status, error_code(answer)) == (400, "IncompleteBody")
    assert recorder.calls == []


def test_an_unknown_access_key_is_refused() -> None:
    status, answer, recorder = send(presign("web01/a.log", access_key="AKIAOTHER"))
    assert (status, error_code(answer)) == (403, "InvalidAccessKeyId")
    assert recorder.calls == []


def test_malformed_auth_parameters_are_refused() -> None:
    url = presign("web01/a.log").replace("X-Amz-Expires=300", "X-Amz-Expires=604801")
    status, answer, recorder = send(url)
    assert (status, error_code(answer)) == (400, "AuthorizationQueryParametersError")
    assert recorder.calls == []


@pytest.mark.parametrize(
    "query",
    [
        "",  # header-signed or anonymous requests
        "uploads",
        # another service's presigned request (moto handles its own)
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20240309%2Fus-east-1%2Fsqs"
        "%2Faws4_request",
    ],
)
def test_requests_without_s3_query_auth_pass_through_untouched(query: str) -> None:
    stream = io.BytesIO(b"HELLO")
    url = f"{ENDPOINT}/raw/web01/a.log" + (f"?{query}" if query else "")
    status, _, recorder = send(url, b"HELLO", checksum=sha256_b64(b"hello"), stream=stream)
    assert status == 200  # the wrong checksum is the app's business here, not the guard's
    environ, body = recorder.calls[0]
    assert environ["wsgi.input"] is stream
    assert body == b"HELLO"


def test_query_auth_parses_the_scope() -> None:
    auth = query_auth(urlsplit(presign("web01/a.log", expires=42)).query)
    assert auth is not None
    assert (auth.access_key, auth.region, auth.expires) == ("test", "us-east-1", 42)
    assert {"content-length", "host", "x-amz-checksum-sha256"} <= set(auth.signed_headers)
    assert all(name != "X-Amz-Signature" for name, _ in auth.params)
    with pytest.raises(S3Error, match="AuthorizationQueryParametersError"):
        query_auth("X-Amz-Algorithm=AWS4-HMAC-SHA256")


def test_spool_hashes_counts_and_sees_a_longer_body() -> None:
    data = b"abc" * 1000
    exact = spool(io.BytesIO(data), len(data), to_eof=False, limit=100)
    assert (exact.size, exact.sha256) == (len(data), hashlib.sha256(data).digest())
    assert exact.file.read() == data
    longer = spool(io.BytesIO(data + b"!"), len(data), to_eof=True, limit=100)
    assert longer.size == len(data) + 1
