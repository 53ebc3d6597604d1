"""Local stack plumbing that needs no servers: ports, endpoints.json, wait_for, docker fail-fast."""

import argparse
import socket
import time
from pathlib import Path

import pytest

from logferry.local import cli, docker_backend, stack
from logferry.local.endpoints import Endpoints, load_endpoints, save_endpoints, wait_for
from logferry.local.procs import PortInUse, Running, choose_port, read_running, spawn, stop


def test_endpoints_round_trip_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGFERRY_STATE_DIR", str(tmp_path))
    endpoints = Endpoints(
        aws="http://127.0.0.1:1", slack="http://127.0.0.1:2/hooks/x", pids={"aws": 5}
    )
    save_endpoints(endpoints)
    assert load_endpoints() == endpoints
    env = endpoints.env()
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("test", "test")
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"


def test_missing_endpoints_file_says_make_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGFERRY_STATE_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make up"):
        load_endpoints()


def test_port_in_use_names_port_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("LOGFERRY_AWS_PORT", str(port))
        with pytest.raises(PortInUse, match=rf"port {port} for aws .*LOGFERRY_AWS_PORT="):
            choose_port("aws", "LOGFERRY_AWS_PORT", 4566)
    monkeypatch.setenv("LOGFERRY_AWS_PORT", "auto")
    assert choose_port("aws", "LOGFERRY_AWS_PORT", 4566) > 0


def test_search_none_skips_search(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGFERRY_SEARCH", "none")
    assert stack.wanted(None) == ["aws", "slack", "gateway", "scheduler"]
    with pytest.raises(ValueError, match="unknown components"):
        stack.wanted(["aws", "kafka"])


def test_wait_for_returns_value_or_names_what_it_waited_for() -> None:
    values = iter([None, 0, "ready"])
    assert wait_for(lambda: next(values), timeout=2, interval=0.01) == "ready"
    with pytest.raises(TimeoutError, match="waiting for the moon"):
        wait_for(lambda: False, timeout=0.1, interval=0.02, what="the moon")


def test_docker_backend_fails_fast_without_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    started = time.monotonic()
    with pytest.raises(docker_backend.BackendUnavailable, match="no engine at /nonexistent"):
        docker_backend.start(print)
    assert time.monotonic() - started < 2


def test_spawn_and_stop_by_process_group(tmp_path: Path) -> None:
    running = spawn(tmp_path, "sleeper", ["sleep", "60"], None)
    assert running.alive()
    assert read_running(tmp_path, "sleeper") == running
    assert stop(tmp_path, running, grace=5)
    assert not running.alive()
    assert read_running(tmp_path, "sleeper") is None


def test_a_reused_pid_is_not_ours() -> None:
    assert not Running("x", 1, started_at=0.0, url=None).alive()


def test_cli_register_adds_local_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOGFERRY_STATE_DIR", str(tmp_path))
    parser = argparse.ArgumentParser(prog="logferry")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["local", "status"])
    assert args.func(args) == 3
    assert "not running" in capsys.readouterr().out
    args = parser.parse_args(["local", "up", "kafka"])
    assert args.func(args) == 1
    assert "unknown components ['kafka']" in capsys.readouterr().err
