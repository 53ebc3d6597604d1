"""What the ELB formats share: the per-object state (key metadata, ``cloud``, ``log.file``),
the common document fields, error documents, and the ``tls`` object."""

from __future__ import annotations

from typing import Any

from logferry.formats.base import LineFormat, error_document
from logferry.formats.elb.keys import AlbKeyMeta, parse_alb_key
from logferry.formats.elb.patterns import _tls_version
from logferry.model import Document, ParseContext, Record

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
    fields_hold_line = True

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
        # the key names the load balancer's account and region; the reader's are a fallback
        # (a central log bucket may sit in another account or region)
        account = (meta.account if meta else None) or ctx.account_id
        region = (meta.region if meta else None) or ctx.region
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
