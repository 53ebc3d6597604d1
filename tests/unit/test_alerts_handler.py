"""The log_alert handler in-process against moto: SSM rules and state, secret, Logs Insights."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

HANDLER = Path(__file__).resolve().parents[2] / "functions" / "log_alert" / "handler.py"
GROUP = "/aws/apigateway/access"
W = 300_000


def load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fn_log_alert", HANDLER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def posts() -> Iterator[tuple[list[dict[str, Any]], str]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield received, f"http://127.0.0.1:{server.server_address[1]}/hooks/default"
    server.shutdown()
    server.server_close()


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


@mock_aws
def test_handler_runs_rules_from_ssm_and_keeps_state(
    posts: tuple[list[dict[str, Any]], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    received, url = posts
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x",
                        "AWS_SECRET_ACCESS_KEY": "x"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    rules = {
        "rules": [
            {
                "name": "apigw-errors",
                "log_groups": [GROUP],
                "delay": "0s",
                "query": "fields @timestamp, @message | filter status >= 400",
            }
        ]
    }
    boto3.client("ssm").put_parameter(Name="/lf/rules", Value=json.dumps(rules), Type="String")
    arn = boto3.client("secretsmanager").create_secret(
        Name="lf/slack", SecretString=json.dumps({"default": url})
    )["ARN"]
    monkeypatch.setenv("RULES_PARAM", "/lf/rules")
    monkeypatch.setenv("STATE_PARAM_PREFIX", "/lf/state/")
    monkeypatch.setenv("SLACK_SECRET_ARN", arn)
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="s")
    end = (int(time.time() * 1000) - 3_600_000) // W * W
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName="s",
        logEvents=[{"timestamp": end - 60_000 + i, "message": '{"status": 502}'} for i in range(3)],
    )
    handler = load_handler().handler
    ctx = SimpleNamespace(
        function_name="log_alert",
        memory_limit_in_mb=256,
        aws_request_id="r",
        invoked_function_arn="arn:aws:lambda:us-east-1:1:function:log_alert",
    )
    first = handler({"source": "aws.events", "time": iso(end + 1_000)}, ctx)
    assert (first["windows"], first["sent"], first["errors"]) == (1, 1, {})
    assert received[0]["text"] == "apigw-errors: 3 matches"
    state = boto3.client("ssm").get_parameter(Name="/lf/state/apigw-errors")["Parameter"]["Value"]
    assert json.loads(state)["last_end_ms"] == end
    again = handler({"time": iso(end + 2_000)}, ctx)  # a retried invocation: nothing new
    assert again["windows"] == 0 and len(received) == 1
