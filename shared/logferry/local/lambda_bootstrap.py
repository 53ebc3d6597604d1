"""Lambda runtime shim run as a host subprocess by the local emulator (one warm "container").

Protocol: one JSON line per invocation on stdin, `{"request_id", "event"}`; `_HANDLER` names
`module.function`. For each, the handler's prints and logs go to stderr followed by the line
`MARKER + request_id`, then `{"status": 0|1, "payload": ...}` is written as one line to the
original stdout (status 1: the payload is an AWS-style error object). Exits at end of stdin.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO

MARKER = "\x00LOGFERRY-END "
Handler = Callable[[Any, Any], Any]


class LambdaContext:
    """The subset of the AWS Lambda context object that handlers use."""

    def __init__(self, env: dict[str, str], request_id: str) -> None:
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        self.invoked_function_arn = env.get("LOGFERRY_FUNCTION_ARN", "")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        timeout_s = float(env.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
        self._deadline = time.monotonic() + timeout_s
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the emulator kills this invocation."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(spec: str) -> Handler:
    """Import `module.function` (module may be dotted) and return the function."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise ImportError(f"bad handler {spec!r}: expected 'module.function'")
    handler: Handler = getattr(importlib.import_module(module_name), function_name)
    return handler


def error_payload(error: BaseException, request_id: str) -> dict[str, Any]:
    """AWS's JSON shape for an unhandled error (without the bootstrap's own frame)."""
    tb = error.__traceback__
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(tb.tb_next if tb else None),
    }


def invoke(handler: Handler | None, message: dict[str, Any], out: TextIO) -> Handler | None:
    """Run one invocation; returns the (possibly newly imported) handler for the next one."""
    request_id = str(message["request_id"])
    status = 0
    try:
        handler = handler or load_handler(os.environ["_HANDLER"])
        payload: Any = handler(message["event"], LambdaContext(dict(os.environ), request_id))
        text = json.dumps({"status": 0, "payload": payload}, default=str)
    except Exception as error:
        traceback.print_exc()
        status = 1
        text = json.dumps({"status": status, "payload": error_payload(error, request_id)})
    sys.stderr.write(f"{MARKER}{request_id}\n")
    sys.stderr.flush()
    out.write(text + "\n")
    out.flush()
    return handler


def main() -> int:
    """Serve invocations from stdin until it closes."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # handler prints go to the logs, as on AWS
    sys.stdout = sys.stderr
    handler: Handler | None = None
    for line in sys.stdin:
        handler = invoke(handler, json.loads(line), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
