"""Where the local stack lives: state directory, endpoints.json, AWS client helpers."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REGION = "us-east-1"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
ENDPOINTS_FILE = "endpoints.json"
T = TypeVar("T")


def repo_root() -> Path:
    """The repository root (the folder holding shared/pyproject.toml), else the cwd."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "pyproject.toml").is_file():
            return parent
    return Path.cwd()


def state_dir() -> Path:
    """`LOGFERRY_STATE_DIR`, else `<repo>/.local-stack`."""
    configured = os.environ.get("LOGFERRY_STATE_DIR")
    return Path(configured) if configured else repo_root() / ".local-stack"


@dataclass
class Endpoints:
    """URLs of the running local components (None when a component is not running)."""

    aws: str
    search: str | None = None
    search_engine: str | None = None
    slack: str | None = None
    gateway: str | None = None
    pids: dict[str, int] = field(default_factory=dict)
    backend: str = "host"
    containers: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """Environment variables that point boto3 (and our code) at the local stack."""
        values = {
            "AWS_ENDPOINT_URL": self.aws,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            **DUMMY_CREDENTIALS,
        }
        if self.search:
            values["LOGFERRY_SEARCH_URL"] = self.search
        if self.slack:
            values["LOGFERRY_SLACK_WEBHOOK_URL"] = self.slack
        return values

    def to_json(self) -> str:
        """The endpoints.json text."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def endpoints_path(directory: Path | None = None) -> Path:
    """Path of endpoints.json in the state directory."""
    return (directory or state_dir()) / ENDPOINTS_FILE


def load_endpoints(path: Path | None = None) -> Endpoints:
    """Read endpoints.json; FileNotFoundError says to run `make up` first."""
    target = path or endpoints_path()
    try:
        raw = json.loads(target.read_text())
    except FileNotFoundError:
        message = f"{target} not found: start the local stack with `make up`"
        raise FileNotFoundError(message) from None
    known = {name: raw[name] for name in Endpoints.__dataclass_fields__ if name in raw}
    return Endpoints(**known)


def save_endpoints(endpoints: Endpoints, path: Path | None = None) -> Path:
    """Write endpoints.json atomically and return its path."""
    target = path or endpoints_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(endpoints.to_json())
    tmp.replace(target)
    return target


def aws_env(endpoint_url: str) -> dict[str, str]:
    """Environment for a process that must reach the emulator at `endpoint_url`."""
    return Endpoints(aws=endpoint_url).env()


def boto3_client(service: str, endpoints: Endpoints | None = None, **kwargs: Any) -> Any:
    """A boto3 client for `service` bound to the local emulator, with dummy credentials."""
    import boto3

    target = endpoints or load_endpoints()
    return boto3.client(
        service,
        endpoint_url=target.aws,
        region_name=REGION,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        **kwargs,
    )


def wait_for(
    predicate: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.2, what: str = ""
) -> T:
    """Call `predicate` until it returns a truthy value; TimeoutError names `what` otherwise."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # keep polling: the awaited thing may not exist yet
            last_error = error
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            name = what or getattr(predicate, "__name__", "condition")
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {name}{detail}")
        time.sleep(interval)
