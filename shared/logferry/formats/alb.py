"""Elastic Load Balancing access logs: ALB (``alb``), Classic ELB (``elb``), NLB TLS (``nlb``).

One precompiled regex per line, documents built directly as nested dicts (this is the
hot path of the product). The regex is the specification of the line; where the compiled
scanner ``_albscan`` is built (``pip install`` compiles it when a C compiler is there), it
gives the same fields (the regex's groups, numbers converted) several times faster and
hands the lines it cannot be sure of back to the regex (``LOGFERRY_ALB_SCANNER=regex`` turns
it off).

ECS fields go where Filebeat's ``aws.elb`` module puts them; everything
load-balancer-specific lives under ``aws.elb.*``:

- ``@timestamp``: the line's ``time`` (response sent; for WebSockets the close), ms, UTC;
  ``event.start``: ``request_creation_time`` (NLB: ``tls_connection_creation_time``).
- ``source.*`` client, ``destination.*`` target (absent for Lambda targets and undispatched
  requests), ``http.*``, ``url.*`` (scheme, domain, port, path, query split from the request
  line), ``user_agent.original``, ``tls.*`` (cipher, version, version_protocol,
  client.server_name), ``trace.id`` (the ``Root`` of ``X-Amzn-Trace-Id``).
- ``aws.elb.request_processing_time.sec`` / ``backend_processing_time.sec`` (ALB
  ``target_processing_time``) / ``response_processing_time.sec`` keep AWS's ``-1``
  ("not dispatched"); ``event.duration`` (ns, their sum) is set only when none is ``-1``.
- ``-`` is null: such fields are left out.
- Trailing fields AWS adds later: the documented ``transformed_host``, ``transformed_uri``,
  ``request_transform_status`` are named; anything after them is kept, in order, as
  ``aws.elb.extra_fields`` (quotes removed).
- From the S3 key (parsed once per object, see :func:`parse_alb_key`): ``cloud.account.id``
  and ``cloud.region`` when the context lacks them, and ``aws.elb.log_file.*``
  (``load_balancer_type``/``_name``/``_id``, ``end_time``, ``node_ip``, ``date``, ``prefix``,
  ``random``).
- A line that does not match gives an :func:`~logferry.formats.base.error_document`.
- Classic ELB lines are the start of an ALB line without the type: the same regex parses
  them (``aws.elb.protocol`` ``http``/``tcp``). NLB TLS lines have their own regex
  (``aws.elb.listener``, ``connection_time.ms``, ``tls_handshake_time.ms``, ALPN fields).
- The ``cloud``, ``log.file``, ``tls``, ``aws.elb.log_file``, ``aws.elb.backend`` and
  ``aws.elb.action_executed`` values are shared by the documents that have the same ones
  (built once per object or per distinct value): treat documents as read-only.

Seed 000 compatibility (off by default): the seed's Lambda wrote each line to CloudWatch
Logs prefixed with its S3 metadata (``bucket prefix AWSLogs account region yyyy/mm/dd
lb-name.lb-id end-time ip random line``). :func:`cloudwatch_message` builds that text;
``get_format("alb", cloudwatch_prefix=True)`` makes :meth:`AlbFormat.event_message`
return it, so whoever turns documents into CloudWatch events can keep old Logs Insights
queries and LogStare reports working.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from logferry.formats.base import LineFormat, decode, error_document
from logferry.model import Document, ParseContext, Record

__all__ = [
    "AlbFormat",
    "AlbKeyMeta",
    "ClassicElbFormat",
    "NlbFormat",
    "cloudwatch_message",
    "parse_alb_key",
]

# ---------------------------------------------------------------------------------------
# S3 key metadata

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


def cloudwatch_message(doc: Document, meta: AlbKeyMeta | None = None) -> str:
    """The line prefixed with seed 000's S3 metadata, for the CloudWatch Logs sink.

    ``bucket prefix AWSLogs account region yyyy/mm/dd lb-name.lb-id end-time ip random line``
    where a missing prefix is ``None`` and a prefix starts with ``/`` (as the seed wrote
    them). ``meta`` defaults to the key in ``log.file.path``; without key metadata the
    plain line is returned.
    """
    message: str = doc.get("message", "")
    path: str = doc.get("log", {}).get("file", {}).get("path", "")
    bucket, _, key = path.removeprefix("s3://").partition("/")
    if meta is None:
        meta = parse_alb_key(key)
    if meta is None:
        return message
    lb = meta.lb_name if meta.lb_id is None else f"{meta.lb_name}.{meta.lb_id}"
    return " ".join(
        (
            bucket,
            "None" if meta.prefix is None else "/" + meta.prefix,
            "AWSLogs",
            meta.account,
            meta.region,
            meta.date.replace("-", "/"),
            lb,
            meta.end_time,
            meta.ip or "-",
            meta.random,
            message,
        )
    )


# ---------------------------------------------------------------------------------------
# Line patterns

_TIME = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?)"
_ADDR = r"(?:([^ ]*):(\d+)|-)"  # ip:port (IPv6 unbracketed or [bracketed]) or '-'
_SECS = r"(-?\d+(?:\.\d+)?)"
_NUM = r"(\d+|-)"
_QN = r'"(?:-|([^"]*))"'  # quoted, "-" as None
_N = r"(?:-|([^ ]+))"  # unquoted, - as None
_ALB_RE = re.compile(
    # type (ALB only; Classic ELB lines start with the time) time elb client target
    rf"(?:([a-z0-9]+) )?{_TIME} ([^ ]+) {_ADDR} {_ADDR} "
    # request / target / response processing times, elb and target status, bytes in/out
    rf"{_SECS} {_SECS} {_SECS} (?:(\d+)|-) (?:(\d+)|-) (?:(\d+)|-) (?:(\d+)|-) "
    # "METHOD scheme://host:port/path?query VERSION", else any text ("- - - ", malformed)
    r'"(?:(?:-|([^ "]+)) (?:-|((?:([A-Za-z][A-Za-z0-9+.-]*)://(\[[^\]" ]*\]|[^/:?#" ]*)'
    r'(?::(\d+))?(/[^?#" ]*)?(?:\?([^#" ]*))?)?[^ "]*)) (?:HTTP/([^ "]*)|[^ "]*) ?|([^"]*))" '
    # "user_agent" (backslash escapes tolerated) ssl_cipher ssl_protocol
    rf'"(?:-|([^"\\]*(?:\\.[^"\\]*)*))" {_N} {_N}'
    # ALB: target_group_arn "trace_id" (its Root) "domain_name" "chosen_cert_arn"
    rf'(?: {_N} "(?:-|((?:Self=[^;"]*;)?Root=([^;"]*)[^"]*|[^"]*))" {_QN} {_QN}'
    rf"(?: (?:(-?\d+)|-) {_N} {_QN} {_QN}"  # matched_rule_priority .. redirect_url
    rf"(?: {_QN}"  # error_reason
    rf"(?: {_QN} {_QN}"  # target:port_list target_status_code_list
    rf"(?: {_QN} {_QN}"  # classification classification_reason
    rf"(?: {_N}"  # conn_trace_id
    rf"(?: {_QN} {_QN} {_QN}"  # transformed_host transformed_uri request_transform_status
    r")?)?)?)?)?)?)?( .*)?$"
)
"""One ALB access log line (also Classic ELB lines, which lack the type and the ALB tail)."""

_NLB_RE = re.compile(
    rf"(tls) ([^ ]+) {_TIME} ([^ ]+) ([^ ]+) {_ADDR} {_ADDR} {_NUM} {_NUM} {_NUM} {_NUM} "
    r"([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+)"
    rf"(?: {_TIME}|( [^ ]+))?( .*)?$"
)


_INT_GROUPS = (4, 6, 10, 11, 12, 13, 18, 31)
"""Client and target port, ELB and target status, bytes in and out, URL port, rule priority."""
_FLOAT_GROUPS = (7, 8, 9)
"""Request, target and response processing times."""


def _fields_by_regex(line: str) -> tuple[Any, ...] | None:
    """``_ALB_RE``'s groups for ``line``, numbers as int or float (``None`` if no match)."""
    m = _ALB_RE.match(line)
    if m is None:
        return None
    fields: list[Any] = list(m.groups())
    for i in _INT_GROUPS:
        if fields[i] is not None:
            fields[i] = int(fields[i])
    for i in _FLOAT_GROUPS:
        fields[i] = float(fields[i])
    return tuple(fields)


