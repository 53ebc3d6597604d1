"""Local API Gateway: serves the Lambda proxy integrations of APIs deployed in the emulator.

URLs: `http://127.0.0.1:PORT/{api id or name}/{stage}/{path}` (HTTP APIs: the stage may be
left out for `$default`) or LocalStack's `/restapis/{api id}/{stage}/_user_request_/{path}`.
REST API requests become v1 proxy events (`requestContext.identity.sourceIp` is the
caller's address), HTTP API requests use the integration's payload format (2.0 by
default); the function runs synchronously through the emulator.
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
    payload_version: str = "1.0"


def split_request_path(path: str) -> tuple[str, str, str]:
    """(api reference, stage or "", resource path) from a gateway URL path."""
    parts = path.lstrip("/").split("/")
    if parts[0] == "restapis" and len(parts) >= 4 and parts[3] == "_user_request_":
        return parts[1], parts[2], "/" + "/".join(parts[4:])
    if not parts[0]:
        raise NotFound(f"path {path!r} does not name an API: use /<api>/<stage>/...")
    return parts[0], parts[1] if len(parts) > 1 else "", "/" + "/".join(parts[2:])


def _function_arn(uri: str, what: str) -> str:
    """The function ARN in an integration URI (plain ARN or apigateway invocations ARN)."""
    found = FUNCTION_IN_URI.search(uri)
    if found:
        return found.group(1)
    if uri.startswith("arn:") and ":lambda:" in uri:
        return uri
    raise NotFound(f"{what}: integration is not a Lambda proxy")


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
    """Looks deployed REST APIs (apigateway) and HTTP APIs (apigatewayv2) up in the emulator."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.apigateway = boto3_client("apigateway", endpoints)
        self.apigatewayv2 = boto3_client("apigatewayv2", endpoints)

    def resolve(self, request_path: str, method: str) -> Route:
        """The route serving `method request_path`; NotFound names what is missing."""
        api_ref, stage, path = split_request_path(request_path)
        apis = self.apigateway.get_rest_apis(limit=500)["items"]
        api = next((a for a in apis if api_ref in (a["id"], a["name"])), None)
        if api is not None:
            if not stage:
                raise NotFound(f"path {request_path!r} names no stage: use /<api>/<stage>/...")
            return self._rest_route(api, stage, path, method)
        http_apis = self.apigatewayv2.get_apis()["Items"]
        http_api = next((a for a in http_apis if api_ref in (a["ApiId"], a["Name"])), None)
        if http_api is None:
            raise NotFound(f"no REST or HTTP API with id or name {api_ref!r}")
        return self._http_route(http_api["ApiId"], stage, path, method)

    def _http_route(self, api_id: str, stage: str, path: str, method: str) -> Route:
        stages = {s["StageName"] for s in self.apigatewayv2.get_stages(ApiId=api_id)["Items"]}
        if stage not in stages:  # `$default` stage: the segment belongs to the path
            path = "/" + "/".join(part for part in (stage, path.strip("/")) if part)
            stage = "$default"
        routes = self.apigatewayv2.get_routes(ApiId=api_id)["Items"]
        for route in sorted(routes, key=lambda r: _specificity(r["RouteKey"])):
            verb, _, template = route["RouteKey"].partition(" ")
            params = {} if verb == "$default" else match_path(template, path)
            if params is None or verb not in (method, "ANY", "$default"):
                continue
            integration = self.apigatewayv2.get_integration(
                ApiId=api_id, IntegrationId=route["Target"].removeprefix("integrations/")
            )
            arn = _function_arn(integration.get("IntegrationUri", ""), route["RouteKey"])
            version = integration.get("PayloadFormatVersion", "2.0")
            return Route(api_id, stage, route["RouteKey"], path, params, arn, version)
        raise NotFound(f"HTTP API {api_id!r} has no route for {method} {path}")

    def _rest_route(self, api: dict[str, Any], stage: str, path: str, method: str) -> Route:
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
            what = f"{method} {resource['path']}"
            arn = _function_arn(integration.get("uri", ""), what)
            return Route(api["id"], stage, resource["path"], path, params, arn)
        raise NotFound(f"REST API {api['name']!r} has no resource for {method} {path}")


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


def proxy_event_v2(
    route: Route, method: str, query: str, headers: dict[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    """HTTP API's payload format 2.0 Lambda proxy event."""
    joined: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    v1 = proxy_event(route, method, query, headers, body, source_ip)
    return {
        "version": "2.0",
        "routeKey": route.resource_path,
        "rawPath": route.path,
        "rawQueryString": query,
        "headers": {key.lower(): value for key, value in headers.items()},
        "queryStringParameters": joined or None,
        "pathParameters": route.path_parameters or None,
        "requestContext": {
            "apiId": route.api_id,
            "stage": route.stage,
            "routeKey": route.resource_path,
            "requestId": v1["requestContext"]["requestId"],
            "timeEpoch": v1["requestContext"]["requestTimeEpoch"],
            "http": {
                "method": method,
                "path": route.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("User-Agent", ""),
            },
        },
        "body": v1["body"],
        "isBase64Encoded": v1["isBase64Encoded"],
    }


def proxy_response(payload: Any) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) from a Lambda proxy result (2.0: any JSON value is a body)."""
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()
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
            build = proxy_event_v2 if route.payload_version == "2.0" else proxy_event
            caller = self.client_address[0]
            event = build(route, self.command, url.query, dict(self.headers), body, caller)
            result = functions.invoke(FunctionName=route.function_arn, Payload=json.dumps(event))
            payload = json.loads(result["Payload"].read() or b"{}")
            if result.get("FunctionError"):
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
