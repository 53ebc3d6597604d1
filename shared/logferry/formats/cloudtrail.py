"""AWS CloudTrail log files: one (gzip) JSON object ``{"Records": [...]}`` per file.

Framing is a streaming splitter: it follows the JSON structure chunk by chunk (strings and
escapes included) and yields each element of the ``Records`` array as one record at its own
byte offset, so memory is bounded by the largest record, not the file. Digest files
(``CloudTrail-Digest`` in the key, or a JSON object with ``digestStartTime`` and no
``Records``) give no documents. A file with no ``Records`` array, or cut in the middle of a
record, gives error documents: nothing is dropped silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterable, Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any

from logferry.formats import jsonutil
from logferry.formats.base import LogFormat, base_document, error_document, put_address
from logferry.model import Document, ParseContext, Record, iso

MAX_RECORD_BYTES = 64 * 1024 * 1024
"""A record growing past this is cut (its start shipped as an error document)."""

HEAD_BYTES = 64 * 1024
"""How much of a file without a ``Records`` array its error document keeps."""

_IN_STRING = re.compile(rb'["\\]')
_STRUCTURE = re.compile(rb'[{}\[\]"]')
_QUOTE, _BACKSLASH, _OPEN_OBJECT, _OPEN_ARRAY = 0x22, 0x5C, 0x7B, 0x5B
_DIGEST_MARK = b'"digestStartTime"'
_NOT_SEPARATOR = re.compile(r"[^ \t\r\n,]")
_DECODER = json.JSONDecoder()


class _Splitter:
    """The state of :func:`frame_records` between chunks."""

    def __init__(self, start_offset: int, max_record: int) -> None:
        self.buf = bytearray()
        self.base = start_offset  # absolute offset of buf[0]
        self.pos = 0  # next byte of buf to scan (may pass its end after a backslash)
        self.max_record = max_record
        resumed = start_offset > 0  # a continuation starts at a record inside Records
        self.depth = 2 if resumed else 0
        self.in_records = resumed
        self.found_records = resumed
        self.in_string = False
        self.str_start = -1
        self.last_key = b""
        self.elem_start = -1
        self.dropping = False  # inside a record already cut for its size
        self.count = 0
        self.start = start_offset
        self.head = bytearray()

    def _emit(self, start: int, end: int) -> Record:
        self.count += 1
        return Record(self.base + start, bytes(self.buf[start:end]), self.count)

    def feed(self, chunk: bytes) -> Iterator[Record]:
        """The records completed by ``chunk``."""
        if not self.found_records and len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        buf = self.buf
        buf += chunk
        size = len(buf)
        pos = self.pos
        while pos < size:
            if self.depth == 2 and self.in_records and self.elem_start < 0 and not self.in_string:
                pos = yield from self._decode_run(pos)
                if pos >= size:
                    break
            if self.in_string:
                match = _IN_STRING.search(buf, pos)
                if match is None:
                    pos = size
                    break
                i = match.start()
                if buf[i] == _BACKSLASH:
                    pos = i + 2  # past the escaped byte, even if it is still to come
                    continue
                self.in_string = False
                pos = i + 1
                if self.depth == 1:
                    self.last_key = bytes(buf[self.str_start + 1 : i])
                elif self.depth == 2 and self.in_records:
                    if self.elem_start >= 0:  # a string element (a record that does not parse)
                        yield self._emit(self.elem_start, pos)
                    self.elem_start = -1
                    self.dropping = False
                continue
            match = _STRUCTURE.search(buf, pos)
            if match is None:
                pos = size
                break
            i = match.start()
            byte = buf[i]
            pos = i + 1
            element_starts = self.depth == 2 and self.in_records and self.elem_start < 0
            if byte == _QUOTE:
                self.in_string = True
                self.str_start = i
                if element_starts and not self.dropping:
                    self.elem_start = i
            elif byte in (_OPEN_OBJECT, _OPEN_ARRAY):
                if element_starts and not self.dropping:
                    self.elem_start = i
                if self.depth == 1 and byte == _OPEN_ARRAY:
                    self.in_records = self.last_key == b"Records"
                    self.found_records = self.found_records or self.in_records
                self.depth += 1
            else:
                self.depth -= 1
                if self.depth == 1:
                    self.in_records = False
                elif self.depth == 2 and self.in_records:
                    if self.elem_start >= 0:
                        yield self._emit(self.elem_start, pos)
                    self.elem_start = -1
                    self.dropping = False
        self.pos = pos
        if self.elem_start >= 0 and size - self.elem_start > self.max_record:
            yield self._emit(self.elem_start, self.elem_start + self.max_record)
            self.elem_start = -1
            self.dropping = True
        self._trim()

    def _decode_run(self, pos: int) -> Generator[Record, None, int]:
        """The fast path between records: whole objects cut by the C JSON decoder.

        Stops (returning the byte position reached) at the first thing that is not a whole
        object: the end of ``Records``, a record still incomplete in the buffer, anything
        else; the scanner goes on from there.
        """
        text = self.buf[pos:].decode("utf-8", "surrogateescape")
        at = 0
        while True:
            found = _NOT_SEPARATOR.search(text, at)
            if found is None:
                return pos + len(text) - at  # only separators left (ASCII)
            pos += found.start() - at  # separators are ASCII: one byte per character
            at = found.start()
            if text[at] != "{":
                return pos
            try:
                _obj, end = _DECODER.raw_decode(text, at)
            except ValueError:
                return pos
            size = len(text[at:end].encode("utf-8", "surrogateescape"))
            self.count += 1
            yield Record(self.base + pos, bytes(self.buf[pos : pos + size]), self.count)
            pos += size
            at = end

    def _trim(self) -> None:
        """Drop the bytes no record or key can still need."""
        if self.elem_start >= 0:
            keep = self.elem_start
        elif self.in_string and self.depth == 1:
            keep = self.str_start
        else:
            keep = min(self.pos, len(self.buf))
        if keep <= 0:
            return
        del self.buf[:keep]
        self.base += keep
        self.pos -= keep
        if self.elem_start >= 0:
            self.elem_start -= keep
        self.str_start -= keep

    def finish(self) -> Iterator[Record]:
        """What is left at the end: a cut record, or a file that had no ``Records``."""
        if self.elem_start >= 0:
            yield self._emit(self.elem_start, len(self.buf))
        elif not self.found_records and self.head.strip() and _DIGEST_MARK not in self.head:
            self.count += 1
            yield Record(self.start, bytes(self.head), self.count)


def frame_records(
    chunks: Iterable[bytes], start_offset: int = 0, max_record: int = MAX_RECORD_BYTES
) -> Iterator[Record]:
    """One record per element of the file's ``Records`` array (``line_no`` counts them),
    whatever the chunking; see :class:`_Splitter` for what else a file can give."""
    splitter = _Splitter(start_offset, max_record)
    for chunk in chunks:
        if chunk:
            yield from splitter.feed(chunk)
    yield from splitter.finish()


@lru_cache(maxsize=4096)
def _event_time(value: str) -> str:
    """``2014-03-06T21:22:54Z`` as ``2014-03-06T21:22:54.000Z``."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"eventTime without a zone: {value!r}")
    return iso(parsed)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value)
    return text if text else None


