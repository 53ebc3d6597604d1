"""Local API Gateway: serves the Lambda proxy integrations of REST APIs deployed in the emulator.

URLs: `http://127.0.0.1:PORT/{api id or name}/{stage}/{path}` or LocalStack's
`/restapis/{api id}/{stage}/_user_request_/{path}`. Requests become v1 proxy events
(`requestContext.identity.sourceIp` is the caller's address) and the function runs
synchronously through the emulator.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from botocore.config import Config

from logferry.local.endpoints import Endpoints, boto3_client

FUNCTION_IN_URI = re.compile(r"functions/(arn:[^/]+)/invocations")


class NotFound(LookupError):
    """No deployed API, stage, resource or method matches the request."""


@dataclass(frozen=True)
class Route:
    """A request resolved to a resource and its Lambda proxy integration."""

    api_id: str
    stage: str
    resource_path: str
    path: str
    path_parameters: dict[str, str]
    function_arn: str


def split_request_path(path: str) -> tuple[str, str, str]:
    """(api reference, stage, resource path) from a gateway URL path."""
    parts = path.lstrip("/").split("/")
    if parts[0] == "restapis" and len(parts) >= 4 and parts[3] == "_user_request_":
        return parts[1], parts[2], "/" + "/".join(parts[4:])
    if len(parts) < 2 or not parts[1]:
        raise NotFound(f"path {path!r} does not name an API and a stage: use /<api>/<stage>/...")
    return parts[0], parts[1], "/" + "/".join(parts[2:])


def match_path(template: str, path: str) -> dict[str, str] | None:
    """Path parameters if `path` matches the resource `template` (`{id}`, `{proxy+}`)."""
    pattern = ""
    for segment in template.strip("/").split("/") if template != "/" else []:
        greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
        single = re.fullmatch(r"\{(\w+)\}", segment)
        if greedy:
            pattern += f"/(?P<{greedy.group(1)}>.+)"
        elif single:
            pattern += f"/(?P<{single.group(1)}>[^/]+)"
        else:
            pattern += "/" + re.escape(segment)
    found = re.fullmatch(pattern or "/", path.rstrip("/") or "/")
    return found.groupdict() if found else None


def _specificity(template: str) -> tuple[int, int]:
    return template.count("+}"), template.count("{")


class Catalog:
    """Looks deployed REST APIs up in the emulator."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.apigateway = boto3_client("apigateway", endpoints)

    def resolve(self, request_path: str, method: str) -> Route:
        """The route serving `method request_path`; NotFound names what is missing."""
        api_ref, stage, path = split_request_path(request_path)
        apis = self.apigateway.get_rest_apis(limit=500)["items"]
        api = next((a for a in apis if api_ref in (a["id"], a["name"])), None)
        if api is None:
            raise NotFound(f"no REST API with id or name {api_ref!r}")
        resources = self.apigateway.get_resources(restApiId=api["id"], limit=500)["items"]
        for resource in sorted(resources, key=lambda r: _specificity(r["path"])):
            params = match_path(resource["path"], path)
            methods = resource.get("resourceMethods", {})
            verb = method if method in methods else "ANY"
            if params is None or verb not in methods:
                continue
            integration = self.apigateway.get_integration(
                restApiId=api["id"], resourceId=resource["id"], httpMethod=verb
            )
            found = FUNCTION_IN_URI.search(integration.get("uri", ""))
            if not found:
                raise NotFound(f"{method} {resource['path']}: integration is not a Lambda proxy")
            return Route(api["id"], stage, resource["path"], path, params, found.group(1))
        raise NotFound(f"API {api_ref!r} has no resource for {method} {path}")


def proxy_event(
    route: Route, method: str, query: str, headers: dict[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    """API Gateway's v1 (REST) Lambda proxy event."""
    pairs = parse_qsl(query, keep_blank_values=True)
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    try:
        text, encoded = body.decode(), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": route.resource_path,
        "path": route.path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": route.path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.resource_path,
            "httpMethod": method,
            "path": f"/{route.stage}{route.path}",
            "stage": route.stage,
            "apiId": route.api_id,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent")},
        },
        "body": text or None,
        "isBase64Encoded": encoded,
    }


def proxy_response(payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) from a Lambda proxy result."""
    headers = {k: str(v) for k, v in (payload.get("headers") or {}).items()}
    for key, values in (payload.get("multiValueHeaders") or {}).items():
        headers[key] = ", ".join(str(v) for v in values)
    raw = payload.get("body") or ""
    body = base64.b64decode(raw) if payload.get("isBase64Encoded") else str(raw).encode()
    return int(payload.get("statusCode", 200)), headers, body


def make_handler(catalog: Catalog, endpoints: Endpoints) -> type[BaseHTTPRequestHandler]:
    """A request handler class that proxies every method through `catalog`."""
    functions = boto3_client(
        "lambda", endpoints, config=Config(read_timeout=910, retries={"max_attempts": 0})
    )

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _message(self, status: int, message: str) -> None:
            body = json.dumps({"message": message}).encode()
            self._reply(status, {"Content-Type": "application/json"}, body)

        def _proxy(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/_health":
                self._message(200, "ok")
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                route = catalog.resolve(url.path, self.command)
            except NotFound as error:
                self._message(404, str(error))
                return
            event = proxy_event(
                route,
                self.command,
                url.query,
                dict(self.headers.items()),
                body,
                self.client_address[0],
            )
            result = functions.invoke(FunctionName=route.function_arn, Payload=json.dumps(event))
            payload = json.loads(result["Payload"].read() or b"{}")
            if result.get("FunctionError") or not isinstance(payload, dict):
                self._message(502, "Internal server error")
                return
            self._reply(*proxy_response(payload))

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _proxy

    return Handler


def serve(port: int, aws_url: str) -> None:
    """Serve on 127.0.0.1:`port`, resolving APIs in the emulator at `aws_url`."""
    endpoints = Endpoints(aws=aws_url)
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(Catalog(endpoints), endpoints))
    print(f"gateway listening on http://127.0.0.1:{port} (emulator {aws_url})", flush=True)
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Command line: `python -m logferry.local.gateway --port N --aws URL`."""
    parser = argparse.ArgumentParser(description="Local API Gateway (Lambda proxy)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--aws", required=True, help="emulator URL")
    args = parser.parse_args(argv)
    serve(args.port, args.aws)


if __name__ == "__main__":
    main()
