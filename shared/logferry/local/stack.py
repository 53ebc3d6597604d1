"""Start, stop and inspect the local stack: emulator, search, Slack capture, gateway, scheduler."""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from logferry.local import docker_backend
from logferry.local.endpoints import (
    Endpoints,
    endpoints_path,
    load_endpoints,
    save_endpoints,
    state_dir,
)
from logferry.local.procs import Running, choose_port, http_ok, log_tail, read_running, spawn, stop

Progress = Callable[[str], None]
ALL = ("aws", "search", "slack", "gateway", "scheduler")
PORTS = {
    "aws": ("LOGFERRY_AWS_PORT", 4566),
    "search": ("LOGFERRY_SEARCH_PORT", 9200),
    "slack": ("LOGFERRY_SLACK_PORT", 4567),
    "gateway": ("LOGFERRY_GATEWAY_PORT", 4568),
}
READY_TIMEOUT = {"aws": 60.0, "search": 240.0}
HEALTH_PATHS = {"aws": "/moto-api/", "slack": "/health", "gateway": "/_health"}
SLACK_HOOK = "/hooks/T000LOCAL/B000LOCAL/logferry"


class StackError(RuntimeError):
    """A component could not start; the message names it and quotes its log."""


@dataclass(frozen=True)
class ComponentStatus:
    """One line of `logferry local status`."""

    name: str
    pid: int | None
    url: str | None
    healthy: bool


def search_engine() -> str | None:
    """`LOGFERRY_SEARCH` (elasticsearch, opensearch or none); else the search node's default."""
    engine = os.environ.get("LOGFERRY_SEARCH", "").strip().lower()
    if engine == "none":
        return None
    return engine or str(_search_node().DEFAULT_ENGINE)


def wanted(components: Iterable[str] | None) -> list[str]:
    """The components to run, in start order, honouring LOGFERRY_SEARCH=none."""
    chosen = list(components or ALL)
    unknown = set(chosen) - set(ALL)
    if unknown:
        raise ValueError(f"unknown components {sorted(unknown)}: choose from {list(ALL)}")
    return [c for c in ALL if c in chosen and (c != "search" or search_engine())]


def _search_node() -> Any:
    return importlib.import_module("logferry.local.search_node")


def healthy(name: str, url: str | None, running: Running) -> bool:
    """Whether component `name` runs and answers its health check."""
    if not running.alive():
        return False
    if name == "search":
        return bool(_search_node().is_ready(url))
    path = HEALTH_PATHS.get(name)
    return path is None or http_ok(f"{url}{path}")


def _base_url(url: str | None) -> str | None:
    return url.split("/hooks/")[0] if url else None


def _argv(name: str, port: int | None, aws: str, state: Path, progress: Progress) -> list[str]:
    python = [sys.executable, "-m"]
    if name == "aws":
        return [*python, "logferry.local.emulator", "--port", str(port), "--state-dir", str(state)]
    if name == "slack":
        return [
            *python,
            "logferry.local.slack_capture",
            "--port",
            str(port),
            "--state-dir",
            str(state),
        ]
    if name == "gateway":
        return [*python, "logferry.local.gateway", "--port", str(port), "--aws", aws]
    if name == "scheduler":
        return [*python, "logferry.local.scheduler", "--aws", aws]
    node = _search_node()
    install_dir = node.install(engine=search_engine(), progress=progress)
    data_dir = state / f"search-data-{search_engine()}"  # engines cannot share one
    data_dir.mkdir(parents=True, exist_ok=True)
    return list(node.command(search_engine(), install_dir, port, data_dir))


def _url(name: str, port: int | None) -> str | None:
    if port is None:
        return None
    base = f"http://127.0.0.1:{port}"
    return base + SLACK_HOOK if name == "slack" else base


