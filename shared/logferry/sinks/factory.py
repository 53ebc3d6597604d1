"""Building a function's sinks from its settings (clients cached per invocation environment)."""

from __future__ import annotations

from functools import cache
from typing import Any

from logferry.model import ObjectRef
from logferry.settings import ConfigError, Settings
from logferry.sinks import Sink


def cloudwatch_sink(settings: Settings, ref: ObjectRef, logs_client: Any) -> Sink:
    """A CloudWatch Logs sink writing the object's family stream in ``LOG_GROUP``."""
    from logferry.runtime import stream_name
    from logferry.sinks.cloudwatch import CloudWatchSink

    if not settings.log_group:
        raise ConfigError("LOG_GROUP is not set: the CloudWatch Logs sink needs a log group")
    return CloudWatchSink(
        logs_client,
        settings.log_group,
        stream_name(settings.log_stream, ref),
        retention_days=settings.cwl_retention_days,
    )


def search_client(settings: Settings) -> Any:
    """A search client for ``SEARCH_URL`` with the configured authentication."""
    from logferry.sinks.search import SearchAuth, SigV4Auth, load_search_auth, make_client

    if not settings.search_url:
        raise ConfigError("SEARCH_URL is not set: the search sink needs an endpoint")
    auth: SearchAuth = None
    if settings.search_auth == "secret" and settings.search_secret_arn:
        auth = load_search_auth(settings.search_secret_arn)
    elif settings.search_auth == "sigv4":
        import boto3

        auth = SigV4Auth(region=boto3.session.Session().region_name or "us-east-1")
    return make_client(settings.search_url, settings.search_engine, auth)


def new_search_sink(settings: Settings) -> Sink:
    """A fresh search sink (one per thread when several threads ship at once)."""
    from logferry.sinks.search import SearchSink

    return SearchSink(search_client(settings), prefix=settings.index_prefix)


_search_sink = cache(new_search_sink)


def search_sink(settings: Settings) -> Sink:
    """The search sink, one per settings (its template is installed once per container)."""
    return _search_sink(settings)
