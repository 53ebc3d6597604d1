"""``logferry backfill``: ship objects that were in a bucket before its trigger existed.

Objects are listed (filtered by LastModified), then each is either processed here, with the
functions' own pipeline and sinks built from the same settings (``--concurrency`` threads,
one wiring and one parser each), handed to the deployed function as a synthetic S3 event
(``--invoke``, asynchronous), or sent as S3-event messages to the function's SQS trigger
queue (``--enqueue``, :mod:`logferry.backfill_queue`: the scale path for a big history).
A state file records every object done (key and ETag), so an interrupted run (Ctrl-C)
resumes where it stopped and a changed object is done again; ``--enqueue`` keeps a cursor
(the last key sent) instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote_plus

from logferry.composition import Clients, Wiring
from logferry.config import ConfigError
from logferry.model import ObjectRef
from logferry.settings import Settings


@dataclass(frozen=True)
class ObjectInfo:
    """One listed object."""

    key: str
    etag: str
    size: int
    last_modified: datetime


@dataclass
class Outcome:
    """What handling one object gave: counts to add up, and an error if it was incomplete."""

    records: int = 0
    shipped: int = 0
    parked: int = 0
    error: str | None = None


Worker = Callable[[ObjectInfo], Outcome]
"""Handles one object (raises if it should be tried again on the next run)."""


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` as ``(bucket, prefix)``."""
    if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
        raise ConfigError(f"{uri!r}: expected s3://bucket[/prefix]")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix


def parse_time(text: str) -> datetime:
    """An ISO date or date-time; without a zone it is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{text!r}: expected a date like 2026-11-01 or 2026-11-01T12:00"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def list_objects(
    s3: Any,
    bucket: str,
    prefix: str,
    since: datetime | None = None,
    until: datetime | None = None,
    start_after: str | None = None,
) -> Iterator[ObjectInfo]:
    """Objects under ``prefix`` with ``since <= LastModified < until`` (folders left out), in
    key order, after the key ``start_after`` if given."""
    extra = {"StartAfter": start_after} if start_after else {}
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, **extra)
    for page in pages:
        for item in page.get("Contents", []):
            modified: datetime = item["LastModified"]
            if str(item["Key"]).endswith("/") or (since and modified < since):
                continue
            if until and modified >= until:
                continue
            yield ObjectInfo(str(item["Key"]), str(item["ETag"]).strip('"'), item["Size"], modified)


class BackfillState:
    """The objects already done (key -> ETag), saved as JSON to resume an interrupted run."""

    def __init__(self, path: Path, source: str) -> None:
        self.path = path
        self.source = source
        self.done: dict[str, str] = {}
        if path.exists():
            data = json.loads(path.read_text())
            if data.get("source") != source:
                raise ConfigError(f"{path}: state of {data.get('source')}, not of {source}")
            self.done = dict(data.get("done", {}))

    def is_done(self, info: ObjectInfo) -> bool:
        """True if this revision of the object was done by an earlier run."""
        return self.done.get(info.key) == info.etag

    def mark(self, info: ObjectInfo) -> None:
        """Record the object as done (call :meth:`save` to persist)."""
        self.done[info.key] = info.etag

    def save(self) -> None:
        """Write the state atomically (a crash never leaves half a file)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"source": self.source, "done": self.done}, indent=0))
        os.replace(tmp, self.path)


def default_state_path(source: str, target: str) -> Path:
    """``.logferry-backfill-<hash>.json`` in the working directory, per source and target."""
    digest = hashlib.blake2b(f"{source}\0{target}".encode(), digest_size=6).hexdigest()
    return Path(f".logferry-backfill-{digest}.json")


