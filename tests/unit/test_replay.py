"""``logferry replay`` against moto's S3 (and CloudWatch Logs for the command)."""

from __future__ import annotations

import argparse
import time
from typing import Any

import boto3
import pytest

from logferry.model import Event
from logferry.replay import parked_offset, parse_source, register, replay
from logferry.sinks import Failure, SinkBase, SinkStats
from logferry.sinks.s3 import ParkedKey, Quarantine, parse_key

BUCKET = "quarantine-bucket"
SOURCE = "s3://logs/AWSLogs/alb/2026/11/24/a.log.gz"


class FakeSink(SinkBase):
    """Ships everything except the ids in ``reject``."""

    def __init__(self, name: str, reject: set[str] | None = None) -> None:
        self.name = name
        self.stats = SinkStats()
        self.reject = reject or set()
        self.shipped: list[str] = []
        self._pending: list[Event] = []
        self._failures: list[Failure] = []

    def add(self, event: Event) -> None:
        self._pending.append(event)

    def flush(self) -> None:
        for event in self._pending:
            if event.id in self.reject:
                self._failures.append(Failure(event, "still down"))
            else:
                self.shipped.append(event.id)
        self._pending.clear()

    def take_failures(self) -> list[Failure]:
        failures, self._failures = self._failures, []
        return failures


def _event(n: int, ts_ms: int = 1_790_000_000_000) -> Event:
    doc = {"message": f"line {n}", "event": {"dataset": "aws.alb"}}
    return Event(f"id-{n}", ts_ms + n, doc, f"line {n}")


def _park(q: Quarantine, sink: str, ids: range, offset: int = 0, ts_ms: int = 0) -> str:
    failures = [Failure(_event(n, ts_ms or 1_790_000_000_000), "boom") for n in ids]
    key = q.park(failures, sink=sink, source=SOURCE, offset=offset)
    assert key is not None
    return key


