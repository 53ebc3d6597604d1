"""What every log-shipping Lambda does, so each handler.py stays a few lines of wiring."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

import boto3

from logferry.formats import get_format
from logferry.formats.base import LogFormat
from logferry.metrics import publish_summary
from logferry.model import Document, ObjectRef
from logferry.pipeline import ObjectJob, Summary, default_message, process_object
from logferry.settings import ConfigError, Settings
from logferry.sinks import Sink
from logferry.sources.events import ObjectNotice, continuation_event, notices

SinkFactory = Callable[[Settings, ObjectRef], Sequence[Sink]]
"""Builds the sinks for one object (given the function's settings)."""

_STREAM_UNSAFE = re.compile(r"[:*]")


@cache
def client(service: str) -> Any:
    """A cached boto3 client (``AWS_ENDPOINT_URL`` is honoured by boto3 itself)."""
    return boto3.client(service)


def stream_name(template: str, ref: ObjectRef) -> str:
    """The CloudWatch Logs stream for an object: one stream per object family.

    ``{family}`` is the key's folder (e.g. an ALB's per-day folder), ``{key}`` the whole
    key, ``{basename}`` its file name, ``{bucket}`` the bucket.
    """
    family = posixpath.dirname(ref.key) or ref.bucket
    name = template.format(
        family=family, key=ref.key, basename=posixpath.basename(ref.key), bucket=ref.bucket
    )
    return _STREAM_UNSAFE.sub("_", name)[:512] or "default"


def build_format(settings: Settings) -> LogFormat:
    """The configured log format (``LOG_FORMAT``, ``LOG_PATTERN``, ``CWL_PREFIX``)."""
    options: dict[str, Any] = {}
    if settings.log_pattern:
        options["pattern"] = settings.log_pattern
    if settings.cwl_prefix:
        options["cloudwatch_prefix"] = True
    try:
        return get_format(settings.log_format, **options)
    except TypeError as exc:  # an option this format does not take (e.g. CWL_PREFIX for cwl)
        raise ConfigError(f"LOG_FORMAT={settings.log_format}: {exc}") from exc


def message_renderer(fmt: LogFormat) -> Callable[[Document], str]:
    """How events become CloudWatch Logs text: the format's own renderer, else the raw line."""
    render: Callable[[Document], str] = getattr(fmt, "event_message", default_message)
    return render


def handle(
    event: Mapping[str, Any],
    context: Any,
    settings: Settings,
    make_sinks: SinkFactory,
    logger: Any,
) -> dict[str, Any]:
    """Ship every object an event names; log and return one summary per object.

    Objects that run out of time are handed to a new asynchronous invocation of this
    function at the byte offset reached. For SQS events, the messages whose objects
    failed are reported as ``batchItemFailures`` so only they are retried.
    """
    fmt = build_format(settings)
    quarantine = _quarantine(settings)
    summaries: list[dict[str, Any]] = []
    failed_messages: list[str] = []
    items = list(notices(event))
    for notice in items:
        try:
            summary = _ship(notice, context, settings, fmt, make_sinks, quarantine)
        except Exception:
            logger.exception("object failed", extra={"object": notice.ref.uri})
            if notice.message_id is None:
                raise
            failed_messages.append(notice.message_id)
            continue
        if summary.next_offset is not None:
            _continue(context, notice, summary.next_offset, summary.resume_from)
        publish_summary(summary)
        if summary.error:
            logger.error("object incomplete", extra={"summary": json.loads(summary.to_json())})
        else:
            logger.info("object shipped", extra={"summary": json.loads(summary.to_json())})
        summaries.append(json.loads(summary.to_json()))
    result: dict[str, Any] = {"objects": summaries}
    if any(n.message_id for n in items):
        result["batchItemFailures"] = [
            {"itemIdentifier": m} for m in dict.fromkeys(failed_messages)
        ]
    return result


def _ship(
    notice: ObjectNotice,
    context: Any,
    settings: Settings,
    fmt: LogFormat,
    make_sinks: SinkFactory,
    quarantine: Any,
) -> Summary:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    job = ObjectJob(
        s3=client("s3"),
        notice=notice,
        fmt=fmt,
        sinks=make_sinks(settings, notice.ref),
        parker=quarantine,
        account_id=_account_id(context),
        region=client("s3").meta.region_name,
        render=message_renderer(fmt),
        remaining_seconds=(lambda: remaining() / 1000.0) if remaining else None,
        reserve_seconds=settings.reserve_seconds,
    )
    return process_object(job)


def _quarantine(settings: Settings) -> Any:
    if not settings.quarantine_bucket:
        return None
    from logferry.sinks.s3 import Quarantine

    return Quarantine(client("s3"), settings.quarantine_bucket, settings.quarantine_prefix)


def _account_id(context: Any) -> str | None:
    arn = str(getattr(context, "invoked_function_arn", "") or "")
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None


def _continue(
    context: Any, notice: ObjectNotice, offset: int, resume_from: tuple[int, int] | None
) -> None:
    """Invoke this function again, asynchronously, to resume the object at ``offset``."""
    client("lambda").invoke(
        FunctionName=getattr(context, "invoked_function_arn", None) or context.function_name,
        InvocationType="Event",
        Payload=json.dumps(continuation_event(notice, offset, resume_from)).encode(),
    )