def _json_text(value: Any) -> str | None:
    """An object of free shape as compact JSON text (its keys differ per API: no mapping)."""
    if value is None:
        return None
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


_SCALARS = {
    "eventVersion": "event_version",
    "eventType": "event_type",
    "eventCategory": "event_category",
    "requestID": "request_id",
    "sharedEventID": "shared_event_id",
    "recipientAccountId": "recipient_account_id",
    "vpcEndpointId": "vpc_endpoint_id",
    "apiVersion": "api_version",
    "errorCode": "error_code",
    "errorMessage": "error_message",
    "sessionCredentialFromConsole": "console_session",
}
_BOOLEANS = {"readOnly": "read_only", "managementEvent": "management_event"}
_JSON_TEXTS = {
    "requestParameters": "request_parameters",
    "responseElements": "response_elements",
    "additionalEventData": "additional_eventdata",
    "serviceEventDetails": "service_event_details",
    "insightDetails": "insight_details",
    "edgeDeviceDetails": "edge_device_details",
}
_IDENTITY = {
    "type": "type",
    "principalId": "principal_id",
    "arn": "arn",
    "accountId": "account_id",
    "accessKeyId": "access_key_id",
    "userName": "user_name",
    "invokedBy": "invoked_by",
    "identityProvider": "identity_provider",
}
_TLS_VERSION = re.compile(r"TLSv(\d+)(?:\.(\d+))?")


def _user_identity(doc: Document, trail: dict[str, Any], identity: Any) -> None:
    if not isinstance(identity, dict):
        return
    out: dict[str, Any] = {}
    for key, target in _IDENTITY.items():
        value = _text(identity.get(key))
        if value is not None:
            out[target] = value
    session = identity.get("sessionContext")
    user_name = out.get("user_name")
    if isinstance(session, dict):
        context: dict[str, Any] = {}
        attributes = session.get("attributes")
        if isinstance(attributes, dict):
            for key, target in (
                ("mfaAuthenticated", "mfa_authenticated"),
                ("creationDate", "creation_date"),
            ):
                value = _text(attributes.get(key))
                if value is not None:
                    context[target] = value
        issuer = session.get("sessionIssuer")
        if isinstance(issuer, dict):
            issued = {
                target: value
                for key, target in _IDENTITY.items()
                if (value := _text(issuer.get(key))) is not None
            }
            if issued:
                context["session_issuer"] = issued
                user_name = user_name or issued.get("user_name")
        if context:
            out["session_context"] = context
    if out:
        trail["user_identity"] = out
    user: dict[str, Any] = {}
    if user_name is not None:
        user["name"] = user_name
    if "principal_id" in out:
        user["id"] = out["principal_id"]
    if user:
        doc["user"] = user


