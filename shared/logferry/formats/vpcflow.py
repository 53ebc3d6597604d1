"""VPC Flow Logs delivered to S3: one flow record per space-separated line.

The first line of each object is a header naming the fields of the flow log's format
(``version account-id interface-id srcaddr ...``): the default version-2 format or a custom
one with any of the version 3 to 8 fields. The values of the following lines are read in
that order; without a header (a resumed read, a hand-cut file) the version-2 default order
is used. ``-`` is null; NODATA and SKIPDATA records are still documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from logferry.formats.base import (
    LineFormat,
    base_document,
    decode,
    error_document,
    is_ip,
    put_address,
)
from logferry.formats.timeparse import is_epoch_ms, iso_from_epoch_ms
from logferry.model import Document, ParseContext, Record

DEFAULT_FIELDS: tuple[str, ...] = (
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
)
"""The default (version 2) flow log format."""

KNOWN_FIELDS = frozenset(
    (
        *DEFAULT_FIELDS,
        "vpc-id",
        "subnet-id",
        "instance-id",
        "tcp-flags",
        "type",
        "pkt-srcaddr",
        "pkt-dstaddr",
        "region",
        "az-id",
        "sublocation-type",
        "sublocation-id",
        "pkt-src-aws-service",
        "pkt-dst-aws-service",
        "flow-direction",
        "traffic-path",
        "ecs-cluster-arn",
        "ecs-cluster-name",
        "ecs-container-instance-arn",
        "ecs-container-instance-id",
        "ecs-container-id",
        "ecs-second-container-id",
        "ecs-service-name",
        "ecs-task-definition-arn",
        "ecs-task-arn",
        "ecs-task-id",
        "reject-reason",
    )
)
"""Every field the flow log documentation lists (versions 2 to 8)."""

_STATE_KEY = "vpcflow.layout"
"""Where the layout of the object's header line is kept (in ``ParseContext.extra``)."""

_FIELD_NAME = re.compile(r"[a-z][a-z0-9-]*")

TRANSPORTS = {
    "1": "icmp",
    "2": "igmp",
    "4": "ipv4",
    "6": "tcp",
    "17": "udp",
    "41": "ipv6",
    "47": "gre",
    "50": "esp",
    "51": "ah",
    "58": "ipv6-icmp",
    "132": "sctp",
}
"""IANA protocol numbers and their ECS ``network.transport`` names."""

TCP_FLAGS = ((1, "fin"), (2, "syn"), (4, "rst"), (8, "psh"), (16, "ack"), (32, "urg"))

_Setter = Callable[[Document, str], None]


