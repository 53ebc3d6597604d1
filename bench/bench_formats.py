#!/usr/bin/env python3
"""`make bench-formats`: records per second of `logferry parse` for every format.

Each format parses a file of about ``--records`` records (default 100,000): the generated
samples where logferry has a generator (ALB, access logs, API Gateway, CloudWatch Logs,
server logs), else its golden input repeated (the AWS docs' example lines, broken ones
included, so error documents are part of the cost). Each file is parsed ``--runs`` times in
a fresh ``logferry parse`` process writing to /dev/null; the figure is the best run. Files
are cached in ``.cache/bench/formats/``. The last line printed is one JSON object:
``{"parse_records_per_s": {format: records/s}, "records": {format: n}}``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from logferry.samples.access import access_lines
from logferry.samples.alb import alb_lines
from logferry.samples.apigw import apigw_lines
from logferry.samples.serverlog import serverlog_lines

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench" / "formats"
GOLDEN = ROOT / "tests" / "golden"
LOGFERRY = Path(sys.executable).with_name("logferry")
START = datetime(2026, 11, 1, tzinfo=UTC)


def _serverlog(n: int) -> Iterator[str]:
    days = max(1, n // 1440)
    for day in range(days):
        yield from serverlog_lines((START + timedelta(days=day)).date(), step_minutes=1, seed=day)


GENERATED: dict[str, Callable[[int], Iterator[str]]] = {
    "alb": lambda n: alb_lines(n, START, seed=1),
    "apache": lambda n: access_lines(n, START, seed=1),
    "nginx": lambda n: access_lines(n, START, seed=2),
    "apigw": lambda n: apigw_lines(n, START, seed=1),
    "serverlog": _serverlog,
}
"""Formats with a sample generator: ``n -> lines``."""

REPEATED: dict[str, tuple[str, list[str]]] = {
    "elb": ("elb/classic.log", []),
    "nlb": ("nlb/tls.log", []),
    "loadbalancer": ("loadbalancer/mixed.log", []),
    "cloudfront": ("cloudfront/standard.log", ["#"]),
    "s3access": ("s3access/access.log", []),
    "vpcflow": ("vpcflow/default.log", ["version "]),
    "waf": ("waf/firehose.log", []),
}
"""Formats measured on their golden input repeated: (file, prefixes of header lines kept once)."""


def sample(fmt: str, records: int) -> tuple[Path, int]:
    """The cached input file of ``fmt`` and how many records it holds."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{fmt}-{records}.log.gz"
    lines: list[str]
    if fmt in GENERATED:
        lines = list(GENERATED[fmt](records))
    elif fmt == "cloudtrail":
        golden = json.loads((GOLDEN / "cloudtrail" / "records.json").read_text())["Records"]
        body = json.dumps({"Records": [golden[i % len(golden)] for i in range(records)]})
        if not path.exists():
            path.write_bytes(gzip.compress(body.encode(), 1))
        return path, records
    else:
        name, headers = REPEATED[fmt]
        source = (GOLDEN / name).read_text().splitlines()
        head = [line for line in source if any(line.startswith(h) for h in headers)]
        body_lines = [line for line in source if line not in head]
        lines = head + [body_lines[i % len(body_lines)] for i in range(records)]
    if not path.exists():
        path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), 1))
    return path, len(lines)


def best_seconds(fmt: str, path: Path, runs: int) -> float:
    """The fastest of ``runs`` `logferry parse --format fmt path > /dev/null`, in seconds."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(
            [str(LOGFERRY), "parse", "-q", "--format", fmt, str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000, help="records per format")
    parser.add_argument("--runs", type=int, default=2, help="runs per format (best counts)")
    parser.add_argument("formats", nargs="*", help="only these formats")
    args = parser.parse_args()
    names = args.formats or [*GENERATED, *REPEATED, "cloudtrail"]
    rates: dict[str, float] = {}
    counts: dict[str, int] = {}
    for fmt in names:
        path, count = sample(fmt, args.records)
        seconds = best_seconds(fmt, path, args.runs)
        rates[fmt] = round(count / seconds)
        counts[fmt] = count
        print(
            f"bench: {fmt:13} {count:>9,} records {seconds:6.2f} s {rates[fmt]:>9,}/s",
            file=sys.stderr,
        )
    print(json.dumps({"parse_records_per_s": rates, "records": counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