def _tls(doc: Document, trail: dict[str, Any], details: Any) -> None:
    if not isinstance(details, dict):
        return
    out = {
        target: value
        for key, target in (
            ("tlsVersion", "tls_version"),
            ("cipherSuite", "cipher_suite"),
            ("clientProvidedHostHeader", "client_provided_host_header"),
        )
        if (value := _text(details.get(key))) is not None
    }
    if not out:
        return
    trail["tls_details"] = out
    tls: dict[str, Any] = {}
    version = out.get("tls_version")
    match = _TLS_VERSION.fullmatch(version) if version else None
    if match is not None:
        tls["version"] = f"{match[1]}.{match[2] or 0}"
        tls["version_protocol"] = "tls"
    if "cipher_suite" in out:
        tls["cipher"] = out["cipher_suite"]
    if "client_provided_host_header" in out:
        tls["client"] = {"server_name": out["client_provided_host_header"]}
    if tls:
        doc["tls"] = tls


def _resources(trail: dict[str, Any], resources: Any) -> None:
    if not isinstance(resources, list):
        return
    out = []
    for resource in resources:
        if isinstance(resource, dict):
            item = {
                target: value
                for key, target in (("ARN", "arn"), ("accountId", "account_id"), ("type", "type"))
                if (value := _text(resource.get(key))) is not None
            }
            if item:
                out.append(item)
    if out:
        trail["resources"] = out


class CloudTrailFormat(LogFormat):
    """CloudTrail log files (``aws.cloudtrail``): one document per record.

    ``@timestamp`` from ``eventTime``; ``event.action`` (eventName), ``event.provider``
    (eventSource), ``event.id`` (eventID), ``event.outcome`` (failure with an errorCode);
    ``source.address`` from sourceIPAddress and ``source.ip`` only for a valid IP (an AWS
    service name such as ``ec2.amazonaws.com`` stays an address); ``user_agent.original``,
    ``user.name``/``user.id`` from userIdentity, ``cloud.region`` (awsRegion),
    ``cloud.account.id`` (recipientAccountId), ``tls.*`` from tlsDetails; the rest under
    ``aws.cloudtrail`` with request parameters and response elements as JSON text.
    """

    name = "cloudtrail"
    dataset = "aws.cloudtrail"

    def frame(self, chunks: Iterable[bytes], start_offset: int = 0) -> Iterator[Record]:
        """One record per element of ``Records`` (see :func:`frame_records`)."""
        return frame_records(chunks, start_offset)

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One document per CloudTrail record; a digest file gives none."""
        if "CloudTrail-Digest" in ctx.ref.key:
            return []
        doc = base_document(record, ctx, self.dataset)
        try:
            fields = jsonutil.loads_object(doc["message"])
        except ValueError as exc:
            return [error_document(record, ctx, self.dataset, f"record: {exc}")]
        if "digestStartTime" in fields:
            return []
        if "Records" in fields or "eventTime" not in fields:
            reason = "not a CloudTrail record (no eventTime)"
            return [error_document(record, ctx, self.dataset, reason)]
        try:
            doc["@timestamp"] = _event_time(str(fields["eventTime"]))
        except ValueError as exc:
            return [error_document(record, ctx, self.dataset, f"bad eventTime: {exc}")]
        self._put_ecs(doc, fields)
        return [doc]

    @staticmethod
    def _put_ecs(doc: Document, fields: dict[str, Any]) -> None:
        event = doc["event"]
        for key, target in (
            ("eventName", "action"),
            ("eventSource", "provider"),
            ("eventID", "id"),
        ):
            value = _text(fields.get(key))
            if value is not None:
                event[target] = value
        event["kind"] = "event"
        event["outcome"] = "failure" if fields.get("errorCode") else "success"
        trail: dict[str, Any] = {}
        for key, target in _SCALARS.items():
            value = _text(fields.get(key))
            if value is not None:
                trail[target] = value
        for key, target in _BOOLEANS.items():
            flag = fields.get(key)
            if isinstance(flag, bool):
                trail[target] = flag
        for key, target in _JSON_TEXTS.items():
            text = _json_text(fields.get(key))
            if text is not None:
                trail[target] = text
        _user_identity(doc, trail, fields.get("userIdentity"))
        _tls(doc, trail, fields.get("tlsDetails"))
        _resources(trail, fields.get("resources"))
        doc.setdefault("aws", {})["cloudtrail"] = trail
        put_address(doc, "source", _text(fields.get("sourceIPAddress")))
        agent = _text(fields.get("userAgent"))
        if agent is not None:
            doc["user_agent"] = {"original": agent}
        cloud = doc.setdefault("cloud", {})
        region = _text(fields.get("awsRegion"))
        if region is not None:
            cloud["region"] = region
        account = _text(fields.get("recipientAccountId"))
        identity = trail.get("user_identity", {})
        account = account or identity.get("account_id")
        if account is not None:
            cloud["account"] = {"id": account}
        if not cloud:
            del doc["cloud"]
