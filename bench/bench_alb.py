#!/usr/bin/env python3
"""`make bench`: logferry vs the seed-000 approach, side by side in one run.

Both ship a generated gzip ALB log to the same local CloudWatch Logs emulator (moto server
on 127.0.0.1). The seed approach (download the whole object, one PutLogEvents per line) runs
on the first 5,000 lines only, it is that slow; logferry ships every line. The run also
measures ALB parse throughput (`logferry parse` to /dev/null) against this machine's ceiling
(gzip decompression + one match of the parser's own ALB line regex per line), the two taken in
turn twice, each in a fresh interpreter and each at its best. Peak RSS on a 1 GB object is
the 1 GB point of bench_large.py's series (``RSS_LOGFERRY``, ``RSS_SEED`` below).

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import boto3

from logferry.samples.alb import alb_key, alb_lines

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench"
SEED_LINES = 5000
PUT_OVERHEAD = 26
MAX_BATCH = 1_048_576
MAX_EVENTS = 10_000
PARSE_REPEATS = 2
"""Ceiling and parse are measured in turn this many times; each figure is its best run."""


def log(msg: str) -> None:
    """Progress on stderr (stdout's last line is the JSON result)."""
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def sample_file(lines: int, start: datetime) -> Path:
    """A cached gzip ALB log with ``lines`` lines, timestamps from ``start`` (same day)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"alb-{lines}-{start:%Y%m%d%H}.log.gz"
    if not path.exists():
        log(f"generating {lines:,} ALB lines -> {path}")
        tmp = path.with_suffix(".tmp")
        with gzip.open(tmp, "wt", compresslevel=6, encoding="utf-8") as out:
            batch: list[str] = []
            for line in alb_lines(lines, start, seed=7, error_rate=0.02):
                batch.append(line)
                if len(batch) == 10000:
                    out.write("\n".join(batch) + "\n")
                    batch.clear()
            if batch:
                out.write("\n".join(batch) + "\n")
        tmp.replace(path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_emulator() -> tuple[subprocess.Popen[bytes], str]:
    """moto server on 127.0.0.1 in its own process (so it does not share our GIL)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"moto server did not start on {url}")


def clients(url: str) -> tuple[Any, Any]:
    kw: dict[str, Any] = {
        "endpoint_url": url,
        "region_name": "us-east-1",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }
    return boto3.client("s3", **kw), boto3.client("logs", **kw)


def seed_approach(s3: Any, logs: Any, bucket: str, key: str, group: str) -> dict[str, float]:
    """Seed 000: download the whole object, read it into memory, one PutLogEvents per line."""
    stream = "seed"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    started = time.perf_counter()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    lines = gzip.decompress(body).decode("utf-8").splitlines()
    for line in lines[:SEED_LINES]:
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": int(time.time()) * 1000, "message": f"{bucket} {line}"}],
        )
    seconds = time.perf_counter() - started
    return {"lines": SEED_LINES, "seconds": seconds, "lines_per_s": SEED_LINES / seconds}


def logferry_approach(url: str, bucket: str, key: str, group: str) -> dict[str, Any]:
    """logferry's pipeline: stream, parse, batch to CloudWatch Logs."""
    from logferry.formats import get_format
    from logferry.model import ObjectRef
    from logferry.pipeline import ObjectJob, process_object
    from logferry.sinks.cloudwatch import CloudWatchSink
    from logferry.sources.events import ObjectNotice

    s3, logs = clients(url)
    sink = CloudWatchSink(logs, group, "logferry")
    job = ObjectJob(s3, ObjectNotice(ObjectRef(bucket, key)), get_format("alb"), [sink])
    started = time.perf_counter()
    summary = process_object(job)
    seconds = time.perf_counter() - started
    if summary.error or summary.shipped["cloudwatch"] != summary.documents:
        raise RuntimeError(f"logferry run incomplete: {summary.to_json()}")
    return {
        "lines": summary.records,
        "seconds": seconds,
        "lines_per_s": summary.records / seconds,
        "calls": sink.stats.calls,
        "bytes": sink.stats.bytes,
    }


def lower_bound(path: Path) -> int:
    """Fewest PutLogEvents calls the 1 MB (+26 B per event) and 10,000-event limits allow."""
    total = 0
    count = 0
    with gzip.open(path, "rb") as fh:
        for line in fh:
            total += len(line.rstrip(b"\n")) + PUT_OVERHEAD
            count += 1
    return max(math.ceil(total / MAX_BATCH), math.ceil(count / MAX_EVENTS))


CEILING = """
import io, sys, time
from isal import igzip  # the inflater logferry uses (ISA-L): zlib's gzip would be slower
from logferry.formats.elb.patterns import _ALB_RE  # the parser's own line regex
started = time.perf_counter()
n = 0
match = _ALB_RE.match
with io.TextIOWrapper(igzip.open(sys.argv[1]), encoding="utf-8", errors="replace") as fh:
    for line in fh:
        match(line)
        n += 1
print(n, time.perf_counter() - started)
"""


