"""``logferry backfill``: listing, state/resume, progress, workers (moto S3 and Logs)."""

from __future__ import annotations

import argparse
import gzip
import io
import json
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from logferry.backfill import (
    BackfillState,
    ObjectInfo,
    Outcome,
    Progress,
    Worker,
    default_state_path,
    invoke_worker,
    list_objects,
    local_worker,
    parse_s3_uri,
    parse_time,
    register,
    run,
    s3_event,
)
from logferry.samples.access import access_lines
from logferry.settings import ConfigError, Settings
from logferry.sinks.options import CloudWatchOptions
from logferry.sources.events import notices

BUCKET = "old-logs"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _info(n: int, size: int = 100) -> ObjectInfo:
    return ObjectInfo(f"logs/{n:03d}.log", f"etag{n}", size, T0 + timedelta(hours=n))


def test_list_objects_filters_by_last_modified(s3: Any) -> None:
    for name in ("a/1.log", "a/2.log", "a/dir/", "b/3.log"):
        s3.put_object(Bucket=BUCKET, Key=name, Body=b"x")
    now = datetime.now(UTC)
    keys = [o.key for o in list_objects(s3, BUCKET, "a/")]
    assert keys == ["a/1.log", "a/2.log"]
    assert list(list_objects(s3, BUCKET, "", since=now + timedelta(minutes=5))) == []
    assert list(list_objects(s3, BUCKET, "", until=now - timedelta(minutes=5))) == []
    one = next(list_objects(s3, BUCKET, "b/", since=now - timedelta(minutes=5)))
    assert one.size == 1 and one.etag and not one.etag.startswith('"')


def test_uri_and_time_parsing() -> None:
    assert parse_s3_uri("s3://b/some/prefix") == ("b", "some/prefix")
    assert parse_s3_uri("s3://b") == ("b", "")
    with pytest.raises(ConfigError, match="s3://bucket"):
        parse_s3_uri("b/prefix")
    assert parse_time("2026-11-01") == T0
    assert parse_time("2026-11-01T09:00+09:00") == T0
    with pytest.raises(ConfigError, match="expected a date"):
        parse_time("yesterday")


def test_run_resumes_after_ctrl_c_without_redoing_objects(tmp_path: Path) -> None:
    objects = [_info(n) for n in range(8)]
    seen: list[str] = []
    lock = threading.Lock()

    def interrupting(info: ObjectInfo) -> Outcome:
        with lock:
            seen.append(info.key)
            if len(seen) == 3:
                signal.raise_signal(signal.SIGINT)  # Ctrl-C while object 3 is under way
        return Outcome(records=2, shipped=2)

    path = tmp_path / "state.json"
    first = run(
        objects,
        interrupting,
        BackfillState(path, "s3://b/p"),
        concurrency=1,
        progress_out=io.StringIO(),
    )
    assert first.interrupted and 3 <= first.done < 8
    assert first.done == len(json.loads(path.read_text())["done"])
    done_first = set(seen[: first.done])

    again: list[str] = []
    second = run(
        objects,
        _recorder(again),
        BackfillState(path, "s3://b/p"),
        concurrency=3,
        progress_out=io.StringIO(),
    )
    assert not second.interrupted and second.skipped == first.done
    assert set(again) == {o.key for o in objects} - done_first
    assert len(BackfillState(path, "s3://b/p").done) == 8


def test_failed_and_changed_objects_are_done_again(tmp_path: Path) -> None:
    objects = [_info(n) for n in range(4)]

    def flaky(info: ObjectInfo) -> Outcome:
        if info.key.endswith("001.log"):
            raise RuntimeError("search down")
        return Outcome(records=1, error="corrupt" if info.key.endswith("002.log") else None)

    path = tmp_path / "s.json"
    totals = run(objects, flaky, BackfillState(path, "src"), progress_out=io.StringIO())
    assert (totals.done, totals.failed, totals.incomplete, totals.records) == (3, 1, 1, 3)
    assert any("001.log: RuntimeError: search down" in e for e in totals.errors)
    changed = [*objects[:3], ObjectInfo(objects[3].key, "new-etag", 100, T0)]
    redo: list[str] = []
    run(
        changed,
        _recorder(redo),
        BackfillState(path, "src"),
        progress_out=io.StringIO(),
    )
    assert sorted(redo) == ["logs/001.log", "logs/003.log"]


def test_state_of_another_source_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    BackfillState(path, "s3://a/x").save()
    with pytest.raises(ConfigError, match="not of s3://b/y"):
        BackfillState(path, "s3://b/y")
    assert default_state_path("s3://a/x", "local:") != default_state_path("s3://a/x", "invoke:f")
    assert default_state_path("s3://a/x", "local:").name.startswith(".logferry-backfill-")


def test_progress_plain_lines_and_tty_bar() -> None:
    now = [0.0]
    out = io.StringIO()
    p = Progress(4, 4096, out, tty=False, every=10.0, clock=lambda: now[0])
    now[0] = 2.0
    p.advance(1024)
    now[0] = 3.0
    p.advance(1024)  # within 10 s of the last line: no new line
    p.draw(final=True)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[-1] == "backfill: 2/4 objects, 2.0 KiB/4.0 KiB, 683 B/s, ETA 3s"
    bar = io.StringIO()
    Progress(2, 100, bar, tty=True, clock=lambda: 1.0).advance(50)
    assert bar.getvalue().startswith("\r[###############---------------]  50% 1/2 objects")


