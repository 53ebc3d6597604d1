"""Amazon S3 server access logs: one request per space-separated line.

The documented field list, in order: bucket owner, bucket, ``[time]``, remote IP,
requester, request ID, operation, key, ``"request-URI"``, HTTP status, error code, bytes
sent, object size, total time, turn-around time, ``"referrer"``, ``"user-agent"``, version
ID, host ID, signature version, cipher suite, authentication type, host header, TLS
version, access point ARN, ACL required. Older lines stop earlier (S3 appended fields over
the years): every field after the user agent is optional, and fields S3 may add later are
kept in ``aws.s3access.extra``. ``-`` is null.
"""

from __future__ import annotations

import re
from typing import Any

from logferry.formats.base import LineFormat, base_document, error_document, put_address
from logferry.formats.timeparse import apache_time_to_iso
from logferry.model import Document, ParseContext, Record

_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_LINE_RE = re.compile(
    r"(\S+) (\S+) \[([^\]]*)\] (\S+) (\S+) (\S+) (\S+) (\S+) (?:-|" + _QUOTED + r") "
    r"(\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (?:-|" + _QUOTED + r") (?:-|" + _QUOTED + r")"
    r"(?: (.*))?"
)
"""The fields up to the user agent (present in every line), then the rest, space-separated."""

TRAILING_FIELDS = (
    "version_id",
    "host_id",
    "signature_version",
    "cipher_suite",
    "authentication_type",
    "host_header",
    "tls_version",
    "access_point_arn",
    "acl_required",
)
"""The optional fields after the user agent, in the documented order (``aws.s3access.*``)."""

_REQUEST_RE = re.compile(r"(\S+) (\S+)(?: HTTP/(\S+))?")
_TLS_RE = re.compile(r"(TLS|SSL)v(\d+)(?:\.(\d+))?", re.IGNORECASE)
_INT_FIELDS = ("http_status", "bytes_sent", "object_size", "total_time", "turn_around_time")


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _unescape(value: str) -> str:
    """A quoted field's text: ``\\"`` and ``\\\\`` as the characters they stand for."""
    return re.sub(r"\\(.)", r"\1", value)


def _put_request(doc: Document, request_uri: str) -> None:
    """``GET /bucket/key?x=y HTTP/1.1`` as ``http.request.method``, ``url.*``, ``http.version``."""
    match = _REQUEST_RE.fullmatch(request_uri)
    if match is None:
        return
    method, target, version = match.groups()
    doc.setdefault("http", {}).setdefault("request", {})["method"] = method
    url = doc.setdefault("url", {})
    url["original"] = target
    path, sep, query = target.partition("?")
    url["path"] = path
    if sep:
        url["query"] = query
    if version:
        doc["http"]["version"] = version


def _put_tls(doc: Document, tls_version: str | None, cipher: str | None) -> None:
    tls: dict[str, Any] = {}
    if cipher is not None:
        tls["cipher"] = cipher
    if tls_version is not None:
        match = _TLS_RE.fullmatch(tls_version)
        if match is None:
            tls["version"] = tls_version
        else:
            tls["version_protocol"] = match[1].lower()
            tls["version"] = f"{match[2]}.{match[3] or 0}"
    if tls:
        doc["tls"] = tls


class S3AccessFormat(LineFormat):
    """S3 server access logs (``aws.s3access``): one document per request line.

    ``@timestamp`` from the bracketed time; ``client.ip`` (only a valid IP; else
    ``client.address``), ``client.user.id`` (requester), ``event.id`` (request ID),
    ``event.action`` (operation), ``http.request.method``/``url.*``/``http.version`` from
    the request URI, ``http.response.status_code``, ``http.response.body.bytes`` (bytes
    sent), ``event.duration`` (ns, from total time), ``http.request.referrer``,
    ``user_agent.original``, ``tls.*``; every field also under ``aws.s3access`` with
    Filebeat's names.
    """

    name = "s3access"
    dataset = "aws.s3access"
    fields_hold_line = True

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One document per line; a line that is not an access log line gives an error one."""
        doc = base_document(record, ctx, self.dataset)
        match = _LINE_RE.fullmatch(doc["message"])
        if match is None:
            return [error_document(record, ctx, self.dataset, "not an S3 server access log line")]
        (
            owner,
            bucket,
            time,
            remote_ip,
            requester,
            request_id,
            operation,
            key,
            request_uri,
            status,
            error_code,
            bytes_sent,
            object_size,
            total_time,
            turn_around,
            referrer,
            user_agent,
            rest,
        ) = match.groups()
        try:
            doc["@timestamp"] = apache_time_to_iso(time)
        except ValueError as exc:
            return [error_document(record, ctx, self.dataset, str(exc))]
        fields: dict[str, Any] = {
            "bucket_owner": owner,
            "bucket": bucket,
            "remote_ip": remote_ip,
            "requester": requester,
            "request_id": request_id,
            "operation": operation,
            "key": key,
            "request_uri": request_uri,
            "http_status": status,
            "error_code": error_code,
            "bytes_sent": bytes_sent,
            "object_size": object_size,
            "total_time": total_time,
            "turn_around_time": turn_around,
            "referrer": referrer,
            "user_agent": user_agent,
        }
        extra: list[str] = []
        if rest:
            values = rest.split(" ")
            fields.update(zip(TRAILING_FIELDS, values, strict=False))
            extra = values[len(TRAILING_FIELDS) :]
        aws = {k: v for k, v in fields.items() if v is not None and v != "-" and v != ""}
        for name in ("request_uri", "referrer", "user_agent"):
            if "\\" in aws.get(name, ""):
                aws[name] = _unescape(aws[name])
        for name in _INT_FIELDS:
            if name in aws:
                number = _int(aws[name])
                if number is None:
                    reason = f"{name} is not a number: {aws[name]!r}"
                    return [error_document(record, ctx, self.dataset, reason)]
                aws[name] = number
        if extra:
            aws["extra"] = extra
        doc["aws"] = {"s3access": aws}
        self._put_ecs(doc, aws)
        return [doc]

    @staticmethod
    def _put_ecs(doc: Document, aws: dict[str, Any]) -> None:
        put_address(doc, "client", aws.get("remote_ip"))
        requester = aws.get("requester")
        if requester is not None:
            doc.setdefault("client", {})["user"] = {"id": requester}
        event = doc["event"]
        if "request_id" in aws:
            event["id"] = aws["request_id"]
        if "operation" in aws:
            event["action"] = aws["operation"]
        if "request_uri" in aws:
            _put_request(doc, aws["request_uri"])
        status = aws.get("http_status")
        response: dict[str, Any] = {}
        if status is not None:
            response["status_code"] = status
            event["outcome"] = "failure" if status >= 400 else "success"
        if "bytes_sent" in aws:
            response["body"] = {"bytes": aws["bytes_sent"]}
        if response:
            doc.setdefault("http", {})["response"] = response
        if "total_time" in aws:
            event["duration"] = aws["total_time"] * 1_000_000
        if "referrer" in aws:
            doc.setdefault("http", {}).setdefault("request", {})["referrer"] = aws["referrer"]
        if "user_agent" in aws:
            doc["user_agent"] = {"original": aws["user_agent"]}
        if "host_header" in aws:
            doc.setdefault("url", {})["domain"] = aws["host_header"]
        _put_tls(doc, aws.get("tls_version"), aws.get("cipher_suite"))
