"""What every log-shipping Lambda does, so each handler.py stays a few lines of wiring."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from logferry import formats
from logferry.clients import bounded_client, client
from logferry.composition import Wiring, function_settings
from logferry.deadline import call_bound
from logferry.formats.base import LogFormat
from logferry.metrics import publish_summary
from logferry.pipeline import ObjectJob, Summary, process_object
from logferry.settings import Settings
from logferry.sources.events import ObjectNotice, continuation_event, notices


def build_format(settings: Settings) -> LogFormat:
    """The configured log format with its options (``LOG_FORMAT`` and the format's own)."""
    return formats.build(settings.log_format, settings.format_options)


@cache
def _wiring(settings: Settings) -> Wiring:
    """One wiring per settings and container: search batches and streams are reused.

    CloudWatch Logs calls go through a client bounded to a fifth of the reserve.
    """
    call = call_bound(settings.reserve_seconds)

    def clients(service: str) -> Any:
        return bounded_client(service, call) if service == "logs" else client(service)

    return Wiring(settings, clients)


def handle(event: Mapping[str, Any], context: Any, function: str, logger: Any) -> dict[str, Any]:
    """Ship every object an event names with ``function``'s settings; log and return one
    summary per object.

    Objects that run out of time are handed to a new asynchronous invocation of this
    function at the byte offset reached. For SQS events, the messages whose objects
    failed are reported as ``batchItemFailures`` so only they are retried.
    """
    settings = function_settings(function)
    wiring = _wiring(settings)
    fmt = build_format(settings)
    quarantine = _quarantine(settings)
    summaries: list[dict[str, Any]] = []
    failed_messages: list[str] = []
    items = list(notices(event))
    for notice in items:
        try:
            summary = _ship(notice, context, settings, fmt, wiring, quarantine)
        except Exception:
            logger.exception("object failed", extra={"object": notice.ref.uri})
            if notice.message_id is None:
                raise
            failed_messages.append(notice.message_id)
            continue
        if summary.next_offset is not None:
            _continue(context, notice, summary, call_bound(settings.reserve_seconds))
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
    wiring: Wiring,
    quarantine: Any,
) -> Summary:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    job = ObjectJob(
        s3=client("s3"),
        notice=notice,
        fmt=fmt,
        sinks=wiring.sinks_for(notice.ref, notice.start_offset),
        parker=quarantine,
        account_id=_account_id(context),
        region=client("s3").meta.region_name,
        remaining_seconds=(lambda: remaining() / 1000.0) if remaining else None,
        reserve_seconds=settings.reserve_seconds,
    )
    return process_object(job)


def _quarantine(settings: Settings) -> Any:
    if not settings.quarantine.bucket:
        return None
    from logferry.sinks.s3 import Quarantine

    call = call_bound(settings.reserve_seconds)
    bucket, prefix = settings.quarantine.bucket, settings.quarantine.prefix
    return Quarantine(bounded_client("s3", call), bucket, prefix, call_seconds=call)


def _account_id(context: Any) -> str | None:
    arn = str(getattr(context, "invoked_function_arn", "") or "")
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None


def _continue(context: Any, notice: ObjectNotice, summary: Summary, call: float) -> None:
    """Invoke this function again, asynchronously, to resume the object at ``next_offset``
    (one call of at most ``call`` seconds: the reserve's last fifth)."""
    assert summary.next_offset is not None
    event = continuation_event(notice, summary.next_offset, summary.resume_from)
    bounded_client("lambda", call).invoke(
        FunctionName=getattr(context, "invoked_function_arn", None) or context.function_name,
        InvocationType="Event",
        Payload=json.dumps(event).encode(),
    )
