"""``logferry dashboards import --url URL`` and ``logferry dashboards export --url URL --out D``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from logferry.dashboards.loader import DashboardsError, export_objects, import_objects
from logferry.dashboards.objects import saved_objects, to_ndjson


def _auth(args: argparse.Namespace) -> tuple[str, str] | None:
    """``--username`` with the password from DASHBOARDS_PASSWORD (never on the command line)."""
    return (args.username, os.environ.get("DASHBOARDS_PASSWORD", "")) if args.username else None


def cmd_import(args: argparse.Namespace) -> int:
    """Import the data views, visualizations and dashboards (overwriting)."""
    text = Path(args.file).read_text() if args.file else to_ndjson(saved_objects(args.prefix))
    try:
        answer = import_objects(args.url, text, auth=_auth(args))
    except DashboardsError as exc:
        print(f"logferry dashboards: {exc}", file=sys.stderr)
        return 1
    print(f"logferry dashboards: imported {answer.get('successCount', 0)} objects into {args.url}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export saved objects to a folder, one JSON file per object."""
    try:
        written = export_objects(args.url, Path(args.out), auth=_auth(args))
    except DashboardsError as exc:
        print(f"logferry dashboards: {exc}", file=sys.stderr)
        return 1
    print(f"logferry dashboards: wrote {len(written)} objects under {args.out}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``dashboards import`` and ``dashboards export`` to the ``logferry`` parser."""
    dashboards = subparsers.add_parser("dashboards", help="Kibana / OpenSearch Dashboards objects")
    sub = dashboards.add_subparsers(dest="dashboards_command", required=True)
    for name, func, what in (
        ("import", cmd_import, "import data views and a dashboard per source (overwrite)"),
        ("export", cmd_export, "export saved objects to a folder"),
    ):
        p = sub.add_parser(name, help=what)
        p.add_argument("--url", required=True, help="Kibana or OpenSearch Dashboards base URL")
        p.add_argument("--username", help="basic auth user (password: DASHBOARDS_PASSWORD)")
        p.set_defaults(func=func)
        if name == "import":
            p.add_argument("--prefix", default=os.environ.get("INDEX_PREFIX", "logferry"),
                           help="index prefix the data views match (default logferry)")  # fmt: skip
            p.add_argument("--file", help="NDJSON to import instead of the generated objects")
        else:
            p.add_argument("--out", required=True, help="folder to write the objects to")
