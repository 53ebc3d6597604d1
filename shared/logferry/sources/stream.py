"""Streaming decompression with gzip detected by magic bytes, and offset skipping.

Inflating uses ISA-L (``isal.isal_zlib``, a drop-in for ``zlib``: same streams, same
bounded output, same member ends), 1.7 times as fast as zlib on this machine. It matters most
where logferry inflates without parsing: a continuation of a single-member gzip object
re-inflates it up to its offset.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import cast

from isal import isal_zlib

GZIP_MAGIC = b"\x1f\x8b"
CHUNK_SIZE = 1024 * 1024
OUTPUT_CHUNK = 1024 * 1024
"""Most uncompressed bytes one inflate step yields (keeps memory flat on 10:1 logs)."""


_INFLATE_ERROR = cast(type[Exception], isal_zlib.error)  # its stub types it as an instance


class CorruptObjectError(Exception):
    """The object's bytes cannot be read to the end (corrupt or truncated compression)."""


def is_gzip(head: bytes) -> bool:
    """True if ``head`` starts with the gzip magic bytes (whatever the file is called)."""
    return head[:2] == GZIP_MAGIC


def _peek(raw: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first non-empty chunk (at least 2 bytes if there are) and the rest of the stream."""
    head = b""
    for chunk in raw:
        head += chunk
        if len(head) >= 2:
            break
    return head, raw


def gunzip(
    raw: Iterable[bytes], name: str, on_member: Callable[[int, int], None] | None = None
) -> Iterator[bytes]:
    """Inflate a gzip stream (several concatenated members allowed) chunk by chunk.

    Everything that could be inflated is yielded before a :class:`CorruptObjectError`
    naming ``name`` and the compressed offset is raised, so nothing readable is lost.
    ``on_member(compressed, uncompressed)`` is told where each member after the first starts.
    """
    inflater = isal_zlib.decompressobj(isal_zlib.MAX_WBITS | 16)
    in_member = False
    consumed = 0
    produced = 0
    for chunk in raw:
        data = chunk
        while data:
            if not in_member and consumed and on_member is not None:
                on_member(consumed, produced)
            in_member = True
            try:
                # Bounded output: a 1 MiB compressed chunk can inflate to 10 MiB and more.
                out = inflater.decompress(data, OUTPUT_CHUNK)
            except _INFLATE_ERROR as exc:
                raise CorruptObjectError(
                    f"{name}: corrupt gzip data near compressed byte {consumed}: {exc}"
                ) from exc
            if out:
                produced += len(out)
                yield out
            if not inflater.eof:
                tail = inflater.unconsumed_tail
                consumed += len(data) - len(tail)
                data = tail
                for out in () if data else _pending(inflater):
                    produced += len(out)
                    yield out
                continue
            consumed += len(data) - len(inflater.unused_data)
            data = inflater.unused_data
            inflater = isal_zlib.decompressobj(isal_zlib.MAX_WBITS | 16)
            in_member = False
            if data.strip(b"\0") == b"":
                data = b""  # zero padding after the last member is harmless
    if in_member:
        raise CorruptObjectError(f"{name}: truncated gzip stream after {consumed} compressed bytes")


def _pending(inflater: isal_zlib.Decompress) -> Iterator[bytes]:
    """Output the inflater still holds after consuming all its input (bounded reads leave some)."""
    while not inflater.eof and (out := inflater.decompress(b"", OUTPUT_CHUNK)):
        yield out


def decompressed(
    raw: Iterable[bytes], name: str, on_member: Callable[[int, int], None] | None = None
) -> tuple[bool, Iterator[bytes]]:
    """Detect gzip by magic bytes and return (was_gzip, uncompressed chunk stream).

    ``on_member`` goes to :func:`gunzip`.
    """
    head, rest = _peek(iter(raw))

    def chained() -> Iterator[bytes]:
        if head:
            yield head
        yield from rest

    if is_gzip(head):
        return True, gunzip(chained(), name, on_member)
    return False, chained()


def skip_bytes(chunks: Iterable[bytes], count: int) -> Iterator[bytes]:
    """Drop the first ``count`` bytes of a chunk stream."""
    remaining = count
    for chunk in chunks:
        if remaining >= len(chunk):
            remaining -= len(chunk)
            continue
        yield chunk[remaining:] if remaining else chunk
        remaining = 0


def read_file_chunks(path: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Raw chunks of a local file, or of stdin for ``-``."""
    import sys

    if path == "-":
        stream = sys.stdin.buffer
        while chunk := stream.read(chunk_size):
            yield chunk
        return
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            yield chunk


_DONE = object()


def prefetched(chunks: Iterable[bytes], depth: int = 2) -> Generator[bytes, None, None]:
    """Iterate ``chunks`` in a background thread, up to ``depth`` chunks ahead.

    Reading S3 and inflating release the GIL, so they run on another core while the caller
    parses: on ALB logs this takes the decompression's ~2 µs per line off the parse thread.
    Memory stays bounded (``depth`` queued chunks plus one in each thread's hands). An
    exception the source raises is raised here, after every chunk before it. Closing this
    iterator (or dropping it) stops the thread and closes the source.
    """
    handoff: queue.Queue[object] = queue.Queue(depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(chunks)
        try:
            for chunk in source:
                if not offer(chunk):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            offer(exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="logferry-prefetch", daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)
