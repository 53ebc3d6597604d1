"""The local search node's cache, argv and readiness probe (no JVM started here)."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from logferry.local import search_node


def _installed(root: Path) -> Path:
    target = root / "search" / "opensearch-2.19.1"
    (target / "lib").mkdir(parents=True)
    (target / "lib" / "b.jar").touch()
    (target / "lib" / "a.jar").touch()
    (target / "installed.json").write_text("{}")
    return target


def test_install_reuses_the_cache_under_logferry_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _installed(tmp_path)
    monkeypatch.setenv("LOGFERRY_CACHE", str(tmp_path))

    def no_subprocess(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a cached install must not run mvn or java")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    assert search_node.install("opensearch", progress=no_subprocess) == target
    assert search_node.install("opensearch", cache_dir=tmp_path / "search") == target


def test_command_runs_on_loopback_with_small_heap_and_cds(tmp_path: Path) -> None:
    target = _installed(tmp_path)
    argv = search_node.command("opensearch", target, 19200, tmp_path / "node")
    assert argv[-5:] == [
        "LogferrySearchNode",
        str(tmp_path / "node" / "home"),
        str(tmp_path / "node" / "data"),
        "19200",
        "logferry-local",
    ]
    classpath = argv[argv.index("-cp") + 1].split(":")
    assert classpath == [str(target / n) for n in ("node.jar", "lib/a.jar", "lib/b.jar")]
    assert "-Xmx1g" in argv and not any("SharedArchiveFile" in a for a in argv)
    (target / "node.jsa").touch()
    argv = search_node.command("opensearch", target, 19200, tmp_path / "node")
    assert f"-XX:SharedArchiveFile={target / 'node.jsa'}" in argv


def test_elasticsearch_reads_modules_from_the_install_home(tmp_path: Path) -> None:
    argv = search_node.command("elasticsearch", tmp_path, 19200, tmp_path / "node")
    assert argv[-4:] == [str(tmp_path / "home"), str(tmp_path / "node"), "19200", "logferry-local"]


def test_unknown_engine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown search engine 'solr'"):
        search_node.command("solr", tmp_path, 1, tmp_path)


@pytest.fixture
def health() -> Iterator[tuple[list[str], str]]:
    answers: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            data = json.dumps({"status": answers.pop(0)}).encode()
            self.send_response(200 if self.path == "/_cluster/health" else 404)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield answers, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_is_ready_on_yellow_or_green_only(health: tuple[list[str], str]) -> None:
    answers, url = health
    answers.extend(["red", "yellow", "green"])
    assert [search_node.is_ready(url + "/") for _ in range(3)] == [False, True, True]
    assert not search_node.is_ready(f"http://127.0.0.1:{search_node.free_port()}")
