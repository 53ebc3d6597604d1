"""The ``auto`` format: each object's format recognised from its S3 key, else its first bytes.

AWS writes each log type under keys of its own shape (``AWSLogs/<account>/<service>/…``, a
CloudFront distribution's ``<id>.<yyyy-mm-dd-hh>.<hash>.gz``, S3 server access logs'
``<yyyy-mm-dd-hh-mm-ss>-<hex>``); what the key does not tell, the first line does (a W3C
``#Version`` header, a JSON envelope's keys, an access log's bracketed time...). An object
that nothing recognises gives one error document per line: shipped and counted, as any line
that does not parse.
"""

from __future__ import annotations

import logging
import re
import threading

from logferry.formats.base import LineFormat, LogFormat, error_document
from logferry.model import Document, ObjectRef, ParseContext, Record

log = logging.getLogger(__name__)

KEY_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(^|/)AWSLogs/\d{12}/elasticloadbalancing/"), "loadbalancer"),
    (re.compile(r"(^|/)AWSLogs/\d{12}/vpcflowlogs/"), "vpcflow"),
    (re.compile(r"(^|/)AWSLogs/\d{12}/CloudTrail(-Digest)?/"), "cloudtrail"),
    (re.compile(r"(^|/)AWSLogs/\d{12}/WAFLogs/|(^|/)aws-waf-logs-"), "waf"),
    (re.compile(r"(^|/)[A-Z0-9]{8,16}\.\d{4}-\d\d-\d\d-\d\d\.[0-9a-f]{8}(\.gz)?$"), "cloudfront"),
    (re.compile(r"(^|/)\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9A-F]{16}$"), "s3access"),
)
"""Key shapes, in order: the first that matches names the format."""

CONTENT_RULES: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"#Version: [\d.]+\s+#Fields: date time x-edge-location"), "cloudfront"),
    (re.compile(rb"\{\s*\"messageType\"\s*:"), "cwl"),
    (re.compile(rb"\{\s*\"Records\"\s*:\s*\["), "cloudtrail"),
    (
        re.compile(rb"version account-id interface-id |[^\n]*\bsrcaddr\b[^\n]*\bdstaddr\b"),
        "vpcflow",
    ),
    (re.compile(rb"\{[^\n]*\"webaclId\"\s*:"), "waf"),
    (re.compile(rb"\{[^\n]*\"(requestId|requestTime|httpMethod)\"\s*:"), "apigw"),
    (
        re.compile(rb"(h2|https?|grpcs|wss?|tls \d\.\d) \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"),
        "loadbalancer",
    ),
    (re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z \S+ \S+:\d+ "), "loadbalancer"),
    (re.compile(rb"[0-9a-f]{64} \S+ \[\d\d/\w{3}/\d{4}:"), "s3access"),
    (re.compile(rb"\d{4}-\d\d-\d\d [^\n]* up [^\n]* load averages?: "), "serverlog"),
    (re.compile(rb"[^\n]*\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] \""), "apache"),
)
"""Patterns of an object's first line (or header), in order: the first that matches wins."""


def detect(key: str, head: bytes) -> str | None:
    """The format name of an object with ``key`` whose bytes start with ``head``."""
    for pattern, name in KEY_RULES:
        if pattern.search(key):
            return name
    first = head.lstrip()[:4096]
    for content, name in CONTENT_RULES:
        if content.match(first):
            return name
    return None


_chosen = threading.local()


def _format(name: str) -> LogFormat:
    """The format ``name``, one instance per thread: formats keep per-object state (the ELB
    family's ``cloud`` and ``log.file``), so two threads must never share one."""
    from logferry import formats

    found: dict[str, LogFormat] = _chosen.__dict__.setdefault("formats", {})
    if name not in found:
        found[name] = formats.get_format(name)
    return found[name]


class AutoFormat(LineFormat):
    """Chooses each object's format (:func:`detect`); unrecognised objects give error
    documents line by line."""

    name = "auto"
    dataset = "unknown"

    def for_object(self, ref: ObjectRef, head: bytes, start_offset: int = 0) -> LogFormat:
        """The recognised format of ``ref`` (itself asked to choose in turn), else this one."""
        name = detect(ref.key, head)
        if name is None:
            log.warning("%s: no known log format recognised", ref.uri)
            return self
        log.info("%s: format %s", ref.uri, name)
        return _format(name).for_object(ref, head, start_offset)

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """An error document: the object's format was not recognised."""
        reason = "no known log format recognised (give LOG_FORMAT or --format)"
        return [error_document(record, ctx, self.dataset, reason)]
