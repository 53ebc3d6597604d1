"""scripts/install-tofu.sh and scripts/tofu without a real Go build.

A stub `go` stands in for the compiler (it records each call and writes a stub provider for
`go build -o`); a stub tofu-v1.12.6 is the cached OpenTofu; the schema is the schema provider's
hand-written test fixture (LOGFERRY_AWS_SCHEMA).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]
SCRIPTS = ROOT / "scripts"
FIXTURE = ROOT / "tools/schema-provider/internal/awsschema/testdata/fixture.json"
STUB_GO = r"""#!/bin/sh
echo "$*" >>"$GO_CALLS"
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then out="$2"; fi
  shift
done
[ -n "$out" ] || exit 0
test -f schema.json || { echo "no schema.json in the build dir" >&2; exit 1; }
printf '#!/bin/sh\necho stub provider "$@"\n' >"$out" && chmod +x "$out"
"""


def _stub(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(0o755)


def _run(
    tool: str, tmp_path: Path, *args: str, schema: Path = FIXTURE, go: bool = True
) -> subprocess.CompletedProcess[str]:
    bindir = tmp_path / "stubbin"
    if go:
        _stub(bindir / "go", STUB_GO)
    env = {
        **os.environ,
        "LOGFERRY_CACHE": str(tmp_path),
        "LOGFERRY_AWS_SCHEMA": str(schema),
        "GO_CALLS": str(tmp_path / "go-calls"),
        "PATH": f"{bindir}:/usr/bin:/bin",
    }
    return subprocess.run(
        [str(SCRIPTS / tool), *args], env=env, capture_output=True, text=True, timeout=60
    )


def _cache(tmp_path: Path) -> Path:
    cache = tmp_path / "tofu"
    _stub(cache / "bin" / "tofu-v1.12.6", '#!/bin/sh\necho "stub tofu $* $TF_CLI_CONFIG_FILE"\n')
    return cache


def _go_builds(tmp_path: Path) -> list[str]:
    calls = tmp_path / "go-calls"
    lines = calls.read_text().splitlines() if calls.exists() else []
    return [c for c in lines if c.startswith("build")]


def test_builds_the_provider_into_its_own_mirror_for_both_hosts(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    done = _run("install-tofu.sh", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"TOFU={cache}/bin/tofu-v1.12.6",
        f"TF_CLI_CONFIG_FILE={cache}/tofurc",
    ]
    [build] = _go_builds(tmp_path)
    assert "-tags embedschema" in build and "-trimpath" in build
    name = "hashicorp/aws/6.0.0/linux_amd64/terraform-provider-aws_v6.0.0"
    first = cache / "offline-mirror" / "registry.opentofu.org" / name
    twin = cache / "offline-mirror" / "registry.terraform.io" / name
    assert first.samefile(twin)
    assert not list(cache.glob("**/*1.60.0*")), "the old aws 1.60.0 build is gone"
    rc = (cache / "tofurc").read_text()
    assert f'path    = "{cache}/offline-mirror"' in rc
    assert '"registry.opentofu.org/hashicorp/aws"' in rc and "hashicorp/*" not in rc
    assert "@MIRROR@" not in rc
    assert f"export TF_CLI_CONFIG_FILE={cache}/tofurc" in (cache / "env.sh").read_text()


def test_a_rerun_builds_nothing_and_a_new_schema_rebuilds(tmp_path: Path) -> None:
    _cache(tmp_path)
    assert _run("install-tofu.sh", tmp_path).returncode == 0
    assert _run("install-tofu.sh", tmp_path).returncode == 0
    assert len(_go_builds(tmp_path)) == 1
    schema = json.loads(FIXTURE.read_text())
    schema["logferry_source"]["provider_version"] = "6.1.0"
    newer = tmp_path / "schema-6.1.json"
    newer.write_text(json.dumps(schema))
    done = _run("install-tofu.sh", tmp_path, schema=newer)
    assert done.returncode == 0, done.stderr
    assert len(_go_builds(tmp_path)) == 2
    mirror = tmp_path / "tofu" / "offline-mirror" / "registry.opentofu.org" / "hashicorp" / "aws"
    assert sorted(p.name for p in mirror.iterdir()) == ["6.1.0"]


def test_wrapper_runs_cached_tofu_with_the_offline_config(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    done = _run("tofu", tmp_path, "version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"stub tofu version {cache}/tofurc"


def test_a_schema_without_provider_version_is_refused(tmp_path: Path) -> None:
    _cache(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format_version": "1.0", "provider_schemas": {}}))
    done = _run("install-tofu.sh", tmp_path, schema=bad)
    assert done.returncode != 0
    assert "has no logferry_source.provider_version" in done.stderr


def test_missing_go_fails_with_a_message(tmp_path: Path) -> None:
    assert not Path("/usr/bin/go").exists(), "go is on the stripped PATH: it cannot be hidden"
    done = _run("install-tofu.sh", tmp_path, go=False)
    assert done.returncode != 0
    assert "go is not on PATH" in done.stderr
