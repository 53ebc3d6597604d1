"""Apache / nginx access logs (any LogFormat / log_format) and user-defined regex formats."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar

from logferry.config import option
from logferry.formats.base import (
    LineFormat,
    base_document,
    dash_none,
    error_document,
    is_ip,
    put,
    to_int,
)
from logferry.formats.logformat import (
    LEGACY,
    NOT_DETECTED,
    Compiled,
    apply,
    compile_apache,
    compile_nginx,
    compiled_preset,
    detect_preset,
    head_lines,
    presets,
)
from logferry.formats.timeparse import APACHE_TIME_FORMAT, apache_time_to_iso
from logferry.model import Document, ObjectRef, ParseContext, Record, iso

log = logging.getLogger(__name__)

_QUOTED = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
"""A quoted field with backslash escapes, as an unrolled loop: runs of plain characters are
matched in one step (an alternation per character made 3 KB requests parse 7x slower)."""
_ACCESS_RE = re.compile(
    r"(\S+) (\S+) (\S+) \[([^\]]+)\] "
    + _QUOTED
    + r" (\d{3}|-) (\d+|-)"
    + r"(?: "
    + _QUOTED
    + " "
    + _QUOTED
    + r")?(.*)"
)
"""host ident user [time] "request" status bytes ["referrer" "agent"] rest — one regex."""


class _TimeCache:
    """Remembers the last converted time: consecutive lines usually share their second."""

    __slots__ = ("iso", "raw")

    def __init__(self) -> None:
        self.raw = ""
        self.iso = ""

    def convert(self, raw: str) -> str:
        if raw != self.raw:
            self.iso = apache_time_to_iso(raw)
            self.raw = raw
        return self.iso


def _options_class(server: str) -> type[Any]:
    names = tuple(presets(server))
    what = "LogFormat" if server == "apache" else "log_format"

    @dataclass(frozen=True)
    class AccessOptions:
        log_format: str = option(
            "LOG_FORMAT_STRING",
            "",
            f"the server's own {what} string (instead of a preset)",
        )
        preset: str = option(
            "LOG_PRESET",
            "",
            "a named format; neither set: chosen per object from its first lines",
            choices=names,
        )

    AccessOptions.__name__ = AccessOptions.__qualname__ = f"{server.title()}Options"
    AccessOptions.__doc__ = f"The ``{server}`` format's options."
    return AccessOptions


ApacheOptions = _options_class("apache")
NginxOptions = _options_class("nginx")


@cache
def _fallbacks(server: str, dataset: str) -> list[tuple[str, Compiled]]:
    """The presets a line that is not combined or common is tried with: most fields first."""
    chosen = [
        (name, compiled_preset(server, name, dataset))
        for name in presets(server)
        if name not in LEGACY and name not in NOT_DETECTED
    ]
    return sorted(chosen, key=lambda item: -item[1].specificity)


class AccessFormat(LineFormat):
    """Access log lines of a LogFormat (Apache) or log_format (nginx) string.

    With ``log_format`` (the server's own format string) or ``preset`` (a name, see
    :mod:`logferry.formats.logformat`) each line must match that format. With neither,
    :meth:`for_object` chooses the preset from an object's first lines; lines are read as
    combined or common (combined when referrer and UA follow, anything after the known
    fields in ``<dataset>.extra``) until then, and a line the chosen format does not match
    is tried with the others.

    Combined fields: ``source.address``/``source.ip``, ``user.name``, ``@timestamp`` (UTC),
    ``http.request.method``, ``url.original``, ``http.version``,
    ``http.response.status_code``, ``http.response.body.bytes``, ``http.request.referrer``,
    ``user_agent.original``; a request that is not ``METHOD URL HTTP/x`` is kept in
    ``<dataset>.request``.
    """

    name: ClassVar[str] = "apache"
    dataset = "apache.access"
    Options: ClassVar[type[Any] | None] = ApacheOptions
    fields_hold_line = True

    def __init__(self, log_format: str = "", preset: str = "") -> None:
        self._times = _TimeCache()
        if log_format and preset:
            raise ValueError(
                "give a format string (LOG_FORMAT_STRING) or a preset (LOG_PRESET), not both"
            )
        self.explicit = bool(log_format or preset)
        """Whether the format was given (no detection, no fallback)."""
        self.preset: str | None = preset or ("custom" if log_format else None)
        """The preset in use (``custom``: a format string; ``None``: not chosen yet)."""
        self._compiled: Compiled | None = None
        if log_format:
            compile_fn = compile_apache if self.name == "apache" else compile_nginx
            self._compiled = compile_fn(log_format, self.dataset)
        elif preset:
            self._compiled = compiled_preset(self.name, preset, self.dataset)

    def _chosen(self, preset: str) -> AccessFormat:
        """An undeclared format of this server reading with ``preset`` (detected)."""
        chosen = type(self)()
        chosen.preset = preset
        if preset not in LEGACY:
            chosen._compiled = compiled_preset(self.name, preset, self.dataset)
        return chosen

    @property
    def detail(self) -> str | None:
        """The preset (or ``format string``) this format reads lines with."""
        if self.preset == "custom":
            return "the given format string"
        return f"preset {self.preset}" if self.preset else None

    def for_object(self, ref: ObjectRef, head: bytes, start_offset: int = 0) -> AccessFormat:
        """This format if it was given; else the preset matching most of the first lines."""
        if self.explicit:
            return self
        lines = head_lines(head)
        preset, hits = detect_preset(self.name, lines, self.dataset)
        if preset is None:
            log.info("%s: no %s preset matches its first lines: combined", ref.uri, self.name)
            preset = "combined"
        else:
            log.info(
                "%s: %s preset %s (%d of %d lines)", ref.uri, self.name, preset, hits, len(lines)
            )
        return self if preset == self.preset else self._chosen(preset)

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One document per line; a line that is not an access log line gives an error document."""
        compiled = self._compiled
        if compiled is None:
            return self._parse_legacy(record, ctx, fallback=True)
        doc = base_document(record, ctx, self.dataset)
        m = compiled.regex.fullmatch(doc["message"])
        if m is None:
            if self.explicit:
                reason = f"line does not match the {self.name} format {self.preset}"
                return [error_document(record, ctx, self.dataset, reason)]
            return self._parse_legacy(record, ctx, fallback=True, skip=self.preset)
        return self._apply(compiled, m, doc, record, ctx)

    def _apply(
        self, compiled: Compiled, m: re.Match[str], doc: Document, record: Record, ctx: ParseContext
    ) -> list[Document]:
        try:
            apply(compiled, m, doc, self.dataset)
        except ValueError as exc:
            return [error_document(record, ctx, self.dataset, str(exc))]
        if "@timestamp" not in doc:
            doc["@timestamp"] = ctx.extra.get("object_time") or iso(datetime.now(UTC))
        return [doc]

    def _fallback(
        self, record: Record, ctx: ParseContext, doc: Document, skip: str | None
    ) -> list[Document]:
        """A line neither combined nor common: the first other preset that matches it."""
        line = doc["message"]
        for name, compiled in _fallbacks(self.name, self.dataset):
            if name == skip:
                continue
            m = compiled.regex.fullmatch(line)
            if m is not None:
                return self._apply(compiled, m, doc, record, ctx)
        return [error_document(record, ctx, self.dataset, "not an access log line")]

    def _parse_legacy(
        self, record: Record, ctx: ParseContext, fallback: bool = False, skip: str | None = None
    ) -> list[Document]:
        """Combined or common, per line (the hot path of big access logs)."""
        doc = base_document(record, ctx, self.dataset)
        m = _ACCESS_RE.fullmatch(doc["message"])
        if m is None:
            if fallback:
                return self._fallback(record, ctx, doc, skip)
            return [error_document(record, ctx, self.dataset, "not an access log line")]
        host, ident, user, time, request, status, size, referrer, agent, rest = m.groups()
        try:
            doc["@timestamp"] = self._times.convert(time)
        except ValueError as exc:
            return [error_document(record, ctx, self.dataset, str(exc))]
        # Built with literals rather than put(): this is the hot path of big access logs.
        if host != "-":
            doc["source"] = {"address": host, "ip": host} if is_ip(host) else {"address": host}
        if ident != "-":
            put(doc, f"{self.dataset}.ident", ident)
        if user != "-":
            doc["user"] = {"name": user}
        http: Document = {}
        http_request: Document = {}
        parts = request.split(" ")
        if len(parts) == 3 and parts[2].startswith("HTTP/"):
            http_request["method"] = parts[0]
            doc["url"] = {"original": parts[1]}
            http["version"] = parts[2][5:]
        elif len(parts) == 2 and parts[0].isalpha():
            http_request["method"] = parts[0]
            doc["url"] = {"original": parts[1]}
        else:
            put(doc, f"{self.dataset}.request", dash_none(request))
        if referrer is not None and referrer != "-":
            http_request["referrer"] = referrer
        if http_request:
            http["request"] = http_request
        response: Document = {} if status == "-" else {"status_code": int(status)}
        if size != "-":
            response["body"] = {"bytes": int(size)}
        if response:
            http["response"] = response
        if http:
            doc["http"] = http
        if agent is not None and agent != "-":
            doc["user_agent"] = {"original": agent}
        if rest:
            put(doc, f"{self.dataset}.extra", rest.strip() or None)
        return [doc]


