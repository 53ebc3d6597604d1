"""Sources: gzip sniffing, streaming decompression, framing, S3 reads and resumption."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from logferry.formats.base import frame_lines
from logferry.model import ObjectRef
from logferry.sources.s3 import ObjectGoneError, open_object
from logferry.sources.stream import CorruptObjectError, decompressed, prefetched, skip_bytes

DATA = b"".join(b"line %d \xe2\x9c\x93\n" % i for i in range(20000))


def chunks(data: bytes, size: int = 4099) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_gzip_detected_by_magic_not_name() -> None:
    gz, stream = decompressed(chunks(gzip.compress(DATA)), "no-suffix-object")
    assert gz is True
    assert b"".join(stream) == DATA


def test_plain_passes_through() -> None:
    gz, stream = decompressed(chunks(DATA), "x.log.gz")
    assert gz is False
    assert b"".join(stream) == DATA


def test_concatenated_gzip_members() -> None:
    data = gzip.compress(b"a\n") + gzip.compress(b"b\n") + gzip.compress(b"c\n")
    assert b"".join(decompressed(chunks(data, 3), "x")[1]) == b"a\nb\nc\n"


def test_truncated_gzip_yields_what_it_can_then_names_the_object() -> None:
    data = gzip.compress(DATA)[: len(DATA) // 8]
    got = bytearray()
    with pytest.raises(CorruptObjectError, match="s3://b/k: truncated gzip"):
        for chunk in decompressed(chunks(data), "s3://b/k")[1]:
            got += chunk
    assert len(got) > 0
    assert DATA.startswith(bytes(got))


def test_corrupt_gzip_raises_with_offset() -> None:
    data = bytearray(gzip.compress(DATA))
    data[100:120] = b"\x00" * 20
    with pytest.raises(CorruptObjectError, match="corrupt gzip data near compressed byte"):
        b"".join(decompressed(chunks(bytes(data)), "obj")[1])


def test_empty_object() -> None:
    gz, stream = decompressed(iter([]), "empty")
    assert gz is False
    assert list(stream) == []


def test_skip_bytes() -> None:
    assert b"".join(skip_bytes(chunks(DATA, 7), 12345)) == DATA[12345:]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 4096])
def test_frame_lines_same_whatever_the_chunking(size: int) -> None:
    data = b"a\r\nbb\n\nccc\n\xff\xfe bad utf8\nlast-without-newline"
    records = list(frame_lines(chunks(data, size)))
    assert [r.data for r in records] == [
        b"a",
        b"bb",
        b"ccc",
        b"\xff\xfe bad utf8",
        b"last-without-newline",
    ]
    assert [r.offset for r in records] == [0, 3, 7, 11, 23]
    assert [r.line_no for r in records] == [1, 2, 4, 5, 6]
    for r in records:
        assert data[r.offset : r.offset + len(r.data)] == r.data


def test_frame_lines_start_offset_and_long_line() -> None:
    long = b"x" * 300_000
    records = list(frame_lines(chunks(long + b"\nshort\n"), start_offset=1000, max_line=100_000))
    assert [len(r.data) for r in records] == [100_000, 100_000, 100_000, 5]
    assert records[0].offset == 1000
    assert records[-1].offset == 1000 + 300_001
    assert b"".join(r.data for r in records[:3]) == long


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="raw-logs")
        yield client


def test_open_object_plain_resumes_with_range(s3: Any) -> None:
    s3.put_object(Bucket="raw-logs", Key="a.log", Body=DATA)
    stream = open_object(s3, ObjectRef("raw-logs", "a.log"), start_offset=5000, chunk_size=1000)
    assert not stream.gzip
    assert b"".join(stream.chunks) == DATA[5000:]
    assert stream.ref.size == len(DATA)
    assert stream.ref.etag


def test_open_object_gzip_resumes_by_skipping(s3: Any) -> None:
    s3.put_object(Bucket="raw-logs", Key="a", Body=gzip.compress(DATA))
    stream = open_object(s3, ObjectRef("raw-logs", "a"), start_offset=7777)
    assert stream.gzip
    assert b"".join(stream.chunks) == DATA[7777:]


def test_open_object_replaced_object_is_detected(s3: Any) -> None:
    s3.put_object(Bucket="raw-logs", Key="a.log", Body=DATA)
    etag = s3.head_object(Bucket="raw-logs", Key="a.log")["ETag"]
    s3.put_object(Bucket="raw-logs", Key="a.log", Body=b"new content\n")
    with pytest.raises(ObjectGoneError, match="replaced"):
        open_object(s3, ObjectRef("raw-logs", "a.log", etag=etag))


def test_open_object_deleted_key(s3: Any) -> None:
    with pytest.raises(ObjectGoneError, match="s3://raw-logs/missing: object no longer exists"):
        open_object(s3, ObjectRef("raw-logs", "missing"))


def test_open_object_offset_at_end(s3: Any) -> None:
    s3.put_object(Bucket="raw-logs", Key="a.log", Body=b"abc\n")
    assert b"".join(open_object(s3, ObjectRef("raw-logs", "a.log"), start_offset=4).chunks) == b""


# -- prefetched: reading ahead in a thread ------------------------------------------------------
def test_prefetched_keeps_order_and_raises_after_the_chunks_before_the_error() -> None:
    def source() -> Iterator[bytes]:
        yield from (bytes([i]) * 10 for i in range(50))
        raise CorruptObjectError("x: truncated")

    got: list[bytes] = []
    with pytest.raises(CorruptObjectError, match="truncated"):
        for chunk in prefetched(source(), depth=3):
            got.append(chunk)
    assert got == [bytes([i]) * 10 for i in range(50)]


def test_prefetched_reads_at_most_depth_ahead_and_close_stops_the_reader() -> None:
    read: list[int] = []
    closed = threading.Event()

    def source() -> Iterator[bytes]:
        try:
            for i in range(1000):
                read.append(i)
                yield b"x"
        finally:
            closed.set()

    stream = prefetched(source(), depth=2)
    assert next(stream) == b"x"
    time.sleep(0.2)
    assert len(read) <= 1 + 2 + 1  # the one taken, the queue, the one waiting to be queued
    stream.close()
    assert closed.wait(2), "the source was not closed"
    assert not any(t.name == "logferry-prefetch" and t.is_alive() for t in threading.enumerate())
