#!/usr/bin/env python3
"""What a continuation costs on a gzip object, re-inflating from byte 0 vs resuming at a member.

A ~200 MB (uncompressed) ALB log is gzipped twice: as one member (what ALB writes) and as
~1 MiB members (what Firehose and concatenated uploads give). Each is shipped through the
real pipeline (ALB format, a sink that only counts) in one go, then in two runs: the first
stops at ``--split`` of the records (as a Lambda running out of time does) and the second
resumes. Figures are CPU seconds (one thread), which a busy machine disturbs less than wall
time; ``resume_overhead_cpu_s`` is what a continuation spends before its first record
(re-inflating and skipping, or a ranged GET and a short skip), the cost a continuation adds.
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import gzip
import io
import itertools
import json
import time
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from logferry import deadline
from logferry.formats import get_format
from logferry.model import Event, ObjectRef
from logferry.pipeline import ObjectJob, Summary, process_object
from logferry.samples.alb import alb_lines
from logferry.sinks import Failure, Sink, SinkBase
from logferry.sources.events import ObjectNotice, continuation_event, notices
from logferry.sources.s3 import open_object

MIB = 1024 * 1024


class CountingSink(SinkBase):
    """Ships nothing, counts everything."""

    name = "count"

    def add(self, event: Event) -> None:
        self.stats.shipped += 1

    def flush(self) -> None:
        return None

    def take_failures(self) -> list[Failure]:
        return []


class MemoryS3:
    """``get_object`` (with Range) over in-memory objects, so S3 costs nothing here."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.get_bytes = 0

    def get_object(self, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        data = self.objects[Key]
        start = int(kwargs["Range"][6:-1]) if "Range" in kwargs else 0
        self.get_bytes += len(data) - start
        resp: dict[str, Any] = {
            "Body": io.BytesIO(data[start:]),
            "ETag": '"bench"',
            "ContentLength": len(data) - start,
            "LastModified": datetime(2026, 11, 24, tzinfo=UTC),
        }
        if start:
            resp["ContentRange"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        return resp


class Timed(NamedTuple):
    """A run's summary with the CPU seconds (all threads of this process) and wall seconds."""

    summary: Summary
    cpu_s: float
    wall_s: float


RUN_SECONDS, RESERVE_SECONDS = 900.0, 100.0
"""The invocation ``ship`` pretends to be in: reading stops 800 s in, sinks' calls end 850 s in."""


class StopClock:
    """The monotonic clock :mod:`logferry.deadline` reads during :func:`ship`: real time, moved
    on past the stop deadline (not the sinks' one, 50 s later) by :class:`StopAfter`."""

    def __init__(self) -> None:
        self.jump = 0.0

    def monotonic(self) -> float:
        """Real monotonic time plus the jump."""
        return time.monotonic() + self.jump


CLOCK = StopClock()
deadline.time = CLOCK  # type: ignore[assignment]  # this script's runs only


class StopAfter(SinkBase):
    """Reads events, ships nothing: after ``count`` of them the run's time is up (the pipeline
    sees its stop deadline pass at its next check, every 100 records)."""

    name = "stop-after"
    needs_documents = False

    def __init__(self, count: int) -> None:
        super().__init__()
        self.left = count

    def add(self, event: Event) -> None:
        self.left -= 1
        if self.left <= 0:
            CLOCK.jump = RUN_SECONDS - RESERVE_SECONDS + 1.0

    def flush(self) -> None:
        return None

    def take_failures(self) -> list[Failure]:
        return []


def ship(
    s3: Any, notice: ObjectNotice, stop_at: int | None, sinks: Sequence[Sink] | None = None
) -> Timed:
    """One run; with ``stop_at`` it stops as if out of time after that many records (rounded
    up to a multiple of 100, where the pipeline checks its clock). ``sinks`` default to one
    :class:`CountingSink`."""
    CLOCK.jump = 0.0
    chosen = [CountingSink()] if sinks is None else list(sinks)
    fmt = get_format("alb")
    job = ObjectJob(
        s3=s3,
        notice=notice,
        fmt=fmt,
        sinks=chosen if stop_at is None else [*chosen, StopAfter(stop_at)],
        remaining_seconds=lambda: RUN_SECONDS,
        reserve_seconds=RESERVE_SECONDS,
    )
    cpu, wall = time.process_time(), time.perf_counter()
    summary = process_object(job)
    return Timed(summary, time.process_time() - cpu, time.perf_counter() - wall)


def next_notice(notice: ObjectNotice, summary: Summary) -> ObjectNotice:
    """The notice the next invocation gets, through the same event (as JSON) the runtime sends."""
    if summary.next_offset is None:
        raise RuntimeError(f"{summary.object}: the run did not stop early, nothing to resume")
    event = continuation_event(notice, summary.next_offset, summary.resume_from)
    (resumed,) = notices(json.loads(json.dumps(event)))
    return resumed


def gzip_members(data: bytes, member_bytes: int, level: int = 6) -> list[bytes]:
    """``data`` gzipped as members of about ``member_bytes`` each, cut after a newline.

    Joined, they are one multi-member gzip object (as Firehose and concatenated uploads give).
    """
    cut = [0]
    while cut[-1] + member_bytes < len(data):
        cut.append(data.index(b"\n", cut[-1] + member_bytes) + 1)
    cut.append(len(data))
    return [gzip.compress(data[a:b], level) for a, b in itertools.pairwise(cut)]


def resume_overhead(s3: MemoryS3, notice: ObjectNotice) -> float:
    """CPU seconds from opening a continuation to its first byte (best of three)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        stream = open_object(s3, notice.ref, notice.start_offset, resume=notice.resume_from)
        next(stream.chunks, b"")
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=200, help="uncompressed size")
    parser.add_argument("--split", type=float, default=0.5, help="share done by the first run")
    parser.add_argument("--member-mib", type=float, default=1.0)
    args = parser.parse_args()

    raw = bytearray()
    for line in alb_lines(10**9, datetime(2026, 11, 24, tzinfo=UTC), seed=7):
        raw += line.encode() + b"\n"
        if len(raw) >= args.mib * MIB:
            break
    data = bytes(raw)
    members = gzip_members(data, int(args.member_mib * MIB))
    objects = {"single.gz": gzip.compress(data, 6), "multi.gz": b"".join(members)}
    t = time.process_time()
    zlib.decompress(objects["single.gz"], 31)
    inflate_s = time.process_time() - t
    figures: dict[str, Any] = {
        "uncompressed_mib": round(len(data) / MIB, 1),
        "lines": data.count(b"\n"),
        "members": len(members),
        "split": args.split,
        "inflate_only_cpu_s": round(inflate_s, 2),
    }
    for key, body in objects.items():
        s3 = MemoryS3({key: body})
        ref = ObjectRef("bench", key, etag="bench")
        whole, one_go, _ = ship(s3, ObjectNotice(ref), None)
        stop_at = int(whole.records * args.split)
        first, t1, _ = ship(s3, ObjectNotice(ref), stop_at)
        resume = next_notice(ObjectNotice(ref), first)
        s3.get_bytes = 0
        second, t2, _ = ship(s3, resume, None)
        fetched = s3.get_bytes
        overhead = resume_overhead(s3, resume)
        assert first.records + second.records == whole.records, (first, second, whole)
        name = key.split(".")[0]
        figures[name] = {
            "compressed_mib": round(len(body) / MIB, 1),
            "one_go_cpu_s": round(one_go, 2),
            "first_run_cpu_s": round(t1, 2),
            "continuation_cpu_s": round(t2, 2),
            "continuation_get_mib": round(fetched / MIB, 1),
            "resume_from": first.resume_from,
            "two_runs_over_one_go": round((t1 + t2) / one_go, 3),
            "resume_overhead_cpu_s": round(overhead, 3),
            "overhead_over_one_go": round(overhead / one_go, 4),
        }
        print(key, figures[name], flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
