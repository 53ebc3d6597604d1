"""AWS emulator: moto's server on 127.0.0.1, with Lambda running our zips as host subprocesses.

Run as `python -m logferry.local.emulator --port N`. Patches applied to moto 5.2.5:
- `LambdaFunction._invoke_lambda` (every invoke path ends there) runs the zip via `HostRunner`;
- S3 notifications, EventBridge targets and `InvocationType=Event` go to an asynchronous
  worker queue, retried on function error like AWS (the event invoke config's
  MaximumRetryAttempts, at most as many times as there are retry delays; moto runs them inside
  the request); after the last retry the record AWS sends goes to the OnFailure SQS
  destination (`failure_record`, condition RetriesExhausted);
- SQS event source mappings are detached from moto's synchronous call inside SendMessage and
  run by `sqs_poller.SqsPoller` as Lambda does (batches, visibility timeout, batch item
  failures, the queue's redrive policy). S3 `QueueConfigurations` reach SQS unpatched, with
  the S3 event as the message body; its object key is URL-encoded as S3 does it
  (`a/b c` -> `a/b+c`, where moto writes `a%2Fb+c`).
Presigned S3 requests pass `presign_guard.PresignGuard` first: expiry, signature (with the
local stack's credentials) and body checksum are enforced as S3 does; moto checks none of them.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import queue
import signal
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from logferry.local.endpoints import DUMMY_CREDENTIALS, state_dir
from logferry.local.presign_guard import PresignGuard
from logferry.local.runner import FunctionSpec, HostRunner
from logferry.local.sqs_poller import SqsPoller, detach_from_queue

MOTO_VERSION = "5.2.5"
DEFAULT_RETRY_DELAYS = (1.0, 2.0)  # AWS waits 1 and 2 minutes; locally we wait seconds


@dataclass(frozen=True)
class AsyncJob:
    """One queued asynchronous invocation."""

    account_id: str
    region: str
    function_arn: str
    body: str
    attempt: int = 0


class AsyncInvoker:
    """Worker threads that run asynchronous invocations and retry failed ones."""

    def __init__(self, workers: int = 4, retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS):
        self.retry_delays = retry_delays
        self.jobs: queue.Queue[AsyncJob] = queue.Queue()
        for index in range(workers):
            threading.Thread(target=self._work, name=f"async-invoke-{index}", daemon=True).start()

    def submit(self, account_id: str, region: str, function_arn: str, body: str) -> None:
        """Queue an invocation of `function_arn` with the JSON `body`."""
        self.jobs.put(AsyncJob(account_id, region, function_arn, body))

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                self._attempt(job)
            except Exception as error:  # a missing function must not kill the worker
                print(f"async invoke of {job.function_arn} failed: {error!r}", file=sys.stderr)

    def _attempt(self, job: AsyncJob) -> None:
        """Run `job`; on error retry it later, or after the last retry deliver its failure."""
        from moto.awslambda.utils import get_backend

        function = get_backend(job.account_id, job.region).get_function(job.function_arn)
        payload, errored, _ = function._invoke_lambda(event=job.body)
        if not errored:
            return
        config = _invoke_config(function)
        retries = min(int(config.get("MaximumRetryAttempts", 2)), len(self.retry_delays))
        if job.attempt < retries:
            retry = dataclasses.replace(job, attempt=job.attempt + 1)
            timer = threading.Timer(self.retry_delays[job.attempt], self.jobs.put, (retry,))
            timer.daemon = True
            timer.start()
            return
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            record = failure_record(function.function_arn, job, str(payload))
            _send_to_queue(destination, json.dumps(record))


def _invoke_config(function: Any) -> dict[str, Any]:
    """The function's latest event invoke config (moto appends one per put), or {}."""
    configs = function.event_invoke_config
    return dict(configs[-1].config) if configs else {}


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def failure_record(
    function_arn: str, job: AsyncJob, payload: str, now: datetime | None = None
) -> dict[str, Any]:
    """The record Lambda sends an OnFailure destination when an async invocation's retries
    are exhausted (the function's error `payload` as responsePayload)."""
    when = now or datetime.now(UTC)
    return {
        "version": "1.0",
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": job.attempt + 1,
        },
        "requestPayload": _json_or_text(job.body),
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": _json_or_text(payload),
    }


def _send_to_queue(queue_arn: str, body: str) -> None:
    """SendMessage to the SQS queue `queue_arn` inside this moto process."""
    from moto.sqs.models import sqs_backends

    _, _, _, region, account_id, name = queue_arn.split(":", 5)
    sqs_backends[account_id][region].send_message(name, body)


def function_spec(function: Any) -> FunctionSpec:
    """Translate moto's `LambdaFunction` into the runner's `FunctionSpec`."""
    return FunctionSpec(
        name=function.function_name,
        arn=function.function_arn,
        handler=function.handler or "",
        code=function.code_bytes,
        code_digest=function.code_digest,
        timeout_s=float(function.timeout),
        memory_mb=int(function.memory_size),
        environment=dict(function.environment_vars or {}),
        runtime=function.run_time or "python3.11",
    )