def _keys(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_replay_ships_with_original_ids_and_deletes(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    _park(q, "search", range(3), offset=0)
    _park(q, "search", range(3, 5), offset=4096)
    sink = FakeSink("search")
    counts = replay(q, lambda name, source: sink)
    assert sink.shipped == ["id-0", "id-1", "id-2", "id-3", "id-4"]
    assert (counts.objects, counts.events, counts.shipped, counts.deleted) == (2, 5, 5, 2)
    assert counts.failed == counts.kept == 0
    assert _keys(s3) == []


def test_what_fails_again_stays_parked_and_shipped_events_leave(s3: Any) -> None:
    q = Quarantine(s3, BUCKET, clock=lambda: 1_790_000_000.0)  # parked on an earlier day
    old_key = _park(q, "cloudwatch", range(4), offset=777)
    q_today = Quarantine(s3, BUCKET)
    sink = FakeSink("cloudwatch", reject={"id-1", "id-3"})
    counts = replay(q_today, lambda name, source: sink)
    assert (counts.shipped, counts.failed, counts.kept, counts.deleted) == (2, 2, 1, 0)
    (new_key,) = _keys(s3)
    assert new_key != old_key and parse_key(new_key) == ParkedKey(777, 1, parse_key(new_key).unique)
    again = q_today.read(new_key)
    assert [p.event.id for p in again] == ["id-1", "id-3"]
    assert {p.source for p in again} == {SOURCE} and again[0].reason == "still down"
    # the next replay, with the sink back, ships only those two and empties the quarantine
    healed = FakeSink("cloudwatch")
    replay(q_today, lambda name, source: healed)
    assert healed.shipped == ["id-1", "id-3"] and _keys(s3) == []


def test_dry_run_and_unknown_sink_touch_nothing(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    _park(q, "search", range(2))
    _park(q, "status_counts", range(2, 3))
    sink = FakeSink("search")
    dry = replay(q, lambda name, source: sink, dry_run=True)
    assert (dry.objects, dry.events, dry.shipped) == (2, 3, 0) and sink.shipped == []
    counts = replay(q, lambda name, source: sink if name == "search" else None)
    assert counts.skipped == 1 and counts.deleted == 1
    assert len(_keys(s3)) == 1 and "/status_counts/" in _keys(s3)[0]


def test_prefix_narrows_to_one_sink(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    _park(q, "search", range(2))
    _park(q, "cloudwatch", range(2, 3))
    seen: list[str] = []

    def build(name: str, source: str) -> FakeSink:
        seen.append(name)
        return FakeSink(name)

    counts = replay(q, build, prefix="quarantine/cloudwatch")
    assert seen == ["cloudwatch"] and counts.events == 1


def test_helpers() -> None:
    assert parked_offset("quarantine/search/2026/11/24/0123456789abcdef-12345.ndjson.gz") == 12345
    new = "quarantine/search/2026/11/24/0123456789abcdef-12345-r2-1790000000000-0123456789ab"
    assert parked_offset(new + ".ndjson.gz") == 12345
    assert parked_offset("odd-name.gz") == 0
    ref = parse_source(SOURCE)
    assert (ref.bucket, ref.key) == ("logs", "AWSLogs/alb/2026/11/24/a.log.gz")
    assert parse_source("local.log").key == "local.log"


def test_command_replays_into_cloudwatch_logs(
    s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from logferry import runtime

    runtime.client.cache_clear()
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("QUARANTINE_BUCKET", BUCKET)
    monkeypatch.setenv("LOG_GROUP", "/logferry/alb")
    now_ms = int(time.time() * 1000) - 60_000
    _park(Quarantine(s3, BUCKET), "cloudwatch", range(3), ts_ms=now_ms)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["replay", "--sink", "cloudwatch"])
    try:
        status = args.func(args)
    finally:
        runtime.client.cache_clear()
    out = capsys.readouterr()
    assert status == 0, out.err
    assert "3 events: 3 shipped, 0 failed again; 1 objects deleted" in out.out
    logs = boto3.client("logs", region_name="us-east-1")
    stream = "AWSLogs/alb/2026/11/24"
    got = logs.get_log_events(logGroupName="/logferry/alb", logStreamName=stream)["events"]
    assert [e["message"] for e in got] == ["line 0", "line 1", "line 2"]
    assert _keys(s3) == []


def test_command_without_bucket_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("QUARANTINE_BUCKET", raising=False)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["replay"])
    assert args.func(args) == 2
    assert "QUARANTINE_BUCKET" in capsys.readouterr().err


def test_cli_settings_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from logferry.replay import cli_settings

    monkeypatch.setenv("LOG_FORMAT", "nginx")
    monkeypatch.setenv("SEARCH_URL", "http://127.0.0.1:9200")
    monkeypatch.setenv("LOG_GROUP", "/env")
    args = argparse.Namespace(search_url=None, log_group="/flag", format="regex", pattern="^x$")
    settings = cli_settings(args)
    assert (settings.log_format, settings.format_options.pattern) == ("regex", "^x$")
    assert (settings.search.url, settings.cloudwatch.log_group) == (
        "http://127.0.0.1:9200",
        "/flag",
    )
    assert settings.sinks == ("cloudwatch", "search")  # named by their endpoints
    plain = cli_settings(argparse.Namespace(search_url=None, log_group=None))
    assert (plain.log_format, plain.cloudwatch.log_group) == ("nginx", "/env")
    monkeypatch.setenv("SINKS", "search")
    assert cli_settings(argparse.Namespace(search_url=None, log_group=None)).sinks == ("search",)
    function = argparse.Namespace(search_url=None, log_group=None, function="access_log_to_search")
    monkeypatch.delenv("SINKS")
    assert cli_settings(function).sinks == ("search", "status_counts")
    monkeypatch.setenv("LOG_PATTERN", "^(?P<source.ip>[^ ]+)")  # --format alone: env pattern
    env_pattern = argparse.Namespace(search_url=None, log_group=None, format="regex")
    assert cli_settings(env_pattern).format_options.pattern == "^(?P<source.ip>[^ ]+)"
