"""CloudWatch Logs sink: pure batching/splitting tests, then the sink against Stubber and moto."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws

from logferry.deadline import Deadline
from logferry.model import Event
from logferry.sinks import Sink
from logferry.sinks.cloudwatch import (
    DAY_MS,
    EVENT_OVERHEAD,
    HOUR_MS,
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    CloudWatchSink,
    Limits,
    LogEvent,
    is_transient,
    plan_batches,
    rejected_indices,
    split_message,
    time_verdict,
    to_log_events,
)

NOW_MS = 1_790_000_000_000
GROUP = "/logferry/test"


def ev(i: int, message: str = "x", ts: int = NOW_MS) -> Event:
    return Event(id=f"id{i:06d}", timestamp_ms=ts, document={"n": i}, message=message)


def wire(events: list[Event]) -> list[LogEvent]:
    return [le for e in events for le in to_log_events(e)]


def batch_bytes(batch: list[LogEvent]) -> int:
    return sum(len(e.message.encode()) + EVENT_OVERHEAD for e in batch)


# -- pure planning -------------------------------------------------------------------------


def test_count_limit_splits_at_10000() -> None:
    batches = list(plan_batches(wire([ev(i) for i in range(25_000)])))
    assert [len(b) for b in batches] == [10_000, 10_000, 5_000]


def test_byte_limit_counts_utf8_bytes_plus_26() -> None:
    message = "ログ" * 500  # 1,000 characters, 3,000 UTF-8 bytes
    batches = list(plan_batches(wire([ev(i, message) for i in range(1_000)])))
    per_batch = MAX_BATCH_BYTES // (3_000 + EVENT_OVERHEAD)  # 346, not ~1,022 by characters
    assert [len(b) for b in batches[:-1]] == [per_batch] * (len(batches) - 1)
    assert all(batch_bytes(b) <= MAX_BATCH_BYTES for b in batches)
    assert batch_bytes(batches[0]) + 3_000 + EVENT_OVERHEAD > MAX_BATCH_BYTES  # tight
    assert sum(len(b) for b in batches) == 1_000


def test_span_of_24h_forces_a_split() -> None:
    events = [ev(0, ts=NOW_MS), ev(1, ts=NOW_MS + 23 * HOUR_MS), ev(2, ts=NOW_MS + DAY_MS)]
    batches = list(plan_batches(wire(events)))
    assert [[e.source.id for e in b] for b in batches] == [["id000000", "id000001"], ["id000002"]]


def test_batches_are_sorted_by_time() -> None:
    rng = random.Random(7)
    events = [ev(i, ts=NOW_MS + rng.randrange(3 * DAY_MS)) for i in range(12_000)]
    batches = list(plan_batches(wire(events)))
    flat = [e.timestamp for b in batches for e in b]
    assert flat == sorted(flat)
    assert all(b[-1].timestamp - b[0].timestamp < DAY_MS for b in batches)


def test_plan_is_within_5_percent_of_lower_bound() -> None:
    rng = random.Random(3)
    events = [
        ev(i, "é" * rng.randrange(1, 400), NOW_MS + rng.randrange(HOUR_MS)) for i in range(20_000)
    ]
    logs = wire(events)
    total = sum(e.size for e in logs)
    bound = max(math.ceil(total / MAX_BATCH_BYTES), math.ceil(len(logs) / 10_000))
    assert len(list(plan_batches(logs))) <= math.ceil(bound * 1.05)


def test_time_verdict_too_old_too_new_and_retention() -> None:
    assert time_verdict(NOW_MS - 14 * DAY_MS - 1, NOW_MS) == "too_old"
    assert time_verdict(NOW_MS - 13 * DAY_MS, NOW_MS) is None
    assert time_verdict(NOW_MS - 2 * DAY_MS, NOW_MS, retention_days=1) == "too_old"
    assert time_verdict(NOW_MS + 2 * HOUR_MS + 1, NOW_MS) == "too_new"
    assert time_verdict(NOW_MS + HOUR_MS, NOW_MS) is None


def unsplit(parts: list[str]) -> str:
    return "".join(p.split("] ", 1)[1] for p in parts)


def test_300kb_event_split_only_with_the_old_256kb_limit() -> None:
    message = "α" * 150_000  # 300,000 UTF-8 bytes, 2 bytes per character
    assert [p.message for p in to_log_events(ev(1, message))] == [message]
    parts = to_log_events(ev(1, message), Limits(event_bytes=262_144))
    assert len(parts) == 2
    assert all(p.size <= 262_144 for p in parts)
    assert parts[1].message.startswith("[logferry part 2/2 id=id000001] ")
    assert unsplit([p.message for p in parts]) == message


def test_2mb_event_split_into_three_parts_at_character_boundaries() -> None:
    message = ("a" + "日本語" * 7) * 32_768  # 2 MiB, characters straddle the cut points
    parts = split_message(message, "abc", MAX_EVENT_BYTES - EVENT_OVERHEAD)
    assert len(parts) == 3
    assert all(len(p.encode()) <= MAX_EVENT_BYTES - EVENT_OVERHEAD for p in parts)
    assert [p[: len("[logferry part 1/3")] for p in parts] == [
        f"[logferry part {i}/3" for i in (1, 2, 3)
    ]
    assert unsplit(parts) == message


def test_split_numbering_grows_digits() -> None:
    parts = split_message("z" * 5_000, "e", 300)
    assert len(parts) >= 10
    assert all(len(p) <= 300 for p in parts)
    assert parts[9].startswith(f"[logferry part 10/{len(parts)} id=e] ")
    assert unsplit(parts) == "z" * 5_000


def test_rejected_indices_follow_documented_bounds() -> None:
    info = {
        "tooOldLogEventEndIndex": 2,
        "expiredLogEventEndIndex": 1,
        "tooNewLogEventStartIndex": 4,
    }
    assert rejected_indices(info, 6) == {
        0: "expired",
        1: "too_old",
        4: "too_new",
        5: "too_new",
    }
    assert rejected_indices({}, 3) == {}


# -- the sink against a stubbed client -----------------------------------------------------


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("logs", config=Config(retries={"total_max_attempts": 1}))
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def now_events(n: int, message: str = "line") -> list[Event]:
    now = int(time.time() * 1000)
    return [ev(i, f"{message} {i}", now + i) for i in range(n)]


def throttle(stub: Stubber) -> None:
    stub.add_client_error(
        "put_log_events", service_error_code="ThrottlingException", http_status_code=400
    )


def test_rejected_log_events_info_become_failures(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    info = {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 4}
    stub.add_response("put_log_events", {"rejectedLogEventsInfo": info})
    sink = CloudWatchSink(client, GROUP, "s", create=False)
    for e in now_events(5):
        sink.add(e)
    sink.flush()
    failures = {f.event.id: f.reason for f in sink.take_failures()}
    assert failures == {"id000000": "too_old", "id000004": "too_new"}
    assert (sink.stats.shipped, sink.stats.failed, sink.stats.calls) == (3, 2, 1)
    assert sink.take_failures() == []


def test_throttling_is_retried_then_succeeds(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    throttle(stub)
    throttle(stub)
    stub.add_response("put_log_events", {})
    sleeps = Sleeps()
    sink = CloudWatchSink(client, GROUP, "s", create=False, sleep=sleeps, base_delay=0.5)
    for e in now_events(3):
        sink.add(e)
    sink.flush()
    assert sink.take_failures() == []
    assert (sink.stats.shipped, sink.stats.retries, sink.stats.calls) == (3, 2, 3)
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


def test_throttling_outlasting_retries_gives_failures_not_exceptions(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stub = stubbed
    for _ in range(3):
        throttle(stub)
    sink = CloudWatchSink(client, GROUP, "s", create=False, max_attempts=3, sleep=Sleeps())
    for e in now_events(4):
        sink.add(e)
    sink.flush()
    failures = sink.take_failures()
    assert sorted(f.event.id for f in failures) == [f"id{i:06d}" for i in range(4)]
    assert {f.reason for f in failures} == {"aws:ThrottlingException"}
    assert (sink.stats.shipped, sink.stats.failed, sink.stats.retries) == (0, 4, 2)


def test_invalid_parameter_for_one_batch_keeps_the_others(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    stub.add_client_error("put_log_events", service_error_code="InvalidParameterException")
    stub.add_response("put_log_events", {})
    sink: Sink = CloudWatchSink(client, GROUP, "s", create=False, sleep=Sleeps())
    first, second = now_events(2, "y" * 600_000)  # 1.2 MB: two batches
    sink.add(first)
    sink.add(second)
    sink.flush()
    assert [(f.event.id, f.reason) for f in sink.take_failures()] == [
        (first.id, "aws:InvalidParameterException")
    ]
    assert (sink.stats.shipped, sink.stats.failed, sink.stats.retries) == (1, 1, 0)


def test_transient_errors_are_told_apart() -> None:
    def client_error(code: str, status: int) -> ClientError:
        response: Any = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return ClientError(response, "PutLogEvents")

    assert is_transient(client_error("ThrottlingException", 400))
    assert is_transient(client_error("ServiceUnavailableException", 503))
    assert is_transient(client_error("Whatever", 502))
    assert is_transient(EndpointConnectionError(endpoint_url="https://logs"))
    assert not is_transient(client_error("InvalidParameterException", 400))
    assert not is_transient(client_error("ResourceNotFoundException", 400))


def test_too_old_too_new_and_empty_are_not_sent(stubbed: tuple[Any, Stubber]) -> None:
    client, _ = stubbed  # no response queued: any PutLogEvents call would fail the test
    now = int(time.time() * 1000)
    sink = CloudWatchSink(client, GROUP, "s", create=False, retention_days=3)
    sink.add(ev(1, "old", now - 4 * DAY_MS))
    sink.add(ev(2, "new", now + 3 * HOUR_MS))
    sink.add(ev(3, "", now))
    sink.flush()
    assert {f.event.id: f.reason for f in sink.take_failures()} == {
        "id000001": "too_old",
        "id000002": "too_new",
        "id000003": "empty_message",
    }
    assert sink.stats.extra == {"too_old": 1, "too_new": 1, "empty_message": 1}
    assert sink.stats.calls == 0


class Concurrent:
    """A fake client that proves streams go out in parallel, one batch at a time per stream."""

    def __init__(self, streams: int) -> None:
        self.barrier = threading.Barrier(streams, timeout=10)
        self.lock = threading.Lock()
        self.active: dict[str, int] = {}
        self.seen: list[str] = []

    def put_log_events(self, **request: Any) -> dict[str, Any]:
        stream = request["logStreamName"]
        with self.lock:
            self.active[stream] = self.active.get(stream, 0) + 1
            assert self.active[stream] == 1, f"two batches in flight for {stream}"
            first = stream not in self.seen
            self.seen.append(stream)
        if first:
            self.barrier.wait()  # raises unless all streams are in flight at once
        with self.lock:
            self.active[stream] -= 1
        return {}


def test_streams_are_sent_in_parallel_one_batch_each() -> None:
    client = Concurrent(3)
    sink = CloudWatchSink(client, GROUP, lambda e: f"s{e.document['n'] % 3}", max_workers=3)
    for e in now_events(6, "z" * 600_000):  # two batches per stream
        sink.add(e)
    sink.flush()
    assert sorted(client.seen) == ["s0", "s0", "s1", "s1", "s2", "s2"]
    assert sink.stats.shipped == 6


def test_invalid_retention_is_refused() -> None:
    with pytest.raises(ValueError, match="retention_days=10"):
        CloudWatchSink(object(), GROUP, "s", retention_days=10)


# -- the sink against moto -----------------------------------------------------------------


class Counting:
    """Wrap a client and count the calls made to each of its methods."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(**kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(**kwargs)

        return call


