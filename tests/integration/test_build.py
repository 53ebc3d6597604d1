"""`make build`: one zip per function, byte-for-byte reproducible, runnable on Python 3.11."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_lambdas.py"

pytestmark = pytest.mark.e2e


def build(out: Path) -> dict[str, str]:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)], check=True, capture_output=True
    )
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.zip"))}


def test_same_sources_same_zips(tmp_path: Path) -> None:
    first, second = build(tmp_path / "a"), build(tmp_path / "b")
    functions = {p.parent.name for p in (ROOT / "functions").glob("*/handler.py")}
    assert set(first) == {f"{name}.zip" for name in functions}
    assert first == second


def test_zip_holds_handler_package_and_both_builds_of_compiled_deps(tmp_path: Path) -> None:
    build(tmp_path)
    names = zipfile.ZipFile(tmp_path / "alb_to_cloudwatch.zip").namelist()
    assert "handler.py" in names
    assert "logferry/pipeline.py" in names
    assert "boto3/__init__.py" in names
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    assert "logferry/formats/alb.py" in names
    assert not [n for n in names if n.startswith("logferry/") and n.endswith((".c", ".so"))]
    for compiled in ("orjson/", "isal/"):
        so = [n for n in names if n.startswith(compiled) and n.endswith(".so")]
        assert any("cpython-311" in n for n in so) and any("cpython-312" in n for n in so)
