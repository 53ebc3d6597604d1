"""`make demo`: the whole chain on the local stack with sample logs of every format.

Starts the local stack if it is not running, builds the zips if missing, deploys, uploads
one sample object per format, waits for the chain, then shows what arrived: documents per
index, a sample search hit, CloudWatch Logs events, and counts in vs out per object.
Run: ``python -m logferry.demo`` (the stack keeps running; stop it with ``make down``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from logferry.local.chain import Chain
from logferry.local.deploy import Deployment, deploy
from logferry.local.endpoints import repo_root, wait_for
from logferry.local.spec import packages
from logferry.local.stack import LocalStack
from logferry.samples.access import access_lines
from logferry.samples.alb import alb_key, alb_lines
from logferry.samples.apigw import apigw_lines
from logferry.samples.cwl import firehose_object
from logferry.samples.serverlog import serverlog_lines

Progress = Callable[[str], None]
SAMPLE_LB = "web-prod"
"""The load balancer name the ALB sample generator writes into every line."""


@dataclass(frozen=True)
class SampleObject:
    """One object to put in the raw bucket, and what the chain should make of it."""

    name: str
    key: str
    body: bytes
    lines: int
    """Log lines (or events) in the object: the documents expected out of it."""
    function: str
    dataset: str | None
    """``event.dataset`` of its search documents (None: it goes to the analyzed bucket)."""
    marker: str = ""
    """Text in every line that tells this object's CloudWatch Logs events apart."""

    def uri(self, bucket: str) -> str:
        """The object's ``s3://`` URI."""
        return f"s3://{bucket}/{self.key}"


def text(lines: list[str], compress: bool = True) -> bytes:
    """Newline-terminated lines, gzip-compressed unless told otherwise."""
    body = ("\n".join(lines) + "\n").encode("utf-8")
    return gzip.compress(body, mtime=0) if compress else body


def alb_object(
    d: Deployment, lb_name: str, lines: int, now: datetime, seed: int = 0
) -> SampleObject:
    """An ALB log object under a real ALB key, every line naming load balancer ``lb_name``."""
    rows = [
        row.replace(f"app/{SAMPLE_LB}/", f"app/{lb_name}/", 1)
        for row in alb_lines(lines, now - timedelta(minutes=30), seed=seed)
    ]
    key = alb_key(d.account_id, d.region, lb_name, now, prefix=d.alb_prefix.split("/")[0])
    marker = f"app/{lb_name}/"
    return SampleObject("alb", key, text(rows), lines, d.alb_function, "aws.alb", marker)


def firehose_key(prefix: str, stream: str, now: datetime, run: str) -> str:
    """A Firehose-style key: ``<prefix>YYYY/MM/DD/HH/<stream>-1-<time>-<id>`` (no suffix)."""
    return f"{prefix}{now:%Y/%m/%d/%H}/{stream}-1-{now:%Y-%m-%d-%H-%M-%S}-{run}"


def sample_objects(d: Deployment, run: str, now: datetime, lines: int = 500) -> list[SampleObject]:
    """One object per format, keyed with ``run`` so repeated runs never collide."""
    start = now - timedelta(minutes=20)
    day = now.date()
    server_lines = list(serverlog_lines(day))
    return [
        alb_object(d, f"demo-{run}", lines, now),
        SampleObject(
            "cwl",
            firehose_key(d.cwl_prefix, "logferry-cwl", now, run),
            gzip.compress(firehose_object(lines, start), mtime=0),
            lines,
            d.cwl_function,
            "aws.cloudwatch_logs",
        ),
        SampleObject(
            "apache",
            firehose_key(d.access_prefix, "logferry-access-logs", now, run),
            text(list(access_lines(lines, start, seed=1))),
            lines,
            d.access_function,
            "apache.access",
        ),
        SampleObject(
            "nginx",
            firehose_key(d.nginx_prefix, "logferry-nginx", now, run),
            text(list(access_lines(lines, start, seed=2)), compress=False),
            lines,
            d.nginx_function,
            "nginx.access",
        ),
        SampleObject(
            "apigw",
            firehose_key(d.apigw_prefix, "logferry-apigw", now, run),
            text(list(apigw_lines(lines, start, seed=3))),
            lines,
            d.apigw_function,
            "aws.apigateway",
        ),
        SampleObject(
            "serverlog",
            f"{d.upload_prefix}demo-{run}/{day.isoformat()}.log",
            text(server_lines, compress=False),
            len(server_lines),
            d.serverlog_function,
            None,
        ),
    ]


