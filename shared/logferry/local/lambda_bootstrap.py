"""Lambda runtime shim run as a host subprocess by the local emulator.

Protocol: the event JSON arrives on stdin; `_HANDLER` names `module.function`; the result JSON
is written to the original stdout; everything the handler prints or logs goes to stderr.
Exit status 0 means success, 1 means the payload is an AWS-style error object.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The subset of the AWS Lambda context object that handlers use."""

    def __init__(self, env: dict[str, str]) -> None:
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = env.get("LOGFERRY_REQUEST_ID", "00000000-0000-0000-0000-000000000000")
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


def load_handler(spec: str) -> Any:
    """Import `module.function` (module may be dotted) and return the function."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise ImportError(f"bad handler {spec!r}: expected 'module.function'")
    return getattr(importlib.import_module(module_name), function_name)


def error_payload(error: BaseException) -> dict[str, Any]:
    """AWS's JSON shape for an unhandled error (without the bootstrap's own frame)."""
    tb = error.__traceback__
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": os.environ.get("LOGFERRY_REQUEST_ID", ""),
        "stackTrace": traceback.format_tb(tb.tb_next if tb else None),
    }


def main() -> int:
    """Run one invocation; returns the process exit status."""
    result_fd = os.dup(1)
    os.dup2(2, 1)  # handler prints go to the logs, as on AWS
    sys.stdout = sys.stderr
    event = json.loads(sys.stdin.read() or "{}")
    context = LambdaContext(dict(os.environ))
    status = 0
    try:
        handler = load_handler(os.environ["_HANDLER"])
        payload: Any = handler(event, context)
    except Exception as error:
        traceback.print_exc()
        payload, status = error_payload(error), 1
    with os.fdopen(result_fd, "w") as out:
        out.write(json.dumps(payload, default=str))
    return status


if __name__ == "__main__":
    sys.exit(main())