def stored(client: Any, stream: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = client.get_log_events(
            logGroupName=GROUP, logStreamName=stream, startFromHead=True, **token
        )
        out += page["events"]
        if not page["events"]:
            return out
        token = {"nextToken": page["nextForwardToken"]}


@mock_aws
def test_group_and_streams_created_once_and_events_stored() -> None:
    client = Counting(boto3.client("logs"))
    sink = CloudWatchSink(
        client, GROUP, lambda e: f"s{e.document['n'] % 2}", retention_days=7, buffer_bytes=0
    )
    events = now_events(3_000, "ログ行" + "x" * 1_600)  # 4.9 MB: batches go out in add()
    random.Random(1).shuffle(events)
    for e in events:
        sink.add(e)
    sink.flush()
    assert sink.take_failures() == []
    assert client.calls["create_log_group"] == 1
    assert client.calls["put_retention_policy"] == 1
    assert client.calls["create_log_stream"] == 2
    group = client.client.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]
    assert group["retentionInDays"] == 7
    s0, s1 = stored(client.client, "s0"), stored(client.client, "s1")
    assert (len(s0), len(s1)) == (1_500, 1_500)
    assert sorted(e["message"] for e in s0 + s1) == sorted(e.message for e in events)
    assert sink.stats.shipped == 3_000
    # one ResourceNotFound per new stream, then ceil(2.35 MiB / 1 MiB) = 3 batches per stream
    assert sink.stats.calls == client.calls["put_log_events"] == 2 + 6
    assert sink.stats.bytes == sum(len(e.message.encode()) + EVENT_OVERHEAD for e in events)