def csv_key(sample: SampleObject, d: Deployment, suffix: str = ".csv") -> str:
    """Where serverlog_to_csv writes an upload's output: ``<server>/<date><suffix>``."""
    server, name = sample.key.removeprefix(d.upload_prefix).split("/")
    return f"{server}/{name.split('.')[0]}{suffix}"


def csv_rows(chain: Chain, key: str) -> int:
    """Data rows (without the header) of a CSV in the analyzed bucket."""
    body = chain.s3.get_object(Bucket=chain.deployment.analyzed_bucket, Key=key)["Body"].read()
    return max(0, len(body.decode("utf-8").splitlines()) - 1)


def documents_out(chain: Chain, sample: SampleObject) -> int:
    """What the chain made of one sample so far: search documents or CSV rows."""
    d = chain.deployment
    if sample.dataset is None:
        try:
            return csv_rows(chain, csv_key(sample, d))
        except chain.s3.exceptions.NoSuchKey:
            return 0
    return chain.count(chain.source_query(sample.uri(d.raw_bucket), sample.dataset))


def ensure_built(build_dir: Path, functions: Sequence[str], progress: Progress) -> None:
    """Run scripts/build_lambdas.py unless every function's zip exists."""
    if all((build_dir / f"{name}.zip").is_file() for name in functions):
        return
    progress("building the function zips (scripts/build_lambdas.py)...")
    script = repo_root() / "scripts" / "build_lambdas.py"
    subprocess.run([sys.executable, str(script)], check=True)


def show(chain: Chain, samples: list[SampleObject], out: Progress) -> None:
    """Print indices, a sample hit, CloudWatch Logs events and counts in vs out."""
    d = chain.deployment
    out("\n== search indices (_cat/indices)")
    for row in chain.indices():
        out(f"  {row['index']:<52} {row['docs.count']:>8} docs  {row['store.size']:>8}")
    alb = samples[0]
    hit = chain.hits(chain.source_query(alb.uri(d.raw_bucket), alb.dataset), size=1)
    out("\n== a search hit (ALB)")
    out(json.dumps(hit[0] if hit else {}, indent=1, ensure_ascii=False)[:1500])
    out(f"\n== CloudWatch Logs {d.alb_log_group} (filter_log_events, first 3)")
    events = chain.log_events(d.alb_log_group, f'"{alb.marker}"')
    for _, event in zip(range(3), events, strict=False):
        out(f"  [{event['logStreamName']}] {event['message'][:160]}")
    out("\n== counts in vs out")
    out(f"  {'format':<10} {'lines in':>9} {'docs out':>9}  object")
    for sample in samples:
        got = documents_out(chain, sample)
        out(f"  {sample.name:<10} {sample.lines:>9} {got:>9}  {sample.key}")
    cwl = chain.count_log_events(d.alb_log_group, alb.marker)
    out(f"  {'alb→cwl':<10} {alb.lines:>9} {cwl:>9}  events in {d.alb_log_group}")
    graph = csv_key(samples[-1], d, ".svg")
    out(f"\n  load graph: s3://{d.analyzed_bucket}/{graph}")


def run(lines: int, progress: Progress = print) -> int:
    """Start (or reuse) the stack, build, deploy, ship samples, wait, show; 0 if all arrived."""
    endpoints = LocalStack(progress=progress).start()
    progress(f"local stack: AWS {endpoints.aws}, search {endpoints.search}")
    build_dir = repo_root() / "build"
    ensure_built(build_dir, packages(), progress)
    deployment = deploy(endpoints, build_dir, progress)
    chain = Chain(endpoints, deployment)
    now = datetime.now(UTC)
    samples = sample_objects(deployment, now.strftime("%H%M%S"), now, lines)
    began = time.monotonic()
    for sample in samples:
        chain.put(sample.key, sample.body)
        progress(f"put s3://{deployment.raw_bucket}/{sample.key} ({sample.lines} lines)")
    pending = list(samples)

    def all_arrived() -> bool:
        for sample in list(pending):
            if documents_out(chain, sample) >= sample.lines:
                pending.remove(sample)
                progress(
                    f"{sample.name}: {sample.lines} through after {time.monotonic() - began:.1f}s"
                )
        return not pending

    try:
        wait_for(all_arrived, timeout=300, interval=1.0, what="every sample object")
    except TimeoutError as error:
        progress(f"not everything arrived: {error}")
    show(chain, samples, progress)
    progress("\nthe stack keeps running: explore it, then `make down`")
    return 1 if pending else 0


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m logferry.demo [--lines N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=500, help="lines per sample object")
    args = parser.parse_args(argv)
    return run(args.lines)


if __name__ == "__main__":
    sys.exit(main())
