"""``logferry alert run`` and ``logferry report alb`` argument handling (CLI register functions)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from logferry.alerts import cli as alert_cli
from logferry.reports import cli as report_cli


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="logferry")
    sub = root.add_subparsers(dest="command", required=True)
    alert_cli.register(sub)
    report_cli.register(sub)
    return root


@mock_aws
def test_alert_run_dry_run_prints_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("STATE_PARAM_PREFIX", raising=False)
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/app")
    logs.create_log_stream(logGroupName="/app", logStreamName="s")
    end = (int(time.time() * 1000) - 3_600_000) // 300_000 * 300_000
    logs.put_log_events(
        logGroupName="/app",
        logStreamName="s",
        logEvents=[{"timestamp": end - 5_000, "message": '{"status": 503}'}],
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: app-errors\n    log_group: /app\n    delay: 0s\n")
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(end / 1000 + 30))
    args = parser().parse_args(["alert", "run", "--rules", str(rules), "--now", now, "--dry-run"])
    assert args.func(args) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["text"] == "app-errors: 1 match"
    assert json.loads(err)["sent"] == 1


def test_alert_run_rejects_invalid_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text('{"rules": [{"name": "x", "type": "never"}]}')
    args = parser().parse_args(["alert", "run", "--rules", str(rules), "--dry-run"])
    assert args.func(args) == 2
    assert "rule #1 (x): 'type' must be one of" in capsys.readouterr().err


def test_report_rejects_bad_since(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["report", "alb", "--since", "yesterday", "--search", "http://x"])
    assert args.func(args) == 2
    assert "--since: 'yesterday' is not a duration" in capsys.readouterr().err
