"""``logferry report alb --since 24h [--format table|html|png] [--out FILE] [--search URL]``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from logferry.alerts.rules import RuleError, parse_duration


def _search_target(args: argparse.Namespace) -> tuple[str, str]:
    """(URL, engine): ``--search``, else SEARCH_URL / LOGFERRY_SEARCH_URL, else the local stack."""
    url = args.search or os.environ.get("SEARCH_URL") or os.environ.get("LOGFERRY_SEARCH_URL")
    engine = args.engine or os.environ.get("SEARCH_ENGINE")
    if not url:
        from logferry.local.endpoints import load_endpoints

        endpoints = load_endpoints()
        if not endpoints.search:
            raise FileNotFoundError("the local stack runs no search node: pass --search URL")
        url, engine = endpoints.search, engine or endpoints.search_engine
    return url, engine or "elasticsearch"


def cmd_alb(args: argparse.Namespace) -> int:
    """Build the ALB report and write it as a table, an HTML page or a PNG."""
    from logferry.reports.alb import build_report
    from logferry.reports.render import render_html, render_png, render_table
    from logferry.sinks.search import make_client

    try:
        since = parse_duration(args.since, "--since")
        url, engine = _search_target(args)
    except (RuleError, FileNotFoundError) as exc:
        print(f"logferry report: {exc}", file=sys.stderr)
        return 2
    until_ms = int(time.time() * 1000)
    report = build_report(make_client(url, engine), args.prefix, until_ms - since, until_ms)
    text = render_table(report) if args.format == "table" else render_html(report)
    if args.format == "png":
        out = Path(args.out or "alb-report.png")
        render_png(text, out)
        print(f"logferry report: wrote {out}", file=sys.stderr)
    elif args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"logferry report: wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register(subparsers: Any) -> None:
    """Add ``report alb`` to the ``logferry`` parser."""
    report = subparsers.add_parser("report", help="reports from search aggregations")
    sub = report.add_subparsers(dest="report_command", required=True)
    p = sub.add_parser("alb", help="ALB requests, statuses and timings per page; per-minute status")
    p.add_argument("--since", default="24h", help="how far back: 90m, 24h, 7d (default 24h)")
    p.add_argument("--format", choices=("table", "html", "png"), default="table")
    p.add_argument("--out", help="output file (png default: alb-report.png; else stdout)")
    p.add_argument("--search", help="search URL (default SEARCH_URL or the local stack)")
    p.add_argument("--engine", choices=("elasticsearch", "opensearch"), help="search engine")
    p.add_argument("--prefix", default=os.environ.get("INDEX_PREFIX", "logferry"),
                   help="index prefix (default INDEX_PREFIX or logferry)")  # fmt: skip
    p.set_defaults(func=cmd_alb)
