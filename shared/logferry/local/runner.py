"""Run a Lambda zip as a host subprocess: extract once per code digest, invoke, time out, log."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from logferry.local import lambda_bootstrap
from logferry.local.endpoints import aws_env

# What the AWS Python runtime provides besides the zip: boto3 and its dependencies.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


@dataclass(frozen=True)
class FunctionSpec:
    """What the runner needs to know about one deployed function."""

    name: str
    arn: str
    handler: str
    code: bytes
    code_digest: str
    timeout_s: float = 3.0
    memory_mb: int = 128
    environment: dict[str, str] = field(default_factory=dict)
    runtime: str = "python3.11"


@dataclass(frozen=True)
class InvokeResult:
    """Outcome of one invocation, in the shape moto's `_invoke_lambda` returns plus timings."""

    payload: str
    errored: bool
    logs: str
    request_id: str
    duration_ms: float
    cold: bool
    timed_out: bool


class HostRunner:
    """Extracts function code into a cache and runs invocations as subprocesses."""

    def __init__(self, state: Path, emulator_url: str, python: str | None = None) -> None:
        self.cache = state / "lambda-cache"
        self.log_dir = state / "logs" / "lambda"
        self.emulator_url = emulator_url
        base_python = getattr(sys, "_base_executable", sys.executable)
        self.python = python or os.environ.get("LOGFERRY_LAMBDA_PYTHON") or base_python
        self.runtime_dir = state / "lambda-runtime"
        self._lock = threading.Lock()
        self._bootstrap = Path(lambda_bootstrap.__file__).read_text()
        self.cache.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        link_runtime_packages(self.runtime_dir)

    def code_dir(self, spec: FunctionSpec) -> tuple[Path, bool]:
        """The extracted code of `spec` and whether it was extracted just now (a cold start)."""
        target = self.cache / spec.code_digest
        if target.is_dir():
            return target, False
        with self._lock:
            if target.is_dir():
                return target, False
            tmp = Path(tempfile.mkdtemp(dir=self.cache, prefix=".extract-"))
            try:
                with zipfile.ZipFile(BytesIO(spec.code)) as archive:
                    archive.extractall(tmp)
            except zipfile.BadZipFile as error:
                shutil.rmtree(tmp)
                raise ValueError(f"function {spec.name}: code is not a zip file: {error}") from None
            tmp.rename(target)
            return target, True

    def environment(self, spec: FunctionSpec, code_dir: Path, request_id: str) -> dict[str, str]:
        """The subprocess environment: function variables, then the runtime's reserved ones."""
        env = {key: str(value) for key, value in spec.environment.items()}
        env.update(aws_env(self.emulator_url))
        env.update(
            {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "LANG": "C.UTF-8",
                "TZ": "UTC",
                "PYTHONPATH": f"{code_dir}{os.pathsep}{self.runtime_dir}",
                "PYTHONUNBUFFERED": "1",
                "LAMBDA_TASK_ROOT": str(code_dir),
                "_HANDLER": spec.handler,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_s),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{request_id}",
                "LOGFERRY_REQUEST_ID": request_id,
                "LOGFERRY_FUNCTION_ARN": spec.arn,
            }
        )
        return env

    def invoke(self, spec: FunctionSpec, event: str) -> InvokeResult:
        """Run one invocation of `spec` with the JSON `event`; never raises for handler errors."""
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        try:
            code_dir, cold = self.code_dir(spec)
        except ValueError as error:
            payload = json.dumps({"errorMessage": str(error), "errorType": "Runtime.InvalidZip"})
            return InvokeResult(payload, True, str(error), request_id, 0.0, False, False)
        process = subprocess.Popen(
            [self.python, "-S", "-c", self._bootstrap],
            cwd=code_dir,
            env=self.environment(spec, code_dir, request_id),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        timed_out = False
        try:
            out, err = process.communicate(event.encode(), timeout=spec.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            timed_out = True
        duration_ms = (time.monotonic() - started) * 1000
        payload, errored = _payload(spec, process.returncode, out, timed_out)
        logs = _log_text(spec, request_id, err.decode(errors="replace"), duration_ms, timed_out)
        result = InvokeResult(payload, errored, logs, request_id, duration_ms, cold, timed_out)
        self._record(spec, result)
        return result

    def _record(self, spec: FunctionSpec, result: InvokeResult) -> None:
        """Append the logs to the function's log file and one line to invocations.jsonl."""
        summary = {
            "function": spec.name,
            "request_id": result.request_id,
            "duration_ms": round(result.duration_ms, 1),
            "errored": result.errored,
            "timed_out": result.timed_out,
            "cold": result.cold,
            "finished_at": time.time(),
        }
        with self._lock:
            with (self.log_dir / f"{spec.name}.log").open("a") as log:
                log.write(result.logs)
            with (self.log_dir.parent / "invocations.jsonl").open("a") as record:
                record.write(json.dumps(summary) + "\n")


def _payload(spec: FunctionSpec, status: int, out: bytes, timed_out: bool) -> tuple[str, bool]:
    """The response payload and whether it is an error."""
    if timed_out:
        message = f"Task timed out after {spec.timeout_s:.2f} seconds"
        return json.dumps({"errorMessage": message, "errorType": "Sandbox.Timedout"}), True
    text = out.decode(errors="replace")
    if status not in (0, 1) or not text:
        message = f"Runtime exited with status {status}"
        error = {"errorMessage": message, "errorType": "Runtime.ExitError"}
        return json.dumps(error), True
    return text, status == 1


def _log_text(spec: FunctionSpec, request_id: str, stderr: str, ms: float, timed_out: bool) -> str:
    """CloudWatch-style log text for one invocation."""
    lines = [f"START RequestId: {request_id} Version: $LATEST", *stderr.splitlines()]
    if timed_out:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        lines.append(f"{stamp} {request_id} Task timed out after {spec.timeout_s:.2f} seconds")
    lines.append(f"END RequestId: {request_id}")
    lines.append(
        f"REPORT RequestId: {request_id}\tDuration: {ms:.2f} ms\t"
        f"Billed Duration: {int(ms) + 1} ms\tMemory Size: {spec.memory_mb} MB"
    )
    return "\n".join(lines) + "\n"


def link_runtime_packages(target: Path) -> None:
    """Symlink the packages the AWS Python runtime ships (boto3 & co) into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        found = importlib.util.find_spec(name)
        if found is None or found.origin is None:
            continue
        origin = Path(found.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        link = target / source.name
        if not link.exists():
            with contextlib.suppress(FileExistsError):
                link.symlink_to(source)
