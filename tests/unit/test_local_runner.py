"""HostRunner runs a zip's handler in a host subprocess (no servers involved)."""

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from logferry.local.runner import FunctionSpec, HostRunner

HANDLER = """
import json, os, sys, time

def ok(event, context):
    print("printed goes to the logs")
    return {
        "event": event,
        "remaining": context.get_remaining_time_in_millis(),
        "name": context.function_name,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "request_id": context.aws_request_id,
        "log_group": context.log_group_name,
        "env": {k: os.environ.get(k) for k in ("COLOUR", "AWS_ENDPOINT_URL", "AWS_REGION")},
        "path": sys.path[:3],
    }

CALLS = []

def count(event, context):
    CALLS.append(event)
    return len(CALLS)

def boom(event, context):
    raise KeyError("missing-thing")

def slow(event, context):
    time.sleep(30)
"""


def make_spec(handler: str, timeout_s: float = 5.0) -> FunctionSpec:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("app.py", (2020, 1, 1, 0, 0, 0)), HANDLER)
    code = buffer.getvalue()
    return FunctionSpec(
        name="demo",
        arn="arn:aws:lambda:us-east-1:123456789012:function:demo",
        handler=handler,
        code=code,
        code_digest=hashlib.sha256(code).hexdigest(),
        timeout_s=timeout_s,
        memory_mb=256,
        environment={"COLOUR": "blue"},
    )


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[HostRunner]:
    runner = HostRunner(tmp_path, "http://127.0.0.1:1")
    yield runner
    runner.close()


def test_handler_result_context_and_environment(runner: HostRunner) -> None:
    result = runner.invoke(make_spec("app.ok"), json.dumps({"hello": "world"}))
    payload = json.loads(result.payload)
    assert not result.errored
    assert payload["event"] == {"hello": "world"}
    assert 0 < payload["remaining"] <= 5000
    assert payload["name"] == "demo" and payload["memory"] == 256
    assert payload["arn"].endswith(":function:demo")
    assert payload["request_id"] == result.request_id
    assert payload["log_group"] == "/aws/lambda/demo"
    assert payload["env"] == {
        "COLOUR": "blue",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_REGION": "us-east-1",
    }
    assert "printed goes to the logs" in result.logs
    assert result.logs.startswith(f"START RequestId: {result.request_id}")
    assert "REPORT RequestId" in result.logs


def test_warm_worker_keeps_module_state(runner: HostRunner) -> None:
    results = [runner.invoke(make_spec("app.count"), "{}") for _ in range(3)]
    assert [json.loads(r.payload) for r in results] == [1, 2, 3]
    assert [r.cold for r in results] == [True, False, False]
    changed = FunctionSpec(**{**make_spec("app.count").__dict__, "environment": {"COLOUR": "red"}})
    again = runner.invoke(changed, "{}")
    assert again.cold and json.loads(again.payload) == 1


def test_code_is_extracted_once(runner: HostRunner, tmp_path: Path) -> None:
    first = runner.invoke(make_spec("app.ok"), "{}")
    second = runner.invoke(make_spec("app.ok"), "{}")
    assert (first.cold, second.cold) == (True, False)
    code_dir = str(runner.cache / make_spec("app.ok").code_digest)
    assert json.loads(second.payload)["path"] == ["", code_dir, str(runner.runtime_dir)]
    lines = (tmp_path / "logs" / "invocations.jsonl").read_text().splitlines()
    assert [json.loads(line)["cold"] for line in lines] == [True, False]


def test_handler_error_is_an_aws_error_payload(runner: HostRunner) -> None:
    result = runner.invoke(make_spec("app.boom"), "{}")
    payload = json.loads(result.payload)
    assert result.errored
    assert payload["errorType"] == "KeyError"
    assert "missing-thing" in payload["errorMessage"]
    assert "missing-thing" in result.logs


def test_timeout_kills_the_handler(runner: HostRunner) -> None:
    result = runner.invoke(make_spec("app.slow", timeout_s=1), "{}")
    assert result.errored and result.timed_out
    assert json.loads(result.payload)["errorMessage"] == "Task timed out after 1.00 seconds"
    assert "Task timed out after 1.00 seconds" in result.logs
    assert result.duration_ms < 5000
    assert runner.invoke(make_spec("app.slow", timeout_s=1), "{}").cold, "timed-out worker reused"


def test_unknown_handler_and_bad_zip(runner: HostRunner) -> None:
    missing = runner.invoke(make_spec("nowhere.handler"), "{}")
    assert missing.errored
    assert json.loads(missing.payload)["errorType"] == "ModuleNotFoundError"
    spec = make_spec("app.ok")
    broken = FunctionSpec(**{**spec.__dict__, "code": b"not a zip", "code_digest": "bad"})
    result = runner.invoke(broken, "{}")
    assert result.errored and "not a zip file" in json.loads(result.payload)["errorMessage"]
