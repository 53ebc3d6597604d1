"""The composition root: which sinks a function has, and how each is built from settings.

Handlers, ``logferry backfill`` and ``logferry replay`` all build their sinks here, so the
choice is made once. ``SINKS`` (set by Terraform) lists a function's sinks; without it each
function has the default declared in :data:`FUNCTIONS`. Replay finds in :data:`SINKS` the sink
that re-ships what another sink parked.

To add a sink: write it in ``logferry/sinks/`` (the :class:`~logferry.sinks.Sink` protocol),
declare its options in ``logferry/sinks/options.py`` and add a :class:`SinkSpec` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from logferry.config import ConfigError
from logferry.deadline import call_bound
from logferry.model import ObjectRef
from logferry.settings import Settings
from logferry.sinks import Sink

Clients = Callable[[str], Any]
"""``service name -> boto3 client``."""


@dataclass(frozen=True)
class FunctionSpec:
    """A shipping function's defaults: its format and the sinks it has without ``SINKS``."""

    log_format: str
    sinks: tuple[str, ...]
    doc: str


FUNCTIONS: dict[str, FunctionSpec] = {
    "alb_to_cloudwatch": FunctionSpec(
        "loadbalancer",
        ("cloudwatch",),
        "ALB, Classic ELB and NLB log objects (mixed too) to CloudWatch Logs (seed 000)",
    ),
    "cwl_to_search": FunctionSpec(
        "cwl", ("search",), "Firehose objects of CloudWatch Logs envelopes to search (seed 001)"
    ),
    "access_log_to_search": FunctionSpec(
        "apache",
        ("search", "status_counts"),
        "Apache / nginx / custom access logs to search, with per-minute status counts (seed 003)",
    ),
    "serverlog_to_csv": FunctionSpec(
        "serverlog", ("csv",), "on-prem uptime+vmstat uploads to CSV and a graph (seed 002)"
    ),
}
"""Every log-shipping function (``upload_url`` and ``log_alert`` ship no logs)."""


@dataclass(frozen=True)
class SinkSpec:
    """How to build one sink, and what re-ships the events it parks."""

    build: Callable[[Wiring, ObjectRef, int], Sink]
    """``(wiring, object, start offset) -> sink`` for one object."""
    doc: str
    replay_through: str | None = None
    """The sink that replays this sink's parked events (``None``: not replayable)."""


def _cloudwatch(wiring: Wiring, ref: ObjectRef, _start: int) -> Sink:
    from logferry.sinks.cloudwatch import CloudWatchSink, stream_name

    options = wiring.settings.cloudwatch
    if not options.log_group:
        raise ConfigError("LOG_GROUP is not set: the CloudWatch Logs sink needs a log group")
    stream = stream_name(options.log_stream, ref)
    return wiring.shared(
        ("cloudwatch", stream),
        lambda: CloudWatchSink(
            wiring.clients("logs"),
            options.log_group or "",
            stream,
            retention_days=options.retention_days,
            call_seconds=call_bound(wiring.settings.reserve_seconds),
        ),
    )


def _new_search(wiring: Wiring) -> Sink:
    from logferry.sinks.search import SearchSink, client_for

    options = wiring.settings.search
    return SearchSink(
        client_for(options),
        prefix=options.index_prefix,
        in_flight=options.in_flight,
        request_timeout=options.request_timeout,
        refresh_interval=options.refresh_interval,
        index_mode=options.index_mode,
    )


def _search(wiring: Wiring, _ref: ObjectRef, _start: int) -> Sink:
    return wiring.shared(("search",), lambda: _new_search(wiring))


def _status_counts(wiring: Wiring, ref: ObjectRef, _start: int) -> Sink:
    from logferry.sinks.status_counts import StatusCounts

    return StatusCounts(wiring.shared(("status_counts",), lambda: _new_search(wiring)), ref)


def _csv(wiring: Wiring, ref: ObjectRef, start: int) -> Sink:
    from logferry.sinks.csv import ServerLogCsvSink

    bucket = wiring.settings.csv.output_bucket
    if not bucket:
        raise ConfigError("OUTPUT_BUCKET is not set: where should the CSV go?")
    return ServerLogCsvSink(wiring.clients("s3"), bucket, ref, start)


SINKS: dict[str, SinkSpec] = {
    "cloudwatch": SinkSpec(
        _cloudwatch, "CloudWatch Logs, one stream per object family", "cloudwatch"
    ),
    "search": SinkSpec(_search, "Elasticsearch / OpenSearch bulk indexing", "search"),
    "status_counts": SinkSpec(
        _status_counts, "per-minute counts by HTTP status, indexed in search", "search"
    ),
    "csv": SinkSpec(_csv, "seed 002's CSV, rejects CSV and SVG load graph in OUTPUT_BUCKET"),
}
"""Every sink a function can list in ``SINKS``."""


def function_settings(function: str, env: Any = None) -> Settings:
    """``function``'s settings from ``env`` (default: the process environment), with its
    declared defaults for ``LOG_FORMAT`` and ``SINKS``."""
    spec = FUNCTIONS[function]
    return Settings.from_env(spec.log_format, env, default_sinks=spec.sinks)


class Wiring:
    """Builds the sinks ``settings`` name, once per object, sharing what may be shared.

    Sinks that batch across objects (search; CloudWatch Logs per stream) are built once per
    wiring and reused; those tied to one object (CSV, status counts) are built per object.
    Sinks are not thread-safe: use one wiring per thread.
    """

    def __init__(self, settings: Settings, clients: Clients) -> None:
        unknown = [name for name in settings.sinks if name not in SINKS]
        if unknown:
            raise ConfigError(
                f"SINKS: unknown sink {', '.join(unknown)}; known: {', '.join(sorted(SINKS))}"
            )
        self.settings = settings
        self.clients = clients
        self._shared: dict[tuple[str, ...], Sink] = {}

    def shared(self, key: tuple[str, ...], make: Callable[[], Sink]) -> Sink:
        """The sink cached under ``key`` (made on first use)."""
        sink = self._shared.get(key)
        if sink is None:
            sink = self._shared[key] = make()
        return sink

    def sinks_for(self, ref: ObjectRef, start_offset: int = 0) -> list[Sink]:
        """The function's sinks for one object, in ``SINKS`` order."""
        if not self.settings.sinks:
            raise ConfigError("SINKS is empty: a function needs at least one sink")
        return [SINKS[name].build(self, ref, start_offset) for name in self.settings.sinks]

    def replay_sink(self, parked_as: str, source: ObjectRef) -> Sink | None:
        """The sink that re-ships events parked by sink ``parked_as`` (``None``: none can)."""
        spec = SINKS.get(parked_as)
        if spec is None or spec.replay_through is None:
            return None
        return SINKS[spec.replay_through].build(self, source, 0)


def replayable() -> list[str]:
    """The names of the sinks whose parked events ``logferry replay`` can ship again."""
    return sorted(name for name, spec in SINKS.items() if spec.replay_through is not None)
