"""Local EventBridge scheduler: fires the Lambda targets of deployed schedule rules.

moto stores `ScheduleExpression` rules but never fires them. This process polls
`events list_rules` and invokes each Lambda target asynchronously with AWS's
Scheduled Event payload (or the target's constant `Input`).
`LOGFERRY_SCHEDULE_SCALE=60` makes `rate(...)` rules fire 60 times faster.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from logferry.local.endpoints import REGION, Endpoints, boto3_client
from logferry.local.schedule import next_fire


def scheduled_event(rule_arn: str, when: datetime) -> dict[str, Any]:
    """AWS's Scheduled Event payload for `rule_arn` firing at `when`."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule_arn.split(":")[4],
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }


class Scheduler:
    """Remembers the next firing time of every enabled schedule rule."""

    def __init__(self, endpoints: Endpoints, scale: float = 1.0) -> None:
        self.events = boto3_client("events", endpoints)
        self.functions = boto3_client("lambda", endpoints)
        self.scale = scale
        self.due: dict[str, tuple[str, datetime]] = {}

    def rules(self) -> list[dict[str, Any]]:
        """Enabled rules with a schedule expression on the default bus."""
        pages = self.events.get_paginator("list_rules").paginate()
        found = [rule for page in pages for rule in page["Rules"]]
        return [r for r in found if r.get("ScheduleExpression") and r.get("State") == "ENABLED"]

    def tick(self, now: datetime) -> int:
        """Fire every rule that is due at `now`; returns how many targets were invoked."""
        fired = 0
        active = {}
        for rule in self.rules():
            name, expression = rule["Name"], rule["ScheduleExpression"]
            known = self.due.get(name)
            if known is None or known[0] != expression:
                known = (expression, next_fire(expression, now, self.scale))
            if now >= known[1]:
                fired += self.fire(rule, known[1])
                known = (expression, next_fire(expression, now, self.scale))
            active[name] = known
        self.due = active
        return fired

    def fire(self, rule: dict[str, Any], when: datetime) -> int:
        """Invoke the Lambda targets of `rule` asynchronously."""
        targets = self.events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        lambdas = [t for t in targets if ":lambda:" in t["Arn"]]
        for target in lambdas:
            payload = target.get("Input") or json.dumps(scheduled_event(rule["Arn"], when))
            self.functions.invoke(
                FunctionName=target["Arn"], InvocationType="Event", Payload=payload
            )
        return len(lambdas)


def run(aws_url: str, interval: float) -> None:
    """Poll the emulator at `aws_url` every `interval` seconds, forever."""
    scale = float(os.environ.get("LOGFERRY_SCHEDULE_SCALE", "1"))
    scheduler = Scheduler(Endpoints(aws=aws_url), scale)
    print(f"scheduler polling {aws_url} every {interval}s (rate scale {scale})", flush=True)
    while True:
        try:
            scheduler.tick(datetime.now(UTC))
        except Exception as error:  # the emulator may be restarting; keep polling
            print(f"scheduler tick failed: {error!r}", file=sys.stderr, flush=True)
        time.sleep(interval)


def main(argv: list[str] | None = None) -> None:
    """Command line: `python -m logferry.local.scheduler --aws URL`."""
    parser = argparse.ArgumentParser(description="Local EventBridge scheduler")
    parser.add_argument("--aws", required=True, help="emulator URL")
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    run(args.aws, args.interval)


if __name__ == "__main__":
    main()
