"""Golden-file tests: every format's sample input must give exactly its checked-in NDJSON.

Regenerate one format's expectations with ``python tests/unit/test_golden.py --regen FORMAT``
(then read the diff: a golden file is only worth something if a person checked it).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

from logferry.formats import get_format
from logferry.model import ObjectRef, ParseContext

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
INPUT_SUFFIXES = {".log", ".json", ".txt", ".gz"}


def cases() -> list[Path]:
    """Every golden input file."""
    return sorted(
        p
        for p in GOLDEN.glob("*/*")
        if p.suffix in INPUT_SUFFIXES and p.is_file() and not p.name.endswith(".spec.json")
    )


def render(case: Path) -> str:
    """Parse one golden input the way the Lambdas do and render NDJSON."""
    spec_path = case.with_name(case.name.split(".")[0] + ".spec.json")
    spec = json.loads(spec_path.read_text()) if spec_path.exists() else {}
    fmt_name = case.parent.name
    fmt = get_format(fmt_name, **spec.get("options", {}))
    data = case.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    ctx = ParseContext(
        ObjectRef(bucket="golden-bucket", key=spec.get("key", f"{fmt_name}/{case.name}")),
        extra={"object_time": "2024-03-01T00:00:00.000Z"},
    )
    fmt = fmt.for_object(ctx.ref, data, 0)  # a format that chooses per object, as the pipeline
    lines = [
        json.dumps(doc, sort_keys=True, ensure_ascii=False)
        for record in fmt.frame([data])
        for doc in fmt.parse(record, ctx)
    ]
    return "".join(line + "\n" for line in lines)


def expected_path(case: Path) -> Path:
    """The NDJSON file holding a case's expected documents."""
    return case.with_name(case.name.split(".")[0] + ".ndjson")


@pytest.mark.parametrize("case", cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden(case: Path) -> None:
    expected = expected_path(case)
    assert expected.exists(), f"{expected} missing: run test_golden.py --regen {case.parent.name}"
    assert render(case) == expected.read_text(encoding="utf-8")


def test_every_format_has_a_golden_case() -> None:
    from logferry.formats import names

    covered = {p.parent.name for p in cases()}
    assert set(names()) <= covered, f"formats without golden cases: {set(names()) - covered}"


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--regen":
        for c in cases():
            if c.parent.name in sys.argv[2:]:
                expected_path(c).write_text(render(c), encoding="utf-8")
                print(f"wrote {expected_path(c)}")
    else:
        print(__doc__)
