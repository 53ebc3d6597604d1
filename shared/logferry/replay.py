"""``logferry replay``: ship parked events again and drop what was shipped from the quarantine.

Parked events keep their original deterministic ids, so a search replay overwrites instead of
duplicating. A parked object is deleted only after all its events shipped; the events that
fail again are parked anew (same sink, source and offset) and the old object is removed, so
a CloudWatch replay never re-sends events that already went through.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TextIO

from logferry.composition import Wiring, function_settings, replayable
from logferry.config import ConfigError
from logferry.model import ObjectRef
from logferry.settings import Settings
from logferry.sinks import Sink
from logferry.sinks.s3 import ParkedEvent, Quarantine, parse_key

SinkBuilder = Callable[[str, str], Sink | None]
"""``(sink name, source URI) -> sink`` to replay through, or ``None`` if not replayable."""


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

    def line(self) -> str:
        """The counts as one human-readable line."""
        return (
            f"{self.objects} parked objects, {self.events} events: {self.shipped} shipped, "
            f"{self.failed} failed again; {self.deleted} objects deleted, {self.kept} kept, "
            f"{self.skipped} skipped"
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


def replay(
    quarantine: Quarantine,
    build: SinkBuilder,
    *,
    prefix: str | None = None,
    dry_run: bool = False,
    log: TextIO | None = None,
) -> ReplayCounts:
    """Replay every parked object under ``prefix`` (default: the whole quarantine)."""
    counts = ReplayCounts()
    for key, parked in quarantine.iter_parked(prefix):
        counts.objects += 1
        counts.events += len(parked)
        outcome = "dry run" if dry_run else _replay_object(quarantine, build, key, parked, counts)
        if log is not None:
            print(f"s3://{quarantine.bucket}/{key}: {len(parked)} events, {outcome}", file=log)
    return counts


def _replay_object(
    quarantine: Quarantine,
    build: SinkBuilder,
    key: str,
    parked: list[ParkedEvent],
    counts: ReplayCounts,
) -> str:
    if not parked:
        quarantine.delete(key)
        counts.deleted += 1
        return "empty, deleted"
    name, source = parked[0].sink, parked[0].source
    sink = build(name, source)
    if sink is None:
        counts.skipped += 1
        return f"sink {name!r} cannot be replayed, kept"
    for item in parked:
        sink.add(item.event)
    sink.flush()
    failures = list({f.event.id: f for f in sink.take_failures()}.values())
    counts.failed += len(failures)
    counts.shipped += len(parked) - len(failures)
    if not failures:
        quarantine.delete(key)
        counts.deleted += 1
        return "all shipped, deleted"
    parsed = parse_key(key)
    new_key = quarantine.park(
        failures, sink=name, source=source, offset=parsed.offset, revision=parsed.revision + 1
    )
    quarantine.delete(key)
    counts.kept += 1
    return f"{len(failures)} failed again (first: {failures[0].reason}), parked at {new_key}"


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
    """Run ``logferry replay``: 0 if everything shipped, 1 if some stay parked, 2 on bad config."""
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
        )
    except (ConfigError, ValueError, OSError, EOFError) as exc:
        print(f"logferry replay: {exc}", file=sys.stderr)
        return 2
    print(("dry run: " if args.dry_run else "") + counts.line())
    return 1 if counts.kept or counts.skipped else 0


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
    p.set_defaults(func=cmd_replay)
