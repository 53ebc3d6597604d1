"""What an Elastic Load Balancing log object's S3 key says: account, region, load balancer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["AlbKeyMeta", "parse_alb_key"]

_KEY_RE = re.compile(
    r"^(?:(?P<prefix>.*)/)?AWSLogs/(?P<account>\d{12})/elasticloadbalancing/"
    r"(?P<region>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d\d)/(?P<d>\d\d)/"
    r"(?P=account)_elasticloadbalancing_(?P=region)_(?P<lb>[A-Za-z0-9.-]+)_"
    r"(?P<end>\d{8}T\d{4}Z)(?:_(?P<ip>[0-9a-fA-F.:]+))?_(?P<random>[A-Za-z0-9]+)"
    r"\.log(?:\.gz)?$"
)


@dataclass(frozen=True)
class AlbKeyMeta:
    """What an Elastic Load Balancing log object's key says about its lines."""

    account: str
    region: str
    date: str
    """Delivery date, ``YYYY-MM-DD``."""
    lb_type: str
    """``app`` (ALB), ``net`` (NLB) or ``classic``."""
    lb_name: str
    lb_id: str | None
    """The load balancer id (``None`` for Classic ELBs, whose key holds only the name)."""
    end_time: str
    """End of the 5-minute interval as in the key, e.g. ``20240301T0005Z``."""
    ip: str | None
    """Address of the load balancer node (NLB keys have none)."""
    random: str
    prefix: str | None = None
    """The bucket prefix before ``AWSLogs/`` (``None`` if the logs are at the root)."""

    @property
    def end_time_iso(self) -> str:
        """``end_time`` as ISO 8601 UTC with milliseconds."""
        t = self.end_time
        return f"{t[0:4]}-{t[4:6]}-{t[6:8]}T{t[9:11]}:{t[11:13]}:00.000Z"

    def fields(self) -> dict[str, Any]:
        """The metadata as ``aws.elb.log_file`` fields (``None`` values left out)."""
        out = {
            "load_balancer_type": self.lb_type,
            "load_balancer_name": self.lb_name,
            "load_balancer_id": self.lb_id,
            "end_time": self.end_time_iso,
            "node_ip": self.ip,
            "date": self.date,
            "random": self.random,
            "prefix": self.prefix,
        }
        return {k: v for k, v in out.items() if v is not None}


@lru_cache(maxsize=256)
def parse_alb_key(key: str) -> AlbKeyMeta | None:
    """Parse an ALB/NLB/Classic ELB log object key; ``None`` if it is not one.

    ``[prefix/]AWSLogs/<account>/elasticloadbalancing/<region>/<yyyy>/<mm>/<dd>/
    <account>_elasticloadbalancing_<region>_<app|net>.<name>.<id>_<end>_<ip>_<random>.log.gz``
    (Classic ELB: ``_<name>_`` instead of ``_app.<name>.<id>_``; NLB keys have no ``_<ip>``).
    """
    m = _KEY_RE.match(key)
    if m is None:
        return None
    parts = m["lb"].split(".")
    if len(parts) == 3 and parts[0] in ("app", "net"):
        lb_type, lb_name, lb_id = parts[0], parts[1], parts[2]
    elif len(parts) == 1:
        lb_type, lb_name, lb_id = "classic", parts[0], None
    else:
        return None
    return AlbKeyMeta(
        account=m["account"],
        region=m["region"],
        date=f"{m['y']}-{m['m']}-{m['d']}",
        lb_type=lb_type,
        lb_name=lb_name,
        lb_id=lb_id,
        end_time=m["end"],
        ip=m["ip"],
        random=m["random"],
        prefix=m["prefix"] or None,
    )
