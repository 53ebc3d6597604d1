"""Run Lambda zips as host subprocesses: extract once per code digest, keep warm workers.

Each worker is one `python -S -c <lambda_bootstrap>` process (like one Lambda container):
started on a cold invocation, reused while idle, killed when an invocation times out.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
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
from typing import IO

from logferry.local import lambda_bootstrap
from logferry.local.endpoints import aws_env

# What the AWS Python runtime provides besides the zip: boto3 and its dependencies.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
MARKER = lambda_bootstrap.MARKER


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

    def config_key(self) -> str:
        """Workers are reusable only for identical code and configuration."""
        env = json.dumps(self.environment, sort_keys=True)
        return (
            f"{self.name}|{self.code_digest}|{self.handler}|{self.timeout_s}|{self.memory_mb}|{env}"
        )


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


class Worker:
    """One warm bootstrap process serving invocations one at a time."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            text=True,
        )
        self.results: queue.Queue[str | None] = queue.Queue()
        self.logs: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None and self.process.stderr is not None
        threading.Thread(
            target=self._pump_results, args=(self.process.stdout,), daemon=True
        ).start()
        threading.Thread(target=self._pump_logs, args=(self.process.stderr,), daemon=True).start()

    def _pump_results(self, stream: IO[str]) -> None:
        for line in stream:
            self.results.put(line)
        self.results.put(None)

    def _pump_logs(self, stream: IO[str]) -> None:
        chunk: list[str] = []
        for line in stream:
            if line.startswith(MARKER):
                self.logs.put("".join(chunk))
                chunk = []
            else:
                chunk.append(line)
        self.logs.put("".join(chunk))
        self.logs.put(None)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None

    def invoke(self, request_id: str, event: str, timeout_s: float) -> tuple[str | None, str, bool]:
        """(result line or None if the process died, its logs, timed out?) of one invocation."""
        message = json.dumps({"request_id": request_id, "event": json.loads(event or "{}")})
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(message + "\n")
            self.process.stdin.flush()
            line = self.results.get(timeout=timeout_s)
        except queue.Empty:
            self.kill()
            return None, self._logs(), True
        except OSError:
            line = None
        if line is None:
            self.kill()
        return line, self._logs(), False

    def _logs(self) -> str:
        try:
            return self.logs.get(timeout=5) or ""
        except queue.Empty:
            return ""

    def kill(self) -> None:
        """Kill the worker's process group and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


class HostRunner:
    """Extracts function code into a cache and runs invocations in warm worker processes."""

    def __init__(self, state: Path, emulator_url: str, python: str | None = None) -> None:
        self.cache = state / "lambda-cache"
        self.log_dir = state / "logs" / "lambda"
        self.emulator_url = emulator_url
        base_python = getattr(sys, "_base_executable", sys.executable)
        self.python = python or os.environ.get("LOGFERRY_LAMBDA_PYTHON") or base_python
        self.runtime_dir = state / "lambda-runtime"
        self._lock = threading.Lock()
        self._idle: dict[str, list[Worker]] = {}
        self._bootstrap = Path(lambda_bootstrap.__file__).read_text()
        self.cache.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        link_runtime_packages(self.runtime_dir)

    def code_dir(self, spec: FunctionSpec) -> Path:
        """The extracted code of `spec` (extracted on first use)."""
        target = self.cache / spec.code_digest
        with self._lock:
            if target.is_dir():
                return target
            tmp = Path(tempfile.mkdtemp(dir=self.cache, prefix=".extract-"))
            try:
                with zipfile.ZipFile(BytesIO(spec.code)) as archive:
                    archive.extractall(tmp)
            except zipfile.BadZipFile as error:
                shutil.rmtree(tmp)
                raise ValueError(f"function {spec.name}: code is not a zip file: {error}") from None
            tmp.rename(target)
            return target

    def environment(self, spec: FunctionSpec, code_dir: Path) -> dict[str, str]:
        """The worker environment: function variables, then the runtime's reserved ones."""
        env = {key: str(value) for key, value in spec.environment.items()}
        stream_id = uuid.uuid4().hex
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
                "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{stream_id}",
                "LOGFERRY_FUNCTION_ARN": spec.arn,
            }
        )
        return env

    def _acquire(self, spec: FunctionSpec) -> tuple[Worker, bool]:
        """An idle warm worker for `spec`, or a new one (a cold start)."""
        key = spec.config_key()
        with self._lock:
            stale = [k for k in self._idle if k.startswith(f"{spec.name}|") and k != key]
            retired = [worker for k in stale for worker in self._idle.pop(k)]
            idle = self._idle.get(key, [])
            while idle:
                worker = idle.pop()
                if worker.alive():
                    return worker, False
        for worker in retired:  # the function's code or configuration changed
            worker.kill()
        code_dir = self.code_dir(spec)
        argv = [self.python, "-S", "-c", self._bootstrap]
        return Worker(argv, code_dir, self.environment(spec, code_dir)), True

    def _release(self, spec: FunctionSpec, worker: Worker) -> None:
        if worker.alive():
            with self._lock:
                self._idle.setdefault(spec.config_key(), []).append(worker)

    def invoke(self, spec: FunctionSpec, event: str) -> InvokeResult:
        """Run one invocation of `spec` with the JSON `event`; never raises for handler errors."""
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        try:
            worker, cold = self._acquire(spec)
        except ValueError as error:
            payload = json.dumps({"errorMessage": str(error), "errorType": "Runtime.InvalidZip"})
            return InvokeResult(payload, True, str(error), request_id, 0.0, False, False)
        line, stderr, timed_out = worker.invoke(request_id, event, spec.timeout_s)
        self._release(spec, worker)
        duration_ms = (time.monotonic() - started) * 1000
        payload, errored = _payload(spec, line, timed_out)
        logs = _log_text(spec, request_id, stderr, duration_ms, timed_out)
        result = InvokeResult(payload, errored, logs, request_id, duration_ms, cold, timed_out)
        self._record(spec, result)
        return result

    def close(self) -> None:
        """Kill every idle worker."""
        with self._lock:
            workers = [worker for idle in self._idle.values() for worker in idle]
            self._idle.clear()
        for worker in workers:
            worker.kill()

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


def _payload(spec: FunctionSpec, line: str | None, timed_out: bool) -> tuple[str, bool]:
    """The response payload and whether it is an error."""
    if timed_out:
        message = f"Task timed out after {spec.timeout_s:.2f} seconds"
        return json.dumps({"errorMessage": message, "errorType": "Sandbox.Timedout"}), True
    if line is None:
        message = "Runtime exited without providing a reason"
        return json.dumps({"errorMessage": message, "errorType": "Runtime.ExitError"}), True
    reply = json.loads(line)
    return json.dumps(reply["payload"]), reply["status"] != 0


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
