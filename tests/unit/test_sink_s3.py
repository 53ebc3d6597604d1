"""S3 object writers and the quarantine, against moto's in-process S3."""

from __future__ import annotations

import gzip
import io
import json
import math
import random
import re
from typing import Any

import pytest

from logferry.model import Event, ObjectRef
from logferry.sinks import Failure
from logferry.sinks.s3 import (
    MIB,
    CsvObjectWriter,
    NdjsonObjectWriter,
    ObjectWriter,
    Quarantine,
    source_hash,
)

BUCKET = "out"
WHEN = 1_790_000_000.0  # 2026-09-21 UTC


def body(client: Any, key: str) -> bytes:
    return bytes(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_small_csv_is_one_put_with_header_type_and_encryption(s3: Any) -> None:
    with CsvObjectWriter(s3, BUCKET, "a/2026-11-24.csv", ["datetime", "users", "note"]) as out:
        out.write_row(["2026-11-24 10:00:01", 3, "up, 2 days"])
        out.write_rows([["2026-11-24 10:01:01", None, 'say "hi"']])
    assert out.rows == 2
    assert out.parts == 0  # no multipart upload for a small output
    assert body(s3, "a/2026-11-24.csv").decode() == (
        'datetime,users,note\n2026-11-24 10:00:01,3,"up, 2 days"\n'
        '2026-11-24 10:01:01,,"say ""hi"""\n'
    )
    head = s3.head_object(Bucket=BUCKET, Key="a/2026-11-24.csv")
    assert head["ContentType"] == "text/csv; charset=utf-8"
    assert head["ServerSideEncryption"] == "AES256"


def test_big_ndjson_goes_multipart_with_bounded_parts(s3: Any) -> None:
    rng = random.Random(5)
    docs = [{"n": i, "pad": "ü" * rng.randrange(100, 2_000)} for i in range(6_000)]
    with NdjsonObjectWriter(s3, BUCKET, "big.ndjson", part_size=5 * MIB) as out:
        for doc in docs:
            out.write_document(doc)
            assert len(out._buffer) < 5 * MIB  # never more than one part held
    expected = b"".join(
        json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for d in docs
    )
    assert out.parts == math.ceil(len(expected) / (5 * MIB)) >= 3
    assert out.bytes_in == out.bytes_out == len(expected)
    assert body(s3, "big.ndjson") == expected


def test_gzip_output_round_trips(s3: Any) -> None:
    with NdjsonObjectWriter(s3, BUCKET, "z.ndjson.gz", compress=True) as out:
        for i in range(1_000):
            out.write_document({"i": i, "msg": "ログ"})
    raw = body(s3, "z.ndjson.gz")
    assert raw[:2] == b"\x1f\x8b"
    lines = gzip.decompress(raw).decode().splitlines()
    assert [json.loads(x)["i"] for x in lines] == list(range(1_000))
    assert s3.head_object(Bucket=BUCKET, Key="z.ndjson.gz")["ContentEncoding"] == "gzip"
    assert out.bytes_out < out.bytes_in


def test_error_inside_the_block_aborts_the_upload(s3: Any) -> None:
    with pytest.raises(RuntimeError), ObjectWriter(s3, BUCKET, "bad", part_size=5 * MIB) as out:
        out.write(b"x" * (6 * MIB))
        assert out.parts == 1
        raise RuntimeError("parser blew up")
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_part_size_below_s3_minimum_is_refused(s3: Any) -> None:
    with pytest.raises(ValueError, match="s3://out/k"):
        ObjectWriter(s3, BUCKET, "k", part_size=MIB)


# -- quarantine ----------------------------------------------------------------------------


def failures() -> list[Failure]:
    return [
        Failure(Event(f"id{i}", 1_790_000_000_000 + i, {"n": i, "t": "ç"}, f"行 {i}"), "too_old")
        for i in range(3)
    ]


def test_park_writes_gzipped_ndjson_under_the_documented_key(s3: Any) -> None:
    q = Quarantine(s3, BUCKET, "parked/", clock=lambda: WHEN)
    ref = ObjectRef("logs", "AWSLogs/1/x.log.gz")
    key = q.park(failures(), sink="cloudwatch", source=ref, offset=4096)
    assert (
        key
        == f"parked/cloudwatch/2026/09/21/{source_hash('s3://logs/AWSLogs/1/x.log.gz')}-4096.ndjson.gz"
    )
    assert re.fullmatch(r"[0-9a-f]{16}", source_hash(ref.uri))
    rows = [json.loads(x) for x in gzip.decompress(body(s3, key)).splitlines()]
    assert rows[0] == {
        "id": "id0",
        "timestamp_ms": 1_790_000_000_000,
        "message": "行 0",
        "document": {"n": 0, "t": "ç"},
        "reason": "too_old",
        "sink": "cloudwatch",
        "source": "s3://logs/AWSLogs/1/x.log.gz",
    }
    assert q.park([], sink="cloudwatch", source=ref) is None


def test_iter_parked_reads_back_and_delete_removes(s3: Any) -> None:
    q = Quarantine(s3, BUCKET, clock=lambda: WHEN)
    k1 = q.park(failures(), sink="cloudwatch", source="s3://a/1")
    k2 = q.park(failures()[:1], sink="search", source="s3://a/2", reason="aws:Throttling")
    assert k1 and k2
    parked = dict(q.iter_parked())
    assert set(parked) == {k1, k2}
    assert [p.event for p in parked[k1]] == [f.event for f in failures()]
    assert parked[k1][2].as_failure() == failures()[2]
    (only,) = parked[k2]
    assert (only.reason, only.sink, only.source) == ("aws:Throttling", "search", "s3://a/2")
    assert [k for k, _ in q.iter_parked("quarantine/search/2026")] == [k2]
    q.delete(k1)
    assert [k for k, _ in q.iter_parked()] == [k2]


def test_reparking_the_same_source_and_offset_overwrites(s3: Any) -> None:
    q = Quarantine(s3, BUCKET, clock=lambda: WHEN)
    first = q.park(failures(), sink="cloudwatch", source="s3://a/1", offset=7)
    again = q.park(failures()[:2], sink="cloudwatch", source="s3://a/1", offset=7)
    assert first == again
    assert [len(events) for _, events in q.iter_parked()] == [2]


def test_corrupt_parked_line_names_object_and_line(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    data = io.BytesIO()
    with gzip.GzipFile(fileobj=data, mode="wb") as gz:
        gz.write(b'{"id":"a","timestamp_ms":1,"message":"m","document":{},"reason":"r",')
        gz.write(b'"sink":"s","source":"x"}\n{"id": 1}\n')
    s3.put_object(Bucket=BUCKET, Key="quarantine/s/x.ndjson.gz", Body=data.getvalue())
    with pytest.raises(ValueError, match=r"s3://out/quarantine/s/x.ndjson.gz line 2"):
        list(q.iter_parked())
