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
from botocore.exceptions import ClientError

from logferry.deadline import Deadline, DeadlineExceeded
from logferry.model import Event, ObjectRef
from logferry.sinks import Failure
from logferry.sinks.s3 import (
    MIB,
    CsvObjectWriter,
    NdjsonObjectWriter,
    ObjectWriter,
    ParkedKey,
    Quarantine,
    parse_key,
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
    digest = source_hash("s3://logs/AWSLogs/1/x.log.gz")
    assert key is not None
    assert re.fullmatch(
        rf"parked/cloudwatch/2026/09/21/{digest}-4096-r0-1790000000000-[0-9a-f]{{12}}\.ndjson\.gz",
        key,
    )
    assert parse_key(key) == ParkedKey(4096, 0, key.split("-r0-")[1].removesuffix(".ndjson.gz"))
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


def test_parking_the_same_source_and_offset_again_keeps_both(s3: Any) -> None:
    q = Quarantine(s3, BUCKET, clock=lambda: WHEN)
    first = q.park(failures(), sink="cloudwatch", source="s3://a/1", offset=7)
    again = q.park(failures()[:2], sink="cloudwatch", source="s3://a/1", offset=7)
    later = q.park(failures()[:1], sink="cloudwatch", source="s3://a/1", offset=7, revision=2)
    assert len({first, again, later}) == 3
    assert sorted(len(events) for _, events in q.iter_parked()) == [1, 2, 3]
    assert later is not None and parse_key(later).revision == 2


def test_a_taken_key_is_never_overwritten(s3: Any) -> None:
    q = Quarantine(s3, BUCKET, clock=lambda: WHEN)
    taken = q.key_for("cloudwatch", "s3://a/1", 7)
    s3.put_object(Bucket=BUCKET, Key=taken, Body=b"someone else's park")
    key = q.park(failures(), sink="cloudwatch", source="s3://a/1", offset=7, key=taken)
    assert key is not None and key != taken and parse_key(key).offset == 7
    assert body(s3, taken) == b"someone else's park"
    with pytest.raises(ClientError, match="PreconditionFailed"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x", IfNoneMatch="*")


def test_old_layout_keys_are_still_read() -> None:
    assert parse_key("quarantine/search/2026/11/24/0123456789abcdef-12345.ndjson.gz") == (
        ParkedKey(12345, 0, None)
    )
    assert parse_key("odd-name.gz") == ParkedKey(0, 0, None)


class FlakyPuts:
    """An S3 client whose first ``put_object`` calls raise the given errors."""

    def __init__(self, client: Any, errors: list[Exception]) -> None:
        self.client, self.errors, self.puts = client, errors, 0

    def put_object(self, **kw: Any) -> Any:
        self.puts += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.client.put_object(**kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def _client_error(code: str, status: int) -> ClientError:
    answer: Any = {"Error": {"Code": code, "Message": "injected"}}
    answer["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(answer, "PutObject")


def test_a_failed_park_is_retried_with_backoff(s3: Any) -> None:
    flaky = FlakyPuts(s3, [_client_error("InternalError", 500), _client_error("SlowDown", 503)])
    waits: list[float] = []
    q = Quarantine(flaky, BUCKET, attempts=3, backoff=0.5, sleep=waits.append)
    key = q.park(failures(), sink="search", source="s3://a/1")
    assert key is not None and flaky.puts == 3 and len(waits) == 2
    assert all(0 <= w <= 2.0 for w in waits)
    assert [len(events) for _, events in q.iter_parked()] == [3]


def test_a_park_that_keeps_failing_raises_the_last_error(s3: Any) -> None:
    denied = [_client_error("AccessDenied", 403) for _ in range(3)]
    q = Quarantine(FlakyPuts(s3, denied), BUCKET, attempts=3, sleep=lambda s: None)
    with pytest.raises(ClientError, match="AccessDenied"):
        q.park(failures(), sink="search", source="s3://a/1")
    assert list(q.iter_parked()) == []


def test_a_retry_after_a_lost_answer_is_not_stored_twice(s3: Any) -> None:
    class LostAnswer(FlakyPuts):
        def put_object(self, **kw: Any) -> Any:
            self.puts += 1
            self.client.put_object(**kw)
            if self.puts == 1:
                raise _client_error("InternalError", 500)  # stored, but the answer is lost
            return None

    q = Quarantine(LostAnswer(s3, []), BUCKET, sleep=lambda s: None)
    key = q.park(failures(), sink="search", source="s3://a/1")
    assert [k for k, _ in q.iter_parked()] == [key]


def test_corrupt_parked_line_names_object_and_line(s3: Any) -> None:
    q = Quarantine(s3, BUCKET)
    data = io.BytesIO()
    with gzip.GzipFile(fileobj=data, mode="wb") as gz:
        gz.write(b'{"id":"a","timestamp_ms":1,"message":"m","document":{},"reason":"r",')
        gz.write(b'"sink":"s","source":"x"}\n{"id": 1}\n')
    s3.put_object(Bucket=BUCKET, Key="quarantine/s/x.ndjson.gz", Body=data.getvalue())
    with pytest.raises(ValueError, match=r"s3://out/quarantine/s/x.ndjson.gz line 2"):
        list(q.iter_parked())


def test_a_park_starts_no_attempt_that_would_end_past_its_deadline(s3: Any) -> None:
    flaky = FlakyPuts(s3, [])
    q = Quarantine(flaky, BUCKET, call_seconds=60.0, sleep=lambda s: None)
    with pytest.raises(DeadlineExceeded, match=r"a park attempt needs 60\.0 s"):
        q.park(failures(), sink="search", source="s3://a/1", deadline=Deadline.after(30.0))
    assert flaky.puts == 0 and list(q.iter_parked()) == []
