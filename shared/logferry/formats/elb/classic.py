"""Classic Load Balancer access logs (format ``elb``, dataset ``aws.elb``)."""

from __future__ import annotations

from logferry.formats.elb.alb import AlbFormat

__all__ = ["ClassicElbFormat"]


class ClassicElbFormat(AlbFormat):
    """Classic Load Balancer access logs (dataset ``aws.elb``), HTTP and TCP listeners.

    Same layout as the start of an ALB line, without the type: the ALB parser handles
    both; ``aws.elb.protocol`` says ``http`` or ``tcp``.
    """

    name = "elb"
    dataset = "aws.elb"
    label = "Classic ELB"
    typed = False
