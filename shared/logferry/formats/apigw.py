"""API Gateway access logs in JSON format (an object per line, or glued; keys set by the user)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from logferry.formats import jsonutil
from logferry.formats.base import LineFormat, base_document, error_document, put, put_address
from logferry.formats.timeparse import apache_time_to_iso, is_epoch_ms, iso_from_epoch_ms
from logferry.model import Document, ParseContext, Record

LATENCY_KEYS = ("responseLatency", "latency", "integrationLatency")
"""Latency fields in milliseconds, most inclusive first; the first present sets event.duration."""

_STRING_FIELDS = {
    "requestId": "http.request.id",
    "httpMethod": "http.request.method",
    "domainName": "url.domain",
    "userAgent": "user_agent.original",
    "user": "user.name",
}


def _text(value: Any) -> str | None:
    """A field's value as text, with API Gateway's ``-`` and empty as ``None``."""
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value)
    return None if text in ("-", "") else text


def _number(value: Any) -> float | None:
    text = _text(value)
    if text is None or isinstance(value, bool):
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _timestamp(fields: dict[str, Any]) -> str | None:
    """``requestTimeEpoch`` (ms, or s if small), else ``requestTime`` (CLF layout)."""
    epoch = _number(fields.get("requestTimeEpoch"))
    ms = None if epoch is None else int(epoch if epoch > 1e11 else epoch * 1000)
    if is_epoch_ms(ms):
        return iso_from_epoch_ms(ms)
    text = _text(fields.get("requestTime"))
    return apache_time_to_iso(text) if text is not None else None


class ApiGwFormat(LineFormat):
    """API Gateway JSON access logs (``aws.apigateway``).

    Maps the usual ``$context`` keys to ECS (``source.ip``, ``http.request.method``,
    ``url.path``, ``http.response.status_code`` as an int, ``http.version``,
    ``http.response.body.bytes``, ``event.duration`` in ns, ``http.request.id``,
    ``event.outcome``) and keeps every original field under ``aws.apigateway``.
    """

    name = "apigw"
    dataset = "aws.apigateway"

    def frame(self, chunks: Iterable[bytes], start_offset: int = 0) -> Iterator[Record]:
        """JSON lines; objects glued on one line (Firehose's ``}{``) are records of their own."""
        return jsonutil.unglue(super().frame(chunks, start_offset))

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One document per JSON line; anything else gives an error document."""
        doc = base_document(record, ctx, self.dataset)
        try:
            fields = jsonutil.loads_object(doc["message"])
        except ValueError as exc:
            return [error_document(record, ctx, self.dataset, str(exc))]
        try:
            timestamp = _timestamp(fields)
        except ValueError as exc:
            return [error_document(record, ctx, self.dataset, f"bad requestTime: {exc}")]
        doc["@timestamp"] = timestamp or ctx.extra.get("object_time") or iso_from_epoch_ms(0)
        for key, field in _STRING_FIELDS.items():
            put(doc, field, _text(fields.get(key)))
        put_address(doc, "source", _text(fields.get("ip") or fields.get("sourceIp")))
        put(doc, "url.path", _text(fields.get("path")) or _text(fields.get("resourcePath")))
        protocol = _text(fields.get("protocol"))
        if protocol is not None:
            put(doc, "http.version", protocol.removeprefix("HTTP/"))
        self._put_numbers(doc, fields)
        doc.setdefault("aws", {})["apigateway"] = fields
        return [doc]

    @staticmethod
    def _put_numbers(doc: Document, fields: dict[str, Any]) -> None:
        status = _number(fields.get("status"))
        if status is not None:
            put(doc, "http.response.status_code", int(status))
            put(doc, "event.outcome", "failure" if status >= 400 else "success")
        length = _number(fields.get("responseLength"))
        if length is not None:
            put(doc, "http.response.body.bytes", int(length))
        for key in LATENCY_KEYS:
            latency = _number(fields.get(key))
            if latency is not None:
                put(doc, "event.duration", int(latency * 1_000_000))
                break
