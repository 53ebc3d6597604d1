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
    assert "logferry/formats/elb/alb.py" in names
    native = [n for n in names if n.startswith("logferry/") and n.endswith((".c", ".so"))]
    assert native == ["logferry/formats/_albscan.abi3.so"]  # needs a C compiler, as make setup
    for compiled in ("orjson/", "isal/"):
        so = [n for n in names if n.startswith(compiled) and n.endswith(".so")]
        assert any("cpython-311" in n for n in so) and any("cpython-312" in n for n in so)


def test_zip_parses_alb_lines_with_its_own_scanner(tmp_path: Path) -> None:
    """The zip's stable-ABI scanner loads in a bare interpreter (no site-packages, so not the
    tree's build) and gives the regex's groups, as in the Lambda."""
    build(tmp_path)
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(tmp_path / "alb_to_cloudwatch.zip").extractall(unpacked)
    check = (
        "from logferry.formats.elb import patterns, scanner\n"
        "assert scanner._scan.__module__ == 'logferry.formats._albscan', scanner._scan\n"
        "line = " + repr(ALB_LINE) + "\n"
        "assert scanner._scan(line) == patterns._fields_by_regex(line) is not None\n"
        "print(scanner._scan.__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", check],
        env={"PYTHONPATH": str(unpacked)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "logferry.formats._albscan"


ALB_LINE = (
    "https 2024-03-01T00:00:01.123456Z app/web/50dc6c495c0c9188 192.0.2.10:51234 10.0.0.1:80 "
    '0.001 0.010 0.000 200 200 120 512 "GET https://example.com:443/a?b=1 HTTP/1.1" "curl/8.0" '
    "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:"
    'targetgroup/web/73e2d6bc24d8a067 "Root=1-65e1-abc" "example.com" "-" 0 '
    '2024-03-01T00:00:01.110000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1'
)