def up(components: Iterable[str] | None = None, progress: Progress = print) -> Endpoints:
    """Start the missing components, wait until all are healthy, write endpoints.json."""
    if os.environ.get("LOGFERRY_BACKEND", "host") == "docker":
        endpoints = docker_backend.start(progress)
        save_endpoints(endpoints)
        return endpoints
    state = state_dir()
    names = wanted(components)
    running: dict[str, Running] = {}
    started: list[Running] = []
    for name in names:
        previous = read_running(state, name)
        if previous and healthy(name, _base_url(previous.url), previous):
            progress(f"{name}: already running (pid {previous.pid}) at {previous.url or '-'}")
            running[name] = previous
    ports = {n: choose_port(n, *PORTS[n]) for n in names if n in PORTS and n not in running}
    aws_url = running["aws"].url if "aws" in running else _url("aws", ports.get("aws"))
    try:
        for name in (n for n in names if n not in running):
            argv = _argv(name, ports.get(name), aws_url or "", state, progress)
            running[name] = spawn(state, name, argv, _url(name, ports.get(name)))
            started.append(running[name])
            progress(f"{name}: started (pid {running[name].pid})")
        _wait_healthy(state, started, progress)
    except BaseException:
        for process in started:
            stop(state, process)
        raise
    endpoints = _endpoints(running)
    save_endpoints(endpoints)
    progress(f"endpoints written to {endpoints_path()}")
    return endpoints


def _wait_healthy(state: Path, pending: list[Running], progress: Progress) -> None:
    began = time.monotonic()
    waiting = list(pending)
    next_note = began + 5.0
    while waiting:
        if time.monotonic() >= next_note:
            names = ", ".join(process.name for process in waiting)
            progress(f"still waiting for {names} ({time.monotonic() - began:.0f}s)")
            next_note += 5.0
        for process in list(waiting):
            elapsed = time.monotonic() - began
            if healthy(process.name, _base_url(process.url), process):
                progress(f"{process.name}: ready after {elapsed:.1f}s at {process.url or '-'}")
                waiting.remove(process)
            elif not process.alive():
                tail = log_tail(state, process.name)
                raise StackError(f"{process.name} exited during start-up; its log ends:\n{tail}")
            elif elapsed > READY_TIMEOUT.get(process.name, 30.0):
                tail = log_tail(state, process.name)
                raise StackError(f"{process.name} not healthy after {elapsed:.0f}s:\n{tail}")
        time.sleep(0.25)


def _endpoints(running: dict[str, Running]) -> Endpoints:
    def url(name: str) -> str | None:
        return running[name].url if name in running else None

    return Endpoints(
        aws=url("aws") or "",
        search=url("search"),
        search_engine=search_engine() if "search" in running else None,
        slack=url("slack"),
        gateway=url("gateway"),
        pids={name: process.pid for name, process in running.items()},
    )


def down(progress: Progress = print) -> int:
    """Stop every component `up` started (by PID file); returns how many were running."""
    state = state_dir()
    if endpoints_path().exists() and load_endpoints().backend == "docker":
        docker_backend.stop(load_endpoints())
    count = 0
    for name in ALL:
        process = read_running(state, name)
        if process is None:
            continue
        if stop(state, process):
            count += 1
            progress(f"{name}: stopped (pid {process.pid})")
        else:
            progress(f"{name}: was not running (stale pid file removed)")
    endpoints_path().unlink(missing_ok=True)
    return count


def status() -> list[ComponentStatus]:
    """The recorded components with their pid, url and health."""
    state = state_dir()
    rows = []
    for name in ALL:
        process = read_running(state, name)
        if process is not None:
            ok = healthy(name, _base_url(process.url), process)
            rows.append(ComponentStatus(name, process.pid, process.url, ok))
    return rows


def running_endpoints() -> Endpoints | None:
    """The endpoints of a stack that is up and healthy, else None."""
    if not endpoints_path().exists():
        return None
    rows = status()
    return load_endpoints() if rows and all(row.healthy for row in rows) else None


class LocalStack:
    """Context manager for tests: reuse a healthy running stack, or start one and stop it after."""

    def __init__(self, components: Iterable[str] | None = None, progress: Progress = print):
        self.components = list(components) if components else None
        self.progress = progress
        self.owned = False
        self.endpoints: Endpoints | None = None

    def start(self, components: Iterable[str] | None = None) -> Endpoints:
        """Endpoints of a running stack with `components` (starting what is missing)."""
        names = wanted(components or self.components)
        current = running_endpoints()
        if current is not None and all(name in current.pids for name in names):
            self.endpoints = current
            return current
        self.owned = True
        self.endpoints = up(names, self.progress)
        return self.endpoints

    def stop(self) -> None:
        """Stop the stack if this object started it."""
        if self.owned:
            down(self.progress)
            self.owned = False

    def __enter__(self) -> Endpoints:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
