"""`logferry local deploy`: build-free deploy of build/*.zip into the running local stack."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from logferry.local.deploy import deploy
from logferry.local.endpoints import load_endpoints, repo_root


def _deploy(args: argparse.Namespace) -> int:
    try:
        deployment = deploy(load_endpoints(), args.build_dir)
    except (FileNotFoundError, ValueError) as error:
        print(f"logferry local deploy: {error}", file=sys.stderr)
        return 1
    print(f"  functions  {', '.join(deployment.functions())}")
    print(f"  raw bucket {deployment.raw_bucket}")
    print(f"  upload API {deployment.upload_api_url or '- (no gateway running)'}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `deploy` to the `local` command's subparsers; it sets `func(args) -> exit status`."""
    parser = subparsers.add_parser(
        "deploy", help="create or update buckets, functions, triggers and the upload API"
    )
    parser.add_argument(
        "--build-dir",
        type=Path,
        default=repo_root() / "build",
        help="folder of the function zips (default: <repo>/build)",
    )
    parser.set_defaults(func=_deploy)
