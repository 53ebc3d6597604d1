"""JSON decoding that yields only values every sink can serialise and index."""

from __future__ import annotations

import json
from typing import Any

_INT64 = 2**63


def _int(text: str) -> int | str:
    """An integer, or its text if it does not fit 64 bits (orjson and search engines refuse it)."""
    value = int(text)
    return value if -_INT64 <= value < _INT64 else text


def loads(text: str | bytes) -> Any:
    """``json.loads`` with huge integers and ``NaN``/``Infinity`` kept as strings."""
    return json.loads(text, parse_int=_int, parse_constant=str)