def _load_scanner() -> Callable[[str], tuple[Any, ...] | None]:
    """The compiled scanner's ``fields`` if it is built and not turned off, else the regex."""
    choice = os.environ.get("LOGFERRY_ALB_SCANNER", "c")
    if choice not in ("c", "regex"):
        raise ValueError(f"LOGFERRY_ALB_SCANNER must be c or regex, not {choice!r}")
    if choice == "regex":
        return _fields_by_regex
    try:
        from logferry.formats._albscan import fields
    except ImportError:
        return _fields_by_regex
    return fields


_scan = _load_scanner()
"""A line's fields as :func:`_fields_by_regex` gives them, or ``None`` when the scanner hands
the line to the regex."""

_EXTRA_RE = re.compile(r'"((?:[^"\\]|\\.)*)"|([^ ]+)')

_TLS_VERSIONS: dict[str, tuple[str, str]] = {
    "TLSv1": ("1.0", "tls"),
    "TLSv1.1": ("1.1", "tls"),
    "TLSv1.2": ("1.2", "tls"),
    "TLSv1.3": ("1.3", "tls"),
    "SSLv3": ("3.0", "ssl"),
    "tlsv10": ("1.0", "tls"),
    "tlsv11": ("1.1", "tls"),
    "tlsv12": ("1.2", "tls"),
    "tlsv13": ("1.3", "tls"),
}


