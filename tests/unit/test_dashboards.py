"""Saved objects NDJSON (valid, references resolve, in sync) and import/export over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from logferry.dashboards import cli
from logferry.dashboards.loader import NDJSON_FILE, DashboardsError, import_objects
from logferry.dashboards.objects import SOURCES, saved_objects, to_ndjson


def shipped() -> list[dict[str, Any]]:
    return [json.loads(line) for line in NDJSON_FILE.read_text().splitlines()]


def test_shipped_file_is_the_generated_one() -> None:
    assert NDJSON_FILE.read_text() == to_ndjson(saved_objects())


def test_every_reference_resolves_and_embedded_json_parses() -> None:
    objects = shipped()
    ids = {(o["type"], o["id"]) for o in objects}
    assert len(ids) == len(objects)
    for obj in objects:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in ids, f"{obj['id']} -> {ref}"
        attrs = obj["attributes"]
        if obj["type"] == "visualization":
            state = json.loads(attrs["visState"])
            assert state["title"] == attrs["title"] and state["aggs"]
        if obj["type"] == "dashboard":
            names = {ref["name"] for ref in obj["references"]}
            panels = json.loads(attrs["panelsJSON"])
            assert {p["panelRefName"] for p in panels} == names and len(panels) == 3
        meta = attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if meta and "indexRefName" in json.loads(meta):
            assert json.loads(meta)["indexRefName"] in {r["name"] for r in obj["references"]}


def test_a_data_view_per_dataset_and_a_dashboard_per_source() -> None:
    objects = saved_objects("acme")
    views = {o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    assert {"acme-aws.alb-*", "acme-aws.apigateway-*", "acme-nginx.access.status_counts-*"} <= views
    dashboards = [o for o in objects if o["type"] == "dashboard"]
    assert len(dashboards) == len(SOURCES) == 6


class Server:
    def __init__(self, status: int, answer: bytes) -> None:
        self.status, self.answer = status, answer
        self.requests: list[tuple[str, dict[str, str], bytes]] = []


@pytest.fixture
def server() -> Iterator[tuple[Server, str]]:
    state = Server(200, b"")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(
                (self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(state.status)
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def run_cli(*argv: str) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return int(args.func(args))


def test_import_posts_multipart_with_both_xsrf_headers(server: tuple[Server, str]) -> None:
    state, url = server
    state.answer = json.dumps({"success": True, "successCount": 34}).encode()
    assert run_cli("dashboards", "import", "--url", url + "/", "--prefix", "acme") == 0
    path, headers, body = state.requests[0]
    assert path == "/api/saved_objects/_import?overwrite=true"
    assert headers["kbn-xsrf"] == "true" and headers["osd-xsrf"] == "true"
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + body
    )
    (part,) = list(message.iter_parts())
    assert part.get_param("name", header="content-disposition") == "file"
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    lines = payload.decode().splitlines()
    assert len(lines) == len(saved_objects()) and "acme-aws.alb-*" in lines[0]


def test_import_failures_are_reported(server: tuple[Server, str]) -> None:
    state, url = server
    state.answer = json.dumps(
        {"success": False, "errors": [{"type": "dashboard", "id": "d", "error": {"type": "x"}}]}
    ).encode()
    with pytest.raises(DashboardsError, match="dashboard/d"):
        import_objects(url, "{}\n")
    state.status, state.answer = 400, b'{"message": "bad request"}'
    with pytest.raises(DashboardsError, match=r"HTTP 400: .*bad request"):
        import_objects(url, "{}\n")
    assert run_cli("dashboards", "import", "--url", url) == 1


def test_export_writes_one_file_per_object(server: tuple[Server, str], tmp_path: Path) -> None:
    state, url = server
    state.answer = (to_ndjson(saved_objects()[:3]) + '{"exportedCount": 3}\n').encode()
    assert run_cli("dashboards", "export", "--url", url, "--out", str(tmp_path)) == 0
    path, _headers, body = state.requests[0]
    assert path == "/api/saved_objects/_export" and json.loads(body)["includeReferencesDeep"]
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert files == sorted(f"index-pattern/{o['id']}.json" for o in saved_objects()[:3])
