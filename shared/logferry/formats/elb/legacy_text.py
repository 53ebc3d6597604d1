"""Seed 000's CloudWatch Logs text: each line prefixed with its object's S3 metadata."""

from __future__ import annotations

from logferry.formats.elb.keys import AlbKeyMeta, parse_alb_key
from logferry.model import Document

__all__ = ["cloudwatch_message"]


def cloudwatch_message(doc: Document, meta: AlbKeyMeta | None = None) -> str:
    """The line prefixed with seed 000's S3 metadata, for the CloudWatch Logs sink.

    ``bucket prefix AWSLogs account region yyyy/mm/dd lb-name.lb-id end-time ip random line``
    where a missing prefix is ``None`` and a prefix starts with ``/`` (as the seed wrote
    them). ``meta`` defaults to the key in ``log.file.path``; without key metadata the
    plain line is returned.
    """
    message: str = doc.get("message", "")
    path: str = doc.get("log", {}).get("file", {}).get("path", "")
    bucket, _, key = path.removeprefix("s3://").partition("/")
    if meta is None:
        meta = parse_alb_key(key)
    if meta is None:
        return message
    lb = meta.lb_name if meta.lb_id is None else f"{meta.lb_name}.{meta.lb_id}"
    return " ".join(
        (
            bucket,
            "None" if meta.prefix is None else "/" + meta.prefix,
            "AWSLogs",
            meta.account,
            meta.region,
            meta.date.replace("-", "/"),
            lb,
            meta.end_time,
            meta.ip or "-",
            meta.random,
            message,
        )
    )
