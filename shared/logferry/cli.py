"""The ``logferry`` command line."""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Sequence
from typing import Any

import orjson

from logferry import formats
from logferry.formats.base import LogFormat, parser_failure, shippable
from logferry.model import ObjectRef, ParseContext
from logferry.sources.stream import (
    CorruptObjectError,
    decompressed,
    prefetched,
    read_file_chunks,
)


def _format_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if args.pattern:
        options["pattern"] = args.pattern
    if args.log_format:
        options["log_format"] = args.log_format
    if args.preset:
        options["preset"] = args.preset
    return options


def _parse_file(path: str, fmt: LogFormat, out: Any, verbose: bool, totals: list[int]) -> None:
    """Write one file's documents to ``out`` as NDJSON; add (records, documents, errors)
    to ``totals``.

    Raises ``OSError``/``CorruptObjectError`` after writing and counting everything readable.
    """
    ctx = ParseContext(ObjectRef(bucket="", key=path))
    records = documents = errors = 0
    pending: list[bytes] = []
    _gz, raw = decompressed(read_file_chunks(path), path)
    chunks = prefetched(raw)
    append = pending.append
    try:
        head = next(chunks, b"")
        chosen = fmt.for_object(ctx.ref, head)
        if chosen is not fmt:
            detail = f" ({chosen.detail})" if chosen.detail else ""
            print(f"logferry parse: {path}: format {chosen.name}{detail}", file=sys.stderr)
        fmt = chosen
        parse, dataset, newline = fmt.parse, fmt.dataset, orjson.OPT_APPEND_NEWLINE
        for record in fmt.frame(itertools.chain((head,), chunks)):
            try:
                docs = parse(record, ctx)
            except Exception as exc:  # a parser bug: keep the line, go on with the file
                docs = parser_failure(record, ctx, fmt, exc)
            records += 1
            for doc in docs:
                doc, body = shippable(doc, record, ctx, dataset, newline)
                if "error" in doc:
                    errors += 1
                    if verbose:
                        print(doc["error"]["message"], file=sys.stderr)
                append(body)
            if len(pending) >= 1024:
                out.write(b"".join(pending))
                documents += len(pending)
                pending.clear()
    finally:
        chunks.close()
        documents += len(pending)
        for i, count in enumerate((records, documents, errors)):
            totals[i] += count
        out.write(b"".join(pending))


def cmd_parse(args: argparse.Namespace) -> int:
    """Print one JSON document per input record (NDJSON), the code path the Lambdas use."""
    try:
        fmt = formats.get_format(args.format, **_format_options(args))
    except (ValueError, TypeError) as exc:
        print(f"logferry parse: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    totals = [0, 0, 0]
    status = 0
    try:
        for path in args.files:
            try:
                _parse_file(path, fmt, out, args.verbose, totals)
            except (OSError, CorruptObjectError) as exc:
                if isinstance(exc, BrokenPipeError):
                    raise
                print(f"logferry parse: {exc}", file=sys.stderr)
                status = 1
        out.flush()
    except BrokenPipeError:
        _reader_went_away()
    if not args.quiet:
        print(
            f"logferry parse: {totals[0]} records, {totals[1]} documents, "
            f"{totals[2]} did not parse",
            file=sys.stderr,
        )
    return status


def cmd_formats(_args: argparse.Namespace) -> int:
    """List the formats."""
    width = max(map(len, formats.names()))
    for name in formats.names():
        print(f"{name:{width}}  {formats.DESCRIPTIONS.get(name, '')}")
    return 0


CORE_COMMANDS = frozenset(("parse", "formats"))
"""Subcommands that need none of the others' imports (Slack, the local stack...)."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser for ``logferry``: every subcommand, or just the core ones when
    ``command`` is one of them (``logferry parse`` then starts in a third of the time).
    """
    parser = argparse.ArgumentParser(
        prog="logferry", description="Ship logs landing in S3 to CloudWatch Logs and search."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="parse log files to NDJSON (gzip or plain, - for stdin)")
    p.add_argument(
        "--format",
        "-f",
        default="auto",
        choices=formats.names(),
        help="the log format (default auto: recognised from each file's name and first line)",
    )
    p.add_argument("--pattern", help="regex with named groups (for --format regex)")
    p.add_argument(
        "--log-format", help="the server's LogFormat / log_format string (apache, nginx)"
    )
    p.add_argument("--preset", help="a named access log format (apache, nginx: vhost_combined...)")
    p.add_argument("--quiet", "-q", action="store_true", help="no totals on stderr")
    p.add_argument("--verbose", "-v", action="store_true", help="print each parse error")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("formats", help="list the log formats")
    p.set_defaults(func=cmd_formats)

    if command not in CORE_COMMANDS:
        _register_optional(sub)
    return parser


def _register_optional(sub: Any) -> None:
    """Subcommands that live in their own modules."""
    from logferry import backfill, redrive, replay
    from logferry.alerts import cli as alerts_cli
    from logferry.dashboards import cli as dashboards_cli
    from logferry.local import cli as local_cli
    from logferry.reports import cli as reports_cli

    for module in (local_cli, replay, redrive, backfill, alerts_cli, reports_cli, dashboards_cli):
        module.register(sub)


def _reader_went_away() -> None:
    """`logferry parse ... | head`: the reader left. Not an error; stop at once.

    ``os._exit`` skips the final flush of a stdout nobody reads (which would fail again).
    """
    sys.stderr.flush()
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``logferry`` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:
        _reader_went_away()
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
