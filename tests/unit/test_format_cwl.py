"""CloudWatch Logs subscription envelopes delivered by Firehose: framing and parsing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from logferry.formats import get_format
from logferry.formats.cwl import CwlFormat, frame_envelopes
from logferry.model import ObjectRef, ParseContext, Record
from logferry.samples.cwl import envelope, firehose_object

CTX = ParseContext(
    ObjectRef("raw-bucket", "cwl/2024/03/01/stream-1-2024-03-01-00-00-00-abc"),
    extra={"object_time": "2024-03-01T00:00:00.000Z"},
)
SEED_MESSAGE = (
    '{"level":"info","ts":"2018-12-10T12:57:44.183+0900","msg":"request and response log",'
    '"out":"stdout","log":{"duration":10267638,"request":{"method":"GET"},'
    '"response":{"status":200}}}'
)


def data_envelope(*events: tuple[str, int, str]) -> bytes:
    return envelope(
        [{"id": i, "timestamp": ts, "message": m} for i, ts, m in events], "ecs/app/abc"
    )


SMALL = (
    data_envelope(("1", 1544414264183, SEED_MESSAGE), ("2", 1544414336184, "plain text"))
    + b"\n"
    + data_envelope(("3", 1544414336185, "ünïcode ✓"))
    + b"oops"
    + envelope([], "", "CONTROL_MESSAGE")
)


def frames(chunks: list[bytes], start: int = 0) -> list[tuple[int, bytes, int]]:
    return [(r.offset, r.data, r.line_no) for r in CwlFormat().frame(chunks, start)]


def parse_all(data: bytes, fmt: CwlFormat | None = None) -> list[dict[str, object]]:
    fmt = fmt or CwlFormat()
    return [doc for r in fmt.frame([data]) for doc in fmt.parse(r, CTX)]


def test_registry_builds_cwl() -> None:
    fmt = get_format("cwl")
    assert isinstance(fmt, CwlFormat)
    assert fmt.dataset == "aws.cloudwatch_logs"


def test_frame_gives_one_record_per_envelope_at_its_offset() -> None:
    got = frames([SMALL])
    assert [d[:14] for _, d, _ in got] == [b'{"messageType"'] * 2 + [b"oops", b'{"messageType"']
    assert [n for _, _, n in got] == [1, 2, 3, 4]
    for offset, data, _ in got:
        assert SMALL[offset : offset + len(data)] == data


def test_frame_is_the_same_whatever_the_chunk_boundary() -> None:
    whole = frames([SMALL])
    for cut in range(1, len(SMALL)):
        assert frames([SMALL[:cut], SMALL[cut:]]) == whole, cut
        assert frames([SMALL[:cut], b"", SMALL[cut : cut + 3], SMALL[cut + 3 :]]) == whole, cut


def test_frame_byte_by_byte_and_with_start_offset() -> None:
    whole = frames([SMALL], start=1000)
    assert frames([SMALL[i : i + 1] for i in range(len(SMALL))], start=1000) == whole
    assert whole[0][0] == 1000


def test_frame_streams_without_reading_everything() -> None:
    consumed = 0

    def chunks() -> Iterator[bytes]:
        nonlocal consumed
        for i in range(1000):
            consumed = i + 1
            yield data_envelope((str(i), 1, "x"))

    first = next(iter(CwlFormat().frame(chunks())))
    assert first.line_no == 1
    assert consumed <= 2


def test_frame_cuts_an_oversized_buffer() -> None:
    got = list(frame_envelopes([b"x" * 100, b"y" * 100, b"z" * 10], max_envelope=150))
    assert [len(r.data) for r in got] == [200, 10]
    assert [r.offset for r in got] == [0, 200]


def test_frame_splits_concatenated_objects_in_another_key_order() -> None:
    one = json.dumps({"owner": "1", "messageType": "DATA_MESSAGE", "logEvents": []}).encode()
    got = frames([one + b"\n" + one])
    assert [(o, d) for o, d, _ in got] == [(0, one), (len(one) + 1, one)]


def test_parse_seed_envelope_one_document_per_event() -> None:
    docs = parse_all(SMALL)
    assert [d["event"]["id"] for d in docs[:2]] == ["1", "2"]  # type: ignore[index]
    first = docs[0]
    assert first["@timestamp"] == "2018-12-10T03:57:44.183Z"
    assert first["message"] == SEED_MESSAGE
    assert first["cloud"] == {"account": {"id": "123456789012"}}
    assert first["aws"] == {
        "cloudwatch": {
            "log_group": "/ecs/web-api",
            "log_stream": "ecs/app/abc",
            "subscription_filters": ["to-firehose"],
        }
    }
    assert first["json"]["log"]["duration"] == 10267638  # type: ignore[index]
    assert first["log"]["level"] == "info"  # type: ignore[index]
    assert first["log"]["offset"] == 0  # type: ignore[index]
    assert first["event"]["dataset"] == "aws.cloudwatch_logs"  # type: ignore[index]
    second = docs[1]
    assert second["message"] == "plain text"
    assert "json" not in second
    assert "level" not in second["log"]  # type: ignore[operator]


def test_parse_garbage_and_control_message() -> None:
    docs = parse_all(SMALL)
    assert len(docs) == 4  # 3 events + garbage; the control message gives nothing
    assert docs[2]["message"] == "ünïcode ✓"
    garbage = docs[3]
    assert garbage["message"] == "oops"
    assert garbage["@timestamp"] == "2024-03-01T00:00:00.000Z"
    assert garbage["error"]["message"].startswith(  # type: ignore[index]
        "s3://raw-bucket/cwl/2024/03/01/stream-1-2024-03-01-00-00-00-abc line 3:"
    )


def test_truncated_last_envelope_is_an_error_and_nothing_before_is_lost() -> None:
    good = data_envelope(("1", 1000, "a"), ("2", 2000, "b"))
    docs = parse_all(good + good[:-30])
    assert [d["message"] for d in docs[:2]] == ["a", "b"]
    assert len(docs) == 3
    assert "not a JSON envelope" in docs[2]["error"]["message"]  # type: ignore[index]
    assert docs[2]["log"]["offset"] == len(good)  # type: ignore[index]


def test_truncated_envelope_in_the_middle_does_not_swallow_the_next() -> None:
    good = data_envelope(("1", 1000, "a"))
    docs = parse_all(good[:-5] + good)
    assert "error" in docs[0]
    assert docs[1]["message"] == "a"
    assert "error" not in docs[1]


def test_non_utf8_bytes_are_replaced_not_fatal() -> None:
    raw = data_envelope(("1", 1000, "caf_")).replace(b"caf_", b"caf\xe9")
    docs = parse_all(raw)
    assert docs[0]["message"] == "caf\ufffd"
    assert "error" not in docs[0]


def test_bad_events_and_envelopes() -> None:
    no_ts = envelope([{"id": "9", "message": "m"}], "s")
    not_obj = envelope(["just a string"], "s")  # type: ignore[list-item]
    no_events = b'{"messageType":"DATA_MESSAGE","owner":"1"}'
    array = b"[1, 2]"
    docs = parse_all(no_ts + not_obj + no_events + b"\n" + array)
    assert docs[0]["@timestamp"] == "2024-03-01T00:00:00.000Z"
    assert "has no timestamp" in docs[0]["error"]["message"]  # type: ignore[index]
    assert docs[0]["message"] == "m"
    assert "not a JSON object" in docs[1]["error"]["message"]  # type: ignore[index]
    assert "DATA_MESSAGE" in docs[2]["error"]["message"]  # type: ignore[index]
    assert docs[3]["message"] == "[1, 2]"
    assert "error" in docs[3]
    assert len(docs) == 4


def test_json_namespace_option_and_level_lifts() -> None:
    msg = json.dumps({"severity": "WARNING", "n": 1})
    docs = parse_all(data_envelope(("1", 0, msg)), CwlFormat(json_namespace="app.fields"))
    assert docs[0]["app"] == {"fields": {"severity": "WARNING", "n": 1}}
    assert docs[0]["log"]["level"] == "warning"  # type: ignore[index]
    assert docs[0]["@timestamp"] == "1970-01-01T00:00:00.000Z"


@pytest.mark.parametrize("namespace", ["", "log", "a..b", "event.x"])
def test_bad_json_namespace_is_refused(namespace: str) -> None:
    with pytest.raises(ValueError, match="json_namespace"):
        CwlFormat(json_namespace=namespace)


def test_json_array_or_broken_json_message_stays_text() -> None:
    docs = parse_all(data_envelope(("1", 0, "[1,2]"), ("2", 0, "{broken")))
    assert all("json" not in d and "error" not in d for d in docs)


def test_sample_object_round_trip() -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    data = firehose_object(50, start, seed=3, json_ratio=0.5)
    assert data == firehose_object(50, start, seed=3, json_ratio=0.5)
    fmt = CwlFormat()
    records = list(fmt.frame([data[i : i + 100] for i in range(0, len(data), 100)]))
    per_record = [fmt.parse(r, CTX) for r in records]
    assert per_record[0] == []  # the CONTROL_MESSAGE
    docs = [d for docs in per_record for d in docs]
    assert len(docs) == 50
    assert not any("error" in d for d in docs)
    with_json = sum("json" in d for d in docs)
    assert 10 < with_json < 40
    stamps = [d["@timestamp"] for d in docs]
    assert stamps == sorted(stamps) and stamps[0].startswith("2024-03-01T00:00")


def test_record_offsets_survive_parse() -> None:
    rec = Record(offset=77, data=data_envelope(("1", 0, "a"), ("2", 0, "b")), line_no=5)
    docs = CwlFormat().parse(rec, CTX)
    assert [d["log"]["offset"] for d in docs] == [77, 77]


def test_json_message_with_huge_integer_keeps_it_as_text() -> None:
    docs = parse_all(data_envelope(("1", 0, '{"trace": 123456789012345678901234567890}')))
    assert docs[0]["json"] == {"trace": "123456789012345678901234567890"}
