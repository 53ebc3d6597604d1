"""A quarantine that refuses a park: the failures travel in the error, none is dropped."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from logferry import pipeline
from logferry.deadline import NO_DEADLINE, Deadline
from logferry.formats.base import LineFormat, base_document
from logferry.model import Document, Event, ObjectRef, ParseContext, Record
from logferry.pipeline import ObjectJob, ParkError, process_object, rows_in
from logferry.sinks import Failure, SinkBase
from logferry.sinks.s3 import Quarantine, parked_event
from logferry.sources.events import ObjectNotice

LINES = 250
SOURCE = "s3://raw/app/x.log"


class PlainFormat(LineFormat):
    """Every line is one document."""

    name = "plain"
    dataset = "test.plain"

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        return [base_document(record, ctx, self.dataset)]


class RejectingSink(SinkBase):
    """Fails every event it is given (a back end that is down)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self._failures: list[Failure] = []

    def add(self, event: Event) -> None:
        self._failures.append(Failure(event, "back end down"))
        self.stats.failed += 1

    def flush(self) -> None:
        return None

    def take_failures(self) -> list[Failure]:
        out, self._failures = self._failures, []
        return out


class RefusingParker:
    """Raises ``errors`` in turn (then parks), recording what it did park."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.parked: list[Failure] = []

    def park(
        self,
        failures: Sequence[Failure],
        *,
        sink: str,
        source: str,
        offset: int = 0,
        deadline: Deadline = NO_DEADLINE,
    ) -> str | None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        self.parked.extend(failures)
        return f"{sink}-{offset}"


def _denied(n: int) -> ClientError:
    answer: Any = {"Error": {"Code": "AccessDenied", "Message": f"injected {n}"}}
    return ClientError(answer, "PutObject")


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="raw")
        body = "".join(f"line {i}\n" for i in range(LINES)).encode()
        client.put_object(Bucket="raw", Key="app/x.log", Body=body)
        yield client


def _run(s3: Any, sinks: Sequence[Any], parker: Any) -> Any:
    notice = ObjectNotice(ObjectRef("raw", "app/x.log"))
    return process_object(ObjectJob(s3, notice, PlainFormat(), sinks, parker=parker))


def test_a_refused_park_raises_with_every_failure_and_the_first_error(s3: Any) -> None:
    parker = RefusingParker(_denied(1), _denied(2))
    with pytest.raises(ParkError) as caught:
        _run(s3, [RejectingSink("search"), RejectingSink("cloudwatch")], parker)
    error = caught.value
    assert parker.calls == 2 and parker.parked == []
    assert len(error.unparked) == 2 * LINES and error.carried == 2 * LINES
    assert isinstance(error.__cause__, ClientError) and "injected 1" in str(error.__cause__)
    head = str(error).splitlines()[0]
    rows = [json.dumps(row) for row in rows_in(str(error))]
    assert head.startswith(f"{SOURCE}: {2 * LINES} events of sink search ({LINES}),")
    assert "AccessDenied" in head and "injected 1" in head
    back = [parked_event(row, "error", n) for n, row in enumerate(rows, 1)]

    def fields(e: Event) -> tuple[Any, ...]:
        return e.id, e.timestamp_ms, e.document, e.message

    assert [fields(p.event) for p in back] == [fields(f.event) for _, f in error.unparked]
    assert {p.sink for p in back} == {"search", "cloudwatch"} and back[0].source == SOURCE


def test_a_park_refused_mid_object_stops_the_run_and_keeps_those_failures(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "DRAIN_EVERY", 100)
    parker = RefusingParker(_denied(1))  # the first drain is refused, the final one parks
    with pytest.raises(ParkError) as caught:
        _run(s3, [RejectingSink("search")], parker)
    assert len(caught.value.unparked) == 100, "the refused batch travels in the error"
    assert parker.parked == [], "the run stopped after the refusal: nothing more was read"
    assert "injected 1" in str(caught.value.__cause__)


def test_no_quarantine_is_a_park_error_carrying_the_failures(s3: Any) -> None:
    with pytest.raises(ParkError, match="no quarantine is configured") as caught:
        _run(s3, [RejectingSink("search")], None)
    assert len(caught.value.unparked) == len(rows_in(str(caught.value))) == LINES
    assert rows_in("no rows here") == []


def test_the_error_carries_rows_up_to_its_budget(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "ERROR_RECORDS_BYTES", 2_000)
    with pytest.raises(ParkError) as caught:
        _run(s3, [RejectingSink("search")], RefusingParker(_denied(1)))
    error = caught.value
    assert 0 < error.carried < LINES and len(str(error)) < 2_500
    assert f"{LINES - error.carried} left out" in str(error).splitlines()[0]
    assert len(rows_in(str(error))) == error.carried


def test_a_quarantine_that_heals_on_retry_parks_everything(s3: Any) -> None:
    s3.create_bucket(Bucket="quarantine")

    class FlakyOnce:
        def __init__(self) -> None:
            self.failed = False

        def put_object(self, **kw: Any) -> Any:
            if not self.failed:
                self.failed = True
                raise ClientError({"Error": {"Code": "InternalError"}}, "PutObject")
            return s3.put_object(**kw)

        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

    quarantine = Quarantine(FlakyOnce(), "quarantine", sleep=lambda s: None)
    summary = _run(s3, [RejectingSink("search")], quarantine)
    assert summary.parked == LINES
    parked = [p for _, events in quarantine.iter_parked() for p in events]
    assert len(parked) == LINES
