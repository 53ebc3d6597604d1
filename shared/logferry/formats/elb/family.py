"""Every Elastic Load Balancing access log in one format (``loadbalancer``), line by line.

ALB, Classic ELB and NLB logs all land under ``AWSLogs/<account>/elasticloadbalancing/``, so a
bucket (and, after a migration, even one object family) mixes them. Each line goes to the
parser its first field names: ``tls`` starts an NLB TLS line, a digit (the time) a Classic ELB
line, anything else (``http``, ``https``, ``h2``, ``grpcs``, ``ws``, ``wss``) an ALB line.
``event.dataset`` says which (``aws.alb``, ``aws.elb``, ``aws.nlb``). An object under a key
Elastic Load Balancing writes names its type (``app.``, ``net.``, or a Classic ELB's bare
name): that type's parser then reads the whole object, at its full speed.
"""

from __future__ import annotations

from logferry.formats.base import LineFormat, LogFormat
from logferry.formats.elb.alb import AlbFormat, AlbOptions
from logferry.formats.elb.base import _ElbBase
from logferry.formats.elb.classic import ClassicElbFormat
from logferry.formats.elb.keys import parse_alb_key
from logferry.formats.elb.nlb import NlbFormat
from logferry.model import Document, ObjectRef, ParseContext, Record

__all__ = ["LoadBalancerFormat"]


class LoadBalancerFormat(LineFormat):
    """ALB, Classic ELB (HTTP, TCP, SSL) and NLB TLS lines, each read by its own parser."""

    name = "loadbalancer"
    dataset = "aws.alb"
    Options = AlbOptions
    fields_hold_line = True

    def __init__(self, cloudwatch_prefix: bool = False) -> None:
        self._alb = AlbFormat(cloudwatch_prefix)
        self._classic = ClassicElbFormat(cloudwatch_prefix)
        self._nlb = NlbFormat()

    def for_object(self, ref: ObjectRef, head: bytes, start_offset: int = 0) -> LogFormat:
        """An object whose key names its load balancer's type (every key ELB writes) is read
        by that type's parser alone; any other object line by line."""
        meta = parse_alb_key(ref.key)
        if meta is None:
            return self
        return {"app": self._alb, "net": self._nlb}.get(meta.lb_type, self._classic)

    def parser_for(self, line: bytes) -> _ElbBase:
        """The parser of the load-balancer type that writes lines like ``line``."""
        first = line[0] if line else 0
        if 48 <= first <= 57:  # a digit: the time that starts a Classic ELB line
            return self._classic
        if first == 116 and line.startswith(b"tls "):
            return self._nlb
        return self._alb

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One line, by the parser of its type."""
        return self.parser_for(record.data).parse(record, ctx)

    def parse_minimal(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One line's minimal document, by the parser of its type."""
        return self.parser_for(record.data).parse_minimal(record, ctx)

    def event_message(self, doc: Document) -> str:
        """The CloudWatch Logs text (seed 000's prefix with ``CWL_PREFIX``), for every type."""
        return self._alb.event_message(doc)
