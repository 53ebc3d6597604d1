"""Compile Apache ``LogFormat`` and nginx ``log_format`` strings into one-regex parsers.

A format string is compiled once into a single regex (one named group per directive) and a
table of setters (one per field: which document field, how the text converts). Parsing a
line is one regex match and one pass over that table: no per-field regexes.

Known directives get ECS names (``%h``/``$remote_addr`` -> ``source.address``/``source.ip``,
``%r``/``$request`` -> ``http.request.method``, ``url.original``, ``http.version``...);
the others get ``<dataset>.<name>`` (``nginx.access.upstream_response_time``,
``apache.access.x_request_id``). An ECS field is set by the first directive that maps to
it; a later directive mapping to the same field gets its namespaced name instead. An
X-Forwarded-For list is kept in ``<dataset>.remote_ip_list`` and its first public IP (else
its first entry) becomes ``source.address``/``source.ip`` (the peer address, if different,
moves to ``<dataset>.remote_addr``; a first entry that is no IP leaves the peer in place).
Fields typed as IPs only get valid IPs: anything else stays in ``.address``.

Directives follow Apache's mod_log_config and nginx's ngx_http_log_module documentation.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from logferry.formats.base import is_ip
from logferry.formats.timeparse import apache_time_to_iso
from logferry.model import Document, iso

Setter = Callable[[Document, str], None]


class LogFormatError(ValueError):
    """A format string that cannot be compiled; the message names the directive."""


# --- values -------------------------------------------------------------------------------


_NOT_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "0.0.0.0/8",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "::/128",
    )
)


@lru_cache(maxsize=4096)
def is_public_ip(value: str) -> bool:
    """An IP outside private, CGNAT, loopback and link-local ranges (documentation ranges
    count as public: they stand for public addresses)."""
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    return not any(ip.version == net.version and ip in net for net in _NOT_PUBLIC)


def pick_client(entries: Sequence[str]) -> str | None:
    """The client of an X-Forwarded-For list: its first public IP, else its first entry."""
    for entry in entries:
        if is_public_ip(entry):
            return entry
    return entries[0] if entries else None


def split_list(value: str) -> list[str]:
    """``'10.0.0.2, 10.0.0.1'`` as ``['10.0.0.2', '10.0.0.1']`` (dashes and blanks dropped)."""
    return [e for e in (p.strip() for p in value.split(",")) if e and e != "-"]


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _number(value: str) -> float | str:
    """A float when the value is one number, else the text (``'0.001, 0.002'``)."""
    try:
        return float(value)
    except ValueError:
        return value


def _seconds_ns(value: str) -> int | None:
    try:
        return round(float(value) * 1_000_000_000)
    except ValueError:
        return None


def _scaled(factor: int) -> Callable[[str], int | None]:
    def convert(value: str) -> int | None:
        number = _int(value)
        return None if number is None else number * factor

    return convert


def _version(value: str) -> str:
    return value[5:] if value.startswith("HTTP/") else value


def _query(value: str) -> str | None:
    value = value[1:] if value.startswith("?") else value
    return value or None


def _tls_version(value: str) -> str:
    """``TLSv1.2`` as ``1.2`` (ECS ``tls.version``)."""
    for prefix in ("TLSv", "SSLv"):
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def _put(doc: Document, parts: tuple[str, ...], value: Any) -> None:
    node = doc
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


# --- fields -------------------------------------------------------------------------------

QUOTED_BODY = r'[^"\\]*(?:\\.[^"\\]*)*'
"""The inside of a quoted field with backslash escapes (an unrolled loop)."""
CLF_TIME = r"\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}"
ISO_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"
LIST = r"[^\s,\"]+(?:(?:, ?| : )[^\s,\"]+)*"

# Match shapes: how a field's text looks, before quoting is taken into account.
TOKEN, SPACEY, LISTY, INT, STATUS, FLOAT = "token", "spacey", "list", "int", "status", "float"
_SHAPES = {
    INT: r"-|\d+",
    STATUS: r"-|\d{3}",
    FLOAT: r"-|\d+(?:\.\d*)?",
    LISTY: LIST,
}

# Conversions: what a field's text becomes.
TEXT, ADDRESS, IP, REQUEST, XFF, TIME = "text", "address", "ip", "request", "xff", "time"


@dataclass
class Field:
    """One directive of a format string: its ECS (or namespaced) target and its shapes."""

    directive: str
    target: str | None
    """Dotted field name; for ``address``: the ECS object (``source``); ``None``: dropped."""
    fallback: str
    """The namespaced name (``<dataset>.``-less) used when ``target`` is already taken."""
    shape: str = TOKEN
    convert: str | Callable[[str], Any] = TEXT
    regex: str | None = None
    """An exact regex for the text (times): wins over ``shape``."""
    time: tuple[str, str] | None = None
    """For time directives: (kind, strptime format or ``clf``/``iso``/``sec``...)."""
    group: str = ""
    outer: tuple[str, str] = ("", "")
    """Regex around the group (``%t`` writes its own brackets)."""


@dataclass
class Compiled:
    """A compiled format string: one regex, its setters in order, its time parts."""

    source: str
    regex: re.Pattern[str]
    setters: list[tuple[int, Setter]]
    """``(group index, setter)``; X-Forwarded-For setters last."""
    time_groups: list[int]
    time_parts: list[tuple[str, str]]
    rest_group: int | None
    fields: list[Field] = field(default_factory=list)
    _last_time: tuple[tuple[str, ...], str] = ((), "")

    @property
    def specificity(self) -> int:
        """How many fields the format has (ties in detection go to the more specific)."""
        return len(self.fields)

    def time(self, raw: Sequence[str | None]) -> str | None:
        """``@timestamp`` from the time groups' texts (``None``: no time in the line)."""
        values = [v for v in raw if v not in (None, "", "-")]
        if not values:
            return None
        if len(values) != len(self.time_parts):
            raise ValueError(f"incomplete time {' '.join(str(v) for v in raw)!r}")
        key = tuple(str(v) for v in values)
        last = self._last_time  # consecutive lines usually share their second
        if last[0] == key:
            return last[1]
        stamp = parse_time(self.time_parts, key)
        self._last_time = (key, stamp)
        return stamp


