"""End-to-end fixtures: one local stack, build and deployment shared by the test_chain_* files.

The stack is reused if `make up` already runs it (else started here and stopped at the end);
the zips are rebuilt when a source is newer than them; the deploy is create-or-update.
Figures the tests measure are gathered in `.local-stack/e2e-figures.json`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logferry.local.chain import Chain
from logferry.local.deploy import deploy
from logferry.local.endpoints import repo_root, state_dir
from logferry.local.spec import packages
from logferry.local.stack import LocalStack
from logferry.local.tf_deploy import terraform_deploy

ROOT = repo_root()
BUILD_DIR = ROOT / "build"
SOURCES = [ROOT / "shared" / "logferry", ROOT / "functions"]
FIGURES_FILE = "e2e-figures.json"
PACKAGES = packages()


def _stale(build_dir: Path) -> bool:
    zips = [build_dir / f"{name}.zip" for name in PACKAGES]
    if not all(path.is_file() for path in zips):
        return True
    built = min(path.stat().st_mtime for path in zips)
    return any(
        path.stat().st_mtime > built
        for folder in SOURCES
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


@pytest.fixture(scope="session")
def chain() -> Iterator[Chain]:
    """The deployed chain on a running local stack (started here if `make up` did not)."""
    began = time.monotonic()
    stack = LocalStack(progress=lambda line: print(f"[stack] {line}"))
    endpoints = stack.start()
    try:
        if _stale(BUILD_DIR):
            script = ROOT / "scripts" / "build_lambdas.py"
            subprocess.run([sys.executable, str(script)], check=True, capture_output=True)
        if os.environ.get("LOGFERRY_DEPLOY") == "terraform":  # the stack applied, real provider
            deployment = terraform_deploy(endpoints, progress=lambda line: print(f"[tf] {line}"))
        else:
            deployment = deploy(endpoints, BUILD_DIR, progress=lambda line: None)
        print(f"chain ready in {time.monotonic() - began:.1f}s")
        yield Chain(endpoints, deployment)
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def run_id() -> str:
    """A token unique to this test session: keys and markers never collide across runs."""
    return f"e2e{datetime.now(UTC):%H%M%S}"


@pytest.fixture(scope="session")
def figures() -> Iterator[dict[str, Any]]:
    """Measured figures; written to `.local-stack/e2e-figures.json` at the end of the session."""
    found: dict[str, Any] = {}
    yield found
    if found:
        path = state_dir() / FIGURES_FILE
        previous = json.loads(path.read_text()) if path.is_file() else {}
        path.write_text(json.dumps({**previous, **found}, indent=2, sort_keys=True) + "\n")
        print(f"figures written to {path}: {found}")


@pytest.fixture
def names(chain: Chain, request: pytest.FixtureRequest, run_id: str) -> Iterator[str]:
    """A token for one test's function, quarantine prefix, log group ``/logferry/<token>`` and
    indices ``<token>-*`` (the group, indices and template are removed afterwards)."""
    token = f"t-{'-'.join(request.node.name.split('_')[1:3])}-{run_id}".lower()
    yield token
    with contextlib.suppress(chain.logs.exceptions.ResourceNotFoundException):
        chain.logs.delete_log_group(logGroupName=f"/logferry/{token}")
    for row in chain.search(f"_cat/indices/{token}-*?format=json"):
        chain.search(str(row["index"]), method="DELETE")
    with contextlib.suppress(urllib.error.HTTPError):
        chain.search(f"_index_template/{token}", method="DELETE")
