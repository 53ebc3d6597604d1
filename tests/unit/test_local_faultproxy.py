"""The fault proxy over real HTTP on 127.0.0.1: an in-process upstream that echoes requests."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from logferry.local.faultproxy import FaultProxy, Rule


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        body = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "body": self.rfile.read(size).decode(),
                "target": self.headers.get("X-Amz-Target"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _send(
    url: str,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_every_third_matching_request_is_answered_by_the_rule(upstream: str) -> None:
    rule = Rule(429, b'{"error":"busy"}', every=3, methods=("POST", "PUT"), path=r"/_bulk\b")
    with FaultProxy(upstream, [rule]) as proxy:
        assert proxy.url.startswith("http://127.0.0.1:")
        statuses = [_send(proxy.url, "POST", "/_bulk", b"x")[0] for _ in range(7)]
        other, headers, echoed = _send(proxy.url, "GET", "/_bulk")  # method does not match
    assert statuses == [200, 200, 429, 200, 200, 429, 200]
    assert (rule.matched, rule.injected, proxy.forwarded) == (7, 2, 6)
    assert other == 200 and headers["X-Elastic-Product"] == "Elasticsearch"
    assert json.loads(echoed)["method"] == "GET"


def test_forwarded_requests_keep_method_path_body_and_headers(upstream: str) -> None:
    target = {"X-Amz-Target": "Logs_20140328.CreateLogStream"}
    with FaultProxy(upstream, [Rule(400, headers={"X-Amz-Target": r"\.PutLogEvents$"})]) as proxy:
        status, _, body = _send(proxy.url, "POST", "/?a=1", b'{"k": 1}', target)
        head_status, head_headers, head_body = _send(proxy.url, "HEAD", "/")
    assert status == 200
    assert json.loads(body) == {
        "method": "POST",
        "path": "/?a=1",
        "body": '{"k": 1}',
        "target": "Logs_20140328.CreateLogStream",
    }
    assert head_status == 200 and head_body == b"" and int(head_headers["Content-Length"]) > 0


def test_header_rule_injects_its_status_and_body(upstream: str) -> None:
    throttle = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
    rule = Rule(400, throttle, every=2, headers={"X-Amz-Target": r"\.PutLogEvents$"})
    put = {"X-Amz-Target": "Logs_20140328.PutLogEvents"}
    with FaultProxy(upstream, [rule]) as proxy:
        answers = [_send(proxy.url, "POST", "/", b"{}", put) for _ in range(4)]
    assert [a[0] for a in answers] == [200, 400, 200, 400]
    assert answers[1][2] == throttle and answers[1][1]["Content-Type"] == "application/json"
    assert rule.injected == 2


def test_an_unreachable_upstream_is_a_502_naming_it() -> None:
    with FaultProxy("http://127.0.0.1:9", []) as proxy:
        status, _, body = _send(proxy.url, "GET", "/")
    assert status == 502 and b"upstream" in body


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="every=0"):
        Rule(429, every=0)
    with pytest.raises(ValueError, match="expected http"):
        FaultProxy("https://example.com", [])


def test_a_delay_rule_holds_the_request_then_forwards_it(upstream: str) -> None:
    rule = Rule(delay=0.3, path=r"/_bulk\b")
    with FaultProxy(upstream, [rule]) as proxy:
        began = time.monotonic()
        status, _, body = _send(proxy.url, "POST", "/_bulk", b"x")
        held = time.monotonic() - began
        other, _, _ = _send(proxy.url, "GET", "/")
    assert status == 200 and json.loads(body)["path"] == "/_bulk", "forwarded after the hold"
    assert held >= 0.3 and rule.injected == 1 and other == 200


def test_a_delay_rule_with_a_status_answers_it_late(upstream: str) -> None:
    with FaultProxy(upstream, [Rule(503, b"late", delay=0.1)]) as proxy:
        status, _, body = _send(proxy.url, "GET", "/")
    assert (status, body) == (503, b"late")


def test_a_black_hole_never_answers_until_the_client_gives_up(upstream: str) -> None:
    rule = Rule(black_hole=True, path=r"/_bulk\b")
    with FaultProxy(upstream, [rule]) as proxy:
        with pytest.raises(TimeoutError):
            _send(proxy.url, "POST", "/_bulk", b"x" * 100_000, timeout=0.3)
        status, _, _ = _send(proxy.url, "GET", "/")  # other requests still pass
    assert rule.injected == 1 and proxy.forwarded == 1 and status == 200


def test_stopping_the_proxy_releases_a_held_request(upstream: str) -> None:
    proxy = FaultProxy(upstream, [Rule(black_hole=True)]).start()
    errors: list[BaseException] = []

    def patient() -> None:
        try:
            _send(proxy.url, "GET", "/", timeout=30)
        except (OSError, http.client.HTTPException) as exc:
            errors.append(exc)

    client = threading.Thread(target=patient)
    client.start()
    while not proxy.rules[0].injected:
        time.sleep(0.01)
    proxy.stop()
    client.join(timeout=30)
    assert len(errors) == 1 and not isinstance(errors[0], TimeoutError), errors


def test_a_rule_without_an_effect_is_refused() -> None:
    with pytest.raises(ValueError, match="a status, a delay or black_hole"):
        Rule()
