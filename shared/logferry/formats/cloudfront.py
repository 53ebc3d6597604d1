"""CloudFront standard (access) logs: W3C extended format, one request per tab-separated line.

An object starts with ``#Version: 1.0`` and ``#Fields: date time x-edge-location ...``; the
``#Fields`` header gives the order of the values, so a distribution that logs another field
list still parses. Without a header (a resumed read, a hand-cut file) the documented default
33-field order is used. ``-`` is null; some values are URL-encoded by CloudFront
(``cs-uri-stem``, ``cs(Referer)``, ``cs(User-Agent)``, ``cs(Cookie)``) and are decoded once;
``cs-uri-query`` stays as logged (a query string is kept encoded, as ECS ``url.query`` is).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from logferry.formats.base import LineFormat, base_document, decode, error_document, put_address
from logferry.model import Document, ParseContext, Record

DEFAULT_FIELDS: tuple[str, ...] = (
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
)
"""The standard log fields in the order CloudFront writes them by default (AWS docs)."""

_STATE_KEY = "cloudfront.layout"
"""Where the layout of the object's ``#Fields`` header is kept (in ``ParseContext.extra``)."""

_Setter = Callable[[Document, str], None]


def _path(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("."))


def _set(doc: Document, path: tuple[str, ...], value: Any) -> None:
    node = doc
    for part in path[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def _text(*targets: str, transform: Callable[[str], Any] | None = None) -> _Setter:
    """A setter putting the value (through ``transform``; ``None`` skips) at ``targets``."""
    paths = [_path(t) for t in targets]

    def setter(doc: Document, value: str) -> None:
        converted = value if transform is None else transform(value)
        if converted is None:
            return
        for path in paths:
            _set(doc, path, converted)

    return setter


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _float(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@lru_cache(maxsize=1024)
def _unquote(value: str) -> str:
    return unquote(value) if "%" in value else value


def _status(doc: Document, value: str) -> None:
    status = _int(value)
    if status is None:
        return
    _set(doc, ("http", "response", "status_code"), status)
    _set(doc, ("event", "outcome"), "failure" if status >= 400 else "success")


def _duration(doc: Document, value: str) -> None:
    seconds = _float(value)
    if seconds is not None:
        _set(doc, ("event", "duration"), round(seconds * 1_000_000_000))
        _set(doc, ("aws", "cloudfront", "time_taken"), seconds)


@lru_cache(maxsize=64)
def _tls(value: str) -> tuple[str, str] | None:
    """``TLSv1.2`` as ``("tls", "1.2")``, ``SSLv3`` as ``("ssl", "3.0")``."""
    match = re.fullmatch(r"(TLS|SSL)v(\d+)(?:\.(\d+))?", value)
    if match is None:
        return None
    return match[1].lower(), f"{match[2]}.{match[3] or 0}"


def _ssl_protocol(doc: Document, value: str) -> None:
    parsed = _tls(value)
    if parsed is None:
        _set(doc, ("tls", "version"), value)
        return
    _set(doc, ("tls", "version_protocol"), parsed[0])
    _set(doc, ("tls", "version"), parsed[1])


def _source_ip(doc: Document, value: str) -> None:
    put_address(doc, "source", value)


def _host(doc: Document, value: str) -> None:
    _set(doc, ("aws", "cloudfront", "domain"), value)
    put_address(doc, "destination", value)
    if "destination" in doc and "ip" not in doc["destination"]:
        doc["destination"]["domain"] = value


def _http_version(value: str) -> str:
    return value.removeprefix("HTTP/")


SETTERS: dict[str, _Setter] = {
    "x-edge-location": _text("aws.cloudfront.edge_location"),
    "sc-bytes": _text("http.response.bytes", transform=_int),
    "c-ip": _source_ip,
    "cs-method": _text("http.request.method"),
    "cs(Host)": _host,
    "cs-uri-stem": _text("url.path", transform=_unquote),
    "sc-status": _status,
    "cs(Referer)": _text("http.request.referrer", transform=_unquote),
    "cs(User-Agent)": _text("user_agent.original", transform=_unquote),
    "cs-uri-query": _text("url.query"),
    "cs(Cookie)": _text("aws.cloudfront.cookie", transform=_unquote),
    "x-edge-result-type": _text("aws.cloudfront.edge_result_type"),
    "x-edge-request-id": _text("http.request.id", "event.id"),
    "x-host-header": _text("url.domain"),
    "cs-protocol": _text("network.protocol", "url.scheme"),
    "cs-bytes": _text("http.request.bytes", transform=_int),
    "time-taken": _duration,
    "x-forwarded-for": _text("aws.cloudfront.forwarded_for"),
    "ssl-protocol": _ssl_protocol,
    "ssl-cipher": _text("tls.cipher"),
    "x-edge-response-result-type": _text("aws.cloudfront.edge_response_result_type"),
    "cs-protocol-version": _text("http.version", transform=_http_version),
    "fle-status": _text("aws.cloudfront.fle_status"),
    "fle-encrypted-fields": _text("aws.cloudfront.fle_encrypted_fields", transform=_int),
    "c-port": _text("source.port", transform=_int),
    "time-to-first-byte": _text("aws.cloudfront.time_to_first_byte", transform=_float),
    "x-edge-detailed-result-type": _text("aws.cloudfront.edge_detailed_result_type"),
    "sc-content-type": _text("http.response.mime_type", "aws.cloudfront.content_type"),
    "sc-content-len": _text("http.response.body.bytes", transform=_int),
    "sc-range-start": _text("aws.cloudfront.range_start", transform=_int),
    "sc-range-end": _text("aws.cloudfront.range_end", transform=_int),
}
"""How each documented field lands in the document (ECS names, as Filebeat's aws module)."""


def _other_field(name: str) -> _Setter:
    """A field this module does not know: kept under ``aws.cloudfront.<snake_case name>``."""
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "field"
    return _text(f"aws.cloudfront.{key}")


class Layout:
    """The positions of one field list: where date and time are, and a setter per field."""

    __slots__ = ("count", "date", "plan", "time")

    def __init__(self, fields: Sequence[str]) -> None:
        self.count = len(fields)
        self.date = fields.index("date") if "date" in fields else -1
        self.time = fields.index("time") if "time" in fields else -1
        self.plan = [
            (i, SETTERS.get(name) or _other_field(name))
            for i, name in enumerate(fields)
            if name not in ("date", "time")
        ]


@lru_cache(maxsize=64)
def layout_for(fields: tuple[str, ...]) -> Layout:
    """The (cached) layout of a ``#Fields`` list."""
    return Layout(fields)


DEFAULT_LAYOUT = layout_for(DEFAULT_FIELDS)


@lru_cache(maxsize=4096)
def _timestamp(date: str, time: str) -> str:
    """``2019-12-04`` and ``21:02:31`` (UTC) as ``2019-12-04T21:02:31.000Z``."""
    if len(date) != 10 or len(time) != 8:
        raise ValueError(f"bad date/time {date!r} {time!r}")
    datetime.fromisoformat(f"{date}T{time}")  # validates
    return f"{date}T{time}.000Z"


class CloudFrontFormat(LineFormat):
    """CloudFront standard logs (``aws.cloudfront``): one document per request line.

    ``@timestamp`` from ``date`` + ``time`` (UTC); ``source.ip``/``source.port``,
    ``http.request.method``, ``url.path``/``url.query``/``url.domain``,
    ``http.response.status_code``, ``user_agent.original``, ``tls.*``, ``event.duration``
    (ns, from ``time-taken``); the CloudFront-specific fields under ``aws.cloudfront``.
    Header lines (``#Version``, ``#Fields``) give no documents.
    """

    name = "cloudfront"
    dataset = "aws.cloudfront"

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One document per request line; ``#`` lines set the layout and give none."""
        data = record.data
        if data[:1] == b"#":
            if data[:8] == b"#Fields:":
                fields = tuple(decode(data[8:]).split())
                ctx.extra[_STATE_KEY] = layout_for(fields)
            return []
        layout: Layout = ctx.extra.get(_STATE_KEY) or DEFAULT_LAYOUT
        doc = base_document(record, ctx, self.dataset)
        values = doc["message"].split("\t")
        if len(values) != layout.count and (
            len(values) < layout.count or any(values[layout.count :])
        ):
            reason = f"{len(values)} tab-separated fields, the field list names {layout.count}"
            return [error_document(record, ctx, self.dataset, reason)]
        if layout.date < 0 or layout.time < 0:
            return [error_document(record, ctx, self.dataset, "no date and time fields")]
        try:
            doc["@timestamp"] = _timestamp(values[layout.date], values[layout.time])
        except ValueError as exc:
            return [error_document(record, ctx, self.dataset, str(exc))]
        for index, setter in layout.plan:
            value = values[index]
            if value != "-" and value:
                setter(doc, value)
        return [doc]
