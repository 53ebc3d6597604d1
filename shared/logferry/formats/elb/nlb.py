"""Network Load Balancer TLS listener access logs (format ``nlb``, dataset ``aws.nlb``)."""

from __future__ import annotations

from typing import Any

from logferry.formats.base import decode
from logferry.formats.elb.base import _ElbBase
from logferry.formats.elb.patterns import _NLB_RE, _extra_fields, _ip, _tls_version, _ts
from logferry.model import Document, ParseContext, Record

__all__ = ["NlbFormat"]


class NlbFormat(_ElbBase):
    """Network Load Balancer TLS listener access logs (dataset ``aws.nlb``)."""

    name = "nlb"
    dataset = "aws.nlb"
    label = "NLB"

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One NLB access log line -> one document."""
        if ctx is not self._ctx:
            self._object(ctx)
        line = decode(record.data)
        m = _NLB_RE.match(line)
        if m is None:
            return self._error(record, ctx, line)
        (
            typ, version, time, name, listener, cip, cport, dip, dport, conn_ms, hs_ms, rx, tx,
            alert, cert, serial, cipher, proto, group, domain, alpn_fe, alpn_be, alpn_list,
            created, unknown, rest,
        ) = m.groups()  # fmt: skip
        if alpn_fe is None:  # a version 1.0 line: no ALPN fields
            alpn_fe = alpn_be = alpn_list = "-"
        elb: dict[str, Any] = {"name": name, "type": typ, "listener": listener}
        doc = self._base(record, line, _ts(time), elb)
        if version != "-":
            elb["log_version"] = version
        source: dict[str, Any] = {} if cip is None else {"ip": _ip(cip), "port": int(cport)}
        dest: dict[str, Any] = {} if dip is None else {"ip": _ip(dip), "port": int(dport)}
        if rx != "-":
            source["bytes"] = int(rx)
        if tx != "-":
            dest["bytes"] = int(tx)
        if source:
            doc["source"] = source
        if dest:
            doc["destination"] = dest
        if conn_ms != "-":
            elb["connection_time"] = {"ms": int(conn_ms)}
            doc["event"]["duration"] = int(conn_ms) * 1_000_000
        if hs_ms != "-":
            elb["tls_handshake_time"] = {"ms": int(hs_ms)}
        if alert != "-":
            elb["incoming_tls_alert"] = alert
        chosen = {k: v for k, v in (("arn", cert), ("serial", serial)) if v != "-"}
        if chosen:
            elb["chosen_cert"] = chosen
        tls: dict[str, Any] = {}
        if cipher != "-":
            tls["cipher"] = cipher
        if proto != "-":
            _tls_version(tls, proto)
        if domain != "-":
            tls["client"] = {"server_name": domain}
        if alpn_fe != "-":
            tls["next_protocol"] = alpn_fe
        if tls:
            doc["tls"] = tls
        for key, value in (
            ("tls_named_group", group),
            ("alpn_fe_protocol", alpn_fe),
            ("alpn_be_protocol", alpn_be),
        ):
            if value != "-":
                elb[key] = value
        if alpn_list != "-":
            elb["alpn_client_preference_list"] = [p.strip('"') for p in alpn_list.split(",")]
        if created is not None:
            doc["event"]["start"] = _ts(created)
        extra = (unknown or "") + (rest or "")
        if extra:
            elb["extra_fields"] = _extra_fields(extra)
        return [doc]
