"""A fault-injecting HTTP reverse proxy for end-to-end tests (threaded, on 127.0.0.1).

Every request is forwarded to one upstream URL, except that each :class:`Rule` answers every
``every``-th request it matches with its own status and body instead (e.g. a 429 on every
third ``_bulk``, or a CloudWatch Logs ``ThrottlingException`` on every third
``PutLogEvents``). A rule with ``delay`` holds the request that many seconds, then forwards
it (a slow back end); a ``black_hole`` rule reads the request and never answers until the
client gives up (closes the connection) or the proxy stops. The proxy counts what it
forwarded and what each rule injected.

    with FaultProxy(search_url, [Rule(429, body, path=r"/_bulk", every=3)]) as proxy:
        ... point a function at proxy.url ...
        assert proxy.rules[0].injected > 0
"""

from __future__ import annotations

import http.client
import re
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}
)


@dataclass
class Rule:
    """Answer every ``every``-th matching request with ``status`` and ``body``.

    With ``delay`` the firing request is held ``delay`` seconds and then answered (or forwarded
    when ``status`` is 0); with ``black_hole`` it is never answered. A request matches when
    its method is in ``methods`` (any if empty), ``path`` (a regex) is found in its path and query,
    and every ``headers`` regex is found in that header.
    """

    status: int = 0
    body: bytes = b""
    every: int = 1
    methods: tuple[str, ...] = ()
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0
    black_hole: bool = False
    matched: int = 0
    injected: int = 0

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"every={self.every}: must be >= 1")
        if not (self.status or self.delay > 0 or self.black_hole):
            raise ValueError("a rule needs a status, a delay or black_hole")

    def matches(self, method: str, path: str, headers: dict[str, str]) -> bool:
        """Whether a request is one this rule counts."""
        if self.methods and method not in self.methods:
            return False
        if self.path and not re.search(self.path, path):
            return False
        return all(
            re.search(want, headers.get(name.lower(), "")) for name, want in self.headers.items()
        )


class FaultProxy:
    """A threaded reverse proxy to ``upstream`` that applies ``rules`` (first match wins)."""

    def __init__(self, upstream: str, rules: list[Rule], timeout: float = 120.0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream {upstream!r}: expected http://host:port")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.rules = rules
        self.timeout = timeout
        self.forwarded = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The proxy's own ``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FaultProxy:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (releasing held requests) and close the listening socket."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def decide(self, method: str, path: str, headers: dict[str, str]) -> Rule | None:
        """Count the request against the first rule it matches; that rule if it fires now."""
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path, headers):
                    rule.matched += 1
                    if rule.matched % rule.every == 0:
                        rule.injected += 1
                        return rule
                    break
            self.forwarded += 1
            return None

    def hold(self, connection: socket.socket, seconds: float | None) -> bool:
        """Wait ``seconds`` (``None``: for ever) unless the client hangs up or the proxy stops;
        True if the wait ran its course."""
        end = None if seconds is None else time.monotonic() + seconds
        while not self._stopping.is_set():
            left = 0.2 if end is None else min(0.2, end - time.monotonic())
            if left <= 0:
                return True
            readable, _, _ = select.select([connection], [], [], left)
            if readable and not connection.recv(1, socket.MSG_PEEK):
                return False  # the client closed the connection: it gave up
        return False

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request upstream; (status, headers, body) of its answer."""
        connection = http.client.HTTPConnection(
            self.upstream_host, self.upstream_port, timeout=self.timeout
        )
        try:
            sent = {k: v for k, v in headers.items() if k not in HOP_BY_HOP}
            sent["host"] = f"{self.upstream_host}:{self.upstream_port}"
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
            return response.status, kept, data
        finally:
            connection.close()


def _handler_class(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self._reply(411, [], b"fault proxy: send a Content-Length")
                return
            body = self.rfile.read(int(headers.get("content-length") or 0))
            rule = proxy.decide(self.command, self.path, headers)
            wait = None if rule is None or rule.black_hole else rule.delay
            held = rule is not None and (rule.black_hole or rule.delay > 0)
            if held and not proxy.hold(self.connection, wait):
                self.close_connection = True  # the client gave up, or the proxy stops
                return
            if rule is not None and rule.status:
                self._reply(rule.status, [("Content-Type", rule.content_type)], rule.body)
                return
            try:
                status, kept, data = proxy.forward(self.command, self.path, headers, body)
            except OSError as error:
                self._reply(502, [], f"fault proxy: upstream: {error}".encode())
                return
            self._reply(status, kept, data)

        def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            if not any(name.lower() == "content-length" for name, _ in headers):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the counters say what happened."""

    return Handler