def parse_time(parts: Sequence[tuple[str, str]], values: tuple[str, ...]) -> str:
    """One ISO 8601 UTC time from the texts of a format's time directives."""
    if len(parts) == 1:
        kind, fmt = parts[0]
        value = values[0]
        if kind == "clf":
            return apache_time_to_iso(value)
        if kind == "iso":
            return iso(datetime.fromisoformat(value.replace("Z", "+00:00").replace(",", ".")))
        if kind == "epoch":
            seconds = float(value) / {"sec": 1, "msec": 1e3, "usec": 1e6}[fmt]
            return iso(datetime.fromtimestamp(seconds, UTC))
    if any(kind == "epoch" for kind, _ in parts):
        raise ValueError("an epoch time (sec, msec, usec) cannot be combined with other parts")
    fmt = "\x00".join(f for _, f in parts)
    parsed = datetime.strptime("\x00".join(values), fmt)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return iso(parsed)


_STRFTIME = {
    "a": r"\w+",
    "A": r"\w+",
    "b": r"\w+",
    "B": r"\w+",
    "h": r"\w+",
    "d": r"\d\d",
    "e": r" ?\d{1,2}",
    "m": r"\d\d",
    "y": r"\d\d",
    "Y": r"\d{4}",
    "H": r"\d\d",
    "I": r"\d\d",
    "M": r"\d\d",
    "S": r"\d\d",
    "p": r"[AP]M",
    "j": r"\d{3}",
    "z": r"[+-]\d{4}",
    "Z": r"[A-Za-z]+",
    "T": r"\d\d:\d\d:\d\d",
    "R": r"\d\d:\d\d",
    "F": r"\d{4}-\d\d-\d\d",
    "D": r"\d\d/\d\d/\d\d",
    "u": r"\d",
    "w": r"\d",
    "%": "%",
}
_STRPTIME_EXPAND = {"T": "%H:%M:%S", "R": "%H:%M", "F": "%Y-%m-%d", "D": "%m/%d/%y", "h": "%b"}