def human_bytes(n: float) -> str:
    """``1536`` -> ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def human_seconds(s: float) -> str:
    """``3725`` -> ``1h02m05s``."""
    s = int(s)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


@dataclass
class Progress:
    """Objects and bytes done out of a total, drawn on ``out`` (a bar on a TTY, else lines)."""

    total_objects: int
    total_bytes: int
    out: TextIO = field(default_factory=lambda: sys.stderr)
    tty: bool | None = None
    every: float = 10.0
    """Seconds between two plain lines when ``out`` is not a terminal."""
    clock: Callable[[], float] = time.monotonic
    objects: int = 0
    bytes: int = 0
    failed: int = 0

    def __post_init__(self) -> None:
        if self.tty is None:
            self.tty = self.out.isatty()
        self._started = self.clock()
        self._last = float("-inf")

    def advance(self, size: int, ok: bool = True) -> None:
        """Count one object handled (``ok=False``: failed, to be retried next run)."""
        if ok:
            self.objects += 1
            self.bytes += size
        else:
            self.failed += 1
        self.draw()

    def status(self) -> str:
        """One line: objects, bytes, rate and ETA."""
        elapsed = max(self.clock() - self._started, 1e-6)
        rate = self.bytes / elapsed
        left = self.total_bytes - self.bytes
        eta = human_seconds(left / rate) if rate > 0 else "?"
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"{self.objects}/{self.total_objects} objects{failed}, "
            f"{human_bytes(self.bytes)}/{human_bytes(self.total_bytes)}, "
            f"{human_bytes(rate)}/s, ETA {eta}"
        )

    def draw(self, final: bool = False) -> None:
        """Redraw the bar (TTY) or print a line if ``every`` seconds passed (or ``final``)."""
        if self.tty:
            share = self.bytes / self.total_bytes if self.total_bytes else 1.0
            filled = int(share * 30)
            bar = "#" * filled + "-" * (30 - filled)
            end = "\n" if final else ""
            print(f"\r[{bar}] {share:4.0%} {self.status()}\x1b[K", end=end, file=self.out)
        elif final or self.clock() - self._last >= self.every:
            self._last = self.clock()
            print(f"backfill: {self.status()}", file=self.out)
        self.out.flush()


@dataclass
class Totals:
    """What a backfill run did."""

    listed: int = 0
    skipped: int = 0
    done: int = 0
    failed: int = 0
    incomplete: int = 0
    records: int = 0
    shipped: int = 0
    parked: int = 0
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)


def run(
    objects: Sequence[ObjectInfo],
    worker: Worker,
    state: BackfillState,
    *,
    concurrency: int = 4,
    progress_out: TextIO | None = None,
    save_every: float = 2.0,
) -> Totals:
    """Hand every object not yet done to ``worker`` on ``concurrency`` threads.

    State is saved every ``save_every`` seconds and at the end. On Ctrl-C no new object
    is started, the ones under way finish and are recorded, and the state is saved.
    """
    totals = Totals(listed=len(objects))
    todo = [o for o in objects if not state.is_done(o)]
    totals.skipped = len(objects) - len(todo)
    progress = Progress(len(todo), sum(o.size for o in todo), progress_out or sys.stderr)
    pending = iter(todo)
    inflight: dict[Future[Outcome], ObjectInfo] = {}
    saved = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        try:
            _fill(pool, worker, pending, inflight, 2 * concurrency)
            while inflight:
                finished, _ = wait(inflight, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in finished:
                    _record(future, inflight.pop(future), state, totals, progress)
                if time.monotonic() - saved >= save_every:
                    state.save()
                    saved = time.monotonic()
                _fill(pool, worker, pending, inflight, 2 * concurrency)
        except KeyboardInterrupt:
            totals.interrupted = True
            for future in inflight:
                future.cancel()
            print("\nbackfill: interrupted, finishing the objects under way", file=progress.out)
            for future, info in inflight.items():
                if not future.cancelled():
                    _record(future, info, state, totals, progress)
        finally:
            state.save()
    progress.draw(final=True)
    return totals


def _fill(
    pool: ThreadPoolExecutor,
    worker: Worker,
    pending: Iterator[ObjectInfo],
    inflight: dict[Future[Outcome], ObjectInfo],
    limit: int,
) -> None:
    """Keep at most ``limit`` objects submitted (bounded memory for huge listings)."""
    while len(inflight) < limit:
        info = next(pending, None)
        if info is None:
            return
        inflight[pool.submit(worker, info)] = info


def _record(
    future: Future[Outcome],
    info: ObjectInfo,
    state: BackfillState,
    totals: Totals,
    progress: Progress,
) -> None:
    try:
        outcome = future.result()
    except Exception as exc:  # the object is retried on the next run
        totals.failed += 1
        totals.errors.append(f"{info.key}: {type(exc).__name__}: {exc}")
        progress.advance(info.size, ok=False)
        return
    state.mark(info)
    totals.done += 1
    totals.records += outcome.records
    totals.shipped += outcome.shipped
    totals.parked += outcome.parked
    if outcome.error:
        totals.incomplete += 1
        totals.errors.append(outcome.error)
    progress.advance(info.size)


# -- workers ---------------------------------------------------------------------------------
def s3_event(bucket: str, info: ObjectInfo) -> dict[str, Any]:
    """A synthetic S3 ObjectCreated notification for one object (what the trigger sends)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": info.last_modified.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "s3": {
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(info.key), "size": info.size, "eTag": info.etag},
                },
            }
        ]
    }


