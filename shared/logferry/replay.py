"""``logferry replay``: ship parked events again and drop what was shipped from the quarantine.

Idempotent and safe to kill and rerun:
- parked events keep their deterministic ids, so a search replay overwrites, never duplicates;
- a parked object is replayed in steps of ``batch`` events under a claim
  (:mod:`logferry.replay_claim`): a marker object, written with conditional puts, that says
  how many events were handled and which step is in flight. A rerun after a crash goes on
  after the last finished step; the step that was in flight is first looked up in
  CloudWatch Logs (:func:`cloudwatch_sent_check`: same stream, time and message) and what is
  already stored there is not sent again; so is a step holding events parked with reason
  ``unknown_outcome:...`` (a PutLogEvents that timed out after it was sent);
- two replays at once never both ship an object: the second finds it claimed and leaves it;
- what fails again is parked under a new key with the next revision (never over another
  object); the parked object is deleted only after every event was shipped or re-parked;
- an event id already shipped earlier in the same run (a retried invocation parked the same
  events twice) is not sent again.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from botocore.exceptions import ClientError

from logferry.composition import Wiring, function_settings, replayable
from logferry.config import ConfigError
from logferry.model import Event, ObjectRef
from logferry.replay_claim import Claim, ClaimLostError, Owner
from logferry.settings import Settings
from logferry.sinks import Failure, Sink
from logferry.sinks.cloudwatch import UNKNOWN_OUTCOME, stream_name
from logferry.sinks.s3 import ParkedEvent, Quarantine, parse_key

SinkBuilder = Callable[[str, str], Sink | None]
"""``(sink name, source URI) -> sink`` to replay through, or ``None`` if not replayable."""
SentCheck = Callable[[str, str, list[Event]], set[str]]
"""``(sink name, source URI, events) -> ids of those events the back end already holds``:
asked on a rerun about the step a killed replay had in flight, so it is not sent again."""

BATCH = 1000
"""Events shipped per step (one CloudWatch Logs batch of typical lines) before the marker
records them: the most a crash can make CloudWatch Logs receive twice."""


@dataclass
class ReplayCounts:
    """What a replay did (events and parked objects)."""

    objects: int = 0
    events: int = 0
    shipped: int = 0
    failed: int = 0
    deleted: int = 0
    kept: int = 0
    skipped: int = 0
    """Parked objects of a sink that cannot be replayed (left alone)."""
    busy: int = 0
    """Parked objects another replay holds (left to it)."""
    resumed: int = 0
    """Parked objects an earlier, interrupted replay had started (continued after its
    last finished step)."""
    duplicates: int = 0
    """Events not sent because the same id was already shipped in this run."""
    present: int = 0
    """Events of an interrupted step found already stored, so not sent again."""

    def line(self) -> str:
        """The counts as one human-readable line."""
        return (
            f"{self.objects} parked objects, {self.events} events: {self.shipped} shipped, "
            f"{self.failed} failed again; {self.deleted} objects deleted, {self.kept} kept, "
            f"{self.skipped} skipped, {self.busy} busy, {self.resumed} resumed; "
            f"{self.duplicates} duplicate ids and {self.present} already stored not re-sent"
        )


def parse_source(uri: str) -> ObjectRef:
    """The object a parked event came from (``s3://bucket/key``, or a bare path)."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[5:].partition("/")
        return ObjectRef(bucket, key)
    return ObjectRef("", uri)


def parked_offset(key: str) -> int:
    """The source offset a quarantine key (of either layout) was parked at."""
    return parse_key(key).offset


@dataclass
class _Run:
    quarantine: Quarantine
    build: SinkBuilder
    counts: ReplayCounts
    batch: int
    clock: Callable[[], float]
    sent_check: SentCheck | None = None
    owner: Owner = field(default_factory=Owner.me)
    shipped_ids: set[tuple[str, str]] = field(default_factory=set)


def replay(
    quarantine: Quarantine,
    build: SinkBuilder,
    *,
    prefix: str | None = None,
    dry_run: bool = False,
    log: TextIO | None = None,
    batch: int = BATCH,
    clock: Callable[[], float] = time.time,
    sent_check: SentCheck | None = None,
) -> ReplayCounts:
    """Replay every parked object under ``prefix`` (default: the whole quarantine).

    ``sent_check`` (optional) says which events of an interrupted step are already stored.
    """
    run = _Run(quarantine, build, ReplayCounts(), max(1, batch), clock, sent_check)
    for key in list(quarantine.keys(prefix)):  # listed first: re-parks are for the next run
        if dry_run:
            parked = quarantine.read(key)
            run.counts.objects += 1
            run.counts.events += len(parked)
            outcome = f"{len(parked)} events, dry run"
        else:
            outcome = _claimed(run, key)
        if log is not None:
            print(f"s3://{quarantine.bucket}/{key}: {outcome}", file=log)
    return run.counts


def _claimed(run: _Run, key: str) -> str:
    """Replay one parked object under a claim; what happened, in words."""
    claim, holder = Claim.take(run.quarantine, key, run.owner, run.clock)
    if claim is None:
        run.counts.busy += 1
        owner = (holder or {}).get("owner") or {}
        return f"claimed by {owner.get('host')} pid {owner.get('pid')}, left alone"
    try:
        try:
            parked = run.quarantine.read(key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"NoSuchKey", "404"}:
                raise
            claim.release()  # another replay finished it since it was listed
            return "already replayed"
        run.counts.objects += 1
        run.counts.events += len(parked)
        return f"{len(parked)} events, " + _replay_object(run, claim, key, parked)
    except ClaimLostError:
        run.counts.busy += 1
        return "taken over by another replay, stopped"
    except BaseException:
        claim.pause()  # progress kept, lease given up: a rerun continues at once
        raise


def _replay_object(run: _Run, claim: Claim, key: str, parked: list[ParkedEvent]) -> str:
    q, counts = run.quarantine, run.counts
    if not parked:
        q.delete(key)
        claim.release()
        counts.deleted += 1
        return "empty, deleted"
    name, source = parked[0].sink, parked[0].source
    sink = run.build(name, source)
    if sink is None:
        claim.release()
        counts.skipped += 1
        return f"sink {name!r} cannot be replayed, kept"
    if claim.done or claim.inflight:
        counts.resumed += 1
    parsed = parse_key(key)
    reparked: list[str] = list(claim.state.get("reparked") or [])
    failed = 0
    for start, end, stale in _steps(claim, len(parked), run.batch):
        repark = q.key_for(name, source, parsed.offset, parsed.revision + 1)
        claim.save(inflight={"start": start, "end": end, "repark": repark})
        part = parked[start:end]
        stored: set[str] = set()
        maybe_sent = stale is not None or any(p.reason.startswith(UNKNOWN_OUTCOME) for p in part)
        if maybe_sent and run.sent_check is not None:  # killed in this step, or timed out: ask
            stored = run.sent_check(name, source, [p.event for p in part])
            run.counts.present += len(stored)
            run.shipped_ids.update((name, i) for i in stored)
        failures = _ship(run, sink, name, [p for p in part if p.event.id not in stored])
        if failures:
            written = q.park(
                failures,
                sink=name,
                source=source,
                offset=parsed.offset,
                revision=parsed.revision + 1,
                key=repark,
            )
            reparked.append(str(written))
            failed += len(failures)
        if stale and stale not in reparked:
            q.delete(stale)  # an interrupted step's re-park: its events are handled again now
        claim.save(done=end, inflight=None, reparked=reparked)
    q.delete(key)
    claim.release()
    if not reparked:
        counts.deleted += 1
        return "all shipped, deleted"
    counts.kept += 1
    return f"{failed} failed again, parked at {', '.join(reparked)}"


def _steps(claim: Claim, total: int, batch: int) -> list[tuple[int, int, str | None]]:
    """``(start, end, stale re-park key)`` of the steps left: an interrupted step first,
    over exactly its range (its stale key a string, maybe empty), then the rest in
    ``batch``-sized steps (``None``)."""
    steps: list[tuple[int, int, str | None]] = []
    start = claim.done
    inflight = claim.inflight
    if inflight is not None:
        end = min(int(inflight["end"]), total)
        steps.append((int(inflight["start"]), end, str(inflight.get("repark") or "")))
        start = end
    steps += [(s, min(s + batch, total), None) for s in range(start, total, batch)]
    return steps


def _ship(run: _Run, sink: Sink, name: str, part: list[ParkedEvent]) -> list[Failure]:
    """Send one step's events through ``sink``; the ones that failed again (once per id)."""
    fresh = [p for p in part if (name, p.event.id) not in run.shipped_ids]
    run.counts.duplicates += len(part) - len(fresh)
    for item in fresh:
        sink.add(item.event)
    sink.flush()
    failures = list({f.event.id: f for f in sink.take_failures()}.values())
    failed_ids = {f.event.id for f in failures}
    run.shipped_ids.update((name, p.event.id) for p in fresh if p.event.id not in failed_ids)
    run.counts.failed += len(failures)
    run.counts.shipped += len(fresh) - len(failures)
    return failures


def cloudwatch_sent_check(settings: Settings, logs: Any) -> SentCheck:
    """Which events CloudWatch Logs already holds: those whose time and message are in the
    stream the sink writes that source to, in the events' time range (one FilterLogEvents
    per page). Other sinks say none: search overwrites by id."""

    def check(name: str, source: str, events: list[Event]) -> set[str]:
        group = settings.cloudwatch.log_group
        if name != "cloudwatch" or not group or not events:
            return set()
        stream = stream_name(settings.cloudwatch.log_stream, parse_source(source))
        times = [e.timestamp_ms for e in events]
        args: dict[str, Any] = {
            "logGroupName": group,
            "logStreamNames": [stream],
            "startTime": min(times),
            "endTime": max(times) + 1,
        }
        found: Counter[tuple[int, str]] = Counter()
        try:
            while True:
                page = logs.filter_log_events(**args)
                found.update((int(e["timestamp"]), str(e["message"])) for e in page["events"])
                if not page.get("nextToken") or not page["events"]:
                    break
                args["nextToken"] = page["nextToken"]
        except logs.exceptions.ResourceNotFoundException:
            return set()
        stored = set()
        for e in events:
            if found[(e.timestamp_ms, e.message)] > 0:
                found[(e.timestamp_ms, e.message)] -= 1
                stored.add(e.id)
        return stored

    return check


def wiring_builder(wiring: Wiring) -> SinkBuilder:
    """Sinks built by the composition root, as the functions build them."""

    def build(name: str, source: str) -> Sink | None:
        return wiring.replay_sink(name, parse_source(source))

    return build


def configured_sinks(settings: Settings) -> tuple[str, ...]:
    """The sinks a command line names by their endpoints: ``cloudwatch`` with a log group,
    ``search`` with a search URL (used when neither ``SINKS`` nor ``--function`` says)."""
    named = (("cloudwatch", settings.cloudwatch.log_group), ("search", settings.search.url))
    return tuple(name for name, endpoint in named if endpoint)


def cli_settings(args: argparse.Namespace) -> Settings:
    """The settings of ``--function`` (else of the environment), overridden by ``--sinks``,
    ``--search-url``, ``--log-group``, ``--format`` and ``--pattern`` where given."""
    function = getattr(args, "function", None)
    fmt = getattr(args, "format", None)
    base = function_settings(function) if function else Settings.from_env(fmt or "alb")
    settings = base.with_format(fmt, pattern=getattr(args, "pattern", None) or None)
    settings = replace(
        settings,
        search=replace(settings.search, url=args.search_url or settings.search.url),
        cloudwatch=replace(
            settings.cloudwatch, log_group=args.log_group or settings.cloudwatch.log_group
        ),
    )
    sinks = getattr(args, "sinks", None)
    if sinks:
        return replace(settings, sinks=tuple(s for s in sinks.split(",") if s))
    return settings if settings.sinks else replace(settings, sinks=configured_sinks(settings))


def add_sink_options(parser: argparse.ArgumentParser) -> None:
    """``--function``, ``--sinks``, ``--search-url`` and ``--log-group``, read by
    :func:`cli_settings`."""
    from logferry.composition import FUNCTIONS, SINKS

    parser.add_argument(
        "--function", choices=sorted(FUNCTIONS), help="that function's defaults (format, sinks)"
    )
    parser.add_argument(
        "--sinks", help=f"comma-separated sinks of {', '.join(sorted(SINKS))} (default: $SINKS)"
    )
    parser.add_argument("--search-url", help="search endpoint (default: $SEARCH_URL)")
    parser.add_argument("--log-group", help="CloudWatch Logs group (default: $LOG_GROUP)")


def cmd_replay(args: argparse.Namespace) -> int:
    """Run ``logferry replay``: 0 if everything shipped, 1 if some stay parked (or another
    replay holds them), 2 on bad config."""
    from logferry.clients import client

    try:
        settings = cli_settings(args)
        bucket = args.bucket or settings.quarantine.bucket
        if not bucket:
            raise ConfigError("no quarantine bucket: pass --bucket or set QUARANTINE_BUCKET")
        quarantine = Quarantine(client("s3"), bucket, args.prefix or settings.quarantine.prefix)
        listing = f"{quarantine.prefix}/{args.sink}" if args.sink else None
        counts = replay(
            quarantine,
            wiring_builder(Wiring(settings, client)),
            prefix=listing,
            dry_run=args.dry_run,
            log=sys.stderr,
            batch=args.batch,
            sent_check=cloudwatch_sent_check(settings, client("logs")),
        )
    except (ConfigError, ValueError, OSError, EOFError) as exc:
        print(f"logferry replay: {exc}", file=sys.stderr)
        return 2
    print(("dry run: " if args.dry_run else "") + counts.line())
    return 1 if counts.kept or counts.skipped or counts.busy else 0


def register(subparsers: Any) -> None:
    """Add the ``replay`` subcommand."""
    p = subparsers.add_parser(
        "replay", help="ship parked (quarantined) events again; delete what shipped"
    )
    p.add_argument("--bucket", help="quarantine bucket (default: $QUARANTINE_BUCKET)")
    p.add_argument("--prefix", help="quarantine prefix (default: $QUARANTINE_PREFIX or quarantine)")
    p.add_argument("--sink", choices=replayable(), help="only events parked by this sink")
    add_sink_options(p)
    p.add_argument("--dry-run", action="store_true", help="list and count, ship nothing")
    p.add_argument(
        "--batch",
        type=int,
        default=BATCH,
        help=f"events per step recorded in the replay marker (default {BATCH})",
    )
    p.set_defaults(func=cmd_replay)
