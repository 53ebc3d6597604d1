"""PutLogEvents bodies serialized by orjson equal what botocore would send."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from logferry.sinks import fast_put


class _Body:
    def stream(self, **_: Any) -> Any:
        yield b"{}"

    def read(self, *_: Any) -> bytes:
        return b"{}"


def _client(sent: list[Any]) -> Any:
    client = boto3.client(
        "logs",
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        endpoint_url="http://127.0.0.1:9",
    )

    def capture(request: Any, **_: Any) -> AWSResponse:
        sent.append(request)
        return AWSResponse(request.url, 200, {}, _Body())

    client.meta.events.register("before-send", capture)
    return client


REQUEST = {
    "logGroupName": "/g",
    "logStreamName": "s",
    "logEvents": [
        {"timestamp": 1_700_000_000_000 + i, "message": f'ligne {i} \u00e9\u65e5 "q" \\'}
        for i in range(50)
    ],
}


def test_body_equals_botocores_and_is_signed_over_it() -> None:
    plain: list[Any] = []
    _client(plain).put_log_events(**REQUEST)
    fast: list[Any] = []
    client = _client(fast)
    fast_put.install(client)
    fast_put.install(client)  # idempotent: one set of handlers
    client.put_log_events(**REQUEST)
    assert json.loads(fast[0].body) == json.loads(plain[0].body) == REQUEST
    assert fast[0].headers["X-Amz-Target"] == b"Logs_20140328.PutLogEvents"
    assert int(fast[0].headers["Content-Length"]) == len(fast[0].body)
    assert fast[0].headers["Authorization"] == _signature_over(fast[0])


def _signature_over(sent: Any) -> bytes:
    """The Authorization header SigV4 gives for the request as sent (body included)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    auth = sent.headers["Authorization"].decode()
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {
        k: v.decode() if isinstance(v, bytes) else v
        for k, v in sent.headers.items()
        if k.lower() in signed
    }
    request = AWSRequest("POST", sent.url, data=sent.body, headers=headers)
    request.context["timestamp"] = headers["X-Amz-Date"]
    SigV4Auth(Credentials("a", "b"), "logs", "us-east-1").add_auth(request)
    return str(request.headers["Authorization"]).encode()


def test_other_calls_and_single_events_are_untouched() -> None:
    sent: list[Any] = []
    client = _client(sent)
    fast_put.install(client)
    one = {**REQUEST, "logEvents": REQUEST["logEvents"][:1]}
    client.put_log_events(**one)
    client.create_log_stream(logGroupName="/g", logStreamName="s")
    assert json.loads(sent[0].body) == one
    assert json.loads(sent[1].body) == {"logGroupName": "/g", "logStreamName": "s"}


def test_botocore_still_validates_the_request() -> None:
    client = _client([])
    fast_put.install(client)
    with pytest.raises(Exception, match="logStreamName"):
        client.put_log_events(logGroupName="/g", logEvents=REQUEST["logEvents"])


def test_a_test_double_is_left_alone() -> None:
    fast_put.install(object())
