"""The specification of the lines: the ALB/Classic ELB and NLB regexes, and small pure helpers.

``_ALB_RE``'s groups, numbers converted (:func:`_fields_by_regex`), are what the compiled
scanner must give (see :mod:`logferry.formats.elb.scanner`).
"""

from __future__ import annotations

import re
from typing import Any

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
    # incoming_tls_alert chosen_cert_arn chosen_cert_serial tls_cipher tls_protocol_version
    # tls_named_group domain_name (version 1.0 ends here)
    r"([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+)"
    # version 2.0: alpn_fe_protocol alpn_be_protocol alpn_client_preference_list
    # tls_connection_creation_time; later fields are kept as extra fields
    rf"(?: ([^ ]+) ([^ ]+) ([^ ]+)(?: {_TIME}|( [^ ]+))?)?( .*)?$"
)
"""One NLB TLS listener access log line, of field list version 1.0 or 2.0."""


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
    """An address without IPv6 brackets."""
    return ip[1:-1] if ip[:1] == "[" else ip


def _tls_version(tls: dict[str, Any], proto: str) -> None:
    """Set ``tls.version`` (and ``version_protocol`` when known) from AWS's protocol name."""
    v = _TLS_VERSIONS.get(proto)
    if v is None:
        tls["version"] = proto
    else:
        tls["version"], tls["version_protocol"] = v


def _extra_fields(rest: str) -> list[str]:
    """Unknown trailing fields, in order, quotes removed."""
    return [q if q or not t else t for q, t in _EXTRA_RE.findall(rest)]


_SPACED_REQUEST_RE = re.compile(r"([^ ]+) (.+) HTTP/([^ ]+)")
_URL_PARTS_RE = re.compile(
    r"([A-Za-z][A-Za-z0-9+.-]*)://(\[[^\]]*\]|[^/:?#]*)(?::(\d+))?(/[^?#]*)?(?:\?([^#]*))?"
)


def spaced_request(raw: str) -> tuple[str, dict[str, Any], str] | None:
    """``(method, url, version)`` of a request line whose URI holds spaces (ALB logs such
    requests, classified ``SpaceInUri``, as ``METHOD URI-with-spaces HTTP/x``), else ``None``.

    The line regex (and the scanner) keep such a request whole; it is rare, so it is split
    here: the method is the first word, the version the last, the URI all between; ``url``
    is the ECS object (``original``, and ``scheme``/``domain``/``port``/``path``/``query``
    for an absolute URI).
    """
    m = _SPACED_REQUEST_RE.fullmatch(raw)
    if m is None:
        return None
    method, original, version = m.groups()
    url: dict[str, Any] = {"original": original}
    parts = _URL_PARTS_RE.match(original)
    if parts is not None:
        scheme, host, port, path, query = parts.groups()
        url.update(scheme=scheme, domain=host[1:-1] if host[:1] == "[" else host)
        for key, value in (("port", port and int(port)), ("path", path), ("query", query)):
            if value is not None:
                url[key] = value
    return method, url, version