def _strftime_field(fmt: str, directive: str) -> tuple[str, str]:
    """(regex, strptime format) of an Apache ``%{...}t`` strftime format."""
    regex, strp, i = [], [], 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            if d not in _STRFTIME:
                raise LogFormatError(f"time format %{d} in {directive} is not supported")
            regex.append(_STRFTIME[d])
            strp.append(_STRPTIME_EXPAND.get(d, "%" + d))
            i += 2
        else:
            regex.append(re.escape(c))
            strp.append("%%" if c == "%" else c)
            i += 1
    return "".join(regex), "".join(strp)


def snake(name: str) -> str:
    """``X-Forwarded-For`` as ``x_forwarded_for`` (a namespaced field name)."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or "field"


# --- Apache -------------------------------------------------------------------------------

_APACHE_SIMPLE: dict[str, tuple[str | None, str, str, str | Callable[[str], Any]]] = {
    # letter: (target, fallback name, shape, conversion)
    "h": ("source", "remote_host", TOKEN, ADDRESS),
    "a": ("source", "remote_ip", TOKEN, ADDRESS),
    "A": ("destination", "local_ip", TOKEN, ADDRESS),
    "l": (None, "ident", TOKEN, TEXT),
    "u": ("user.name", "remote_user", TOKEN, TEXT),
    "r": ("http.request", "request", SPACEY, REQUEST),
    "s": ("http.response.status_code", "status", STATUS, _int),
    "b": ("http.response.body.bytes", "body_bytes", INT, _int),
    "B": ("http.response.body.bytes", "body_bytes", INT, _int),
    "O": ("http.response.bytes", "bytes_sent", INT, _int),
    "I": ("http.request.bytes", "bytes_received", INT, _int),
    "S": (None, "bytes_transferred", INT, _int),
    "D": ("event.duration", "duration_us", INT, _scaled(1000)),
    "v": ("destination.domain", "server_name", TOKEN, TEXT),
    "V": ("url.domain", "server_name_used", TOKEN, TEXT),
    "H": ("http.version", "protocol", TOKEN, _version),
    "m": ("http.request.method", "method", TOKEN, TEXT),
    "U": ("url.path", "path", TOKEN, TEXT),
    "q": ("url.query", "query", TOKEN, _query),
    "f": ("file.path", "filename", TOKEN, TEXT),
    "k": (None, "keepalive_requests", INT, _int),
    "L": (None, "log_id", TOKEN, TEXT),
    "X": (None, "connection_status", TOKEN, TEXT),
    "c": (None, "connection_status", TOKEN, TEXT),
    "R": (None, "handler", TOKEN, TEXT),
    "M": (None, "message", SPACEY, TEXT),
}
_HEADERS_IN = {
    "referer": ("http.request.referrer", SPACEY, TEXT),
    "user-agent": ("user_agent.original", SPACEY, TEXT),
    "x-forwarded-for": ("source", LISTY, XFF),
}
_APACHE_DIRECTIVE = re.compile(r"%([<>!,0-9]*)(?:\{([^}]*)\})?([<>]?)(\^t[io]|[A-Za-z%])?")


def _apache_field(letter: str, arg: str | None, text: str) -> Field:
    """The field of one Apache directive (``text`` is the directive as written)."""
    if letter == "t":
        if arg is None:
            return Field(text, "@timestamp", "time", regex=CLF_TIME, convert=TIME,
                         time=("clf", "clf"), outer=(r"\[", r"\]"))  # fmt: skip
        spec = arg
        for prefix in ("begin:", "end:"):
            spec = spec.removeprefix(prefix)
        if spec in ("sec", "msec", "usec"):
            return Field(
                text, "@timestamp", "time", regex=r"\d+", convert=TIME, time=("epoch", spec)
            )
        if spec in ("msec_frac", "usec_frac"):
            return Field(
                text, "@timestamp", "time", regex=r"\d+", convert=TIME, time=("frac", "%f")
            )
        regex, strp = _strftime_field(spec, text)
        return Field(text, "@timestamp", "time", regex=regex, convert=TIME, time=("strftime", strp))
    if letter == "T":
        unit = {None: 1_000_000_000, "s": 1_000_000_000, "ms": 1_000_000, "us": 1000}.get(arg)
        if unit is None:
            raise LogFormatError(f"unknown unit {arg!r} in {text} (expected s, ms or us)")
        return Field(text, "event.duration", "time_taken", INT, _scaled(unit))
    if letter == "p":
        kind = arg or "canonical"
        if kind == "remote":
            return Field(text, "source.port", "remote_port", INT, _int)
        if kind in ("canonical", "local"):
            return Field(text, "destination.port", f"{kind}_port", INT, _int)
        raise LogFormatError(f"unknown port type {arg!r} in {text} (canonical, local, remote)")
    if letter == "P":
        kind = arg or "pid"
        if kind == "pid":
            return Field(text, "process.pid", "pid", INT, _int)
        if kind in ("tid", "hextid"):
            return Field(text, "process.thread.id" if kind == "tid" else None, kind, TOKEN,
                         _int if kind == "tid" else TEXT)  # fmt: skip
        raise LogFormatError(f"unknown process id type {arg!r} in {text} (pid, tid, hextid)")
    if letter == "a" and arg == "c":
        return Field(text, "source", "peer_ip", TOKEN, ADDRESS)
    if letter in ("i", "o", "e", "n", "C", "^ti", "^to", "x"):
        if not arg:
            raise LogFormatError(f"{text} needs a name in braces (%{{Name}}{letter})")
        if letter == "i" and arg.lower() in _HEADERS_IN:
            target, shape, convert = _HEADERS_IN[arg.lower()]
            return Field(text, target, snake(arg), shape, convert)
        prefixes = {
            "o": "sent_",
            "n": "note_",
            "C": "cookie_",
            "^ti": "trailer_",
            "^to": "sent_trailer_",
            "x": "",
        }
        return Field(text, None, prefixes.get(letter, "") + snake(arg), SPACEY, TEXT)
    if letter in _APACHE_SIMPLE:
        return Field(text, *_APACHE_SIMPLE[letter])
    raise LogFormatError(f"unknown LogFormat directive {text!r}")


def _unescape_apache(fmt: str) -> str:
    """The LogFormat string as Apache reads it: ``\\"`` is a quote, ``\\t``/``\\n``."""
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n"}.get(m[1], m[1]), fmt)


