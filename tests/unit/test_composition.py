"""The composition root: one table of sinks that handlers, backfill and replay all use."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import ClassVar

import boto3
import pytest
from test_handlers import aws, context, load_handler, s3_event  # noqa: F401 (fixture)

from logferry import composition
from logferry.backfill import BackfillState, list_objects, local_worker, run
from logferry.composition import FUNCTIONS, SINKS, SinkSpec, Wiring, function_settings
from logferry.config import ConfigError
from logferry.model import Event, ObjectRef
from logferry.replay import cli_settings, replay, wiring_builder
from logferry.sinks import Failure, SinkBase
from logferry.sinks.s3 import Quarantine
from logferry.sinks.search import SearchSink

BUCKET = "raw"
LINES = [
    '192.0.2.1 - - [01/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8"',
    '192.0.2.2 - - [01/Nov/2026:10:00:01 +0000] "GET /b HTTP/1.1" 404 7 "-" "curl/8"',
    "not an access log line",
]


class Throwaway(SinkBase):
    """Keeps what it gets, in a list all its instances share."""

    name = "throwaway"
    received: ClassVar[list[Event]] = []

    def add(self, event: Event) -> None:
        self.received.append(event)
        self.stats.shipped += 1

    def flush(self) -> None:
        return None

    def take_failures(self) -> list[Failure]:
        return []


@pytest.fixture
def throwaway(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """A sink added to the composition root only (no handler, backfill or replay change)."""
    spec = SinkSpec(lambda wiring, ref, start: Throwaway(), "test sink", "throwaway")
    monkeypatch.setitem(SINKS, "throwaway", spec)
    monkeypatch.setattr(Throwaway, "received", [])
    return Throwaway.received


def test_a_new_sink_reaches_handlers_backfill_and_replay(
    aws: None,  # noqa: F811
    throwaway: list[Event],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("SINKS", "throwaway")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="web/access.log", Body="\n".join(LINES).encode())

    handler = load_handler("access_log_to_search").handler
    result = handler(s3_event(BUCKET, "web/access.log"), context("access_log_to_search"))
    assert result["objects"][0]["shipped"] == {"throwaway": 3}
    assert [e.message for e in throwaway] == LINES

    args = argparse.Namespace(search_url=None, log_group=None, format="apache")
    settings = cli_settings(args)
    assert settings.sinks == ("throwaway",)
    worker = local_worker(s3, BUCKET, settings, boto3.client, None)
    state = BackfillState(tmp_path / "backfill.json", f"s3://{BUCKET}/web/")
    totals = run(list(list_objects(s3, BUCKET, "web/")), worker, state, progress_out=io.StringIO())
    assert (totals.records, totals.shipped) == (3, 3)
    assert len(throwaway) == 6

    s3.create_bucket(Bucket="quarantine")
    quarantine = Quarantine(s3, "quarantine")
    failures = [Failure(e, "injected") for e in throwaway[:2]]
    quarantine.park(failures, sink="throwaway", source=f"s3://{BUCKET}/web/access.log")
    counts = replay(quarantine, wiring_builder(Wiring(settings, boto3.client)))
    assert (counts.shipped, counts.deleted) == (2, 1)
    assert [e.id for e in throwaway[6:]] == [e.id for e in throwaway[:2]]


def test_every_function_default_names_known_sinks_and_formats() -> None:
    from logferry import formats

    for name, spec in FUNCTIONS.items():
        assert set(spec.sinks) <= set(SINKS), name
        assert spec.log_format in formats.names(), name
        settings = function_settings(name, {})
        assert (settings.log_format, settings.sinks) == (spec.log_format, spec.sinks)


def test_sinks_setting_overrides_the_default_and_unknown_names_fail() -> None:
    env = {"SINKS": "search", "SEARCH_URL": "http://127.0.0.1:9"}
    assert function_settings("access_log_to_search", env).sinks == ("search",)
    with pytest.raises(ConfigError, match="unknown sink nope"):
        Wiring(function_settings("cwl_to_search", {"SINKS": "search,nope"}), boto3.client)
    with pytest.raises(ConfigError, match="listed twice"):
        function_settings("cwl_to_search", {"SINKS": "search,search"})


def test_search_template_options_reach_the_sink() -> None:
    env = {
        "SEARCH_URL": "http://127.0.0.1:9",
        "SEARCH_REFRESH_INTERVAL": "30s",
        "SEARCH_INDEX_MODE": "logsdb",
    }
    (sink,) = Wiring(function_settings("cwl_to_search", env), boto3.client).sinks_for(
        ObjectRef("b", "k")
    )
    assert isinstance(sink, SearchSink)
    assert (sink.refresh_interval, sink.index_mode) == ("30s", "logsdb")
    with pytest.raises(ConfigError, match="SEARCH_REFRESH_INTERVAL='soon'"):
        function_settings("cwl_to_search", {**env, "SEARCH_REFRESH_INTERVAL": "soon"})
    with pytest.raises(ConfigError, match="SEARCH_INDEX_MODE"):
        function_settings("cwl_to_search", {**env, "SEARCH_INDEX_MODE": "time_series"})


def test_status_counts_wrap_their_own_search_sink_and_replay_through_search() -> None:
    assert SINKS["status_counts"].replay_through == "search"
    assert composition.replayable() == ["cloudwatch", "search", "status_counts"]
    assert SINKS["csv"].replay_through is None


def test_missing_endpoint_names_the_variable() -> None:
    settings = function_settings("alb_to_cloudwatch", {})
    with pytest.raises(ConfigError, match="LOG_GROUP"):
        Wiring(settings, boto3.client).sinks_for(ObjectRef("b", "k"))
