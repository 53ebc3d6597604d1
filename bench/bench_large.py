#!/usr/bin/env python3
"""Issue #7's targets: peak RSS flat from 10 MB to 2 GB objects; what continuations cost.

(a) Peak RSS: gzip ALB logs of 10 MB, 100 MB, 1 GB and 2 GB (uncompressed) are each shipped
by the real pipeline (``process_object``, CloudWatch Logs sink) to a moto server on
127.0.0.1, in a fresh interpreter whose own high-water mark (VmHWM) is the figure. moto keeps
every event in memory (about 3x the log), so each size gets a fresh server. Memory does not
depend on speed, so the sizes run two at a time (the largest alongside all the others);
``cpu_s`` is each child's own, ``wall_s`` is not alone on the machine. On the 1 GB object the
seed approach's peak RSS is measured too (issue #2's ``peak_rss_mb_1gb`` figures).

(b) Continuations: one object is shipped in one go, then in ``--runs`` invocations that each
stop (as if out of time) after 1/runs of the records and hand ``next_offset``/``resume_from``
on through the runtime's continuation event, as the Lambda does. Once as a single-member gzip
(what ALB writes: each continuation re-reads and re-inflates from byte 0), once as ~1 MiB
members (a continuation ranged-GETs from the last member start). The overhead is CPU seconds
(every thread of this process; a busy machine disturbs it less than wall time) of all runs
over one go, minus 1, best of ``--repeats`` (in alternating order); the wall-clock ratio is
given next to it, and ``cpu_spread`` says how far repeats of the same pass differed (an
overhead smaller than that is within noise); ``resume_cpu_s`` is the continuations' own
work before their first record, measured alone. Every run is checked: nothing failed,
records/documents/shipped/bytes add up to the one-go run, and the log stream holds as many
bytes as after one go.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from bench_alb import (
    RSS_LOGFERRY,
    RSS_SEED,
    ChildRun,
    child_peak_rss,
    clients,
    log,
    sample_file,
    start_emulator,
)
from bench_gzip_resume import MIB, Timed, gzip_members, next_notice, resume_overhead, ship

from logferry.model import ObjectRef
from logferry.pipeline import Summary
from logferry.samples.alb import alb_key, alb_lines
from logferry.sinks.cloudwatch import CloudWatchSink
from logferry.sources.events import ObjectNotice

BUCKET = "bench"
GROUP = "/bench/large"
SIZES_MB = (10, 100, 1024, 2048)
SEED_RSS_MB = 1024
"""The size the seed approach's peak RSS is also measured on."""
RSS_TARGET_MB = 150.0
OVERHEAD_TARGET = 0.10
CACHE_PERIOD = timedelta(days=5)
"""Generated lines start one to two periods ago, so cached objects last a period."""


def data_start(now: datetime) -> datetime:
    """Where generated lines start: 5 to 10 days before ``now``, the same for 5 days.

    CloudWatch Logs takes events from the last 14 days to 2 hours ahead, and a 2 GB log
    spans about 4 hours, so the cached objects stay shippable for the whole period.
    """
    period = int(CACHE_PERIOD.total_seconds())
    floor = int(now.timestamp()) // period * period
    return datetime.fromtimestamp(floor, UTC) - CACHE_PERIOD


def size_label(mb: int) -> str:
    """``10MB``, ``1GB``: the key of one size in the figures."""
    return f"{mb // 1024}GB" if mb >= 1024 and mb % 1024 == 0 else f"{mb}MB"


def lines_for(mb: int, start: datetime) -> int:
    """How many generated ALB lines make ``mb`` MiB uncompressed (mean of the first 10,000)."""
    sample = itertools.islice(alb_lines(10**9, start, seed=7, error_rate=0.02), 10_000)
    mean = statistics.fmean(len(line.encode()) + 1 for line in sample)
    return int(mb * MIB / mean)


def flatness(peaks: dict[str, float]) -> dict[str, float]:
    """``peak_rss_mb_max``, ``peak_rss_mb_min`` and ``rss_flat`` (max / min) of a series."""
    high, low = max(peaks.values()), min(peaks.values())
    return {"peak_rss_mb_max": high, "peak_rss_mb_min": low, "rss_flat": round(high / low, 3)}


