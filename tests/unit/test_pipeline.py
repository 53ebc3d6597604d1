"""The flow of one object through a format and sinks (in-memory sink, moto S3)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import boto3
import orjson
import pytest
from conftest import FakeClock
from moto import mock_aws

from logferry.deadline import NO_DEADLINE, Deadline
from logferry.formats.base import LineFormat, base_document, error_document
from logferry.formats.elb.alb import AlbFormat
from logferry.model import Document, Event, ObjectRef, ParseContext, Record
from logferry.pipeline import STOP_CHECK_EVERY, ObjectJob, process_object, timestamp_ms
from logferry.samples.alb import alb_key, alb_lines
from logferry.sinks import Failure, SinkBase
from logferry.sources.events import ObjectNotice


class KeyValueFormat(LineFormat):
    """'<iso time> <text>' lines; anything else is an error document."""

    name = "kv"
    dataset = "test.kv"

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        if record.data == b"#skip":
            return []
        ts, _, _rest = record.data.decode().partition(" ")
        if not ts.startswith("20"):
            return [error_document(record, ctx, self.dataset, "no timestamp")]
        doc = base_document(record, ctx, self.dataset)
        doc["@timestamp"] = ts
        return [doc]


class ListSink(SinkBase):
    def __init__(
        self, name: str = "mem", fail_every: int = 0, clock: FakeClock | None = None
    ) -> None:
        super().__init__()
        self.name = name
        self.events: list[Event] = []
        self._failures: list[Failure] = []
        self._fail_every = fail_every
        self._clock = clock

    def add(self, event: Event) -> None:
        """Keep the event (each takes one second of ``clock``, if given)."""
        if self._clock is not None:
            self._clock.tick()
        if self._fail_every and (len(self.events) + len(self._failures)) % self._fail_every == 0:
            self._failures.append(Failure(event, "injected"))
            self.stats.failed += 1
            return
        self.events.append(event)
        self.stats.shipped += 1

    def flush(self) -> None:
        return None

    def take_failures(self) -> list[Failure]:
        out, self._failures = self._failures, []
        return out


class ListParker:
    def __init__(self) -> None:
        self.parked: list[tuple[str, Failure, str]] = []

    def park(
        self,
        failures: Sequence[Failure],
        *,
        sink: str,
        source: str,
        offset: int = 0,
        deadline: Deadline = NO_DEADLINE,
    ) -> str | None:
        self.parked.extend((sink, f, source) for f in failures)
        return f"{sink}-{offset}"


LINES = [f"2024-03-01T00:00:{i % 60:02d}.000Z request {i}" for i in range(3000)]
BODY = ("\n".join([*LINES[:1500], "garbage line", "#skip", *LINES[1500:]]) + "\n").encode()


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="raw")
        client.put_object(Bucket="raw", Key="app/x.log.gz", Body=gzip.compress(BODY))
        yield client


def run(s3: Any, sinks: Sequence[Any], **kw: Any) -> Any:
    notice = ObjectNotice(ObjectRef("raw", "app/x.log.gz"), start_offset=kw.pop("start", 0))
    return process_object(ObjectJob(s3, notice, KeyValueFormat(), sinks, **kw))


def test_counts_and_nothing_lost(s3: Any) -> None:
    sink = ListSink()
    summary = run(s3, [sink])
    assert summary.records == 3002
    assert summary.documents == 3001
    assert summary.parse_errors == 1
    assert summary.skipped == 1
    assert summary.shipped == {"mem": 3001}
    assert summary.gzip is True
    messages = [e.message for e in sink.events]
    assert "garbage line" in messages
    bad = next(e for e in sink.events if e.message == "garbage line")
    assert "s3://raw/app/x.log.gz line 1501" in bad.document["error"]["message"]


class RaisingFormat(KeyValueFormat):
    """Raises where the plain format gives an error document: a stand-in for a parser bug."""

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        if record.data == b"garbage line":
            raise KeyError("kaput")
        return super().parse(record, ctx)


def test_a_parser_that_raises_loses_no_line(s3: Any, caplog: pytest.LogCaptureFixture) -> None:
    sink = ListSink()
    notice = ObjectNotice(ObjectRef("raw", "app/x.log.gz"))
    summary = process_object(ObjectJob(s3, notice, RaisingFormat(), [sink]))
    assert (summary.records, summary.documents, summary.parse_errors) == (3002, 3001, 1)
    assert summary.shipped == {"mem": 3001} and summary.error is None
    bad = next(e for e in sink.events if e.message == "garbage line")
    assert bad.document["error"]["message"] == (
        "s3://raw/app/x.log.gz line 1501: the kv parser failed: KeyError: 'kaput'"
    )
    [logged] = [r for r in caplog.records if r.exc_info]
    assert "line 1501: parser failed" in logged.getMessage()


def test_ids_deterministic_and_distinct(s3: Any) -> None:
    a, b = ListSink(), ListSink()
    run(s3, [a])
    run(s3, [b])
    ids = [e.id for e in a.events]
    assert ids == [e.id for e in b.events]
    assert len(set(ids)) == len(ids)


def test_failures_are_parked_not_lost(s3: Any) -> None:
    sink, parker = ListSink(fail_every=7), ListParker()
    summary = run(s3, [sink], parker=parker)
    assert summary.parked == len(parker.parked) > 0
    assert summary.shipped["mem"] + summary.parked == summary.documents
    assert summary.parked_reasons == {"injected": summary.parked}


def test_failures_without_quarantine_are_an_error(s3: Any) -> None:
    with pytest.raises(RuntimeError, match="no quarantine is configured"):
        run(s3, [ListSink(fail_every=7)])


def test_stops_early_and_resumes_without_gap_or_overlap(s3: Any, clock: FakeClock) -> None:
    first = ListSink(clock=clock)  # one second an event: reading stops after 2,000 records
    summary = run(s3, [first], remaining_seconds=lambda: 1990.0 + 10.0, reserve_seconds=10.0)
    assert summary.next_offset is not None
    assert summary.records == 2000
    rest = ListSink()
    resumed = run(s3, [rest], start=summary.next_offset)
    assert resumed.next_offset is None
    all_ids = [e.id for e in first.events + rest.events]
    assert len(all_ids) == len(set(all_ids)) == 3001


def test_missing_object_is_reported(s3: Any) -> None:
    notice = ObjectNotice(ObjectRef("raw", "gone.log"))
    summary = process_object(ObjectJob(s3, notice, KeyValueFormat(), [ListSink()]))
    assert summary.error and "no longer exists" in summary.error


def test_timestamp_ms() -> None:
    assert timestamp_ms({"@timestamp": "2024-03-01T00:00:01.500Z"}, 0) == 1709251201500
    assert timestamp_ms({"@timestamp": "nope"}, 42) == 42
    assert timestamp_ms({}, 7) == 7


class MinimalKeyValueFormat(KeyValueFormat):
    """Counts which parser the pipeline chose."""

    def __init__(self) -> None:
        self.calls = {"parse": 0, "parse_minimal": 0}

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        self.calls["parse"] += 1
        return super().parse(record, ctx)

    def parse_minimal(self, record: Record, ctx: ParseContext) -> list[Document]:
        self.calls["parse_minimal"] += 1
        return super().parse(record, ctx)


class TextOnlySink(ListSink):
    needs_documents = False


@pytest.mark.parametrize(
    ("sinks", "chosen"),
    [
        ([TextOnlySink()], "parse_minimal"),
        ([TextOnlySink(), ListSink("docs")], "parse"),
        ([ListSink()], "parse"),
    ],
)
def test_minimal_parse_only_when_no_sink_reads_documents(
    s3: Any, sinks: list[Any], chosen: str
) -> None:
    fmt = MinimalKeyValueFormat()
    notice = ObjectNotice(ObjectRef("raw", "app/x.log.gz"))
    summary = process_object(ObjectJob(s3, notice, fmt, sinks))
    assert fmt.calls[chosen] == summary.records == 3002
    assert sum(fmt.calls.values()) == 3002
    assert summary.parse_errors == 1


class WholeLineFormat(KeyValueFormat):
    """Its documents hold every field of the line: the raw line may be left out."""

    fields_hold_line = True


@pytest.mark.parametrize("keep", [False, True])
def test_a_whole_line_format_leaves_the_raw_line_to_the_event(s3: Any, keep: bool) -> None:
    """Parsed documents lose ``message`` unless kept; the event and error documents keep it,
    and the JSON the search sink sends is the document as the sinks see it."""
    sink = ListSink()
    notice = ObjectNotice(ObjectRef("raw", "app/x.log.gz"))
    summary = process_object(ObjectJob(s3, notice, WholeLineFormat(), [sink], keep_message=keep))
    assert summary.documents == 3001 and summary.parse_errors == 1
    assert [e.message for e in sink.events] == [*LINES[:1500], "garbage line", *LINES[1500:]]
    with_message = [e.document["message"] for e in sink.events if "message" in e.document]
    assert with_message == ([e.message for e in sink.events] if keep else ["garbage line"])
    assert all(orjson.loads(e.document_json or b"") == e.document for e in sink.events)


class DeadlineSink(ListSink):
    """Fails every event once its deadline has passed (as the real sinks do)."""

    def add(self, event: Event) -> None:
        if self.deadline.expired():
            self._failures.append(Failure(event, "deadline"))
            self.stats.failed += 1
            return
        super().add(event)


def test_stops_on_the_clock_checked_every_100_records(s3: Any, clock: FakeClock) -> None:
    sink = ListSink(clock=clock)
    summary = run(s3, [sink], remaining_seconds=lambda: 250.5 + 10.0, reserve_seconds=10.0)
    assert summary.records == 300 and summary.next_offset is not None, "at the next check"


def test_a_continuation_started_too_late_still_makes_progress(s3: Any, clock: FakeClock) -> None:
    """Less than the reserve left at the start: the run still reads STOP_CHECK_EVERY records
    (its sinks' deadline has passed, so they are parked) and hands on a later offset."""
    offset, parked, runs = 0, ListParker(), 0
    shipped: list[Event] = []
    while offset is not None and runs < 100:
        sink = DeadlineSink(clock=clock)
        summary = run(s3, [sink], start=offset, parker=parked, remaining_seconds=lambda: 4.0)
        assert summary.next_offset is None or summary.next_offset > offset, "progress"
        assert summary.records in (STOP_CHECK_EVERY, 3002 % STOP_CHECK_EVERY)
        shipped += sink.events
        offset, runs = summary.next_offset, runs + 1
    assert offset is None and runs == -(-3002 // STOP_CHECK_EVERY)
    assert shipped == [] and len(parked.parked) == 3001, "every event parked, as deadline"
    assert {f.reason for _, f, _ in parked.parked} == {"deadline"}
    assert summary.parked_reasons == {"deadline": 3002 % STOP_CHECK_EVERY}, "the last run's"


def test_alb_with_the_cloudwatch_prefix_keeps_the_prefixed_text_on_the_event(s3: Any) -> None:
    """CWL_PREFIX's text is made from the document before its raw line is left out."""
    when = datetime(2026, 12, 1, tzinfo=UTC)
    lines = list(alb_lines(3, when))
    key = alb_key("123456789012", "us-east-1", "web", when)
    s3.put_object(Bucket="raw", Key=key, Body=gzip.compress(("\n".join(lines) + "\n").encode()))
    sink = ListSink()
    notice = ObjectNotice(ObjectRef("raw", key))
    process_object(ObjectJob(s3, notice, AlbFormat(cloudwatch_prefix=True), [sink]))
    assert [e.message.startswith("raw ") and e.message.endswith(line) for e, line in
            zip(sink.events, lines, strict=True)] == [True] * 3  # fmt: skip
    assert not any("message" in e.document for e in sink.events)