def tokenize_apache(fmt: str) -> list[str | Field]:
    """Literals and fields of an Apache LogFormat string."""
    text = _unescape_apache(fmt.strip())
    out: list[str | Field] = []
    i = 0
    while i < len(text):
        j = text.find("%", i)
        if j < 0:
            out.append(text[i:])
            break
        if j > i:
            out.append(text[i:j])
        if text.startswith("%{", j) and "}" not in text[j:]:
            raise LogFormatError(f"unterminated %{{ in LogFormat {fmt!r} at position {j}")
        m = _APACHE_DIRECTIVE.match(text, j)
        assert m is not None
        if m[4] is None:
            bad = text[j : m.end() + 1]
            raise LogFormatError(f"incomplete or unknown LogFormat directive {bad!r} in {fmt!r}")
        if m[4] == "%":
            out.append("%")
        else:
            out.append(_apache_field(m[4], m[2], m[0]))
        i = m.end()
    return out


# --- nginx --------------------------------------------------------------------------------

_NGINX_VARS: dict[str, tuple[str | None, str, str | Callable[[str], Any]]] = {
    # variable: (target, shape, conversion); fallback is the variable's name
    "remote_addr": ("source", TOKEN, ADDRESS),
    "remote_port": ("source.port", INT, _int),
    "remote_user": ("user.name", TOKEN, TEXT),
    "request": ("http.request", SPACEY, REQUEST),
    "request_method": ("http.request.method", TOKEN, TEXT),
    "request_uri": ("url.original", TOKEN, TEXT),
    "uri": ("url.path", TOKEN, TEXT),
    "document_uri": ("url.path", TOKEN, TEXT),
    "args": ("url.query", TOKEN, TEXT),
    "query_string": ("url.query", TOKEN, TEXT),
    "server_protocol": ("http.version", TOKEN, _version),
    "scheme": ("url.scheme", TOKEN, TEXT),
    "status": ("http.response.status_code", STATUS, _int),
    "body_bytes_sent": ("http.response.body.bytes", INT, _int),
    "bytes_sent": ("http.response.bytes", INT, _int),
    "request_length": ("http.request.bytes", INT, _int),
    "http_referer": ("http.request.referrer", SPACEY, TEXT),
    "http_user_agent": ("user_agent.original", SPACEY, TEXT),
    "http_x_forwarded_for": ("source", LISTY, XFF),
    "host": ("url.domain", TOKEN, TEXT),
    "server_name": ("destination.domain", TOKEN, TEXT),
    "server_addr": ("destination", TOKEN, ADDRESS),
    "server_port": ("destination.port", INT, _int),
    "request_time": ("event.duration", FLOAT, _seconds_ns),
    "request_id": ("http.request.id", TOKEN, TEXT),
    "ssl_protocol": ("tls.version", TOKEN, _tls_version),
    "ssl_cipher": ("tls.cipher", TOKEN, TEXT),
    "pid": ("process.pid", INT, _int),
    "hostname": ("host.hostname", TOKEN, TEXT),
    "connection": (None, INT, _int),
    "connection_requests": (None, INT, _int),
    "request_body": (None, SPACEY, TEXT),
    "upstream_response_time": (None, LISTY, _number),
    "upstream_connect_time": (None, LISTY, _number),
    "upstream_header_time": (None, LISTY, _number),
    "upstream_addr": (None, LISTY, TEXT),
    "upstream_status": (None, LISTY, TEXT),
    "upstream_cache_status": (None, TOKEN, TEXT),
    "gzip_ratio": (None, FLOAT, _number),
}
_NGINX_TIMES = {
    "time_local": (CLF_TIME, ("clf", "clf")),
    "time_iso8601": (ISO_TIME, ("iso", "iso")),
    "msec": (r"\d+(?:\.\d+)?", ("epoch", "sec")),
}
_NGINX_VAR = re.compile(r"\$(?:\{([A-Za-z0-9_]*)(\}?)|([A-Za-z0-9_]+))")


