"""Resuming multi-member gzip objects at a member start (moto S3, the real pipeline)."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import FakeClock
from moto import mock_aws

from logferry.formats import get_format
from logferry.model import Event, ObjectRef
from logferry.pipeline import ObjectJob, Summary, process_object
from logferry.sinks import Failure, SinkBase
from logferry.sources import gzip_index
from logferry.sources.events import ObjectNotice, continuation_event, notices
from logferry.sources.gzip_index import MemberIndex, MemberStart, usable
from logferry.sources.s3 import open_object
from logferry.sources.stream import decompressed

BUCKET = "raw"
LINES = [
    f"10.0.0.{n % 250} - - [24/Nov/2026:01:{n // 6000 % 60:02d}:00 +0000] "
    f'"GET /item/{n} HTTP/1.1" 200 {n % 9000} "-" "probe/{n % 7}"'
    for n in range(15_000)
]


class ListSink(SinkBase):
    name = "mem"

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.events: list[Event] = []
        self._clock = clock

    def add(self, event: Event) -> None:
        """Keep the event; each takes one second of the fake clock."""
        self._clock.tick()
        self.events.append(event)
        self.stats.shipped += 1

    def flush(self) -> None:
        return None

    def take_failures(self) -> list[Failure]:
        return []


class CountingS3:
    """Passes calls to moto's client, remembering each GET's Range."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.ranges: list[str | None] = []

    def get_object(self, **kwargs: Any) -> Any:
        self.ranges.append(kwargs.get("Range"))
        return self.inner.get_object(**kwargs)


def members(lines: list[str], per_member: int) -> bytes:
    out = b""
    for i in range(0, len(lines), per_member):
        out += gzip.compress(("\n".join(lines[i : i + per_member]) + "\n").encode())
    return out


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(gzip_index, "MIN_SPACING", 64 * 1024)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _run(
    s3: Any, notice: ObjectNotice, clock: FakeClock, stop_after: int | None = None
) -> tuple[Summary, ListSink]:
    """Ship ``notice``; with ``stop_after``, time runs out after that many records."""
    sink = ListSink(clock)
    budget = 1e9 if stop_after is None else stop_after - 0.5
    job = ObjectJob(
        s3=s3,
        notice=notice,
        fmt=get_format("apache"),
        sinks=[sink],
        remaining_seconds=lambda: budget + 1.0,
        reserve_seconds=1.0,
    )
    return process_object(job), sink


def test_continuation_resumes_at_a_member_without_loss_or_duplicates(
    s3: Any, clock: FakeClock
) -> None:
    body = members(LINES, 1000)  # 15 members of ~90 KB
    s3.put_object(Bucket=BUCKET, Key="multi.log.gz", Body=body)
    ref = ObjectRef(BUCKET, "multi.log.gz")
    whole, one_go = _run(s3, ObjectNotice(ref), clock)
    assert whole.records == len(LINES) and whole.next_offset is None

    first, part1 = _run(s3, ObjectNotice(ref), clock, stop_after=9000)
    assert first.records == 9000
    assert first.next_offset is not None and first.resume_from is not None
    point = MemberStart(*first.resume_from)
    assert point.uncompressed <= first.next_offset
    assert first.next_offset - point.uncompressed < 64 * 1024 + 100_000
    assert body[point.compressed : point.compressed + 2] == b"\x1f\x8b"

    # the continuation travels through the event and is read with a ranged GET
    (notice,) = notices(continuation_event(ObjectNotice(ref), first.next_offset, point))
    assert notice.resume_from == tuple(point)
    spy = CountingS3(s3)
    _second, part2 = _run(spy, notice, clock)
    assert spy.ranges == [f"bytes={point.compressed}-"]
    ids = [e.id for e in part1.events + part2.events]
    assert ids == [e.id for e in one_go.events]
    assert [e.message for e in part2.events] == LINES[first.records :]


def test_single_member_objects_have_no_resume_point(s3: Any, clock: FakeClock) -> None:
    s3.put_object(Bucket=BUCKET, Key="one.gz", Body=gzip.compress("\n".join(LINES).encode()))
    first, _ = _run(s3, ObjectNotice(ObjectRef(BUCKET, "one.gz")), clock, stop_after=5000)
    assert first.next_offset is not None and first.resume_from is None


def test_bad_resume_points_fall_back_to_reading_from_the_start(s3: Any) -> None:
    assert usable((100, 5000), 4000) is None  # member starts after the record
    assert usable((0, 0), 10) is None
    assert usable(None, 10) is None
    assert usable((7, 3), 10) == MemberStart(7, 3)
    body = members(LINES[:100], 10)
    s3.put_object(Bucket=BUCKET, Key="m.gz", Body=body)
    stream = open_object(s3, ObjectRef(BUCKET, "m.gz"), 50, resume=(len(body) + 9, 60))
    assert b"".join(stream.chunks) == ("\n".join(LINES[:100]) + "\n").encode()[50:]


def test_member_index_spacing_and_lookup() -> None:
    index = MemberIndex(MemberStart(1000, 5000), spacing=100)
    index.add(10, 50)  # too close to the origin: not kept
    index.add(20, 150)
    index.add(30, 260)
    assert len(index) == 3
    assert index.before(5149) == MemberStart(1000, 5000)
    assert index.before(5150) == MemberStart(1020, 5150)
    assert index.before(10**9) == MemberStart(1030, 5260)
    assert MemberIndex().before(10**6) is None  # the object's own start is no resume point


def test_gunzip_reports_member_starts() -> None:
    parts = [gzip.compress(b"a" * n) for n in (10, 20, 30)]
    seen: list[tuple[int, int]] = []
    _gz, chunks = decompressed(
        iter([b"".join(parts) + b"\0\0"]), "x", lambda c, u: seen.append((c, u))
    )
    assert b"".join(chunks) == b"a" * 60
    assert seen == [(len(parts[0]), 10), (len(parts[0]) + len(parts[1]), 30)]
    assert zlib.decompress(b"".join(parts)[seen[1][0] :], 31) == b"a" * 30
    # a chunk that ends exactly where a member ends still reports the next member's start
    again: list[tuple[int, int]] = []
    _gz, chunks = decompressed(
        iter([parts[0], parts[1] + parts[2]]), "x", lambda c, u: again.append((c, u))
    )
    assert b"".join(chunks) == b"a" * 60 and again == seen
