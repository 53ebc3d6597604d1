"""`make build`: one zip per function, byte-for-byte reproducible, runnable on Python 3.11,
each holding its handler's import closure and no developer tool."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_lambdas.py"
FUNCTIONS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/handler.py"))
TOOLS = (
    "logferry/local/", "logferry/demo.py", "logferry/samples/", "logferry/reports/",
    "logferry/dashboards/", "logferry/backfill.py", "logferry/replay.py", "logferry/cli.py",
    "logferry/configdoc.py",
)  # fmt: skip

pytestmark = pytest.mark.e2e


def build(out: Path) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.zip"))}


@pytest.fixture(scope="module")
def zips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build of every zip, shared by the tests that only read them."""
    out = tmp_path_factory.mktemp("zips")
    build(out)
    return out


def names(zips: Path, function: str) -> list[str]:
    return zipfile.ZipFile(zips / f"{function}.zip").namelist()


def test_same_sources_same_zips(zips: Path, tmp_path: Path) -> None:
    first = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in zips.glob("*.zip")}
    second = build(tmp_path)
    assert set(first) == {f"{name}.zip" for name in FUNCTIONS}
    assert first == second


def test_zip_holds_handler_package_and_both_builds_of_compiled_deps(zips: Path) -> None:
    listed = names(zips, "alb_to_cloudwatch")
    assert "handler.py" in listed
    assert "logferry/pipeline.py" in listed
    assert "boto3/__init__.py" in listed
    assert not [n for n in listed if n.endswith(".pyc") or "__pycache__" in n]
    formats = [n for n in listed if n.startswith("logferry/formats/") and n.endswith(".py")]
    assert set(formats) - {"logferry/formats/__init__.py", "logferry/formats/base.py"}
    assert "logferry/sinks/index_template.json" in listed  # package data beside a module
    native = [n for n in listed if n.startswith("logferry/") and n.endswith((".c", ".so"))]
    assert native == ["logferry/formats/_albscan.abi3.so"]  # needs a C compiler, as make setup
    for compiled in ("orjson/", "isal/"):
        so = [n for n in listed if n.startswith(compiled) and n.endswith(".so")]
        assert any("cpython-311" in n for n in so) and any("cpython-312" in n for n in so)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_zip_ships_developer_tools(zips: Path, function: str) -> None:
    tools = [n for n in names(zips, function) if n.startswith(TOOLS) or n.endswith(".java")]
    assert tools == []


def test_upload_url_carries_only_what_it_imports(zips: Path) -> None:
    """upload_url needs boto3 and Powertools: no search clients, Slack or compiled deps."""
    listed = names(zips, "upload_url")
    assert "boto3/__init__.py" in listed and "aws_lambda_powertools/__init__.py" in listed
    for unused in ("elasticsearch/", "opensearchpy/", "slack_sdk/", "isal/", "orjson/"):
        assert not [n for n in listed if n.startswith(unused)], unused
    assert "logferry/formats/_albscan.abi3.so" not in listed


@pytest.mark.parametrize("function", FUNCTIONS)
def test_zip_imports_in_a_bare_interpreter(zips: Path, function: str, tmp_path: Path) -> None:
    """The handler and every logferry module in the zip import with nothing but the zip on
    the path (no site-packages, not the tree): the closure is complete, also for the modules
    loaded by name (the formats)."""
    zipfile.ZipFile(zips / f"{function}.zip").extractall(tmp_path)
    sources = [p.relative_to(tmp_path).with_suffix("") for p in tmp_path.glob("logferry/**/*.py")]
    modules = sorted(".".join(p.parts).removesuffix(".__init__") for p in sources)
    check = "import importlib\nimport handler\n" + "".join(
        f"importlib.import_module({m!r})\n" for m in modules
    )
    if "logferry.formats" in modules:  # every format it names loads (by module name)
        check += (
            "from logferry.formats import get_format, names\n"
            "for name in names():\n"
            "    try:\n"
            "        get_format(name)\n"
            "    except ImportError:\n"
            "        raise\n"
            "    except Exception:\n"
            "        pass  # options missing (regex's pattern): the module loaded\n"
        )
    out = subprocess.run(
        [sys.executable, "-S", "-c", check],
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr


def test_zip_parses_alb_lines_with_its_own_scanner(zips: Path, tmp_path: Path) -> None:
    """The zip's stable-ABI scanner loads in a bare interpreter (no site-packages, so not the
    tree's build) and gives the regex's groups, as in the Lambda."""
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(zips / "alb_to_cloudwatch.zip").extractall(unpacked)
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
