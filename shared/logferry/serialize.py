"""What the serializer refuses in a document, found only after orjson has refused it.

Every sink ships JSON made by orjson (the search sink's sizing, CloudWatch Logs' request
bodies, ``logferry parse``), and orjson raises ``TypeError`` on an integer beyond 64 bits,
on a string holding a lone surrogate (``"\\ud83d"``, what ``JSON.stringify`` writes for a
cut emoji), on a dict key that is not a string and on a type JSON does not have. The hot
path is one ``orjson.dumps`` per document; this module is the slow path taken when it
raises: :func:`find_poison` names each refused value, :func:`clean` makes a copy orjson
accepts, :func:`representable` mends text. ``formats.base.shippable`` turns such a
document into its line's error document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_INT64 = 2**63
_UINT64 = 2**64
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_VALUE_TEXT = 256
"""Characters of a refused value kept as text (the line itself is kept whole)."""
MAX_FINDINGS = 10
"""Refused values named per document (a line of a thousand bad numbers names ten)."""


@dataclass(frozen=True)
class Poison:
    """One value the serializer refuses: where it is, what it was (as text), and why."""

    field: str
    """Dotted path of the value (``http.response.body.bytes``, ``tags.2``, ``labels.<key>``)."""
    value: str
    reason: str


def representable(text: str) -> str:
    """``text`` with surrogate pairs joined and each lone surrogate replaced by U+FFFD."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _fits(value: int) -> bool:
    return -_INT64 <= value < _UINT64


def _as_text(value: Any) -> str:
    text = representable(value if isinstance(value, str) else repr(value))
    return text if len(text) <= MAX_VALUE_TEXT else text[:MAX_VALUE_TEXT] + "…"


def _refusal(value: Any) -> str | None:
    """Why orjson refuses ``value`` itself (not its members), or ``None``."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None
    if isinstance(value, int):
        return None if _fits(value) else "integer beyond 64 bits"
    if isinstance(value, str):
        return "text with a lone surrogate" if _SURROGATE.search(value) else None
    if isinstance(value, dict | list | tuple):
        return None
    return f"{type(value).__name__} is not a JSON type"


def find_poison(doc: Any, path: str = "") -> list[Poison]:
    """Every value in ``doc`` that orjson refuses (at most :data:`MAX_FINDINGS`)."""
    found: list[Poison] = []
    _walk(doc, path, found)
    return found


def _walk(value: Any, path: str, found: list[Poison]) -> None:
    if len(found) >= MAX_FINDINGS:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            name = representable(key) if isinstance(key, str) else repr(key)
            where = f"{path}.{name}" if path else name
            if not isinstance(key, str) or _SURROGATE.search(key):
                found.append(Poison(where, _as_text(key), "key that is not valid text"))
            _walk(item, where, found)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(item, f"{path}.{index}" if path else str(index), found)
        return
    reason = _refusal(value)
    if reason is not None:
        found.append(Poison(path or "(document)", _as_text(value), reason))


def clean(value: Any) -> Any:
    """A copy of ``value`` orjson accepts: refused numbers and objects become their text,
    text is made :func:`representable`, keys become text."""
    if isinstance(value, dict):
        return {
            representable(k) if isinstance(k, str) else repr(k): clean(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [clean(item) for item in value]
    if isinstance(value, str):
        return representable(value)
    if _refusal(value) is None:
        return value
    return _as_text(value)
