"""AWS WAF (v2) logs delivered to S3 by Firehose or directly: one JSON object per request.

Objects are written one per line; Firehose may also glue records with no delimiter
(``{...}{...}`` on one line). Framing cuts such a line into one record per JSON object, each
with its own byte offset, so every request is one document with its own id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from logferry.formats import jsonutil
from logferry.formats.base import (
    LineFormat,
    base_document,
    error_document,
    frame_lines,
    put_address,
)
from logferry.formats.timeparse import is_epoch_ms, iso_from_epoch_ms
from logferry.model import Document, ParseContext, Record

_ARN_RE = re.compile(r"arn:[^:]+:wafv?2?[^:]*:([^:]*):([^:]*):(.+)")
"""``arn:aws:wafv2:<region>:<account>:<scope>/webacl/<name>/<id>`` (region empty for global)."""

_HOST_RE = re.compile(r"(\[[^\]]+\]|[^:]+)(?::(\d+))?")

_LISTS = {
    "terminatingRuleMatchDetails": "terminating_rule_match_details",
    "ruleGroupList": "rule_group_list",
    "rateBasedRuleList": "rate_based_rule_list",
    "nonTerminatingMatchingRules": "non_terminating_matching_rules",
    "requestHeadersInserted": "request_headers_inserted",
    "oversizeFields": "oversize_fields",
}
"""Lists of the log record kept (when not empty) under ``aws.waf`` with Filebeat's names."""

_SCALARS = {
    "formatVersion": "format_version",
    "terminatingRuleType": "terminating_rule_type",
    "responseCodeSent": "response_code_sent",
    "requestBodySize": "request_body_size",
    "requestBodySizeInspectedByWAF": "request_body_size_inspected_by_waf",
    "ja4Fingerprint": "ja4_fingerprint",
}

_OBJECTS = {
    "captchaResponse": "captcha_response",
    "challengeResponse": "challenge_response",
}

_ACTION_TYPES = {"ALLOW": "allowed", "BLOCK": "denied"}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value)
    return None if text in ("", "-") else text


