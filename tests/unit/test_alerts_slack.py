"""Slack notifier: Block Kit payload, channel routing, retry handlers against a local server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from logferry.alerts.evaluate import Firing
from logferry.alerts.query import QueryResult
from logferry.alerts.rules import Rule
from logferry.alerts.slack import (
    SlackNotifier,
    build_message,
    build_notice,
    load_webhooks,
    retry_handlers,
)
from logferry.alerts.windows import Window

RULE = Rule(name="alb-5xx", backend="search", query="http.response.status_code:>=500",
            index="logferry-aws.alb-*", type="frequency", threshold=10, channel="ops",
            realert_ms=1_800_000)  # fmt: skip
RESULT = QueryResult(
    42, {"url.path": [("/api/orders", 30), ("/login", 12)]}, ["line one", "x" * 500], "https://k/x"
)
FIRING = Firing(RULE, Window(1_764_000_000_000, 1_764_000_300_000), RESULT)


class Hook:
    """A webhook endpoint answering the scripted statuses, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[tuple[str, Any]] = []


@pytest.fixture
def hook() -> Iterator[tuple[Hook, str]]:
    state = Hook([])

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = state.statuses.pop(0) if state.statuses else 200
            if status == 200:
                state.bodies.append((self.path, json.loads(body)))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def fast_notifier(webhooks: dict[str, str], retries: int = 2) -> SlackNotifier:
    return SlackNotifier(
        webhooks, handlers=retry_handlers(retries, FixedValueRetryIntervalCalculator(0.01))
    )


def test_message_blocks() -> None:
    repeat = Firing(RULE, FIRING.window, RESULT, repeats=2, since_ms=1_763_998_200_000)
    message = build_message(repeat)
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert message["text"] == "alb-5xx: 42 matches (threshold 10)"
    assert message["blocks"][0]["type"] == "header"
    assert "2025-11-24 16:00–16:05 UTC" in text
    assert "Fired 3 times since 2025-11-24 15:30 UTC (2 held back by the 30m realert)" in text
    assert "`/api/orders` ×30" in text and "<https://k/x|Open the query>" in text
    assert "x" * 300 in text and "x" * 301 not in text
    assert all(len(json.dumps(b)) < 3100 for b in message["blocks"])


def test_routes_by_channel_and_falls_back_to_default(hook: tuple[Hook, str]) -> None:
    state, base = hook
    notifier = fast_notifier({"default": f"{base}/hooks/default", "ops": f"{base}/hooks/ops"})
    other = Firing(Rule(name="b", backend="search", query="*", index="i", channel="nope"),
                   FIRING.window, RESULT)  # fmt: skip
    assert notifier.send(FIRING) and notifier.send(other)
    assert [path for path, _ in state.bodies] == ["/hooks/ops", "/hooks/default"]


def test_server_error_retried_then_success(hook: tuple[Hook, str]) -> None:
    state, base = hook
    state.statuses = [500, 503]
    assert fast_notifier({"default": f"{base}/h"}).send(FIRING)
    assert len(state.bodies) == 1 and state.statuses == []


def test_persistent_failure_is_reported_not_raised(hook: tuple[Hook, str]) -> None:
    state, base = hook
    state.statuses = [500, 500, 500, 500]
    assert not fast_notifier({"default": f"{base}/h"}).send(FIRING)
    assert state.bodies == []


def test_notice_goes_to_the_rule_channel_as_text(hook: tuple[Hook, str]) -> None:
    state, base = hook
    notifier = fast_notifier({"default": f"{base}/hooks/default", "ops": f"{base}/hooks/ops"})
    text = "rule alb-5xx failing since 2025-11-24 16:00 UTC: QueryError: no such index"
    assert notifier.notify(RULE, text)
    assert state.bodies == [("/hooks/ops", build_notice(text))]
    assert build_notice(text)["text"] == text and text in json.dumps(build_notice(text))
    state.statuses = [500, 500, 500]
    assert not notifier.notify(RULE, text)


def test_connection_refused_and_missing_webhook() -> None:
    assert not fast_notifier({"default": "http://127.0.0.1:9/h"}, retries=1).send(FIRING)
    assert not fast_notifier({}).send(FIRING)


class Secrets:
    def __init__(self, value: str) -> None:
        self.value = value

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        return {"SecretString": self.value}


def test_load_webhooks_forms() -> None:
    assert load_webhooks("arn", Secrets("https://hooks.slack.com/x\n")) == {
        "default": "https://hooks.slack.com/x"
    }
    assert load_webhooks("arn", Secrets('{"default": "u1", "ops": "u2"}'))["ops"] == "u2"
    with pytest.raises(ValueError, match="secret arn: expected a webhook URL"):
        load_webhooks("arn", Secrets("not a url"))
