"""What every log-shipping Lambda does, so each handler.py stays a few lines of wiring."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import cache
from typing import Any

from logferry import formats
from logferry.checkpoint import LEASE_MARGIN_SECONDS, Checkpoints, Claim, LostClaim, Refusal
from logferry.clients import bounded_client, client
from logferry.composition import Wiring, function_settings
from logferry.deadline import call_bound
from logferry.formats.base import LogFormat
from logferry.metrics import publish_summary
from logferry.pipeline import ObjectJob, Summary, process_object
from logferry.settings import Settings
from logferry.sources.events import ObjectNotice, continuation_event, messages


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
    function at the byte offset reached. Each SQS message stands alone: one that does not
    parse, whose object fails or whose hand-off cannot be sent is reported in
    ``batchItemFailures`` and only it is retried. Any other event tries every object, then
    raises the first failure. With ``CHECKPOINT_TABLE`` a retried object resumes after its
    last checkpoint, and a shipped object or a duplicate continuation is not shipped again.
    """
    settings = function_settings(function)
    run = _Run(settings, context, logger)
    summaries: list[dict[str, Any]] = []
    failed_messages: list[str] = []
    errors: list[Exception] = []
    sqs = False
    for message in messages(event):
        sqs = sqs or message.message_id is not None
        if message.error is not None:
            logger.error("message %s failed: %s", message.message_id, message.error)
            failed_messages.append(str(message.message_id))
            continue
        for notice in message.notices:
            try:
                summaries.append(run.ship(notice))
            except Exception as exc:
                logger.exception("object failed", extra={"object": notice.ref.uri})
                if message.message_id is None:
                    errors.append(exc)
                else:
                    failed_messages.append(message.message_id)
                    break  # the message is retried whole: its later objects too
    if errors:
        raise errors[0]
    result: dict[str, Any] = {"objects": summaries}
    if sqs:
        result["batchItemFailures"] = [
            {"itemIdentifier": m} for m in dict.fromkeys(failed_messages)
        ]
    return result


class _Run:
    """One invocation's shared parts: wiring, format, quarantine and checkpoints."""

    def __init__(self, settings: Settings, context: Any, logger: Any) -> None:
        self.settings = settings
        self.context = context
        self.logger = logger
        self.wiring = _wiring(settings)
        self.fmt = build_format(settings)
        self.quarantine = _quarantine(settings)
        self.checkpoints = (
            Checkpoints(
                bounded_client("dynamodb", call_bound(settings.reserve_seconds)),
                settings.checkpoint_table,
            )
            if settings.checkpoint_table
            else None
        )

    def ship(self, notice: ObjectNotice) -> dict[str, Any]:
        """Ship one object (from its checkpoint, if it has one), hand on or finish it."""
        claim = self._claim(notice)
        if isinstance(claim, Refusal):
            summary = Summary(notice.ref.uri, self.fmt.name, notice.start_offset)
            summary.checkpoint = claim.reason
            as_json = _as_dict(summary)
            self.logger.warning("object not shipped: %s", claim.reason, extra={"summary": as_json})
            return as_json
        if claim is not None and claim.offset != notice.start_offset:
            notice = replace(notice, start_offset=claim.offset, resume_from=claim.resume)
        checkpoints = self.checkpoints if claim is not None else None
        try:
            summary = _ship(
                notice,
                self.context,
                self.settings,
                self.fmt,
                self.wiring,
                self.quarantine,
                self._progress(claim),
            )
            if claim is not None and notice.start_offset:
                summary.checkpoint = f"resumed at offset {notice.start_offset}"
            if summary.next_offset is not None:
                self._hand_off(notice, summary, claim)
            elif checkpoints is not None and claim is not None:
                self._quietly(checkpoints.finish, claim)
        except Exception:
            if checkpoints is not None and claim is not None:
                self._quietly(checkpoints.release, claim)
            raise
        publish_summary(summary)
        as_json = _as_dict(summary)
        if summary.error:
            self.logger.error("object incomplete", extra={"summary": as_json})
        else:
            self.logger.info("object shipped", extra={"summary": as_json})
        return as_json

    def _claim(self, notice: ObjectNotice) -> Claim | Refusal | None:
        if self.checkpoints is None:
            return None
        remaining = getattr(self.context, "get_remaining_time_in_millis", lambda: 900_000)()
        try:
            return self.checkpoints.claim(
                notice, notice.token, remaining / 1000.0 + LEASE_MARGIN_SECONDS
            )
        except Exception as exc:  # the table is an aid: ship without it rather than not at all
            self.logger.warning(
                "checkpoint table %s unusable (%s): shipping without it",
                self.checkpoints.table,
                exc,
                extra={"object": notice.ref.uri},
            )
            return None

    def _progress(
        self, claim: Claim | None
    ) -> Callable[[int, tuple[int, int] | None], None] | None:
        if claim is None or self.checkpoints is None:
            return None
        checkpoints = self.checkpoints

        def advance(offset: int, resume: tuple[int, int] | None) -> None:
            try:
                checkpoints.advance(claim, offset, resume)
            except LostClaim:
                raise
            except Exception as exc:  # the next checkpoint may work; shipping goes on
                self.logger.warning("checkpoint at %d not written: %s", offset, exc)

        return advance

    def _hand_off(self, notice: ObjectNotice, summary: Summary, claim: Claim | None) -> None:
        """Send the continuation; if it cannot be sent, take the chain back and fail."""
        offset = summary.next_offset
        assert offset is not None
        token = None
        if claim is not None and self.checkpoints is not None:
            token = self.checkpoints.hand_off(claim, offset, summary.resume_from)
        try:
            call = call_bound(self.settings.reserve_seconds)
            _continue(self.context, notice, offset, summary.resume_from, token, call)
        except Exception:
            if claim is not None and self.checkpoints is not None:
                self._quietly(self.checkpoints.take_back, claim)
            raise

    def _quietly(self, step: Callable[[Claim], None], claim: Claim) -> None:
        try:
            step(claim)
        except Exception as exc:  # a lease that lapses does the same, later
            self.logger.warning("checkpoint %s of %s failed: %s", step.__name__, claim.pk, exc)


def _as_dict(summary: Summary) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(summary.to_json())
    return value


def _ship(
    notice: ObjectNotice,
    context: Any,
    settings: Settings,
    fmt: LogFormat,
    wiring: Wiring,
    quarantine: Any,
    checkpoint: Callable[[int, tuple[int, int] | None], None] | None = None,
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
        checkpoint=checkpoint,
        keep_message=settings.search.keep_message,
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


def _continue(
    context: Any,
    notice: ObjectNotice,
    offset: int,
    resume_from: tuple[int, int] | None,
    token: str | None,
    call: float,
) -> None:
    """Invoke this function again, asynchronously, to resume the object at ``offset`` (one
    call of at most ``call`` seconds: the reserve's last fifth)."""
    bounded_client("lambda", call).invoke(
        FunctionName=getattr(context, "invoked_function_arn", None) or context.function_name,
        InvocationType="Event",
        Payload=json.dumps(continuation_event(notice, offset, resume_from, token)).encode(),
    )