class ApacheFormat(AccessFormat):
    """Apache access logs (``apache.access``)."""


class NginxFormat(AccessFormat):
    """nginx access logs (``nginx.access``)."""

    name = "nginx"
    dataset = "nginx.access"
    Options = NginxOptions


INT_FIELDS = frozenset(
    {
        "http.response.status_code",
        "http.response.body.bytes",
        "http.response.bytes",
        "http.request.body.bytes",
        "http.request.bytes",
        "source.port",
        "destination.port",
        "source.bytes",
        "destination.bytes",
        "event.duration",
    }
)
"""Fields that become integers when a regex captures them (others stay strings)."""

_NAMED_GROUP = re.compile(r"(?<!\\)\(\?P?<([A-Za-z_@][\w.@-]*)>")
"""``(?P<name>`` or ``(?<name>`` (Java style); names may be dotted ECS names."""
_BACKREFERENCE = re.compile(r"\(\?P=([A-Za-z_@][\w.@-]*)\)")


_PROTECTED = ("@timestamp", "event.dataset", "log.file.path", "log.offset", "error.message")
"""Fields a regex group may not set: the pipeline's own (``message`` groups are ignored)."""


def _check_field_names(names: list[str]) -> None:
    """Refuse names that would overwrite pipeline fields or each other (``a`` and ``a.b``)."""
    unique = set(names)
    for name in unique:
        if not all(name.split(".")):
            raise ValueError(f"bad field name {name!r} in the regex pattern")
        clash = [p for p in _PROTECTED if p == name or p.startswith(name + ".")]
        clash += [n for n in unique if n.startswith(name + ".")]
        if clash:
            raise ValueError(f"regex field {name!r} would overwrite {clash[0]!r}")


