"""Background processes of the local stack: ports, PID files, start and stop by process group."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil


class PortInUse(RuntimeError):
    """A configured port is taken; the message says how to choose another."""


@dataclass(frozen=True)
class Running:
    """A process started by `make up`, as recorded in its PID file."""

    name: str
    pid: int
    started_at: float
    url: str | None

    def alive(self) -> bool:
        """True while the recorded process (not a later one reusing its PID) runs."""
        try:
            process = psutil.Process(self.pid)
            same = abs(process.create_time() - self.started_at) < 1.0
            return bool(same and process.status() != psutil.STATUS_ZOMBIE)
        except psutil.Error:
            return False


def port_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:`port`."""
    with socket.socket() as probe:
        # As servers do: connections of a killed server (TIME_WAIT, FIN_WAIT) do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port the OS considers free on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def choose_port(component: str, env_name: str, default: int) -> int:
    """The port from `env_name` (a number, or `auto`), else `default`; PortInUse if taken."""
    configured = os.environ.get(env_name, "").strip()
    if configured.lower() in ("auto", "0"):
        return free_port()
    port = int(configured) if configured else default
    if not port_free(port):
        raise PortInUse(
            f"port {port} for {component} is already in use on 127.0.0.1: stop what uses it, "
            f"or set {env_name}=<port> (or {env_name}=auto to pick a free one)"
        )
    return port


def pid_path(state: Path, name: str) -> Path:
    """The PID file of component `name`."""
    return state / "pids" / f"{name}.pid"


def read_running(state: Path, name: str) -> Running | None:
    """The recorded process of component `name`, if a PID file exists."""
    try:
        raw = json.loads(pid_path(state, name).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return Running(name, int(raw["pid"]), float(raw["started_at"]), raw.get("url"))


def spawn(state: Path, name: str, argv: list[str], url: str | None) -> Running:
    """Start `argv` in its own process group, logging to `<state>/logs/<name>.log`."""
    (state / "logs").mkdir(parents=True, exist_ok=True)
    pid_path(state, name).parent.mkdir(parents=True, exist_ok=True)
    with (state / "logs" / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "LOGFERRY_STATE_DIR": str(state)},
        )
    running = Running(name, process.pid, psutil.Process(process.pid).create_time(), url)
    record = {"pid": running.pid, "started_at": running.started_at, "url": url, "argv": argv}
    pid_path(state, name).write_text(json.dumps(record) + "\n")
    return running


def stop(state: Path, running: Running, grace: float = 10.0) -> bool:
    """SIGTERM the process group, wait `grace` seconds, then SIGKILL; drops the PID file."""
    stopped = False
    if running.alive():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(running.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while running.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if running.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(running.pid, signal.SIGKILL)
        with contextlib.suppress(psutil.Error):
            psutil.Process(running.pid).wait(timeout=5)
        stopped = True
    pid_path(state, running.name).unlink(missing_ok=True)
    return stopped


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True when GET `url` answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= int(response.status) < 300
    except OSError:
        return False


def log_tail(state: Path, name: str, lines: int = 15) -> str:
    """The last lines of a component's log, for error messages."""
    try:
        text = (state / "logs" / f"{name}.log").read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