def test_invoke_worker_sends_a_synthetic_s3_event() -> None:
    calls: list[dict[str, Any]] = []

    class Lambda:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(kwargs)
            return {"StatusCode": 202}

    info = ObjectInfo("logs/a b+c.log", "abc", 12, T0)
    invoke_worker(Lambda(), "alb_to_cloudwatch", BUCKET)(info)
    (call,) = calls
    assert call["InvocationType"] == "Event" and call["FunctionName"] == "alb_to_cloudwatch"
    (notice,) = notices(json.loads(call["Payload"]))
    assert notice.ref.key == "logs/a b+c.log" and notice.ref.bucket == BUCKET
    assert notice.ref.etag == "abc" and notice.event_time == "2026-11-01T00:00:00Z"
    assert s3_event(BUCKET, info)["Records"][0]["eventName"] == "ObjectCreated:Put"


def test_local_worker_ships_objects_to_cloudwatch_logs(s3: Any) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    lines = list(access_lines(20, start, seed=3))
    s3.put_object(Bucket=BUCKET, Key="web/1.log", Body=("\n".join(lines[:10]) + "\n").encode())
    s3.put_object(
        Bucket=BUCKET, Key="web/2.log.gz", Body=gzip.compress(("\n".join(lines[10:])).encode())
    )
    logs = boto3.client("logs", region_name="us-east-1")
    settings = Settings(
        log_format="apache", sinks=("cloudwatch",), cloudwatch=CloudWatchOptions("/backfill")
    )
    worker = local_worker(s3, BUCKET, settings, {"logs": logs, "s3": s3}.__getitem__, None)
    totals = run(
        list(list_objects(s3, BUCKET, "web/")),
        worker,
        _mem_state(),
        concurrency=2,
        progress_out=io.StringIO(),
    )
    assert (totals.done, totals.records, totals.shipped, totals.failed) == (2, 20, 20, 0)
    got = logs.get_log_events(logGroupName="/backfill", logStreamName="web")["events"]
    assert sorted(e["message"] for e in got) == sorted(lines)


def test_local_worker_needs_a_sink(s3: Any) -> None:
    with pytest.raises(ConfigError, match="no sink"):
        local_worker(s3, BUCKET, Settings(log_format="apache"), boto3.client, None)


def _recorder(into: list[str]) -> Worker:
    def work(info: ObjectInfo) -> Outcome:
        into.append(info.key)
        return Outcome()

    return work


def _mem_state() -> BackfillState:
    class Mem(BackfillState):
        def save(self) -> None:
            return None

    return Mem(Path("/nonexistent/state.json"), "x")


def test_command_dry_run_and_local_run(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from logferry import runtime

    runtime.client.cache_clear()
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    start = datetime.now(UTC) - timedelta(hours=1)
    body = "\n".join(access_lines(5, start)).encode()
    for n in range(3):
        s3.put_object(Bucket=BUCKET, Key=f"web/{n}.log", Body=body)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    state = str(tmp_path / "st.json")
    base = ["backfill", f"s3://{BUCKET}/web/", "--format", "nginx", "--state", state]
    try:
        dry = parser.parse_args([*base, "--dry-run"])
        assert dry.func(dry) == 0
        assert "3 objects listed, 3 to do" in capsys.readouterr().out
        args = parser.parse_args([*base, "--log-group", "/bf", "-j", "2"])
        assert args.func(args) == 0
        out = capsys.readouterr()
        assert "3 done (0 incomplete), 0 failed; 15 records, 15 shipped" in out.out
        assert "backfill: 3/3 objects" in out.err
        assert args.func(args) == 0
        assert "3 already done, 0 done" in capsys.readouterr().out
    finally:
        runtime.client.cache_clear()


def test_parallel_parsers_keep_each_objects_path_and_cloud_fields() -> None:
    """Backfill's workers (one ``auto`` format each, on their own threads) over ALB objects of
    eight load balancers in two accounts and regions: every document names its own object,
    account and region (the formats ``auto`` picks hold per-object state)."""
    from logferry.formats import get_format
    from logferry.formats.elb.keys import parse_alb_key
    from logferry.model import ObjectRef, ParseContext
    from logferry.samples.alb import alb_key, alb_lines

    objects = []
    for n in range(8):
        account, region = f"1111111111{n % 2:02d}", ("us-east-1", "eu-west-1")[n // 2 % 2]
        key = alb_key(account, region, f"lb-{n}", T0, prefix="history")
        objects.append((key, ("\n".join(alb_lines(4000, T0, seed=n)) + "\n").encode()))
    wrong: list[str] = []

    def work(share: list[tuple[str, bytes]]) -> None:
        fmt = get_format("auto")
        for key, data in share:
            ref = ObjectRef(BUCKET, key, etag="e")
            meta = parse_alb_key(key)
            assert meta is not None
            chosen, ctx = fmt.for_object(ref, data[:4096]), ParseContext(ref)
            for record in chosen.frame([data]):
                for doc in chosen.parse(record, ctx):
                    cloud = doc["cloud"]
                    if (doc["log"]["file"]["path"], cloud["account"]["id"], cloud["region"]) != (
                        ref.uri,
                        meta.account,
                        meta.region,
                    ):
                        wrong.append(f"{key}@{record.offset}: {doc['log']['file']['path']}")

    threads = [threading.Thread(target=work, args=(objects[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
