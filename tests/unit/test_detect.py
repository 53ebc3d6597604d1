"""The auto format: each object's format from its S3 key, else from its first line."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from logferry import formats
from logferry.formats.detect import CONTENT_RULES, KEY_RULES, detect
from logferry.model import ObjectRef, ParseContext, Record

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
ACCOUNT = "123456789012"


@pytest.mark.parametrize(
    ("key", "name"),
    [
        (
            f"lb/AWSLogs/{ACCOUNT}/elasticloadbalancing/us-east-1/2024/03/01/"
            f"{ACCOUNT}_elasticloadbalancing_us-east-1_app.web.50dc6c495c0c9188_"
            "20240301T0005Z_198.51.100.1_2ab9c5e1.log.gz",
            "loadbalancer",
        ),
        (
            f"AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/2024/03/01/"
            f"{ACCOUNT}_vpcflowlogs_us-east-1_fl-1234abcd_20240301T0005Z_hash.log.gz",
            "vpcflow",
        ),
        (
            f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2024/03/01/"
            f"{ACCOUNT}_CloudTrail_us-east-1_20240301T0005Z_abcdef.json.gz",
            "cloudtrail",
        ),
        (f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/us-east-1/2024/03/01/x.json.gz", "cloudtrail"),
        (f"AWSLogs/{ACCOUNT}/WAFLogs/us-east-1/web-acl/2024/03/01/00/05/x.log.gz", "waf"),
        ("cf/E2QWRUHAPOMQZL.2024-03-01-05.a1b2c3d4.gz", "cloudfront"),
        ("s3logs/2024-03-01-05-10-11-0123456789ABCDEF", "s3access"),
    ],
)
def test_aws_log_keys(key: str, name: str) -> None:
    assert detect(key, b"") == name


@pytest.mark.parametrize(
    ("case", "name"),
    [
        ("alb", "loadbalancer"),
        ("elb", "loadbalancer"),
        ("nlb", "loadbalancer"),
        ("loadbalancer", "loadbalancer"),
        ("apache", "apache"),
        ("nginx", "apache"),
        ("serverlog", "serverlog"),
        ("apigw", "apigw"),
        ("cwl", "cwl"),
    ],
)
def test_first_lines_of_the_golden_inputs(case: str, name: str) -> None:
    for path in sorted((GOLDEN / case).iterdir()):
        if path.suffix in (".ndjson",) or path.name.endswith(".spec.json"):
            continue
        if path.with_name(path.name.split(".")[0] + ".spec.json").exists():
            continue  # a case that names its own preset or options (e.g. agent-only lines)
        data = path.read_bytes()
        head = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        assert detect(f"{case}/{path.name}", head) == name, path


def test_every_detected_format_is_registered() -> None:
    named = {name for _, name in KEY_RULES} | {name for _, name in CONTENT_RULES}
    assert named <= set(formats.names())


def test_auto_hands_each_object_to_its_format_and_keeps_unknown_lines() -> None:
    auto = formats.get_format("auto")
    ref = ObjectRef("b", "x.log")
    chosen = auto.for_object(ref, b'{"messageType":"DATA_MESSAGE"}')
    assert chosen.name == "cwl"
    assert auto.for_object(ref, b"hello world\n") is auto
    (doc,) = auto.parse(Record(0, b"hello world", 1), ParseContext(ref))
    assert doc["message"] == "hello world" and "no known log format" in doc["error"]["message"]


def test_parse_without_format_says_which_it_chose(tmp_path: Path) -> None:
    source = next(p for p in (GOLDEN / "elb").iterdir() if p.suffix == ".log")
    out = subprocess.run(
        [sys.executable, "-m", "logferry.cli", "parse", str(source)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"{source}: format loadbalancer" in out.stderr
    assert out.stdout.count("\n") == len(source.read_text().splitlines())
