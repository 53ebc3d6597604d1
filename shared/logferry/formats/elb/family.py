"""Every Elastic Load Balancing access log in one format (``loadbalancer``), line by line.

ALB, Classic ELB and NLB logs all land under ``AWSLogs/<account>/elasticloadbalancing/``, so a
bucket (and, after a migration, even one object family) mixes them. Each line goes to the
parser its first field names: ``tls`` starts an NLB TLS line, a digit (the time) a Classic ELB
line, anything else (``http``, ``https``, ``h2``, ``grpcs``, ``ws``, ``wss``) an ALB line.
``event.dataset`` says which (``aws.alb``, ``aws.elb``, ``aws.nlb``).
"""

from __future__ import annotations

from logferry.formats.base import LineFormat
from logferry.formats.elb.alb import AlbFormat, AlbOptions
from logferry.formats.elb.base import _ElbBase
from logferry.formats.elb.classic import ClassicElbFormat
from logferry.formats.elb.nlb import NlbFormat
from logferry.model import Document, ParseContext, Record

__all__ = ["LoadBalancerFormat"]

_DIGITS = frozenset(b"0123456789")


class LoadBalancerFormat(LineFormat):
    """ALB, Classic ELB (HTTP, TCP, SSL) and NLB TLS lines, each read by its own parser."""

    name = "loadbalancer"
    dataset = "aws.alb"
    Options = AlbOptions

    def __init__(self, cloudwatch_prefix: bool = False) -> None:
        self._alb = AlbFormat(cloudwatch_prefix)
        self._classic = ClassicElbFormat(cloudwatch_prefix)
        self._nlb = NlbFormat()

    def parser_for(self, line: bytes) -> _ElbBase:
        """The parser of the load-balancer type that writes lines like ``line``."""
        if line[:1] and line[0] in _DIGITS:
            return self._classic
        if line[:4] == b"tls ":
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
