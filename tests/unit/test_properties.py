"""Property tests: framers on arbitrary bytes and chunkings, parsers on arbitrary input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logferry import formats
from logferry.formats.base import LogFormat, frame_lines
from logferry.formats.cwl import frame_envelopes
from logferry.model import ObjectRef, ParseContext, Record
from logferry.samples.alb import alb_lines

GOLDEN = Path(__file__).parents[1] / "golden"
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CTX = ParseContext(
    ObjectRef("bucket", "key.log"),
    "123456789012",
    "ap-northeast-1",
    extra={"object_time": "2026-11-24T00:00:00.000Z"},
)


def chunked(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    """``data`` cut at the (sorted, clipped) positions ``cuts``, empty chunks included."""
    last = 0
    for cut in sorted(min(c, len(data)) for c in cuts):
        yield data[last:cut]
        last = cut
    yield data[last:]


cuts = st.lists(st.integers(min_value=0, max_value=4096), max_size=12)
line_bodies = st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b""))


# -- the line framer ---------------------------------------------------------------------------
@FAST
@given(
    lines=st.lists(line_bodies, max_size=20),
    crlf=st.booleans(),
    last_nl=st.booleans(),
    cut=cuts,
    max_line=st.integers(min_value=1, max_value=100),
    start=st.integers(0, 10**9),
)
def test_frame_lines_keeps_every_well_formed_line(
    lines: list[bytes], crlf: bool, last_nl: bool, cut: list[int], max_line: int, start: int
) -> None:
    sep = b"\r\n" if crlf else b"\n"
    data = sep.join(lines) + (sep if last_nl and lines else b"")
    records = list(frame_lines(chunked(data, cut), start, max_line=max_line))
    # long lines come out in max_line pieces: glue pieces that continue the same line
    glued: list[bytes] = []
    end = -1
    for rec in records:
        assert data[rec.offset - start : rec.offset - start + len(rec.data)] == rec.data
        if rec.offset == end:
            glued[-1] += rec.data
        else:
            glued.append(rec.data)
        end = rec.offset + len(rec.data)
    assert glued == [line for line in lines if line]


@FAST
@given(lines=st.lists(line_bodies, max_size=20), crlf=st.booleans(), cut=cuts)
def test_frame_lines_numbers_lines_counting_empty_ones(
    lines: list[bytes], crlf: bool, cut: list[int]
) -> None:
    sep = b"\r\n" if crlf else b"\n"
    data = sep.join(lines) + sep
    records = list(frame_lines(chunked(data, cut)))
    expected = [(n, line) for n, line in enumerate(lines, 1) if line]
    assert [(rec.line_no, rec.data) for rec in records] == expected


@FAST
@given(data=st.binary(max_size=400), cut=cuts)
def test_frame_lines_on_arbitrary_bytes_yields_slices_in_order(data: bytes, cut: list[int]) -> None:
    records = list(frame_lines(chunked(data, cut), max_line=50))
    previous_end = 0
    for rec in records:
        assert rec.data and rec.offset >= previous_end
        assert data[rec.offset : rec.offset + len(rec.data)] == rec.data
        previous_end = rec.offset + len(rec.data)
    kept = b"".join(rec.data for rec in records)
    assert kept.replace(b"\r", b"") == data.replace(b"\n", b"").replace(b"\r", b"")


# -- the CloudWatch Logs envelope framer -------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
log_events = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.text(max_size=10),
            "timestamp": st.integers(0, 2**42),
            "message": st.text(max_size=30),
        }
    ),
    max_size=4,
)


def _envelope(kind: str, events: list[dict[str, Any]], extra: dict[str, Any]) -> bytes:
    body: dict[str, Any] = {"messageType": kind, "logGroup": "/g", "logEvents": events}
    body.update({f"x{k}": v for k, v in extra.items()})
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


envelopes = st.builds(
    _envelope,
    st.sampled_from(["DATA_MESSAGE", "CONTROL_MESSAGE"]),
    log_events,
    st.dictionaries(st.text(max_size=5), json_values, max_size=1),
)


@FAST
@given(
    items=st.lists(st.tuples(envelopes, st.sampled_from([b"", b"\n", b"\r\n", b" "])), max_size=5),
    cut=cuts,
    start=st.integers(0, 10**9),
)
def test_frame_envelopes_keeps_every_envelope(
    items: list[tuple[bytes, bytes]], cut: list[int], start: int
) -> None:
    data = b"".join(env + sep for env, sep in items)
    records = list(frame_envelopes(chunked(data, cut), start))
    assert [rec.data for rec in records] == [env for env, _ in items]
    for rec in records:
        assert data[rec.offset - start : rec.offset - start + len(rec.data)] == rec.data
    assert [rec.line_no for rec in records] == list(range(1, len(items) + 1))


@FAST
@given(
    data=st.binary(max_size=300) | envelopes.map(lambda e: e[: len(e) // 2] + b"{\xff" + e),
    cut=cuts,
)
def test_frame_envelopes_on_arbitrary_bytes_yields_slices(data: bytes, cut: list[int]) -> None:
    for rec in frame_envelopes(chunked(data, cut), max_envelope=128):
        assert data[rec.offset : rec.offset + len(rec.data)] == rec.data


# -- every format's parse ----------------------------------------------------------------------
def _fmt(name: str) -> LogFormat:
    if name == "regex":
        spec = json.loads((GOLDEN / "regex" / "kinesis.spec.json").read_text())
        return formats.get_format("regex", pattern=spec["options"]["pattern"])
    return formats.get_format(name)


def _seed_lines() -> list[bytes]:
    found = [
        line
        for path in sorted(GOLDEN.glob("*/*.log"))
        for line in path.read_bytes().splitlines()[:3]
        if line
    ]
    alb = list(alb_lines(3, datetime(2026, 11, 24, tzinfo=UTC), seed=1))
    return found + [line.encode() for line in alb]


SEEDS = _seed_lines()
FORMATS = {name: _fmt(name) for name in formats.names()}


def _mutate(seed: bytes, field: int, value: bytes) -> bytes:
    parts = seed.split(b" ")
    parts[field % len(parts)] = value
    return b" ".join(parts)


inputs = (
    st.binary(max_size=300)
    | st.builds(
        _mutate,
        st.sampled_from(SEEDS),
        st.integers(0, 60),
        st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"")),
    )
    | envelopes
    | json_values.map(lambda v: json.dumps(v).encode())
)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(FORMATS)), data=inputs, offset=st.integers(0, 2**40))
def test_parse_never_raises_and_documents_are_complete(name: str, data: bytes, offset: int) -> None:
    fmt = FORMATS[name]
    for doc in fmt.parse(Record(offset, data, 1), CTX):
        assert isinstance(doc["message"], str)
        assert isinstance(doc["event"]["dataset"], str) and doc["event"]["dataset"]
        if "error" in doc:
            assert isinstance(doc["error"]["message"], str) and doc["error"]["message"]
        json.dumps(doc)  # every document can be shipped as JSON


EDGE_TOKENS = [
    b"", b"-", b":", b":80", b"[::1]:80", b"[]:1", b"::", b'"', b'""', b'"-"', b"\\", b'\\"',
    b"-1", b"-:", b"1e9", b"99999999999999999999999", b"NaN", b"\xff", b"\x00", b"\t",
]  # fmt: skip
"""Tokens that sit at the edges of the field patterns (empty addresses, stray quotes...)."""


def _own_lines(name: str) -> list[bytes]:
    """The golden input lines of format ``name`` (plus generated ones for ALB)."""
    lines = [
        line
        for path in sorted((GOLDEN / name).glob("*.log"))
        for line in path.read_bytes().splitlines()
    ]
    if name == "alb":
        lines += [
            line.encode() for line in alb_lines(3, datetime(2026, 11, 24, tzinfo=UTC), seed=1)
        ]
    return [line for line in lines if line]


LINE_FORMATS = sorted(name for name in FORMATS if _own_lines(name))


def test_edge_token_test_covers_the_line_formats() -> None:
    assert {"alb", "elb", "nlb", "apache", "nginx", "regex", "serverlog", "apigw"} <= set(
        LINE_FORMATS
    )


@pytest.mark.parametrize("name", LINE_FORMATS)
def test_every_field_of_every_golden_line_replaced_by_an_edge_token_still_parses(name: str) -> None:
    """Exhaustive over (golden line, field, edge token): parsing never raises, the line is kept."""
    fmt = FORMATS[name]
    for seed in _own_lines(name):
        for field in range(seed.count(b" ") + 1):
            for token in EDGE_TOKENS:
                data = _mutate(seed, field, token)
                for doc in fmt.parse(Record(0, data, 1), CTX):
                    json.dumps(doc)
                    assert doc["message"] == data.decode("utf-8", "replace")
