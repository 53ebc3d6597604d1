"""``logferry alert run --rules FILE``: one local run of the rules (state kept in memory)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from logferry.alerts.evaluate import Firing
from logferry.alerts.rules import Rule, RuleError, load_rules_text
from logferry.alerts.slack import SlackNotifier, build_message, build_notice


class PrintNotifier:
    """Prints each message's payload (``--dry-run``) instead of posting it."""

    def send(self, firing: Firing) -> bool:
        """Write the payload as one JSON line to stdout."""
        print(json.dumps(build_message(firing), ensure_ascii=False))
        return True

    def notify(self, rule: Rule, text: str) -> bool:
        """Write the notice's payload as one JSON line to stdout."""
        print(json.dumps(build_notice(text), ensure_ascii=False))
        return True


def cmd_run(args: argparse.Namespace) -> int:
    """Evaluate the rules once and print the run summary."""
    from logferry.alerts.app import run_once

    try:
        rules = load_rules_text(Path(args.rules).read_text(), args.rules)
    except (OSError, RuleError) as exc:
        print(f"logferry alert: {exc}", file=sys.stderr)
        return 2
    now = datetime.fromisoformat(args.now).timestamp() if args.now else time.time()
    notifier: Any = None
    if args.dry_run:
        notifier = PrintNotifier()
    elif args.webhook:
        notifier = SlackNotifier({"default": args.webhook})
    summary = run_once(rules, dict(os.environ), int(now * 1000), notifier=notifier)
    print(json.dumps(summary), file=sys.stderr)
    return 1 if summary["errors"] else 0


def register(subparsers: Any) -> None:
    """Add ``alert run`` to the ``logferry`` parser."""
    alert = subparsers.add_parser("alert", help="alert rules: one-shot local runs")
    sub = alert.add_subparsers(dest="alert_command", required=True)
    p = sub.add_parser("run", help="evaluate the rules once (SEARCH_URL, AWS env as usual)")
    p.add_argument("--rules", required=True, help="rules file (JSON or YAML)")
    p.add_argument("--now", help="ISO time to run at (default: now)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--dry-run", action="store_true", help="print messages, post nothing")
    group.add_argument("--webhook", help="post to this webhook instead of SLACK_SECRET_ARN")
    p.set_defaults(func=cmd_run)
