"""``logferry redrive``: empty the dead ends back into the pipeline.

Two kinds of queue hold what the functions could not ship:

- a function's failures queue (``<function>-failures``), its asynchronous OnFailure
  destination: each message is Lambda's record of an invocation whose retries ran out.
  Redriving invokes the function named in ``requestContext.functionArn`` asynchronously with
  the ``requestPayload``, then deletes the message;
- a trigger queue's dead-letter queue (``<prefix>-<key>-dlq``): each message is an S3 event
  that failed ``maxReceiveCount`` times. Redriving sends it, body and message attributes, back
  to its source queue (the one whose redrive policy names the DLQ, or ``--to``), then deletes it.

A message that cannot be redriven (not such a record, or the call fails) stays in the queue,
visible again when the run ends, and its error names the message id. Messages being worked on
stay invisible for the run, so every message is seen once. Redriving an object notice ships
that object again: search documents have deterministic ids (no duplicates); CloudWatch Logs
events are bounded by the checkpoints table (``CHECKPOINT_TABLE``) where it is deployed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from logferry.clients import client

Progress = Callable[[str], None]
VISIBILITY_SECONDS = 300
"""How long a message being worked on stays hidden from other receivers (and this run)."""


class NotRedrivable(ValueError):
    """A message that is not what the queue's kind should hold."""


@dataclass
class Counts:
    """What one run did: messages seen, redriven, skipped (not redrivable), failed (the call
    failed); in a dry run ``would_redrive`` counts what would have been redriven."""

    seen: int = 0
    redriven: int = 0
    skipped: int = 0
    failed: int = 0
    would_redrive: int = 0
    dry_run: bool = False

    def to_json(self) -> str:
        """The counts as one JSON line."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Invocation:
    """What a failures-queue record asks to run again."""

    function: str
    qualifier: str | None
    payload: bytes


def invocation(body: str) -> Invocation:
    """The function and payload of an OnFailure destination record; NotRedrivable otherwise."""
    try:
        record = json.loads(body)
        arn = str(record["requestContext"]["functionArn"])
        payload = record["requestPayload"]
    except (ValueError, KeyError, TypeError) as error:
        raise NotRedrivable(f"not a Lambda on-failure record ({error!r})") from error
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
        raise NotRedrivable(f"requestContext.functionArn is not a function ARN: {arn!r}")
    qualifier = parts[7] if len(parts) > 7 and parts[7] != "$LATEST" else None
    return Invocation(":".join(parts[:7]), qualifier, json.dumps(payload).encode())


def _messages(sqs: Any, url: str, limit: int | None, wait: int) -> Iterator[dict[str, Any]]:
    """Receive until the queue shows nothing more or `limit` messages came."""
    got = 0
    while limit is None or got < limit:
        batch = min(10, limit - got) if limit is not None else 10
        response = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=batch,
            VisibilityTimeout=VISIBILITY_SECONDS,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return
        for message in messages[: None if limit is None else limit - got]:
            got += 1
            yield message


def _release(sqs: Any, url: str, handles: list[str]) -> None:
    """Make messages that stay in the queue visible again."""
    for handle in handles:
        try:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
        except ClientError as error:
            print(f"logferry redrive: could not release a message: {error}", file=sys.stderr)


def _run(
    sqs: Any,
    url: str,
    act: Callable[[dict[str, Any]], None],
    describe: Callable[[dict[str, Any]], str],
    *,
    dry_run: bool,
    limit: int | None,
    wait: int,
    progress: Progress,
) -> Counts:
    """Take each message of `url`: `describe` it (raising NotRedrivable), then unless a dry
    run `act` on it and delete it. Everything left is released at the end."""
    counts = Counts(dry_run=dry_run)
    kept: list[str] = []
    try:
        for message in _messages(sqs, url, limit, wait):
            counts.seen += 1
            mid = message["MessageId"]
            try:
                what = describe(message)
            except NotRedrivable as error:
                counts.skipped += 1
                kept.append(message["ReceiptHandle"])
                progress(f"message {mid}: skipped: {error}")
                continue
            if dry_run:
                counts.would_redrive += 1
                kept.append(message["ReceiptHandle"])
                progress(f"message {mid}: would {what}")
                continue
            try:
                act(message)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            except ClientError as error:
                counts.failed += 1
                kept.append(message["ReceiptHandle"])
                progress(f"message {mid}: failed to {what}: {error}")
                continue
            counts.redriven += 1
            progress(f"message {mid}: {what} ({counts.redriven} redriven)")
    finally:
        _release(sqs, url, kept)
    return counts


def redrive_failures(
    queue_url: str,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    wait: int = 1,
    progress: Progress = print,
    sqs: Any = None,
    lam: Any = None,
) -> Counts:
    """Invoke each failures-queue record's function again (asynchronously) with its payload."""
    sqs = sqs or client("sqs")
    lam = lam or client("lambda")

    def describe(message: dict[str, Any]) -> str:
        target = invocation(message["Body"])
        return f"invoke {target.function} asynchronously"

    def act(message: dict[str, Any]) -> None:
        target = invocation(message["Body"])
        extra = {"Qualifier": target.qualifier} if target.qualifier else {}
        lam.invoke(
            FunctionName=target.function, InvocationType="Event", Payload=target.payload, **extra
        )

    return _run(
        sqs, queue_url, act, describe, dry_run=dry_run, limit=limit, wait=wait, progress=progress
    )


