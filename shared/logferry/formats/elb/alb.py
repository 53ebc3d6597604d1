"""Application Load Balancer access logs (format ``alb``, dataset ``aws.alb``).

:class:`AlbFormat` parses Classic ELB lines too: they are the start of an ALB line without
the type, and :class:`~logferry.formats.elb.classic.ClassicElbFormat` only sets
:attr:`AlbFormat.typed` to ``False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from logferry.config import option
from logferry.formats.elb.base import _ElbBase, _tls
from logferry.formats.elb.legacy_text import cloudwatch_message
from logferry.formats.elb.patterns import _extra_fields, _fields_by_regex, _ts, spaced_request
from logferry.formats.elb.scanner import _scan
from logferry.model import Document, ParseContext, Record

__all__ = ["AlbFormat"]


@dataclass(frozen=True)
class AlbOptions:
    """The ``alb`` and ``elb`` formats' options."""

    cloudwatch_prefix: bool = option(
        "CWL_PREFIX",
        False,
        "prefix CloudWatch Logs lines with seed 000's S3 metadata (keeps old Logs Insights "
        "queries working)",
        kind="flag",
    )


class AlbFormat(_ElbBase):
    """Application Load Balancer access logs (dataset ``aws.alb``)."""

    name = "alb"
    dataset = "aws.alb"
    label = "ALB"
    typed = True
    """ALB lines start with the request type; Classic ELB lines do not."""
    Options = AlbOptions

    def __init__(self, cloudwatch_prefix: bool = False) -> None:
        super().__init__()
        self.cloudwatch_prefix = cloudwatch_prefix

    def event_message(self, doc: Document) -> str:
        """The text for line-oriented sinks: the raw line, or seed 000's prefixed line."""
        if self.cloudwatch_prefix:
            return cloudwatch_message(doc)
        return str(doc.get("message", ""))

    def parse_minimal(self, record: Record, ctx: ParseContext) -> list[Document]:
        """What a text-only sink (CloudWatch Logs) needs: ``@timestamp``, ``message`` and
        ``log.file.path``, or the same error document :meth:`parse` gives.

        The same regex decides, so parse errors are counted exactly as with :meth:`parse`;
        only the fields nobody reads are not built (a third of the per-line time).
        """
        if ctx is not self._ctx:
            self._object(ctx)
        line = record.data.decode("utf-8", "replace")
        fields = _scan(line) or _fields_by_regex(line)
        if fields is None or (fields[0] is None) is self.typed:
            return self._error(record, ctx, line)
        return [
            {
                "@timestamp": _ts(fields[1]),
                "message": line,
                "log": {"file": self._file},
            }
        ]

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One access log line -> one document (an error document if it does not parse)."""
        # One function on purpose (the hot path): moving the ALB tail into a helper method
        # measured about 2% slower per line.
        if ctx is not self._ctx:
            self._object(ctx)
        line = record.data.decode("utf-8", "replace")
        fields = _scan(line) or _fields_by_regex(line)
        if fields is None:
            return self._error(record, ctx, line)
        (
            typ, time, name, cip, cport, tip, tport, rpt, tpt, rspt, status, tstatus, rx, tx,
            method, url, scheme, host, uport, path, query, version, raw_request, ua, cipher,
            proto, tg_arn, trace, root, domain, cert, rule, created, actions, redirect,
            error_reason, targets, target_statuses, classification, classification_reason,
            conn_trace, t_host, t_uri, t_status, rest,
        ) = fields  # fmt: skip
        if (typ is None) is self.typed:  # an ALB line given to the Classic parser or vice versa
            return self._error(record, ctx, line)
        elb: dict[str, Any] = {
            "name": name,
            "request_processing_time": {"sec": rpt},
            "backend_processing_time": {"sec": tpt},
            "response_processing_time": {"sec": rspt},
        }
        event: dict[str, Any] = {"dataset": self.dataset}
        request: dict[str, Any] = {}
        response: dict[str, Any] = {}
        http: dict[str, Any] = {"request": request, "response": response}
        doc: Document = {
            "@timestamp": time[:23] + "Z" if len(time) == 27 else _ts(time),
            "message": line,
            "event": event,
            "log": {"file": self._file, "offset": record.offset},
            "cloud": self._cloud,
            "http": http,
            "aws": {"elb": elb},
        }
        if rpt >= 0 and tpt >= 0 and rspt >= 0:
            event["duration"] = round((rpt + tpt + rspt) * 1e9)
        if cip is not None:
            doc["source"] = {"ip": cip[1:-1] if cip[:1] == "[" else cip, "port": cport}
        if tip is not None:
            doc["destination"] = {"ip": tip[1:-1] if tip[:1] == "[" else tip, "port": tport}
        if method is not None:
            request["method"] = method
        if rx is not None:
            request["bytes"] = rx
        if status is not None:
            response["status_code"] = status
        if tx is not None:
            response["bytes"] = tx
        if version is not None:
            http["version"] = version
        shared = self._shared
        if tstatus is not None:
            backend = shared.get(("backend", tstatus))
            if backend is None:
                backend = {"http": {"response": {"status_code": tstatus}}}
                shared["backend", tstatus] = backend
            elb["backend"] = backend
        if scheme is not None:
            u = doc["url"] = {
                "original": url,
                "scheme": scheme,
                "domain": host[1:-1] if host[:1] == "[" else host,
            }
            if uport is not None:
                u["port"] = uport
            if path is not None:
                u["path"] = path
            if query is not None:
                u["query"] = query
        elif url is not None:
            doc["url"] = {"original": url}
        elif raw_request is not None and raw_request.strip(" -"):
            spaced = spaced_request(raw_request)  # a URI with spaces (ALB's SpaceInUri)
            if spaced is None:
                elb["request"] = raw_request
            else:
                request["method"], doc["url"], http["version"] = spaced
        if ua is not None:
            doc["user_agent"] = {"original": ua}
        if typ is None:
            domain = None  # Classic ELB lines have no domain (nor any ALB field below)
        if cipher is not None or domain is not None:
            tls = shared.get(("tls", cipher, proto, domain))
            if tls is None:
                tls = shared["tls", cipher, proto, domain] = _tls(cipher, proto, domain)
            doc["tls"] = tls
        if typ is None:  # Classic ELB: no ALB fields follow
            if method is None:  # TCP/SSL listener: the byte counts are not HTTP
                elb["protocol"] = "tcp"
                del doc["http"]
                if rx is not None:
                    doc.setdefault("source", {})["bytes"] = request["bytes"]
                if tx is not None:
                    doc.setdefault("destination", {})["bytes"] = response["bytes"]
            else:
                elb["protocol"] = "http"
        else:
            elb["type"] = typ
            if tg_arn is not None:
                elb["target_group"] = {"arn": tg_arn}
            if trace is not None:
                elb["trace_id"] = trace
                if root is not None:
                    doc["trace"] = {"id": root}
            if cert is not None:
                elb["chosen_cert"] = {"arn": cert}
            if rule is not None:
                elb["matched_rule_priority"] = rule
            if created is not None:
                event["start"] = created[:23] + "Z" if len(created) == 27 else _ts(created)
            if actions is not None:
                executed = shared.get(("actions", actions))
                if executed is None:
                    executed = shared["actions", actions] = actions.split(",")
                elb["action_executed"] = executed
            if redirect is not None:
                elb["redirect_url"] = redirect
            if error_reason is not None:
                elb["error"] = {"reason": error_reason}
            if targets is not None:
                elb["target_port"] = targets.split(" ")
            if target_statuses is not None:
                elb["target_status_code"] = target_statuses.split(" ")
            if classification is not None:
                elb["classification"] = classification
            if classification_reason is not None:
                elb["classification_reason"] = classification_reason
            if conn_trace is not None:
                elb["connection_trace_id"] = conn_trace
            if t_host is not None:
                elb["transformed_host"] = t_host
            if t_uri is not None:
                elb["transformed_uri"] = t_uri
            if t_status is not None:
                elb["request_transform_status"] = t_status
        if self._log_file is not None:
            elb["log_file"] = self._log_file
        if rest is not None:
            elb["extra_fields"] = _extra_fields(rest)
        return [doc]