def invoke_worker(lambda_client: Any, function: str, bucket: str) -> Worker:
    """Invoke ``function`` asynchronously with a synthetic S3 event per object."""

    def work(info: ObjectInfo) -> Outcome:
        resp = lambda_client.invoke(
            FunctionName=function,
            InvocationType="Event",
            Payload=json.dumps(s3_event(bucket, info)).encode(),
        )
        status = int(resp.get("StatusCode", 0))
        if status != 202:
            raise RuntimeError(f"s3://{bucket}/{info.key}: invoke {function} answered {status}")
        return Outcome()

    return work


def local_worker(
    s3: Any, bucket: str, settings: Settings, clients: Clients, quarantine: Any
) -> Worker:
    """Process objects here with the functions' pipeline and the sinks ``settings`` names
    (built by the composition root, one wiring and one parser per worker thread); events that
    fail are parked in the quarantine."""
    from logferry.pipeline import ObjectJob, process_object
    from logferry.runtime import build_format
    from logferry.sources.events import ObjectNotice

    if not settings.sinks:
        raise ConfigError(
            "no sink: set SINKS or LOG_GROUP and/or SEARCH_URL (or --sinks, --function, "
            "--log-group, --search-url)"
        )
    Wiring(settings, clients)  # unknown sink names fail here, before any object
    mine = threading.local()

    def work(info: ObjectInfo) -> Outcome:
        if not hasattr(mine, "wiring"):
            mine.wiring, mine.fmt = Wiring(settings, clients), build_format(settings)
        ref = ObjectRef(bucket, info.key, etag=info.etag, size=info.size)
        job = ObjectJob(
            s3=s3,
            notice=ObjectNotice(ref),
            fmt=mine.fmt,
            sinks=mine.wiring.sinks_for(ref),
            parker=quarantine,
            region=s3.meta.region_name,
            keep_message=settings.search.keep_message,
        )
        summary = process_object(job)
        return Outcome(
            summary.records, sum(summary.shipped.values()), summary.parked, summary.error
        )

    return work


def cmd_backfill(args: argparse.Namespace) -> int:
    """Run ``logferry backfill``: 0 when all done, 1 if some failed, 130 if interrupted."""
    from logferry.clients import client
    from logferry.replay import cli_settings
    from logferry.sinks.s3 import Quarantine

    try:
        bucket, prefix = parse_s3_uri(args.source)
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until) if args.until else None
        if args.enqueue:
            return _cmd_enqueue(args, bucket, prefix, since, until)
        target = f"invoke:{args.invoke}" if args.invoke else f"local:{args.format or ''}"
        state_path = Path(args.state) if args.state else default_state_path(args.source, target)
        state = BackfillState(state_path, args.source)
        objects = list(list_objects(client("s3"), bucket, prefix, since, until))
        if args.dry_run:
            todo = [o for o in objects if not state.is_done(o)]
            size = human_bytes(sum(o.size for o in todo))
            print(f"{len(objects)} objects listed, {len(todo)} to do ({size})")
            return 0
        if args.invoke:
            worker = invoke_worker(client("lambda"), args.invoke, bucket)
        else:
            settings = cli_settings(args)
            quarantine = settings.quarantine.bucket and Quarantine(
                client("s3"), settings.quarantine.bucket, settings.quarantine.prefix
            )
            worker = local_worker(client("s3"), bucket, settings, client, quarantine or None)
    except (ConfigError, ValueError, OSError) as exc:
        print(f"logferry backfill: {exc}", file=sys.stderr)
        return 2
    totals = run(objects, worker, state, concurrency=args.concurrency)
    for error in totals.errors[:20]:
        print(f"logferry backfill: {error}", file=sys.stderr)
    print(
        f"{totals.listed} objects listed, {totals.skipped} already done, {totals.done} done "
        f"({totals.incomplete} incomplete), {totals.failed} failed; {totals.records} records, "
        f"{totals.shipped} shipped, {totals.parked} parked; state in {state.path}"
    )
    if totals.interrupted:
        print(
            "logferry backfill: interrupted; run the same command again to resume", file=sys.stderr
        )
        return 130
    return 1 if totals.failed else 0