def _nginx_field(var: str, text: str) -> Field:
    if var in _NGINX_TIMES:
        regex, kind = _NGINX_TIMES[var]
        return Field(text, "@timestamp", var, regex=regex, convert=TIME, time=kind)
    if var in _NGINX_VARS:
        target, shape, convert = _NGINX_VARS[var]
        return Field(text, target, var, shape, convert)
    if var.startswith(("http_", "sent_http_", "cookie_", "arg_", "sent_trailer_")):
        return Field(text, None, var, SPACEY, TEXT)
    if var.startswith("upstream_"):
        return Field(text, None, var, LISTY, TEXT)
    return Field(text, None, var, TOKEN, TEXT)


def _unwrap_nginx(fmt: str) -> str:
    """A ``log_format`` string as nginx reads it: quoted pieces joined, ``log_format name``
    and ``escape=`` and the final ``;`` dropped when pasted from nginx.conf."""
    text = fmt.strip()
    text = re.sub(r"^log_format\s+\S+\s+", "", text)
    text = re.sub(r"^escape=\S+\s+", "", text).removesuffix(";").strip()
    if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
        pieces = re.findall(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", text)
        joined = "".join(a or b for a, b in pieces)
        if joined:
            text = re.sub(r"\\(.)", r"\1", joined)
    return text


def tokenize_nginx(fmt: str) -> list[str | Field]:
    """Literals and fields of an nginx log_format string."""
    text = _unwrap_nginx(fmt)
    out: list[str | Field] = []
    i = 0
    while i < len(text):
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        if j > i:
            out.append(text[i:j])
        m = _NGINX_VAR.match(text, j)
        if m is None:
            raise LogFormatError(f"'$' without a variable name in log_format {fmt!r} at {j}")
        if m[3] is None and (not m[1] or not m[2]):
            raise LogFormatError(f"bad variable {m[0]!r} in log_format {fmt!r}")
        out.append(_nginx_field(m[1] or m[3], m[0]))
        i = m.end()
    return out


# --- compiling ----------------------------------------------------------------------------


def _field_regex(f: Field, before: str, after: str, last: bool) -> str:
    if f.regex is not None:
        return f.regex
    quoted = before.endswith('"') and after.startswith('"')
    if f.shape in _SHAPES and not (quoted and f.shape == LISTY):
        return _SHAPES[f.shape]
    if f.convert is _query:
        return r'(?:\?[^\s"]*)?'
    if quoted:
        return QUOTED_BODY
    if f.shape == SPACEY:
        return ".*" if last else ".*?"
    if f.target == "url.path":
        return r'[^\s?"]*'
    stop = after[:1]
    if stop and not stop.isspace() and not stop.isalnum():
        return rf"[^\s{re.escape(stop)}]+"
    return r"\S+"


def compile_tokens(source: str, tokens: list[str | Field], dataset: str) -> Compiled:
    """One regex and a setter table from a tokenized format string."""
    fields = [t for t in tokens if isinstance(t, Field)]
    if not fields:
        raise LogFormatError(f"format {source!r} has no fields")
    parts: list[str] = []
    claimed: set[str] = set()
    names: set[str] = set()
    setters: list[tuple[int, Setter]] = []
    late: list[tuple[int, Setter]] = []
    time_groups: list[int] = []
    time_parts: list[tuple[str, str]] = []
    group = 0
    greedy_end = False
    for k, token in enumerate(tokens):
        if isinstance(token, str):
            parts.append(re.escape(token))
            continue
        before = tokens[k - 1] if k and isinstance(tokens[k - 1], str) else ""
        after = tokens[k + 1] if k + 1 < len(tokens) and isinstance(tokens[k + 1], str) else ""
        last = k == len(tokens) - 1
        token.group = f"g{group}"
        regex = _field_regex(token, str(before), str(after), last)
        greedy_end = last and regex == ".*"
        parts.append(f"{token.outer[0]}(?P<{token.group}>{regex}){token.outer[1]}")
        combinable = ("strftime", "frac")
        if (
            token.time is not None
            and time_parts
            and not (
                token.time[0] in combinable and all(kind in combinable for kind, _ in time_parts)
            )
        ):
            token.target = None  # a second time: only Apache's strftime pieces add up
        elif token.time is not None:
            time_groups.append(group)
            time_parts.append(token.time)
            group += 1
            continue
        target = token.target
        claim = f"{target}/xff" if token.convert == XFF else str(target)
        if target is None or claim in claimed:
            name = token.fallback
            while name in names:
                name += "_2"
            names.add(name)
            setters.append((group, _text_setter(f"{dataset}.{name}", token.convert)))
        else:
            claimed.add(claim)
            setter = _setter(target, token.convert, dataset)
            (late if token.convert == XFF else setters).append((group, setter))
        group += 1
    rest_group = None
    if not greedy_end:
        parts.append(r"(?: (?P<rest>.*))?")
        rest_group = group
    try:
        pattern = re.compile("".join(parts), re.DOTALL)
    except re.error as exc:  # pragma: no cover - every piece is escaped or ours
        raise LogFormatError(f"format {source!r} does not compile: {exc}") from None
    return Compiled(source, pattern, setters + late, time_groups, time_parts, rest_group, fields)


def _text_setter(dotted: str, convert: str | Callable[[str], Any]) -> Setter:
    path = tuple(dotted.split("."))
    fn = convert if callable(convert) else None
    if convert == XFF:
        fn = split_list
    if fn is None:

        def set_text(doc: Document, value: str) -> None:
            _put(doc, path, value)

        return set_text

    def set_converted(doc: Document, value: str) -> None:
        converted = fn(value)
        _put(doc, path, value if converted is None else converted)

    return set_converted


def _setter(target: str, convert: str | Callable[[str], Any], dataset: str) -> Setter:
    if convert == ADDRESS:
        key = target

        def set_address(doc: Document, value: str) -> None:
            doc[key] = {"address": value, "ip": value} if is_ip(value) else {"address": value}

        return set_address
    if convert == XFF:
        list_path = (*dataset.split("."), "remote_ip_list")
        peer_path = (*dataset.split("."), "remote_addr")

        def set_xff(doc: Document, value: str) -> None:
            entries = split_list(value)
            if not entries:
                return
            _put(doc, list_path, entries)
            client = pick_client(entries)
            peer = doc.get("source", {}).get("address")
            if client is None or (peer is not None and not is_ip(client)):
                return  # a first entry that is no IP does not displace the peer
            if peer is not None and peer != client:
                _put(doc, peer_path, peer)
            doc["source"] = (
                {"address": client, "ip": client} if is_ip(client) else {"address": client}
            )

        return set_xff
    if convert == REQUEST:
        request_path = (*dataset.split("."), "request")

        def set_request(doc: Document, value: str) -> None:
            parts = value.split(" ")
            http = doc.setdefault("http", {})
            if len(parts) == 3 and parts[2].startswith("HTTP/"):
                http.setdefault("request", {})["method"] = parts[0]
                doc.setdefault("url", {})["original"] = parts[1]
                http["version"] = parts[2][5:]
            elif len(parts) == 2 and parts[0].isalpha():
                http.setdefault("request", {})["method"] = parts[0]
                doc.setdefault("url", {})["original"] = parts[1]
            else:
                _put(doc, request_path, value)
                if not http:
                    del doc["http"]

        return set_request
    return _text_setter(target, convert)


def compile_apache(fmt: str, dataset: str = "apache.access") -> Compiled:
    """Compile an Apache ``LogFormat`` string (``\\"`` quotes as in httpd.conf)."""
    return compile_tokens(fmt, tokenize_apache(fmt), dataset)


def compile_nginx(fmt: str, dataset: str = "nginx.access") -> Compiled:
    """Compile an nginx ``log_format`` string (as in nginx.conf, quotes optional)."""
    return compile_tokens(fmt, tokenize_nginx(fmt), dataset)


def apply(compiled: Compiled, m: re.Match[str], doc: Document, dataset: str) -> None:
    """Set the fields of a matched line on ``doc`` (``@timestamp`` too; ``ValueError`` on a
    bad time)."""
    groups = m.groups()
    for index, setter in compiled.setters:
        value = groups[index]
        if value is None or value == "-" or value == "":
            continue
        setter(doc, value)
    if compiled.time_groups:
        stamp = compiled.time([groups[i] for i in compiled.time_groups])
        if stamp is not None:
            doc["@timestamp"] = stamp
    if compiled.rest_group is not None:
        rest = groups[compiled.rest_group]
        if rest and rest.strip():
            _put(doc, (*dataset.split("."), "extra"), rest.strip())


# --- presets ------------------------------------------------------------------------------

APACHE_PRESETS: dict[str, str] = {
    "common": r'%h %l %u %t "%r" %>s %b',
    "combined": r'%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
    "combinedio": r'%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %I %O',
    "combined_xff": r'%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{X-Forwarded-For}i"',
    "proxy": r'%{X-Forwarded-For}i %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"',
    "vhost_common": r'%v %h %l %u %t "%r" %>s %b',
    "vhost_combined": r'%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
    "vhost_combined_xff": (
        r'%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i" "%{X-Forwarded-For}i"'
    ),
    "referer": r"%{Referer}i -> %U",
    "agent": r"%{User-agent}i",
}
"""Apache's own (httpd.conf, Debian's apache2.conf) and common LogFormat nicknames:
``proxy`` is the X-Forwarded-For-first format of the Apache docs, ``vhost_combined`` is
Debian's ``other_vhosts_access.log``."""

NGINX_COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)
NGINX_PRESETS: dict[str, str] = {
    "combined": NGINX_COMBINED,
    "common": '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent',
    "main": NGINX_COMBINED + ' "$http_x_forwarded_for"',
    "xff_combined": NGINX_COMBINED.replace("$remote_addr", "$http_x_forwarded_for"),
    "host_combined": "$host " + NGINX_COMBINED,
}
"""nginx's built-in ``combined``, nginx.conf's default ``main``, and the variants seen when
``$remote_addr`` is replaced by the X-Forwarded-For list or the line starts with ``$host``."""