def ceiling(path: Path) -> dict[str, float]:
    """This machine's ceiling: gzip decompression (with ISA-L, as logferry inflates) plus one
    regex match per line.

    Measured in a fresh interpreter, as `logferry parse` is, so neither side runs in a heap
    the other does not have (this process holds the seed's whole object).
    """
    out = subprocess.run(
        [sys.executable, "-c", CEILING, str(path)], check=True, capture_output=True, text=True
    )
    lines, seconds = out.stdout.split()
    return {
        "lines": int(lines),
        "seconds": float(seconds),
        "lines_per_s": int(lines) / float(seconds),
    }


def cli_parse(path: Path) -> dict[str, float]:
    """`logferry parse --format alb FILE > /dev/null`, timed as a user would run it."""
    exe = Path(sys.executable).with_name("logferry")
    started = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        out = subprocess.run(
            [str(exe), "parse", "--format", "alb", str(path)],
            stdout=devnull,
            stderr=subprocess.PIPE,
            check=True,
        )
    seconds = time.perf_counter() - started
    records = int(out.stderr.decode().split(" records")[0].rsplit(" ", 1)[-1])
    return {"lines": records, "seconds": seconds, "lines_per_s": records / seconds}


# VmHWM is this process image's own high-water mark; ru_maxrss would also count the RSS the
# parent (this benchmark, holding the seed's whole file) had when it forked the child.
RSS_FOOTER = """
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)
print(usage.ru_utime + usage.ru_stime)
with open("/proc/self/status") as status:
    print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""


class ChildRun(NamedTuple):
    """What :func:`child_peak_rss` measured of one fresh interpreter."""

    peak_rss_mb: float
    cpu_s: float
    """CPU seconds of all its threads (its own: right even when other children run)."""
    output: list[str]


def child_peak_rss(code: str, *args: str) -> ChildRun:
    """Run ``code`` in a fresh interpreter; its peak RSS, CPU time and output words."""
    out = subprocess.run(
        [sys.executable, "-c", code + RSS_FOOTER, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    words = out.stdout.split()
    return ChildRun(int(words[-1]) / 1024.0, float(words[-2]), words[:-2])


RSS_LOGFERRY = """
import sys, boto3
from logferry.formats import get_format
from logferry.model import ObjectRef
from logferry.pipeline import ObjectJob, process_object
from logferry.sinks.cloudwatch import CloudWatchSink
from logferry.sources.events import ObjectNotice
url, bucket, key, group = sys.argv[1:5]
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
          aws_secret_access_key="test")
s3, logs = boto3.client("s3", **kw), boto3.client("logs", **kw)
sink = CloudWatchSink(logs, group, "rss")
s = process_object(ObjectJob(s3, ObjectNotice(ObjectRef(bucket, key)), get_format("alb"), [sink]))
print(s.records, s.bytes, s.shipped["cloudwatch"])
"""

RSS_SEED = """
import sys, gzip, boto3
url, bucket, key = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                  aws_secret_access_key="test")
lines = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().splitlines()
print(len(lines))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=500_000)
    args = parser.parse_args()

    start = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    path = sample_file(args.lines, start)

    proc, url = start_emulator()
    try:
        s3, logs = clients(url)
        s3.create_bucket(Bucket="bench")
        key = alb_key("123456789012", "us-east-1", "bench-lb", start + timedelta(minutes=55))
        s3.put_object(Bucket="bench", Key=key, Body=path.read_bytes())
        logs.create_log_group(logGroupName="/bench/alb")

        log(f"seed approach: whole object into memory, one PutLogEvents per line ({SEED_LINES})")
        seed = seed_approach(s3, logs, "bench", key, "/bench/alb")
        log(f"logferry: all {args.lines:,} lines")
        ours = logferry_approach(url, "bench", key, "/bench/alb")
        bound = lower_bound(path)
        ceilings, parses = [], []
        for repeat in range(1, PARSE_REPEATS + 1):
            log(f"parse ceiling: gzip + one regex match per line ({repeat}/{PARSE_REPEATS})")
            ceilings.append(ceiling(path)["lines_per_s"])
            log(f"logferry parse --format alb > /dev/null ({repeat}/{PARSE_REPEATS})")
            parses.append(cli_parse(path)["lines_per_s"])

    finally:
        proc.terminate()
        proc.wait(timeout=30)

    result = {
        "lines": ours["lines"],
        "seed_lines_per_s": round(seed["lines_per_s"], 1),
        "logferry_lines_per_s": round(ours["lines_per_s"], 1),
        "speedup": round(ours["lines_per_s"] / seed["lines_per_s"], 1),
        "putlogevents_calls": ours["calls"],
        "putlogevents_lower_bound": bound,
        "calls_over_bound": round(ours["calls"] / bound - 1, 4),
        "parse_lines_per_s": round(max(parses), 1),
        "ceiling_lines_per_s": round(max(ceilings), 1),
        "parse_vs_ceiling": round(max(parses) / max(ceilings), 3),
        "parse_runs_lines_per_s": [round(x, 1) for x in parses],
        "ceiling_runs_lines_per_s": [round(x, 1) for x in ceilings],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