@dataclass(frozen=True)
class RegexOptions:
    """The ``regex`` format's options (Kinesis Agent's ``matchPattern``/``customFieldNames``)."""

    pattern: str = option(
        "LOG_PATTERN", "", "regex with named groups (dotted ECS names allowed)", required=True
    )
    dataset: str = option("LOG_DATASET", "custom.access", "`event.dataset` of the documents")
    time_field: str = option("LOG_TIME_FIELD", "timestamp", "the group holding the time")
    time_format: str = option(
        "LOG_TIME_FORMAT",
        APACHE_TIME_FORMAT,
        "strptime format of the time group, or `epoch` / `epoch_millis` / `iso8601`",
    )
    field_names: tuple[str, ...] | None = option(
        "LOG_FIELD_NAMES", None, "names of unnamed groups, in order", kind="names"
    )


class RegexFormat(LineFormat):
    """Any line format given as a regex (the Kinesis Agent ``matchPattern`` idea).

    Named groups become fields; dotted names (``source.ip``) become nested fields, and
    ECS integer fields (status code, bytes, ports) become numbers. Alternatively give
    unnamed groups and ``field_names`` (Kinesis Agent's ``customFieldNames``). The group
    called ``time_field`` is parsed with ``time_format`` (strptime, or ``epoch`` /
    ``epoch_millis`` / ``iso8601``) into ``@timestamp``; times without a zone are UTC.
    The regex must match from the start of the line. A group called ``message`` is
    ignored (the raw line is the message); groups may not overwrite pipeline fields.
    """

    name = "regex"
    Options = RegexOptions

    def __init__(
        self,
        pattern: str,
        dataset: str = "custom.access",
        time_field: str = "timestamp",
        time_format: str = APACHE_TIME_FORMAT,
        field_names: Sequence[str] | None = None,
    ) -> None:
        self.dataset = dataset
        self.time_field = time_field
        self.time_format = time_format
        self._fields: dict[str, str] = {}

        def rename(m: re.Match[str]) -> str:
            group = f"g{len(self._fields)}"
            self._fields[group] = m.group(1)
            return f"(?P<{group}>"

        renamed = _NAMED_GROUP.sub(rename, pattern)
        groups = {name: group for group, name in self._fields.items()}
        renamed = _BACKREFERENCE.sub(lambda m: f"(?P={groups.get(m[1], m[1])})", renamed)
        try:
            self._regex = re.compile(renamed)
        except re.error as exc:
            raise ValueError(f"invalid regex pattern {pattern!r}: {exc}") from None
        if field_names is not None:
            if self._fields:
                raise ValueError("give either named groups or field_names, not both")
            if len(field_names) != self._regex.groups:
                raise ValueError(
                    f"field_names has {len(field_names)} names but the pattern has "
                    f"{self._regex.groups} groups"
                )
            self._positional = list(field_names)
        elif not self._fields:
            raise ValueError(f"regex pattern {pattern!r} has no named groups (?P<name>...)")
        else:
            self._positional = []
        names = self._positional or list(self._fields.values())
        _check_field_names([n for n in names if n not in (time_field, "message")])
        self._times = _TimeCache()

    def _captures(self, m: re.Match[str]) -> list[tuple[str, str | None]]:
        if self._positional:
            return list(zip(self._positional, m.groups(), strict=True))
        return [(self._fields[g], v) for g, v in m.groupdict().items()]

    def parse(self, record: Record, ctx: ParseContext) -> list[Document]:
        """One document per matching line; a line that does not match gives an error document."""
        doc = base_document(record, ctx, self.dataset)
        m = self._regex.match(doc["message"])
        if m is None:
            return [error_document(record, ctx, self.dataset, "line does not match the pattern")]
        for field, raw in self._captures(m):
            value = dash_none(raw)
            if field == self.time_field:
                if value is None:
                    continue
                try:
                    doc["@timestamp"] = self._time(value)
                except ValueError as exc:
                    return [error_document(record, ctx, self.dataset, f"bad time: {exc}")]
            elif field.endswith(".ip") and value is not None and not is_ip(value):
                put(doc, field[:-2] + "address", value)  # an ip field takes only an IP
            elif field != "message":
                converted: Any = to_int(value) if field in INT_FIELDS else value
                put(doc, field, converted if converted is not None else value)
        if "@timestamp" not in doc:
            doc["@timestamp"] = ctx.extra.get("object_time") or iso(datetime.now(UTC))
        return [doc]

    def _time(self, value: str) -> str:
        fmt = self.time_format
        if fmt == APACHE_TIME_FORMAT and len(value) == 26:
            return self._times.convert(value)
        if fmt in ("epoch", "epoch_millis"):
            number = float(value)
            seconds = number / 1000 if fmt == "epoch_millis" else number
            return iso(datetime.fromtimestamp(seconds, UTC))
        if fmt == "iso8601":
            return iso(datetime.fromisoformat(value))
        return iso(datetime.strptime(value, fmt))
