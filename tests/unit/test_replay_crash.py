"""``logferry replay`` run twice, killed mid-way, run twice at once: nothing lost or re-sent."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from logferry.model import Event
from logferry.replay import replay
from logferry.replay_claim import LEASE_SECONDS, Claim, Owner
from logferry.sinks import Failure, SinkBase
from logferry.sinks.s3 import Quarantine, parse_key

BUCKET = "quarantine-bucket"
SOURCE = "s3://logs/AWSLogs/alb/2026/11/24/a.log.gz"
NOW = 1_790_000_000.0


class Crash(Exception):
    """Stands in for the replay process dying."""


class CountingSink(SinkBase):
    """Counts every event it sends; fails ``reject`` ids; crashes on flush number ``crash_at``
    (before sending when ``crash_before``, else after)."""

    def __init__(
        self,
        sent: Counter[str],
        reject: set[str] | None = None,
        crash_at: int = 0,
        crash_before: bool = True,
    ) -> None:
        super().__init__()
        self.name = "cloudwatch"
        self.sent, self.reject = sent, reject or set()
        self.crash_at, self.crash_before = crash_at, crash_before
        self.flushes = 0
        self._pending: list[Event] = []
        self._failures: list[Failure] = []

    def add(self, event: Event) -> None:
        self._pending.append(event)

    def flush(self) -> None:
        self.flushes += 1
        crash = self.flushes == self.crash_at
        if crash and self.crash_before:
            raise Crash("killed before the batch went out")
        for event in self._pending:
            if event.id in self.reject:
                self._failures.append(Failure(event, "still down"))
            else:
                self.sent[event.id] += 1
        self._pending.clear()
        if crash:
            raise Crash("killed after the batch went out")

    def take_failures(self) -> list[Failure]:
        out, self._failures = self._failures, []
        return out


def _park(q: Quarantine, ids: range, offset: int = 0) -> str:
    events = [Event(f"id-{n}", 1_790_000_000_000 + n, {"n": n}, f"line {n}") for n in ids]
    key = q.park(
        [Failure(e, "boom") for e in events], sink="cloudwatch", source=SOURCE, offset=offset
    )
    assert key is not None
    return key


def _keys(s3: Any, under: str = "") -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=under).get("Contents", [])
    return [o["Key"] for o in listed]


def _parked_ids(q: Quarantine) -> list[str]:
    return sorted(p.event.id for _, events in q.iter_parked() for p in events)


def test_replay_twice_sends_each_event_once(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    _park(q, range(50))
    sent: Counter[str] = Counter()
    first = replay(q, lambda n, s: CountingSink(sent), batch=7)
    second = replay(q, lambda n, s: CountingSink(sent), batch=7)
    assert (first.shipped, first.deleted, second.objects, second.shipped) == (50, 1, 0, 0)
    assert len(sent) == 50 and set(sent.values()) == {1}
    assert _keys(s3) == [], "parked object and marker both gone"


def test_killed_between_steps_then_rerun_sends_each_event_once(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    key = _park(q, range(50))
    sent: Counter[str] = Counter()
    with pytest.raises(Crash):
        replay(q, lambda n, s: CountingSink(sent, crash_at=4), batch=10)
    assert len(sent) == 30, "three steps went out before the kill"
    marker = json.loads(s3.get_object(Bucket=BUCKET, Key=q.marker_key(key))["Body"].read())
    assert marker["done"] == 30 and marker["inflight"]["start"] == 30
    rerun = replay(q, lambda n, s: CountingSink(sent), batch=10)
    assert (rerun.resumed, rerun.shipped, rerun.deleted) == (1, 20, 1)
    assert len(sent) == 50 and set(sent.values()) == {1}, "no event sent twice"
    assert _keys(s3) == []


def test_killed_after_a_batch_went_out_resends_at_most_that_step(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    _park(q, range(50))
    sent: Counter[str] = Counter()
    with pytest.raises(Crash):
        replay(q, lambda n, s: CountingSink(sent, crash_at=2, crash_before=False), batch=10)
    replay(q, lambda n, s: CountingSink(sent), batch=10)
    assert len(sent) == 50
    assert [n for n, c in sent.items() if c > 1] == [f"id-{n}" for n in range(10, 20)]


def test_a_rerun_asks_the_back_end_about_the_step_in_flight(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    _park(q, range(50))
    sent: Counter[str] = Counter()
    asked: list[list[str]] = []

    def sent_check(name: str, source: str, events: list[Event]) -> set[str]:
        asked.append([e.id for e in events])
        return {e.id for e in events if sent[e.id]}

    with pytest.raises(Crash):
        replay(q, lambda n, s: CountingSink(sent, crash_at=2, crash_before=False), batch=10)
    counts = replay(q, lambda n, s: CountingSink(sent), batch=10, sent_check=sent_check)
    assert asked == [[f"id-{n}" for n in range(10, 20)]], "only the interrupted step"
    assert (counts.present, counts.shipped) == (10, 30)
    assert len(sent) == 50 and set(sent.values()) == {1}


def test_cloudwatch_sent_check_finds_what_the_stream_holds() -> None:
    from moto import mock_aws

    from logferry.replay import cloudwatch_sent_check
    from logferry.settings import Settings

    with mock_aws():
        import boto3

        logs = boto3.client("logs", region_name="us-east-1")
        logs.create_log_group(logGroupName="/g")
        logs.create_log_stream(logGroupName="/g", logStreamName="AWSLogs/alb/2026/11/24")
        now_ms = int(time.time() * 1000) - 60_000
        events = [Event(f"id-{n}", now_ms + n, {}, f"line {n}") for n in range(4)]
        logs.put_log_events(
            logGroupName="/g",
            logStreamName="AWSLogs/alb/2026/11/24",
            logEvents=[{"timestamp": e.timestamp_ms, "message": e.message} for e in events[:2]],
        )
        settings = Settings.from_env("alb", {"LOG_GROUP": "/g"})
        check = cloudwatch_sent_check(settings, logs)
        assert check("cloudwatch", SOURCE, events) == {"id-0", "id-1"}
        assert check("search", SOURCE, events) == set()
        missing = cloudwatch_sent_check(Settings.from_env("alb", {"LOG_GROUP": "/none"}), logs)
        assert missing("cloudwatch", SOURCE, events) == set()


def test_an_interrupted_step_that_reparked_is_not_parked_twice(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    _park(q, range(30))
    sent: Counter[str] = Counter()
    reject = {"id-3", "id-14", "id-15", "id-27"}
    park = q.park
    calls = 0

    def park_then_die(*args: Any, **kw: Any) -> str | None:  # dies after the re-park lands
        nonlocal calls
        calls += 1
        key = park(*args, **kw)
        if calls == 2:
            raise Crash("killed after re-parking step 2")
        return key

    q.park = park_then_die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        replay(q, lambda n, s: CountingSink(sent, reject=reject), batch=10)
    q.park = park  # type: ignore[method-assign]
    assert _parked_ids(q) == sorted([*(f"id-{n}" for n in range(30)), "id-14", "id-15", "id-3"])
    counts = replay(q, lambda n, s: CountingSink(sent, reject=reject), batch=10)
    # the rerun goes on with the object (the interrupted step's two, the last step's one) and
    # replays the re-park of the first run's finished step (id-3) as an object of its own
    assert (counts.objects, counts.resumed, counts.failed) == (2, 1, 4)
    assert _parked_ids(q) == sorted(reject), "each failing event parked once, nothing lost"
    revisions = {p.event.id: parse_key(k).revision for k, ev in q.iter_parked() for p in ev}
    assert revisions == {"id-3": 2, "id-14": 1, "id-15": 1, "id-27": 1}
    assert len(sent) == 26


def test_a_replay_leaves_an_object_another_live_replay_holds(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    key = _park(q, range(20))
    other = Owner("another-host", 1, "othertoken")
    claim, _ = Claim.take(q, key, other, clock=lambda: NOW)
    assert claim is not None
    claim.save(done=10)
    sent: Counter[str] = Counter()
    busy = replay(q, lambda n, s: CountingSink(sent), clock=lambda: NOW + 1)
    assert (busy.busy, busy.shipped, len(sent)) == (1, 0, 0)
    later = replay(q, lambda n, s: CountingSink(sent), clock=lambda: NOW + LEASE_SECONDS + 1)
    assert (later.busy, later.resumed, later.shipped) == (0, 1, 10), "lease ran out: taken over"
    assert sorted(sent) == sorted(f"id-{n}" for n in range(10, 20))
    with pytest.raises(RuntimeError, match="claimed by another"):
        claim.save(done=20)  # the first holder finds out on its next write


def test_a_claim_of_a_dead_process_on_this_host_is_taken_over_at_once(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    key = _park(q, range(5))
    me = Owner.me()
    dead = Owner(me.host, 2**22 + 12345, "deadtoken")  # beyond pid_max on Linux
    assert Claim.take(q, key, dead)[0] is not None
    sent: Counter[str] = Counter()
    counts = replay(q, lambda n, s: CountingSink(sent))
    assert (counts.busy, counts.shipped) == (0, 5)


def test_only_one_of_two_racing_claims_wins(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    key = _park(q, range(5))
    a, b = Owner("h1", 1, "a"), Owner("h2", 2, "b")
    first, _ = Claim.take(q, key, a)
    second, holder = Claim.take(q, key, b)
    assert first is not None and second is None
    assert holder is not None and holder["owner"]["token"] == "a"


def test_what_fails_again_is_reparked_beside_never_over_another(s3: Any) -> None:
    day1 = Quarantine(s3, BUCKET, clock=lambda: NOW)
    day2 = Quarantine(s3, BUCKET, clock=lambda: NOW + 86_400)
    _park(day1, range(0, 3), offset=777)
    _park(day2, range(3, 6), offset=777)  # same source and offset, parked a day later
    today = Quarantine(s3, BUCKET, clock=lambda: NOW + 2 * 86_400)
    sent: Counter[str] = Counter()
    counts = replay(today, lambda n, s: CountingSink(sent, reject={"id-1", "id-4"}))
    assert (counts.kept, counts.failed, counts.shipped) == (2, 2, 4)
    assert _parked_ids(today) == ["id-1", "id-4"], "both re-parks kept"
    keys = [k for k, _ in today.iter_parked()]
    assert len(set(keys)) == 2 and all(parse_key(k).revision == 1 for k in keys)


def test_an_id_parked_twice_is_sent_once_in_a_run(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    _park(q, range(10))
    _park(q, range(5, 15))  # a retried invocation parked its events again
    sent: Counter[str] = Counter()
    counts = replay(q, lambda n, s: CountingSink(sent))
    assert counts.duplicates == 5 and len(sent) == 15 and set(sent.values()) == {1}


def test_an_object_of_the_old_key_layout_is_replayed(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    new = _park(q, range(4), offset=4096)
    old = new.split("-r0-")[0] + ".ndjson.gz"
    s3.copy_object(Bucket=BUCKET, Key=old, CopySource={"Bucket": BUCKET, "Key": new})
    q.delete(new)
    assert parse_key(old).unique is None
    sent: Counter[str] = Counter()
    replay(q, lambda n, s: CountingSink(sent, reject={"id-2"}))
    ((key, events),) = q.iter_parked()
    assert [p.event.id for p in events] == ["id-2"]
    assert (parse_key(key).offset, parse_key(key).revision) == (4096, 1)


def test_events_parked_with_an_unknown_outcome_are_looked_up_before_sending(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    events = [Event(f"id-{n}", 1_790_000_000_000 + n, {"n": n}, f"line {n}") for n in range(20)]
    stored = {e.id for e in events[:5]}  # the timed-out PutLogEvents did store these
    q.park(
        [Failure(e, "unknown_outcome:ReadTimeoutError") for e in events[:10]]
        + [Failure(e, "deadline") for e in events[10:]],
        sink="cloudwatch",
        source=SOURCE,
    )
    asked: list[list[str]] = []

    def sent_check(name: str, source: str, checked: list[Event]) -> set[str]:
        asked.append([e.id for e in checked])
        return {e.id for e in checked if e.id in stored}

    sent: Counter[str] = Counter()
    counts = replay(q, lambda n, s: CountingSink(sent), batch=10, sent_check=sent_check)
    assert asked == [[f"id-{n}" for n in range(10)]], "only the step with unknown outcomes"
    assert (counts.present, counts.shipped) == (5, 15)
    assert set(sent) == {e.id for e in events} - stored and set(sent.values()) == {1}
