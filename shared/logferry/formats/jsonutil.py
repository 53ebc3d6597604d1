"""JSON decoding that yields only values every sink can serialise and index."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from logferry.model import Record

_INT64 = 2**63


def _int(text: str) -> int | str:
    """An integer, or its text if it does not fit 64 bits (orjson and search engines refuse it)."""
    value = int(text)
    return value if -_INT64 <= value < _INT64 else text


def loads(text: str | bytes) -> Any:
    """``json.loads`` with huge integers and ``NaN``/``Infinity`` kept as strings."""
    return json.loads(text, parse_int=_int, parse_constant=str)


def loads_object(text: str | bytes) -> dict[str, Any]:
    """:func:`loads` of a JSON object; ``ValueError`` says why ``text`` is not one."""
    try:
        value = loads(text)
    except ValueError as exc:
        raise ValueError(f"not a JSON object ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"not a JSON object (a JSON {type(value).__name__})")
    return value


_WHITESPACE = b" \t\r\n"
_NON_WHITESPACE = re.compile(r"[^ \t\r\n]")
_DECODER = json.JSONDecoder()


def split_objects(segment: bytes, offset: int) -> Iterator[tuple[int, bytes]]:
    """``(byte offset, bytes)`` of each JSON object in ``segment`` (objects written back to
    back, ``}{``, as Firehose does); an undecodable rest is one piece of its own."""
    text = segment.decode("utf-8", "surrogateescape")
    pos = 0
    byte_pos = offset
    while (found := _NON_WHITESPACE.search(text, pos)) is not None:
        start = found.start()
        byte_pos += start - pos  # JSON whitespace is ASCII: one byte per character
        try:
            obj, end = _DECODER.raw_decode(text, start)
        except ValueError:
            obj, end = None, len(text)
        if not isinstance(obj, dict):
            end = len(text)
        piece = text[start:end].encode("utf-8", "surrogateescape")
        yield byte_pos, piece.rstrip(_WHITESPACE)
        byte_pos += len(piece)
        pos = end


def unglue(records: Iterable[Record]) -> Iterator[Record]:
    """JSON lines, with each line that holds several objects glued (``}{``) cut into one
    record per object at its own byte offset (same line number)."""
    for record in records:
        data = record.data
        if b"}{" not in data and b"} {" not in data:
            yield record
            continue
        for offset, piece in split_objects(data, record.offset):
            yield Record(offset, piece, record.line_no)
