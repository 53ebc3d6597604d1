"""The options of each sink, as the functions read them from their environment.

Kept apart from the sinks themselves so reading a function's configuration never imports a
sink's client library (the search clients are only loaded by a function that ships there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from logferry.config import ConfigError, option

_TIME_VALUE = re.compile(r"-1|\d+(nanos|micros|ms|s|m|h|d)")
"""An engine time value (``index.refresh_interval``)."""

SEARCH_ENGINES = ("elasticsearch", "opensearch")
SEARCH_AUTHS = ("none", "secret", "sigv4")
DEFAULT_IN_FLIGHT = 2
"""Bulk requests the search sink keeps in flight while the next batch is parsed."""
DEFAULT_REQUEST_TIMEOUT = 30.0
"""Seconds one search request may take (shortened to the time the invocation has left)."""
INDEX_MODES = ("standard", "logsdb")


@dataclass(frozen=True)
class CloudWatchOptions:
    """The ``cloudwatch`` sink: PutLogEvents into one stream per object family."""

    log_group: str | None = option("LOG_GROUP", None, "CloudWatch Logs group (required)")
    log_stream: str = option(
        "LOG_STREAM",
        "{family}",
        "stream template: `{family}` (key folder), `{key}`, `{basename}`, `{bucket}`",
    )
    retention_days: int | None = option(
        "CWL_RETENTION_DAYS", None, "retention when the sink creates the group", kind="integer"
    )


@dataclass(frozen=True)
class SearchOptions:
    """The ``search`` sink (and the alert rules' search back end)."""

    url: str | None = option("SEARCH_URL", None, "Elasticsearch / OpenSearch endpoint")
    engine: str = option(
        "SEARCH_ENGINE", "elasticsearch", "`elasticsearch` or `opensearch`", choices=SEARCH_ENGINES
    )
    auth: str | None = option(
        "SEARCH_AUTH",
        None,
        "`none`, `secret` (basic/API key JSON in Secrets Manager) or `sigv4` (Amazon "
        "OpenSearch Service); default `secret` when `SEARCH_SECRET_ARN` is set, else `none`",
        choices=SEARCH_AUTHS,
    )
    secret_arn: str | None = option(
        "SEARCH_SECRET_ARN", None, "the secret for `SEARCH_AUTH=secret` (never a plain password)"
    )
    index_prefix: str = option(
        "INDEX_PREFIX",
        "logferry",
        "indices are `<prefix>-<dataset>-YYYY.MM.DD` by event time; the sink installs index "
        "template `<prefix>` (version 3: see [Index template](#index-template))",
    )
    refresh_interval: str | None = option(
        "SEARCH_REFRESH_INTERVAL",
        None,
        "`index.refresh_interval` the index template sets (e.g. `1s`, `30s`, `-1`); unset: "
        "the engine's default (Elasticsearch: 1s, skipped while a shard has no searches)",
    )
    index_mode: str = option(
        "SEARCH_INDEX_MODE",
        "standard",
        "`logsdb`: the template asks for `index.mode: logsdb` (Elasticsearch 8.17+: synthetic "
        "`_source`, less disk, more engine CPU: see [Index template](#index-template)); an "
        "engine without it gets `standard`",
        choices=INDEX_MODES,
    )
    keep_message: bool = option(
        "SEARCH_KEEP_MESSAGE",
        False,
        "keep the raw line as `message` in the documents of formats whose fields hold the "
        "whole line (the ELB family, S3 access, Apache/nginx); unset, it is left out of "
        "every sink's documents (less disk and engine CPU in search); text sinks such as "
        "CloudWatch Logs still get the line. Lines that did not parse and other formats "
        "always keep it",
        kind="flag",
    )
    in_flight: int = option(
        "SEARCH_IN_FLIGHT",
        DEFAULT_IN_FLIGHT,
        "bulk requests sent in background threads at once while the next batch is parsed "
        "(at least 1); when all are busy the function waits for one to finish",
        kind="integer",
    )
    request_timeout: float = option(
        "SEARCH_REQUEST_TIMEOUT",
        DEFAULT_REQUEST_TIMEOUT,
        "seconds one search request may take, shortened to the time the invocation has left; "
        "past that point what is not indexed is parked with a reason starting `deadline`",
        kind="number",
    )

    @property
    def auth_mode(self) -> str:
        """The authentication in force (``SEARCH_AUTH``, else implied by the secret)."""
        return self.auth or ("secret" if self.secret_arn else "none")

    def __post_init__(self) -> None:
        if self.auth_mode == "secret" and not self.secret_arn:
            raise ConfigError("SEARCH_AUTH=secret needs SEARCH_SECRET_ARN")
        if self.in_flight < 1:
            raise ConfigError(f"SEARCH_IN_FLIGHT={self.in_flight}: must be at least 1")
        if self.request_timeout <= 0:
            raise ConfigError(f"SEARCH_REQUEST_TIMEOUT={self.request_timeout}: must be > 0")
        if self.refresh_interval and not _TIME_VALUE.fullmatch(self.refresh_interval):
            raise ConfigError(
                f"SEARCH_REFRESH_INTERVAL={self.refresh_interval!r}: a time such as 1s, 500ms, "
                "1m, or -1 (never)"
            )


@dataclass(frozen=True)
class QuarantineOptions:
    """Where every shipping function parks the events a sink could not ship."""

    bucket: str | None = option("QUARANTINE_BUCKET", None, "quarantine bucket")
    prefix: str = option("QUARANTINE_PREFIX", "quarantine", "key prefix in the quarantine")


@dataclass(frozen=True)
class CsvOptions:
    """The ``csv`` sink: the seed's CSV, rejects and load graph per uploaded server log."""

    output_bucket: str | None = option("OUTPUT_BUCKET", None, "the analyzed bucket")