def _headers(headers: Any) -> dict[str, Any]:
    """``[{"name": "Host", "value": "x"}, ...]`` as ``{"Host": "x"}`` (a repeated name: a list)."""
    result: dict[str, Any] = {}
    if not isinstance(headers, list):
        return result
    for header in headers:
        if not isinstance(header, dict):
            continue
        name, value = header.get("name"), header.get("value")
        if not isinstance(name, str) or not name:
            continue
        if name in result:
            previous = result[name]
            result[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            result[name] = value
    return result


def _header(headers: dict[str, Any], name: str) -> str | None:
    """A header's (first) value, its name matched case-insensitively."""
    for key, value in headers.items():
        if key.lower() == name:
            first = value[0] if isinstance(value, list) and value else value
            return first if isinstance(first, str) and first else None
    return None


class WafFormat(LineFormat):
    """AWS WAF logs (``aws.waf``): one document per logged request.

    ``@timestamp`` from ``timestamp`` (ms); ``source.ip`` (only a valid IP, else
    ``source.address``) and ``source.geo.country_iso_code`` from ``httpRequest``;
    ``http.request.method``/``id``, ``http.version``, ``url.path`` (``uri``), ``url.query``
    (``args``), ``url.domain``/``port`` and ``user_agent.original`` from the headers;
    ``event.action`` (the action), ``rule.id``/``rule.name``/``rule.ruleset`` (the
    terminating rule); the web ACL (``aws.waf.arn``, ``aws.waf.id``, ``cloud.*`` from the
    ARN), headers as an object and the rule lists under ``aws.waf``.
    """

    name = "waf"
    dataset = "aws.waf"

    def frame(self, chunks: Iterable[bytes], start_offset: int = 0) -> Iterator[Record]:
        """Lines, a line of glued objects cut into one record per object (``jsonutil.unglue``)."""
        return jsonutil.unglue(frame_lines(chunks, start_offset))

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One document per object; anything else gives an error document."""
        doc = base_document(record, ctx, self.dataset)
        try:
            fields = jsonutil.loads_object(doc["message"])
        except ValueError as exc:
            return [error_document(record, ctx, self.dataset, str(exc))]
        timestamp = fields.get("timestamp")
        if not is_epoch_ms(timestamp):
            reason = f"no timestamp in milliseconds (timestamp {timestamp!r})"
            return [error_document(record, ctx, self.dataset, reason)]
        doc["@timestamp"] = iso_from_epoch_ms(timestamp)
        waf: dict[str, Any] = {}
        doc["aws"] = {"waf": waf}
        self._put_acl(doc, waf, fields)
        self._put_rule(doc, waf, fields)
        request = fields.get("httpRequest")
        if isinstance(request, dict):
            self._put_request(doc, waf, request)
        for key, target in _LISTS.items():
            value = fields.get(key)
            if isinstance(value, list) and value:
                waf[target] = value
        for key, target in _SCALARS.items():
            value = fields.get(key)
            if value is not None and not isinstance(value, dict | list):
                waf[target] = value
        for key, target in _OBJECTS.items():
            value = fields.get(key)
            if isinstance(value, dict) and value:
                waf[target] = value
        labels = fields.get("labels")
        if isinstance(labels, list):
            names = [label.get("name") for label in labels if isinstance(label, dict)]
            if names := [n for n in names if isinstance(n, str)]:
                waf["labels"] = names
        ja3 = _text(fields.get("ja3Fingerprint"))
        if ja3 is not None:
            doc["tls"] = {"client": {"ja3": ja3}}
        return [doc]

    @staticmethod
    def _put_acl(doc: Document, waf: dict[str, Any], fields: dict[str, Any]) -> None:
        arn = _text(fields.get("webaclId"))
        if arn is not None:
            waf["arn"] = arn
            match = _ARN_RE.fullmatch(arn)
            if match is not None:
                region, account, resource = match.groups()
                waf["id"] = resource
                cloud = doc.setdefault("cloud", {})
                if region:
                    cloud["region"] = region
                if account:
                    cloud["account"] = {"id": account}
                cloud["service"] = {"name": "wafv2"}
        source: dict[str, str] = {}
        for key, target in (("httpSourceName", "name"), ("httpSourceId", "id")):
            value = _text(fields.get(key))
            if value is not None:
                source[target] = value
        if source:
            waf["source"] = source

    @staticmethod
    def _put_rule(doc: Document, waf: dict[str, Any], fields: dict[str, Any]) -> None:
        event = doc["event"]
        event["category"] = ["web"]
        action = _text(fields.get("action"))
        if action is not None:
            event["action"] = action
            waf["action"] = action
            kind = _ACTION_TYPES.get(action)
            event["type"] = ["access", kind] if kind else ["access"]
        rule: dict[str, str] = {}
        rule_id = _text(fields.get("terminatingRuleId"))
        if rule_id is not None:
            rule["id"] = rule["name"] = rule_id
        ruleset = _text(fields.get("terminatingRuleType"))
        if ruleset is not None:
            rule["ruleset"] = ruleset
        if rule:
            doc["rule"] = rule

    @staticmethod
    def _put_request(doc: Document, waf: dict[str, Any], request: dict[str, Any]) -> None:
        put_address(doc, "source", _text(request.get("clientIp")))
        country = _text(request.get("country"))
        if country is not None:
            doc.setdefault("source", {})["geo"] = {"country_iso_code": country}
        http: dict[str, Any] = {}
        http_request: dict[str, Any] = {}
        method = _text(request.get("httpMethod"))
        if method is not None:
            http_request["method"] = method
        request_id = _text(request.get("requestId"))
        if request_id is not None:
            http_request["id"] = request_id
        if http_request:
            http["request"] = http_request
        version = _text(request.get("httpVersion"))
        if version is not None:
            http["version"] = version.removeprefix("HTTP/")
        if http:
            doc["http"] = http
        url: dict[str, Any] = {}
        uri = _text(request.get("uri"))
        if uri is not None:
            url["path"] = uri
        args = _text(request.get("args"))
        if args is not None:
            url["query"] = args
        headers = _headers(request.get("headers"))
        if headers:
            waf["request"] = {"headers": headers}
            host = _header(headers, "host")
            match = _HOST_RE.fullmatch(host) if host is not None else None
            if match is not None:
                url["domain"] = match[1]
                if match[2]:
                    url["port"] = int(match[2])
            agent = _header(headers, "user-agent")
            if agent is not None:
                doc["user_agent"] = {"original": agent}
        if url:
            doc["url"] = url
