"""`logferry parse` and `logferry formats` as a user runs them (real subprocesses)."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from logferry.cli import _parse_file
from logferry.formats.base import LineFormat, base_document
from logferry.model import Document, ParseContext, Record
from logferry.samples.alb import alb_lines

EXE = [sys.executable, "-m", "logferry.cli"]


def write_sample(tmp_path: Path, n: int = 2000) -> Path:
    path = tmp_path / "sample.log.gz"
    lines = alb_lines(n, datetime(2024, 3, 1, tzinfo=UTC), seed=1)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def test_parse_gzip_to_ndjson(tmp_path: Path) -> None:
    out = subprocess.run(
        [*EXE, "parse", "--format", "alb", str(write_sample(tmp_path))],
        capture_output=True, check=True,
    )  # fmt: skip
    docs = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(docs) == 2000
    assert all(d["event"]["dataset"] == "aws.alb" for d in docs)
    assert docs[0]["log"]["file"]["path"].endswith("sample.log.gz")
    assert b"2000 records, 2000 documents, 0 did not parse" in out.stderr


def test_parse_piped_into_head_is_not_an_error(tmp_path: Path) -> None:
    sample = write_sample(tmp_path, 50_000)
    cmd = f"{sys.executable} -m logferry.cli parse --format alb {sample} | head -3"
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 3
    assert b"Traceback" not in out.stderr


APACHE_LINE = b'1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326'


def test_parse_stdin_and_bad_lines_kept(tmp_path: Path) -> None:
    out = subprocess.run(
        [*EXE, "parse", "--format", "apache", "-v", "-"],
        input=APACHE_LINE + b"\nnot a log line\n",
        capture_output=True, check=True,
    )  # fmt: skip
    docs = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(docs) == 2
    assert docs[1]["message"] == "not a log line"
    assert "error" in docs[1]
    assert b"line 2" in out.stderr


def test_truncated_gzip_names_the_file_and_keeps_what_was_read(tmp_path: Path) -> None:
    sample = write_sample(tmp_path, 20_000)
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(sample.read_bytes()[: sample.stat().st_size // 2])
    out = subprocess.run([*EXE, "parse", "--format", "alb", str(cut)], capture_output=True)
    assert out.returncode == 1
    assert f"{cut}: truncated gzip".encode() in out.stderr
    assert len(out.stdout.splitlines()) > 1000


def test_unknown_file_and_format_list() -> None:
    out = subprocess.run(
        [*EXE, "parse", "--format", "alb", "/nonexistent.log"], capture_output=True
    )
    assert out.returncode == 1
    assert b"/nonexistent.log" in out.stderr
    listing = subprocess.run([*EXE, "formats"], capture_output=True, check=True).stdout.decode()
    for name in ("alb", "cwl", "apache", "nginx", "regex", "serverlog", "apigw"):
        assert name in listing


class RaisingFormat(LineFormat):
    """Raises on lines holding ``boom``: a stand-in for a parser bug."""

    name = "boom"
    dataset = "test.boom"

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        if b"boom" in record.data:
            raise ValueError("kaput")
        return [base_document(record, ctx, self.dataset)]


def test_a_parser_that_raises_loses_no_line(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b"a\nboom\nc\n")
    out, totals = io.BytesIO(), [0, 0, 0]
    _parse_file(str(path), RaisingFormat(), out, False, totals)
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [d["message"] for d in docs] == ["a", "boom", "c"]
    assert totals == [3, 3, 1]
    assert docs[1]["error"]["message"].endswith("line 2: the boom parser failed: ValueError: kaput")


def test_core_commands_skip_the_other_subcommands_imports() -> None:
    code = (
        "import sys\nfrom logferry.cli import main\nmain(['formats'])\n"
        "heavy = ('slack_sdk', 'logferry.local.stack', 'psutil')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    assert out.stdout.splitlines()[-1] == "[]"
    helped = subprocess.run([*EXE, "--help"], capture_output=True, check=True, text=True).stdout
    assert "dashboards" in helped and "local" in helped  # the full list is still there