def _set(doc: Document, path: tuple[str, ...], value: Any) -> None:
    node = doc
    for part in path[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _to(*targets: str, transform: Callable[[str], Any] | None = None) -> _Setter:
    """A setter putting the value (through ``transform``; ``None`` skips) at ``targets``."""
    paths = [tuple(t.split(".")) for t in targets]

    def setter(doc: Document, value: str) -> None:
        converted = value if transform is None else transform(value)
        if converted is None:
            return
        for path in paths:
            _set(doc, path, converted)

    return setter


def _address(field: str) -> _Setter:
    def setter(doc: Document, value: str) -> None:
        put_address(doc, field, value)

    return setter


def _ip_only(target: str) -> _Setter:
    """An ip-typed ``aws.vpcflow`` field: set only for a valid address."""
    path = tuple(target.split("."))

    def setter(doc: Document, value: str) -> None:
        if is_ip(value):
            _set(doc, path, value)

    return setter


def _protocol(doc: Document, value: str) -> None:
    network = doc.setdefault("network", {})
    network["iana_number"] = value
    transport = TRANSPORTS.get(value)
    if transport is not None:
        network["transport"] = transport


def _counter(name: str) -> _Setter:
    """``packets``/``bytes``: ``source.<name>`` (the flow's sender) and ``network.<name>``."""

    def setter(doc: Document, value: str) -> None:
        number = _int(value)
        if number is not None:
            doc.setdefault("source", {})[name] = number
            doc.setdefault("network", {})[name] = number

    return setter


def _epoch(target: str) -> _Setter:
    path = ("event", target)

    def setter(doc: Document, value: str) -> None:
        seconds = _int(value)
        if seconds is not None and is_epoch_ms(seconds * 1000):
            _set(doc, path, iso_from_epoch_ms(seconds * 1000))

    return setter


def _action(doc: Document, value: str) -> None:
    _set(doc, ("aws", "vpcflow", "action"), value)
    event = doc["event"]
    event["action"] = value.lower()
    if value == "ACCEPT":
        event["outcome"] = "success"
        event["type"] = ["connection", "allowed"]
    elif value == "REJECT":
        event["outcome"] = "failure"
        event["type"] = ["connection", "denied"]


@lru_cache(maxsize=64)
def _flag_names(value: str) -> tuple[str, ...]:
    bits = _int(value) or 0
    return tuple(name for bit, name in TCP_FLAGS if bits & bit)


def _tcp_flags(doc: Document, value: str) -> None:
    _set(doc, ("aws", "vpcflow", "tcp_flags"), value)
    _set(doc, ("aws", "vpcflow", "tcp_flags_array"), list(_flag_names(value)))


def _type(doc: Document, value: str) -> None:
    _set(doc, ("aws", "vpcflow", "type"), value)
    if value in ("IPv4", "IPv6"):
        _set(doc, ("network", "type"), value.lower())


SETTERS: dict[str, _Setter] = {
    "version": _to("aws.vpcflow.version"),
    "account-id": _to("aws.vpcflow.account_id", "cloud.account.id"),
    "interface-id": _to("aws.vpcflow.interface_id"),
    "srcaddr": _address("source"),
    "dstaddr": _address("destination"),
    "srcport": _to("source.port", transform=_int),
    "dstport": _to("destination.port", transform=_int),
    "protocol": _protocol,
    "packets": _counter("packets"),
    "bytes": _counter("bytes"),
    "start": _epoch("start"),
    "end": _epoch("end"),
    "action": _action,
    "log-status": _to("aws.vpcflow.log_status"),
    "vpc-id": _to("aws.vpcflow.vpc_id"),
    "subnet-id": _to("aws.vpcflow.subnet_id"),
    "instance-id": _to("aws.vpcflow.instance_id", "cloud.instance.id"),
    "tcp-flags": _tcp_flags,
    "type": _type,
    "pkt-srcaddr": _ip_only("aws.vpcflow.pkt_srcaddr"),
    "pkt-dstaddr": _ip_only("aws.vpcflow.pkt_dstaddr"),
    "region": _to("cloud.region"),
    "az-id": _to("aws.vpcflow.az_id"),
    "sublocation-type": _to("aws.vpcflow.sublocation.type"),
    "sublocation-id": _to("aws.vpcflow.sublocation.id"),
    "pkt-src-aws-service": _to("aws.vpcflow.pkt_src_service"),
    "pkt-dst-aws-service": _to("aws.vpcflow.pkt_dst_service"),
    "flow-direction": _to("network.direction", "aws.vpcflow.flow_direction"),
    "traffic-path": _to("aws.vpcflow.traffic_path", transform=_int),
    "ecs-container-id": _to("aws.vpcflow.ecs.container_id", "container.id"),
    "reject-reason": _to("aws.vpcflow.reject_reason"),
}
"""How each documented field lands in the document (ECS names, as Filebeat's aws module)."""


def _setter_for(name: str) -> _Setter:
    setter = SETTERS.get(name)
    if setter is not None:
        return setter
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "field"
    if key.startswith("ecs_"):  # ecs-cluster-arn -> aws.vpcflow.ecs.cluster_arn
        return _to(f"aws.vpcflow.ecs.{key[4:]}")
    return _to(f"aws.vpcflow.{key}")


class Layout:
    """One header's field list: its length and a setter per position."""

    __slots__ = ("count", "end", "plan", "start")

    def __init__(self, fields: Sequence[str]) -> None:
        self.count = len(fields)
        self.start = fields.index("start") if "start" in fields else -1
        self.end = fields.index("end") if "end" in fields else -1
        self.plan = [(i, _setter_for(name)) for i, name in enumerate(fields)]


@lru_cache(maxsize=64)
def layout_for(fields: tuple[str, ...]) -> Layout:
    """The (cached) layout of a header's field list."""
    return Layout(fields)


DEFAULT_LAYOUT = layout_for(DEFAULT_FIELDS)


def header_fields(line: str) -> tuple[str, ...] | None:
    """The field names if ``line`` is a header (names only, at least one documented)."""
    names = line.split()
    if not names or not all(_FIELD_NAME.fullmatch(n) for n in names):
        return None
    if not any(n in KNOWN_FIELDS for n in names):
        return None
    return tuple(names)


class VpcFlowFormat(LineFormat):
    """VPC Flow Logs (``aws.vpcflow``): one document per flow record.

    ``source.*``/``destination.*`` (``ip`` only for valid addresses), ``network.iana_number``
    and ``network.transport``, ``source.packets``/``source.bytes`` (also ``network.*``),
    ``event.start``/``event.end`` from the epoch seconds (``@timestamp`` is the end, as
    Filebeat sets it), ``event.action``/``event.outcome`` from the action; the rest under
    ``aws.vpcflow``. The header line gives no document.
    """

    name = "vpcflow"
    dataset = "aws.vpcflow"

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One document per flow record; the header sets the layout and gives none."""
        data = record.data
        first = data[:1]
        if b"a" <= first <= b"z":
            fields = header_fields(decode(data))
            if fields is not None:
                ctx.extra[_STATE_KEY] = layout_for(fields)
                return []
        layout: Layout = ctx.extra.get(_STATE_KEY) or DEFAULT_LAYOUT
        doc = base_document(record, ctx, self.dataset)
        values = doc["message"].split()
        if len(values) != layout.count:
            reason = f"{len(values)} space-separated fields, the header names {layout.count}"
            return [error_document(record, ctx, self.dataset, reason)]
        for index, setter in layout.plan:
            value = values[index]
            if value != "-":
                setter(doc, value)
        event = doc["event"]
        for index, key in ((layout.start, "start"), (layout.end, "end")):
            if index >= 0 and key not in event and values[index] != "-":
                reason = f"{key} is not a time in epoch seconds: {values[index]!r}"
                return [error_document(record, ctx, self.dataset, reason)]
        timestamp = event.get("end") or event.get("start")
        if timestamp is None:
            timestamp = ctx.extra.get("object_time") or iso_from_epoch_ms(0)
        doc["@timestamp"] = timestamp
        event["category"] = ["network"]
        return [doc]
