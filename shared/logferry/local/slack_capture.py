"""Slack webhook capture server: records POSTed payloads so tests can assert on them.

Routes: POST /hooks/... records the payload (JSON lines file) and answers "ok";
GET /messages returns them; DELETE /messages clears them; POST /control/fail
{"count": N, "status": 500} makes the next N hook posts fail; GET /health.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from logferry.local.endpoints import state_dir


class Capture:
    """The recorded messages (a JSON-lines file) and the pending forced failures."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        self.lock = threading.Lock()
        self.fail_count = 0
        self.fail_status = 500

    def record(self, hook: str, body: bytes, headers: dict[str, str]) -> None:
        """Append one received post."""
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = body.decode(errors="replace")
        entry = {"hook": hook, "payload": payload, "headers": headers, "received_at": time.time()}
        with self.lock, self.path.open("a") as out:
            out.write(json.dumps(entry) + "\n")

    def messages(self) -> list[Any]:
        """Every recorded post, oldest first."""
        with self.lock:
            return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def clear(self) -> None:
        """Forget every recorded post."""
        with self.lock:
            self.path.write_text("")

    def take_failure(self) -> int | None:
        """The status to fail the current post with, if a failure is pending."""
        with self.lock:
            if self.fail_count <= 0:
                return None
            self.fail_count -= 1
            return self.fail_status


def make_handler(capture: Capture) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `capture`."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if status == 429:
                self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:
            if self.path == "/messages":
                self._reply(200, capture.messages())
            elif self.path == "/health":
                self._reply(200, {"status": "ok"})
            else:
                self._reply(404, {"error": f"no route {self.path}"})

        def do_DELETE(self) -> None:
            if self.path == "/messages":
                capture.clear()
                self._reply(200, {"cleared": True})
            else:
                self._reply(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            body = self._body()
            if self.path == "/control/fail":
                order = json.loads(body or b"{}")
                with capture.lock:
                    capture.fail_count = int(order.get("count", 1))
                    capture.fail_status = int(order.get("status", 500))
                self._reply(200, {"failing_next": capture.fail_count})
            elif self.path.startswith("/hooks/"):
                status = capture.take_failure()
                if status is not None:
                    self._reply(status, b"forced failure", "text/plain")
                    return
                capture.record(self.path, body, {k.lower(): v for k, v in self.headers.items()})
                self._reply(200, b"ok", "text/plain")
            else:
                self._reply(404, {"error": f"no route {self.path}"})

    return Handler


def serve(port: int, state: Path) -> None:
    """Serve on 127.0.0.1:`port`, recording into `<state>/slack-messages.jsonl`."""
    capture = Capture(state / "slack-messages.jsonl")
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(capture))
    print(f"slack capture listening on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Command line: `python -m logferry.local.slack_capture --port N`."""
    parser = argparse.ArgumentParser(description="Slack webhook capture server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    serve(args.port, args.state_dir or state_dir())


if __name__ == "__main__":
    main()