@mock_aws
def test_existing_group_is_left_alone() -> None:
    raw = boto3.client("logs")
    raw.create_log_group(logGroupName=GROUP)
    client = Counting(raw)
    sink = CloudWatchSink(client, GROUP, "only", retention_days=30)
    for e in now_events(10):
        sink.add(e)
    sink.flush()
    assert sink.take_failures() == []
    assert "put_retention_policy" not in client.calls
    assert "retentionInDays" not in raw.describe_log_groups()["logGroups"][0]
    assert len(stored(raw, "only")) == 10


@mock_aws
def test_split_event_arrives_in_parts() -> None:
    client = boto3.client("logs")
    sink = CloudWatchSink(client, GROUP, "big", max_event_bytes=262_144)
    (event,) = now_events(1, "β" * 150_000)
    sink.add(event)
    sink.flush()
    messages = [e["message"] for e in stored(client, "big")]
    assert len(messages) == 2
    assert unsplit(messages) == event.message
    assert sink.stats.extra["split"] == 1


# -- issue #16: split events, already-accepted batches, sequence tokens, the deadline --------
class Scripted:
    """A fake client answering each PutLogEvents with the next step (an exception is raised;
    ``slow`` seconds pass first)."""

    def __init__(self, *steps: Any, slow: float = 0.0) -> None:
        self.steps = list(steps)
        self.slow = slow
        self.requests: list[dict[str, Any]] = []

    def put_log_events(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        time.sleep(self.slow)
        step = self.steps.pop(0) if self.steps else {}
        if isinstance(step, BaseException):
            raise step
        return dict(step)


def aws_error(code: str, status: int = 400) -> ClientError:
    body = {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(body, "PutLogEvents")  # type: ignore[arg-type]


def test_a_split_event_counts_as_one_shipped_event() -> None:
    client = Scripted()
    sink = CloudWatchSink(client, GROUP, "s", create=False)
    (event,) = now_events(1, "x" * (2 * MAX_EVENT_BYTES))  # three parts, one batch each
    sink.add(event)
    sink.flush()
    assert len(client.requests) == 3 and sink.stats.extra["split"] == 1
    assert (sink.stats.shipped, sink.stats.failed) == (1, 0)


def test_a_split_event_with_a_refused_part_fails_once_and_ships_none() -> None:
    client = Scripted({}, aws_error("InvalidParameterException"), {})
    sink = CloudWatchSink(client, GROUP, "s", create=False)
    (event,) = now_events(1, "x" * (2 * MAX_EVENT_BYTES))
    sink.add(event)
    sink.flush()
    failures = sink.take_failures()
    assert [(f.event.id, f.event.message) for f in failures] == [(event.id, event.message)]
    assert (sink.stats.shipped, sink.stats.failed) == (0, 1)


def test_data_already_accepted_is_a_success() -> None:
    client = Scripted(aws_error("DataAlreadyAcceptedException"))
    sink = CloudWatchSink(client, GROUP, "s", create=False)
    for e in now_events(3):
        sink.add(e)
    sink.flush()
    assert sink.take_failures() == [] and sink.stats.shipped == 3
    assert len(client.requests) == 1, "not sent again"


def test_invalid_sequence_token_is_retried() -> None:
    client = Scripted(aws_error("InvalidSequenceTokenException"), {})
    sink = CloudWatchSink(client, GROUP, "s", create=False, sleep=Sleeps())
    for e in now_events(2):
        sink.add(e)
    sink.flush()
    assert sink.take_failures() == [] and sink.stats.shipped == 2
    assert (len(client.requests), sink.stats.retries) == (2, 1)


def test_past_the_deadline_events_fail_as_deadline_and_nothing_is_sent() -> None:
    client = Scripted()
    sink = CloudWatchSink(client, GROUP, "s", create=False)
    sink.set_deadline(Deadline.after(-1.0))
    for e in now_events(2):
        sink.add(e)
    sink.flush()
    assert {f.reason for f in sink.take_failures()} == {"deadline"}
    assert client.requests == [] and sink.stats.failed == 2


def test_no_call_starts_unless_the_deadline_leaves_a_whole_call() -> None:
    client = Scripted()
    sink = CloudWatchSink(client, GROUP, "s", create=False, call_seconds=60.0)
    sink.set_deadline(Deadline.after(30.0))  # not expired, but shorter than one call
    for e in now_events(2):
        sink.add(e)
    sink.flush()
    assert [f.reason for f in sink.take_failures()] == ["deadline", "deadline"]
    assert client.requests == []


def test_no_retry_when_the_backoff_and_a_call_overrun_the_deadline() -> None:
    sleeps = Sleeps()
    client = Scripted(aws_error("ThrottlingException"), slow=0.4)
    sink = CloudWatchSink(client, GROUP, "s", create=False, sleep=sleeps, call_seconds=10.0)
    sink.set_deadline(Deadline.after(10.3))  # the first call fits; after it, no second one
    for e in now_events(2):
        sink.add(e)
    sink.flush()
    assert [f.reason for f in sink.take_failures()] == ["deadline", "deadline"]
    assert len(client.requests) == 1 and sleeps == [], "no backoff slept, no call started"


def test_a_timed_out_call_is_not_retried_and_is_parked_as_unknown_outcome() -> None:
    client = Scripted(ReadTimeoutError(endpoint_url="http://logs"))
    sink = CloudWatchSink(client, GROUP, "s", create=False, sleep=Sleeps())
    for e in now_events(2):
        sink.add(e)
    sink.flush()
    reasons = {f.reason for f in sink.take_failures()}
    assert reasons == {"unknown_outcome:ReadTimeoutError"}
    assert len(client.requests) == 1 and sink.stats.extra["unknown_outcome"] == 1