def source_queue(sqs: Any, dlq_url: str) -> str:
    """The one queue whose redrive policy sends to `dlq_url`; ValueError naming the choices."""
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
    if len(sources) != 1:
        found = ", ".join(sources) or "none"
        raise ValueError(f"{dlq_url} is the dead-letter queue of {found}: give --to URL")
    return str(sources[0])


def _attributes(message: dict[str, Any]) -> dict[str, Any]:
    """The message attributes in SendMessage's shape (receive adds empty list members)."""
    out = {}
    for name, value in message.get("MessageAttributes", {}).items():
        keep = {"DataType": value["DataType"]}
        for member in ("StringValue", "BinaryValue"):
            if member in value:
                keep[member] = value[member]
        out[name] = keep
    return out


def redrive_dlq(
    dlq_url: str,
    *,
    to_url: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    wait: int = 1,
    progress: Progress = print,
    sqs: Any = None,
) -> Counts:
    """Move each DLQ message (body and attributes) back to its source queue."""
    sqs = sqs or client("sqs")
    target = to_url or source_queue(sqs, dlq_url)
    fifo = target.endswith(".fifo")

    def describe(message: dict[str, Any]) -> str:
        return f"move to {target}"

    def act(message: dict[str, Any]) -> None:
        extra: dict[str, Any] = {}
        system = message.get("Attributes", {})
        if fifo:
            extra["MessageGroupId"] = system.get("MessageGroupId", "redrive")
            if "MessageDeduplicationId" in system:
                extra["MessageDeduplicationId"] = system["MessageDeduplicationId"]
        attributes = _attributes(message)
        if attributes:
            extra["MessageAttributes"] = attributes
        sqs.send_message(QueueUrl=target, MessageBody=message["Body"], **extra)

    return _run(
        sqs, dlq_url, act, describe, dry_run=dry_run, limit=limit, wait=wait, progress=progress
    )


def cmd_redrive(args: argparse.Namespace) -> int:
    """Redrive a failures queue or a DLQ; counts as one JSON line on stdout."""

    def progress(line: str) -> None:
        print(f"logferry redrive: {line}", file=sys.stderr, flush=True)

    if args.to and not args.dlq:
        print("logferry redrive: --to goes with --dlq", file=sys.stderr)
        return 2
    try:
        if args.failures_queue:
            counts = redrive_failures(
                args.failures_queue,
                dry_run=args.dry_run,
                limit=args.max,
                wait=args.wait,
                progress=progress,
            )
        else:
            counts = redrive_dlq(
                args.dlq,
                to_url=args.to,
                dry_run=args.dry_run,
                limit=args.max,
                wait=args.wait,
                progress=progress,
            )
    except (ValueError, ClientError) as error:
        print(f"logferry redrive: {error}", file=sys.stderr)
        return 2
    print(counts.to_json(), flush=True)
    return 1 if counts.failed or counts.skipped else 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("--max must be at least 1")
    return value


def register(subparsers: Any) -> None:
    """Add the ``redrive`` subcommand."""
    p = subparsers.add_parser(
        "redrive", help="send a failures queue's or a DLQ's messages back into the pipeline"
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--failures-queue",
        metavar="URL",
        help="a function's on-failure queue: invoke each record's function again",
    )
    which.add_argument(
        "--dlq", metavar="URL", help="a trigger queue's DLQ: move each message to its source"
    )
    p.add_argument(
        "--to", metavar="URL", help="with --dlq: the queue to move to (default: the DLQ's source)"
    )
    p.add_argument("--dry-run", action="store_true", help="count and show, change nothing")
    p.add_argument("--max", type=_positive, help="take at most N messages")
    p.add_argument(
        "--wait",
        type=int,
        default=1,
        choices=range(21),
        metavar="SECONDS",
        help="long-poll each receive this long, 0-20 (default 1); the run ends on an empty one",
    )
    p.set_defaults(func=cmd_redrive)