NOT_DETECTED = frozenset({"referer", "agent"})
"""Presets that match nearly any line: chosen by name only."""

LEGACY = frozenset({"combined", "common"})
"""Presets the built-in combined-or-common parser reads (per line, trailing fields kept)."""


def presets(server: str) -> dict[str, str]:
    """The presets of ``apache`` or ``nginx``."""
    return APACHE_PRESETS if server == "apache" else NGINX_PRESETS


_COMPILED: dict[tuple[str, str, str], Compiled] = {}


def compiled_preset(server: str, name: str, dataset: str) -> Compiled:
    """A preset of ``server``, compiled once per process."""
    key = (server, name, dataset)
    if key not in _COMPILED:
        known = presets(server)
        if name not in known:
            raise LogFormatError(f"unknown {server} preset {name!r}; known: {', '.join(known)}")
        compile_fn = compile_apache if server == "apache" else compile_nginx
        _COMPILED[key] = compile_fn(known[name], dataset)
    return _COMPILED[key]


def head_lines(head: bytes, limit: int = 20) -> list[str]:
    """The first ``limit`` non-empty whole lines of ``head`` (a last cut-off line dropped)."""
    lines = head.split(b"\n")
    if len(lines) > 1 and not head.endswith(b"\n"):
        lines.pop()
    out = []
    for line in lines:
        line = line.rstrip(b"\r")
        if line.strip():
            out.append(line.decode("utf-8", errors="replace"))
            if len(out) >= limit:
                break
    return out


def detect_preset(server: str, lines: Sequence[str], dataset: str) -> tuple[str | None, int]:
    """The preset matching most of ``lines`` (ties: the more specific, then the earlier) and
    how many it matched; ``(None, 0)`` if none matches any."""
    best: tuple[int, int, int] = (0, 0, 0)
    chosen = None
    for order, name in enumerate(presets(server)):
        if name in NOT_DETECTED:
            continue
        compiled = compiled_preset(server, name, dataset)
        fullmatch = compiled.regex.fullmatch
        hits = sum(1 for line in lines if fullmatch(line))
        score = (hits, compiled.specificity, -order)
        if hits and score > best:
            best, chosen = score, name
    return chosen, best[0]