def _ts(t: str) -> str:
    """An AWS log time (``...:SS[.ffffff][Z]``) as ISO 8601 UTC with milliseconds and ``Z``."""
    if len(t) == 27:  # the usual 2018-07-02T22:23:00.186641Z
        return t[:23] + "Z"
    base, _, frac = t.rstrip("Z").partition(".")
    return f"{base}.{(frac + '000')[:3]}Z"


def _ip(ip: str) -> str:
    return ip[1:-1] if ip[:1] == "[" else ip


def _tls_version(tls: dict[str, Any], proto: str) -> None:
    v = _TLS_VERSIONS.get(proto)
    if v is None:
        tls["version"] = proto
    else:
        tls["version"], tls["version_protocol"] = v


def _extra_fields(rest: str) -> list[str]:
    """Unknown trailing fields, in order, quotes removed."""
    return [q if q or not t else t for q, t in _EXTRA_RE.findall(rest)]


SHARED_LIMIT = 10_000
"""Distinct shared sub-objects kept between objects (a log has a few dozen)."""


def _tls(cipher: str | None, proto: str | None, domain: str | None) -> dict[str, Any] | None:
    """The ``tls`` object of a line (``None`` if it has none of the three fields)."""
    tls: dict[str, Any] = {}
    if cipher is not None:
        tls["cipher"] = cipher
        if proto is not None:
            _tls_version(tls, proto)
    if domain is not None:
        tls["client"] = {"server_name": domain}
    return tls or None


class _ElbBase(LineFormat):
    """Shared per-object state: the object's fields, computed once per parse context.

    The ``cloud``, ``log.file`` and ``aws.elb.log_file`` sub-dicts are shared by all documents
    of one object (built once, not per line): treat documents as read-only.
    """

    label = ""

    def __init__(self) -> None:
        self._ctx: ParseContext | None = None
        self._file: dict[str, str] = {}
        self._cloud: dict[str, Any] = {}
        self._log_file: dict[str, Any] | None = None
        self._meta: AlbKeyMeta | None = None
        self._shared: dict[tuple[str | None, ...], Any] = {}
        """Sub-objects many lines have in common (TLS, target group, actions...), built once."""

    def _object(self, ctx: ParseContext) -> None:
        """Cache what every line of ``ctx``'s object shares (key metadata, path, cloud)."""
        self._ctx = ctx
        self._file = {"path": ctx.ref.uri}
        if len(self._shared) > SHARED_LIMIT:
            self._shared.clear()
        meta = self._meta = parse_alb_key(ctx.ref.key)
        account = ctx.account_id or (meta.account if meta else None)
        region = ctx.region or (meta.region if meta else None)
        cloud: dict[str, Any] = {"provider": "aws"}
        if account is not None:
            cloud["account"] = {"id": account}
        if region is not None:
            cloud["region"] = region
        self._cloud = cloud
        self._log_file = meta.fields() if meta else None

    def _base(self, record: Record, line: str, ts: str, elb: dict[str, Any]) -> Document:
        """The fields every parsed document has."""
        if self._log_file is not None:
            elb["log_file"] = self._log_file
        return {
            "@timestamp": ts,
            "message": line,
            "event": {"dataset": self.dataset},
            "log": {"file": self._file, "offset": record.offset},
            "cloud": self._cloud,
            "aws": {"elb": elb},
        }

    def _error(self, record: Record, ctx: ParseContext, line: str) -> list[Document]:
        """An error document: the line kept, the key's metadata still attached."""
        fields = line.split(" ", 2)
        reason = (
            f"does not match the {self.label} access log format "
            f"({line.count(' ') + 1} fields, starting {' '.join(fields[:2])[:60]!r})"
        )
        fallback = self._meta.end_time_iso if self._meta else None
        doc = error_document(
            record, ctx, self.dataset, reason, ctx.extra.get("object_time") or fallback
        )
        doc["cloud"] = self._cloud
        if self._log_file is not None:
            doc["aws"] = {"elb": {"log_file": self._log_file}}
        return [doc]


class AlbFormat(_ElbBase):
    """Application Load Balancer access logs (dataset ``aws.alb``)."""

    name = "alb"
    dataset = "aws.alb"
    label = "ALB"
    typed = True
    """ALB lines start with the request type; Classic ELB lines do not."""

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
            elb["request"] = raw_request
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


class ClassicElbFormat(AlbFormat):
    """Classic Load Balancer access logs (dataset ``aws.elb``), HTTP and TCP listeners.

    Same layout as the start of an ALB line, without the type: the ALB parser handles
    both; ``aws.elb.protocol`` says ``http`` or ``tcp``.
    """

    name = "elb"
    dataset = "aws.elb"
    label = "Classic ELB"
    typed = False


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