def event_json(event: Any) -> str:
    """JSON text of an event: moto passes decoded payloads, or "{}" text for an empty one."""
    if isinstance(event, str):
        try:
            json.loads(event)
        except ValueError:
            return json.dumps(event)  # the payload was a JSON string
        return event
    return json.dumps({} if event is None else event)


def _header(headers: Any, name: str) -> str | None:
    """Case-insensitive header lookup over werkzeug headers or a plain dict."""
    for key, value in dict(headers or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def patches(runner: HostRunner, invoker: AsyncInvoker) -> list[tuple[object, str, Any]]:
    """(owner, attribute, replacement) for moto's Docker executor and synchronous notifications."""
    import moto.events.notifications as events_notifications
    import moto.s3.notifications as s3_notifications
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.events.models import Rule
    from moto.events.utils import EventTemplateParser

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        result = runner.invoke(function_spec(self), event_json(event))
        self.logs_backend.ensure_log_group(self.logs_group_name)
        self.save_logs(result.logs)
        return result.payload, result.errored, result.logs

    def s3_invoke(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        invoker.submit(account_id, region_name, fn_arn, json.dumps(event_body))

    def events_invoke(account_id: str, fn_arn: str, event: Any) -> None:
        invoker.submit(account_id, fn_arn.split(":")[3], fn_arn, json.dumps(event))

    original_invoke = LambdaBackend.invoke

    def backend_invoke(
        self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response: Any
    ) -> Any:
        if _header(headers, "X-Amz-Invocation-Type") != "Event":
            return original_invoke(self, function_name, qualifier, body, headers, response)
        function = self.get_function(function_name, qualifier)
        invoker.submit(function.account_id, function.region, function.function_arn, body or "{}")
        return b""

    original_s3_event = s3_notifications._get_s3_event

    def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
        event = original_s3_event(event_name, bucket, key, notification_id)
        for record in event["Records"]:
            record["s3"]["object"]["key"] = urllib.parse.quote_plus(key.name, safe="/")
        return event

    original_create_esm = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        esm = original_create_esm(self, spec)
        detach_from_queue(esm)
        return esm

    original_send = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        lambdas = [t for t in self.targets if ":lambda:" in t["Arn"]]
        if lambdas and self.event_pattern.matches_event(original_event):
            for target in lambdas:
                transformer = target.get("InputTransformer", {})
                body = target.get("Input") or json.dumps(
                    EventTemplateParser.parse(
                        input_template=transformer.get("InputTemplate"),
                        input_paths_map=transformer.get("InputPathsMap", {}),
                        event=original_event,
                    )
                )
                arn = target["Arn"]
                invoker.submit(self.account_id, arn.split(":")[3], arn, body)
        if len(lambdas) < len(self.targets):
            others = copy.copy(self)
            others.targets = [t for t in self.targets if t not in lambdas]
            original_send(others, original_event, transform_input)

    return [
        (LambdaFunction, "_invoke_lambda", _invoke_lambda),
        (LambdaBackend, "invoke", backend_invoke),
        (LambdaBackend, "create_event_source_mapping", create_event_source_mapping),
        (Rule, "send_to_targets", send_to_targets),
        (s3_notifications, "_invoke_awslambda", s3_invoke),
        (s3_notifications, "_get_s3_event", s3_event),
        (events_notifications, "_invoke_lambda", events_invoke),
    ]


def invoke_sync(account_id: str, region: str, function_arn: str, event: str) -> tuple[str, bool]:
    """Invoke a function synchronously in-process (the SQS poller's invoke): payload, errored."""
    from moto.awslambda.utils import get_backend

    function = get_backend(account_id, region).get_function(function_arn)
    payload, errored, _ = function._invoke_lambda(event=event)
    return str(payload), bool(errored)


def install_patches(runner: HostRunner, invoker: AsyncInvoker) -> None:
    """Apply `patches` to moto for the life of this process."""
    for owner, name, replacement in patches(runner, invoker):
        setattr(owner, name, replacement)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(port: int, state: Path) -> None:
    """Bind moto's WSGI app to 127.0.0.1:`port` and serve until SIGTERM/SIGINT."""
    started = time.monotonic()
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    url = f"http://127.0.0.1:{port}"
    delays = os.environ.get("LOGFERRY_ASYNC_RETRY_DELAYS")
    retry = tuple(float(d) for d in delays.split(",")) if delays else DEFAULT_RETRY_DELAYS
    runner = HostRunner(state, url)
    install_patches(runner, AsyncInvoker(retry_delays=retry))
    poller = SqsPoller(invoke_sync)
    poller.start()
    credentials = {
        DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"]: DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
    }
    app = PresignGuard(DomainDispatcherApplication(create_backend_app), credentials)
    server = make_server("127.0.0.1", port, app, True, request_handler=MotoRequestHandler)
    signal.signal(signal.SIGTERM, _stop)
    print(f"emulator listening on {url} after {time.monotonic() - started:.2f}s", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        poller.stop()
        runner.close()


def main(argv: list[str] | None = None) -> None:
    """Command line: `python -m logferry.local.emulator --port N [--state-dir DIR]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    serve(args.port, args.state_dir or state_dir())


if __name__ == "__main__":
    main()
