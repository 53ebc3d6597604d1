"""scripts/install-tofu.sh fast path: with the builds already cached it only writes the config.

Stub executables stand in for the cached tofu and provider builds, so no Go build runs here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parents[2] / "scripts"
PROVIDER = "hashicorp/aws/1.60.0/linux_amd64/terraform-provider-aws_v1.60.0"


def _stub(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def _cache(tmp_path: Path) -> Path:
    cache = tmp_path / "tofu"
    _stub(cache / "bin" / "tofu-v1.12.6", 'echo "stub tofu $* $TF_CLI_CONFIG_FILE"')
    _stub(cache / "mirror" / "registry.opentofu.org" / PROVIDER, "exit 0")
    return cache


def _run(tool: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOGFERRY_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [str(SCRIPTS / tool), *args], env=env, capture_output=True, text=True, timeout=30
    )


def test_cached_builds_only_write_config(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    done = _run("install-tofu.sh", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"TOFU={cache}/bin/tofu-v1.12.6",
        f"TF_CLI_CONFIG_FILE={cache}/tofurc",
    ]
    rc = (cache / "tofurc").read_text()
    assert f'path    = "{cache}/mirror"' in rc
    assert "@MIRROR@" not in rc
    twin = cache / "mirror" / "registry.terraform.io" / PROVIDER
    assert twin.samefile(cache / "mirror" / "registry.opentofu.org" / PROVIDER)
    assert f"export TF_CLI_CONFIG_FILE={cache}/tofurc" in (cache / "env.sh").read_text()


def test_wrapper_runs_cached_tofu_with_the_mirror_config(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    done = _run("tofu", tmp_path, "version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"stub tofu version {cache}/tofurc"


def test_missing_go_fails_with_a_message(tmp_path: Path) -> None:
    if shutil.which("go", path="/usr/bin:/bin"):
        pytest.skip("go is on the stripped PATH: the script would start a real build")
    done = _run("install-tofu.sh", tmp_path)
    assert done.returncode != 0
    assert "go is not on PATH" in done.stderr