def _cmd_enqueue(
    args: argparse.Namespace,
    bucket: str,
    prefix: str,
    since: datetime | None,
    until: datetime | None,
) -> int:
    """``--enqueue``: 0 when all sent, 1 if SQS refused a batch, 130 if interrupted."""
    from logferry.backfill_queue import Cursor, enqueue, resolve_queue
    from logferry.clients import client

    sqs = client("sqs")
    queue_url = resolve_queue(args.enqueue, client("lambda"), sqs)
    path = Path(args.state) if args.state else default_state_path(args.source, queue_url)
    cursor = Cursor.load(path, args.source, queue_url)
    objects = list_objects(client("s3"), bucket, prefix, since, until, cursor.last_key)
    after = f" after {cursor.last_key}" if cursor.last_key else ""
    if args.dry_run:
        count = size = 0
        for info in objects:
            count, size = count + 1, size + info.size
        print(f"{count} objects ({human_bytes(size)}) to enqueue to {queue_url}{after}")
        return 0
    print(f"backfill: enqueueing to {queue_url}{after}; cursor in {path}", file=sys.stderr)
    totals = enqueue(objects, sqs, queue_url, bucket, cursor)
    rate = totals.enqueued / max(totals.seconds, 1e-6)
    print(
        f"{totals.enqueued} objects enqueued in {totals.batches} batches ({rate:.0f} objects/s), "
        f"{cursor.enqueued} in all; last key {cursor.last_key}; cursor in {path}"
    )
    if totals.error:
        print(f"logferry backfill: {totals.error}; run again to resume", file=sys.stderr)
        return 1
    if totals.interrupted:
        print(
            "logferry backfill: interrupted; run the same command again to resume", file=sys.stderr
        )
        return 130
    return 0


def register(subparsers: Any) -> None:
    """Add the ``backfill`` subcommand."""
    from logferry import formats
    from logferry.replay import add_sink_options

    p = subparsers.add_parser(
        "backfill", help="ship objects already in a bucket (locally or via the function)"
    )
    p.add_argument("source", metavar="s3://BUCKET/PREFIX")
    p.add_argument("--since", help="only objects modified at or after (ISO date/time, UTC)")
    p.add_argument("--until", help="only objects modified before (ISO date/time, UTC)")
    p.add_argument("--concurrency", "-j", type=int, default=4, help="objects at a time")
    p.add_argument("--format", choices=formats.names(), help="log format (default: $LOG_FORMAT)")
    p.add_argument("--pattern", help="regex with named groups (--format regex; or $LOG_PATTERN)")
    target = p.add_mutually_exclusive_group()
    target.add_argument(
        "--invoke", metavar="FUNCTION", help="invoke this function per object instead"
    )
    target.add_argument(
        "--enqueue",
        metavar="FUNCTION|QUEUE_URL",
        help="send the objects to this function's SQS trigger queue (or this queue) instead",
    )
    p.add_argument(
        "--state",
        help="state file, the cursor with --enqueue (default: .logferry-backfill-<hash>.json)",
    )
    p.add_argument("--dry-run", action="store_true", help="list and count only")
    add_sink_options(p)
    p.set_defaults(func=cmd_backfill)
