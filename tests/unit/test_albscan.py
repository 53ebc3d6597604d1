"""The compiled ALB scanner against its specification, the regex ``_ALB_RE``.

``_albscan.fields(line)`` must give exactly ``patterns._fields_by_regex(line)`` (the regex's
groups, numbers converted by ``int()``/``float()``), values and types, or ``None`` (then the
parser asks the regex). Checked on every ALB/Classic ELB line of the golden files
and the unit tests, on generated lines, and on mutated lines (a quote, a space, a Unicode
digit, a newline put, removed or moved anywhere); the golden files also pass with the
scanner turned off, which is how a build without a C compiler runs.
"""

from __future__ import annotations

import gzip
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
import test_format_alb  # a sibling module: pytest puts tests/unit on sys.path
import test_golden
from hypothesis import given, settings
from hypothesis import strategies as st

from logferry.formats.elb import alb, patterns, scanner
from logferry.samples.alb import alb_lines

try:
    from logferry.formats._albscan import fields
except ImportError as exc:  # pragma: no cover - reported by test_scanner_is_built
    fields = None
    IMPORT_ERROR: ImportError | None = exc
else:
    IMPORT_ERROR = None

# What the regex treats specially: delimiters, escapes, `\d` (Unicode digits too), `.`/`$`;
# and a lone surrogate (no UTF-8 form, so the scanner must hand the line over).
TRICKY = [" ", '"', "-", ":", "\\", "[", "]", "/", "?", "#", ".", ";", "Z", "T", "0", "7",
          "a", "é", "日", "٣", "８", "\r", "\n", "\t", "Root=", "Self=", "HTTP/", "://", '"-"',
          " -", "  ", "\ud800"]  # fmt: skip


def golden_lines() -> list[str]:
    """Every line of the ALB and Classic ELB golden inputs."""
    lines = []
    for case in test_golden.cases():
        if case.parent.name in ("alb", "elb"):
            data = case.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            lines += data.decode("utf-8", "replace").splitlines()
    return lines


def unit_test_lines() -> list[str]:
    """The sample lines of test_format_alb.py."""
    return [
        value
        for name, value in vars(test_format_alb).items()
        if name.isupper() and isinstance(value, str) and value.count(" ") > 10
    ]


SAMPLES = golden_lines() + unit_test_lines()
GENERATED = list(alb_lines(3000, datetime(2024, 3, 1, tzinfo=UTC), seed=7, garbage_rate=0.05))


def regex_groups(line: str) -> tuple[object, ...] | None:
    """The specification: the regex's groups, numbers converted by int() and float()."""
    return patterns._fields_by_regex(line)


def scan(line: str) -> tuple[object, ...] | None:
    """The scanner's fields, typed so that 1 and 1.0 (equal in Python) compare unequal."""
    assert fields is not None, IMPORT_ERROR
    return typed(fields(line))


def typed(values: tuple[object, ...] | None) -> tuple[object, ...] | None:
    return None if values is None else tuple((type(v).__name__, v) for v in values)


def test_scanner_is_built() -> None:
    """`make setup` compiles formats/_albscan.c; without it ALB parsing takes 1.8x as long."""
    assert fields is not None, f"the ALB scanner is not built ({IMPORT_ERROR}): run make setup"
    assert scanner._scan is alb._scan is fields


def test_samples_agree_and_take_the_fast_path() -> None:
    assert len(SAMPLES) > 20
    for line in SAMPLES + GENERATED:
        expected = typed(regex_groups(line))
        got = scan(line)
        if expected is not None:
            assert got == expected, line
        else:
            assert got is None, line
    fast = sum(scan(line) is not None for line in SAMPLES)
    assert fast >= len(SAMPLES) - 3  # only the garbage lines go to the regex


def mutate(line: str, rng: random.Random) -> str:
    """``line`` with one to three random edits."""
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(line) + 1)
        j = min(len(line), i + rng.randint(1, 40))
        edit = rng.randrange(5)
        if edit == 0:
            line = line[:i] + rng.choice(TRICKY) + line[i + 1 :]
        elif edit == 1:
            line = line[:i] + rng.choice(TRICKY) + line[i:]
        elif edit == 2:
            line = line[:i] + line[j:]
        elif edit == 3:
            line = line[:i] + line[i:j] + line[i:]
        else:
            line = line[:i]
    return line


def test_mutated_lines_agree_or_go_to_the_regex() -> None:
    rng = random.Random(20261124)
    outcomes = {"same": 0, "to_regex_matching": 0, "to_regex_failing": 0}
    for _ in range(6_000):
        line = mutate(rng.choice(SAMPLES), rng)
        got, expected = scan(line), typed(regex_groups(line))
        if got is not None:
            assert got == expected, repr(line)
            outcomes["same"] += 1
        else:
            outcomes["to_regex_matching" if expected else "to_regex_failing"] += 1
    # The mutations reach every branch: accepted lines, lines no parser accepts, and
    # lines only the regex can judge (a Unicode digit, a newline), but few of those.
    assert outcomes["same"] > 2_000, outcomes
    assert outcomes["to_regex_failing"] > 200, outcomes
    assert outcomes["to_regex_matching"] < outcomes["same"] / 5, outcomes


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.integers(0, 600), st.sampled_from(TRICKY)), max_size=4),
)
def test_lines_with_tricky_characters_agree(line: str, edits: list[tuple[int, str]]) -> None:
    for pos, text in edits:
        line = line[:pos] + text + line[pos:]
    got = scan(line)
    if got is not None:
        assert got == typed(regex_groups(line))


@pytest.mark.parametrize("value", [b"bytes", 3, None])
def test_non_str_input_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError, match="takes a str"):
        scan(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "case",
    [c for c in test_golden.cases() if c.parent.name in ("alb", "elb")],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_golden_files_pass_with_the_regex_alone(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path of an install without a C compiler, and of the Lambda zips."""
    monkeypatch.setattr(alb, "_scan", patterns._fields_by_regex)  # where AlbFormat looks it up
    assert test_golden.render(case) == test_golden.expected_path(case).read_text()


def test_environment_variable_turns_the_scanner_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGFERRY_ALB_SCANNER", "regex")
    assert scanner._load_scanner() is patterns._fields_by_regex
    monkeypatch.setenv("LOGFERRY_ALB_SCANNER", "c")
    assert scanner._load_scanner() is fields
    monkeypatch.setenv("LOGFERRY_ALB_SCANNER", "off")
    with pytest.raises(ValueError, match="LOGFERRY_ALB_SCANNER must be c or regex, not 'off'"):
        scanner._load_scanner()


def test_a_line_without_utf8_form_goes_to_the_regex() -> None:
    line = test_format_alb.HTTP.replace("curl", "curl\ud800")
    assert scan(line) is None
    assert regex_groups(line) is not None