def overhead(one_go: float, split: float) -> float:
    """Extra time of the split runs over one go, as a fraction (0.05 = 5 % more)."""
    return round(split / one_go - 1, 4)


def vmhwm_mb(pid: int) -> float:
    """Peak RSS (VmHWM) of a running process, in MB."""
    with open(f"/proc/{pid}/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    return int(kb) / 1024.0


@contextmanager
def emulator() -> Iterator[tuple[str, int]]:
    """A fresh moto server with the bench bucket: ``(url, pid)``; stopped by PID on exit."""
    proc, url = start_emulator()
    try:
        clients(url)[0].create_bucket(Bucket=BUCKET)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def big_object_figures(ours: ChildRun, seed: ChildRun) -> dict[str, Any]:
    """Issue #2's RSS figures: ``ours`` ran RSS_LOGFERRY, ``seed`` RSS_SEED on one object."""
    records, uncompressed, shipped = (int(x) for x in ours.output)
    return {
        "big_object_uncompressed_mb": round(uncompressed / MIB, 1),
        "big_object_lines": records,
        "big_object_shipped": shipped,
        "peak_rss_mb_1gb": round(ours.peak_rss_mb, 1),
        "seed_peak_rss_mb_1gb": round(seed.peak_rss_mb, 1),
    }


def peak_rss(mb: int, start: datetime) -> dict[str, Any]:
    """Ship a ``mb`` MiB ALB object in a fresh interpreter; its peak RSS and counts.

    For :data:`SEED_RSS_MB`, the seed approach's peak RSS on the same object is added too,
    under ``issue2`` (the ``peak_rss_mb_1gb`` figures).
    """
    lines = lines_for(mb, start)
    path = sample_file(lines, start)
    key = "large/" + alb_key("123456789012", "us-east-1", f"large-{mb}", start).rsplit("/")[-1]
    with emulator() as (url, pid):
        s3, logs = clients(url)
        with open(path, "rb") as fh:
            s3.upload_fileobj(fh, BUCKET, key)
        logs.create_log_group(logGroupName=GROUP)
        log(
            f"peak RSS: {size_label(mb)} ({path.stat().st_size / MIB:.0f} MB gzip, {lines:,} lines)"
        )
        wall = time.perf_counter()
        ours = child_peak_rss(RSS_LOGFERRY, url, BUCKET, key, GROUP)
        wall = time.perf_counter() - wall
        moto_mb = vmhwm_mb(pid)
        seed = child_peak_rss(RSS_SEED, url, BUCKET, key) if mb == SEED_RSS_MB else None
    records, uncompressed, shipped = (int(x) for x in ours.output)
    if not records == shipped == lines:
        raise RuntimeError(f"{size_label(mb)}: {lines} lines, {records} read, {shipped} shipped")
    rss, cpu = ours.peak_rss_mb, ours.cpu_s
    log(
        f"  {size_label(mb)}: {rss:.1f} MB peak RSS, {cpu:.0f} s CPU, {wall:.0f} s; "
        f"moto peaked at {moto_mb:.0f} MB"
        + ("" if seed is None else f"; seed approach {seed.peak_rss_mb:.0f} MB")
    )
    extra = {} if seed is None else {"issue2": big_object_figures(ours, seed)}
    return {
        "uncompressed_mb": round(uncompressed / MIB, 1),
        "gzip_mb": round(path.stat().st_size / MIB, 1),
        "lines": records,
        "shipped": shipped,
        "peak_rss_mb": round(rss, 1),
        "cpu_s": round(cpu, 1),
        "wall_s": round(wall, 1),
        "moto_peak_rss_mb": round(moto_mb),
        **extra,
    }


def rss_series(sizes: list[int], start: datetime) -> dict[str, Any]:
    """Part (a): the peak RSS of every size and how flat the series is."""
    largest_first = sorted(sizes, key=lambda mb: (mb != max(sizes), mb))
    with ThreadPoolExecutor(2) as pool:  # the largest on one lane, the others in turn
        figures = pool.map(peak_rss, largest_first, itertools.repeat(start))
        done = dict(zip(largest_first, figures, strict=True))
    objects = {size_label(mb): done[mb] for mb in sorted(sizes)}
    peaks = {label: fig["peak_rss_mb"] for label, fig in objects.items()}
    issue2 = [fig.pop("issue2") for fig in objects.values() if "issue2" in fig]
    return {
        "peak_rss_mb_by_size": peaks,
        **flatness(peaks),
        "large_objects": objects,
        **(issue2[0] if issue2 else {}),
    }


def stored_bytes(logs: Any, group: str) -> int:
    """What the log group's one stream holds, as the service counts it."""
    (stream,) = logs.describe_log_streams(logGroupName=group)["logStreams"]
    return int(stream["storedBytes"])


def ship_in_runs(
    s3: Any, logs: Any, notice: ObjectNotice, group: str, stop_at: int | None
) -> list[Timed]:
    """Ship one object, each run stopping after ``stop_at`` records and handing on the rest.

    Each run gets its own sink (as each invocation builds its own); all write one stream.
    """
    runs: list[Timed] = []
    while True:
        sink = CloudWatchSink(logs, group, "object")
        runs.append(ship(s3, notice, stop_at, [sink]))
        summary = runs[-1].summary
        if summary.error or summary.failed.get(sink.name) or summary.parked:
            raise RuntimeError(f"run incomplete: {summary.to_json()}")
        if summary.next_offset is None:
            return runs
        notice = next_notice(notice, summary)


def check_split(whole: Summary, parts: list[Summary], runs: int, multi: bool) -> None:
    """The split runs read and shipped exactly what one go did, resuming where they stopped."""
    fields = ("records", "documents", "bytes")
    totals = {f: sum(getattr(p, f) for p in parts) for f in fields}
    shipped = sum(p.shipped["cloudwatch"] for p in parts)
    expected = {f: getattr(whole, f) for f in fields}
    if len(parts) != runs or totals != expected or shipped != whole.shipped["cloudwatch"]:
        raise RuntimeError(f"{len(parts)} runs shipped {totals}/{shipped}; one go {expected}")
    for prev, nxt in itertools.pairwise(parts):
        if nxt.start_offset != prev.next_offset or (prev.resume_from is not None) != multi:
            raise RuntimeError(f"bad hand-over: {prev.to_json()} -> {nxt.to_json()}")


def timed_pass(
    s3: Any, logs: Any, ref: ObjectRef, group: str, stop_at: int | None
) -> tuple[list[Timed], int]:
    """The runs of one pass into a fresh log group, and the bytes that group's stream holds."""
    logs.create_log_group(logGroupName=group)
    try:
        return ship_in_runs(s3, logs, ObjectNotice(ref), group, stop_at), stored_bytes(logs, group)
    finally:
        logs.delete_log_group(logGroupName=group)  # moto keeps every event in memory


def spread(values: list[float]) -> float:
    """How far apart repeated measurements are: (max - min) / min."""
    return round(max(values) / min(values) - 1, 4)


def resume_cost(s3: Any, notice: ObjectNotice, parts: list[Summary]) -> float:
    """CPU seconds the continuations spend before their first record, in all (best of 3 each).

    The work a continuation adds (a GET, re-inflating or a member resume, skipping to the
    offset), measured on its own: far less noisy than the difference of two whole passes.
    """
    total = 0.0
    for part in parts[:-1]:
        notice = next_notice(notice, part)
        total += resume_overhead(s3, notice)
    return total


def compare(
    s3: Any, logs: Any, ref: ObjectRef, lines: int, multi: bool, runs: int, repeats: int
) -> dict[str, Any]:
    """One object in one go vs in ``runs`` invocations; the best of ``repeats`` of each.

    The order alternates between repeats (one go first, then split first), so a machine
    getting busier or quieter during the run does not favour one side.
    """
    stop_at = math.ceil(lines / runs / 1000) * 1000
    cpu: dict[str, list[float]] = {"one_go": [], "split": []}
    wall: dict[str, list[float]] = {"one_go": [], "split": []}
    for repeat in range(repeats):
        passes = {}
        for mode in ("one_go", "split") if repeat % 2 == 0 else ("split", "one_go"):
            group = f"/bench/continuation/{ref.key}/{repeat}/{mode}"
            passes[mode] = timed_pass(s3, logs, ref, group, stop_at if mode == "split" else None)
        (one, stored_one), (split, stored_split) = passes["one_go"], passes["split"]
        whole = one[0].summary
        if not whole.shipped["cloudwatch"] == whole.documents == whole.records == lines:
            raise RuntimeError(f"one go incomplete ({lines} lines): {whole.to_json()}")
        check_split(whole, [t.summary for t in split], runs, multi)
        if stored_one != stored_split:
            raise RuntimeError(
                f"{ref.key}: {stored_one} bytes stored in one go, {stored_split} split"
            )
        for mode, done in (("one_go", one), ("split", split)):
            cpu[mode].append(sum(t.cpu_s for t in done))
            wall[mode].append(sum(t.wall_s for t in done))
        log(
            f"  {ref.key}: one go {cpu['one_go'][-1]:.1f} s CPU, {runs} runs "
            f"{cpu['split'][-1]:.1f} s CPU ({wall['one_go'][-1]:.1f} / {wall['split'][-1]:.1f} s)"
        )
    one_cpu, split_cpu, one_wall, split_wall = (
        min(v) for v in (cpu["one_go"], cpu["split"], wall["one_go"], wall["split"])
    )
    resume_cpu = resume_cost(s3, ObjectNotice(ref), [t.summary for t in split])
    return {
        "lines": lines,
        "runs": runs,
        "one_go_cpu_s": round(one_cpu, 2),
        "split_cpu_s": round(split_cpu, 2),
        "one_go_wall_s": round(one_wall, 2),
        "split_wall_s": round(split_wall, 2),
        "overhead_cpu": overhead(one_cpu, split_cpu),
        "overhead_wall": overhead(one_wall, split_wall),
        "cpu_spread": max(spread(cpu["one_go"]), spread(cpu["split"])),
        "resume_cpu_s": round(resume_cpu, 3),
        "resume_over_one_go": round(resume_cpu / one_cpu, 4),
    }


def continuations(mb: int, runs: int, repeats: int, start: datetime) -> dict[str, Any]:
    """Part (b): continuation overhead on a single-member and a multi-member gzip object."""
    lines = lines_for(mb, start)
    single = sample_file(lines, start).read_bytes()
    objects = {"single": single, "multi": b"".join(gzip_members(gzip.decompress(single), MIB))}
    figures: dict[str, Any] = {}
    with emulator() as (url, _):
        s3, logs = clients(url)
        for name, body in objects.items():
            key = f"{name}-{mb}mb.log.gz"
            etag = s3.put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"].strip('"')
            log(f"continuations: {name}-member gzip, {len(body) / MIB:.0f} MB, {runs} runs")
            ref = ObjectRef(BUCKET, key, etag=etag, size=len(body))
            figures[name] = {
                "gzip_mb": round(len(body) / MIB, 1),
                **compare(s3, logs, ref, lines, name == "multi", runs, repeats),
            }
    return {
        "continuation_object_mb": mb,
        "continuation_runs": runs,
        "continuation_overhead_single": figures["single"]["overhead_cpu"],
        "continuation_overhead_multi": figures["multi"]["overhead_cpu"],
        "continuation_overhead": max(f["overhead_cpu"] for f in figures.values()),
        "continuation_overhead_wall": max(f["overhead_wall"] for f in figures.values()),
        "continuation_cpu_spread": max(f["cpu_spread"] for f in figures.values()),
        "continuation": figures,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES_MB)), help="uncompressed MiB, comma-separated"
    )
    parser.add_argument("--continuation-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=4, help="invocations the object is split in")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many passes")
    args = parser.parse_args()

    start = data_start(datetime.now(UTC))
    result = rss_series([int(mb) for mb in args.sizes.split(",")], start)
    result.update(continuations(args.continuation_mb, args.runs, args.repeats, start))
    result["issue7_targets_met"] = {
        "peak_rss_under_150mb": result["peak_rss_mb_max"] < RSS_TARGET_MB,
        "continuation_overhead_at_most_10pct": result["continuation_overhead"] <= OVERHEAD_TARGET,
        # False: repeats differed by more than the target, so the overhead above cannot say
        # much; read it with the continuations' resume_cpu_s (measured alone).
        "continuation_noise_below_10pct": result["continuation_cpu_spread"] < OVERHEAD_TARGET,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
