"""Where gzip members start, so a continuation can resume mid-object without re-inflating.

A gzip object made of several members (Firehose deliveries, concatenated uploads) can be
inflated from any member's first byte with a fresh inflater: that byte is byte-aligned and
nothing before it is needed (each member has its own deflate stream and window). While an
object is read, :class:`MemberIndex` keeps member starts as ``(compressed, uncompressed)``
offset pairs; a run that stops at a record boundary hands the latest pair at or before that
record to the next invocation, which ranged-GETs from ``compressed`` and skips only the few
uncompressed bytes between the member start and the record.

A single-member object has no such point (deflate blocks are not byte-aligned and their
window cannot be primed from Python's zlib), so it is still inflated from byte 0, with
ISA-L's faster inflater (see :mod:`logferry.sources.stream`).
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

MIN_SPACING = 1024 * 1024
"""Uncompressed bytes between two kept member starts (bounds memory for tiny members)."""


class MemberStart(NamedTuple):
    """A gzip member's first byte: in the object, and in the uncompressed stream."""

    compressed: int
    uncompressed: int


OBJECT_START = MemberStart(0, 0)


class MemberIndex:
    """Member starts seen while inflating one object, ``spacing`` (default
    :data:`MIN_SPACING`) uncompressed bytes apart at least.

    ``origin`` is where this read began (``MemberStart(0, 0)`` unless it resumed at a member);
    offsets given to :meth:`add` are relative to it.
    """

    def __init__(self, origin: MemberStart = OBJECT_START, spacing: int | None = None) -> None:
        self.origin = origin
        self.spacing = MIN_SPACING if spacing is None else spacing
        self._compressed = [origin.compressed]
        self._uncompressed = [origin.uncompressed]

    def add(self, compressed: int, uncompressed: int) -> None:
        """Note a member starting ``compressed``/``uncompressed`` bytes after the origin."""
        position = self.origin.uncompressed + uncompressed
        if position - self._uncompressed[-1] >= self.spacing:
            self._compressed.append(self.origin.compressed + compressed)
            self._uncompressed.append(position)

    def before(self, offset: int) -> MemberStart | None:
        """The latest member start at or before uncompressed ``offset`` (``None`` if it is 0)."""
        i = bisect.bisect_right(self._uncompressed, offset) - 1
        if i < 0 or self._compressed[i] == 0:
            return None
        return MemberStart(self._compressed[i], self._uncompressed[i])

    def __len__(self) -> int:
        return len(self._uncompressed)


def usable(resume: MemberStart | tuple[int, int] | None, start_offset: int) -> MemberStart | None:
    """``resume`` if a read from ``start_offset`` may begin there, else ``None``."""
    if resume is None:
        return None
    point = MemberStart(*resume)
    if point.compressed > 0 and 0 <= point.uncompressed <= start_offset:
        return point
    return None
