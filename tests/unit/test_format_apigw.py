"""API Gateway JSON access logs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from logferry.formats import get_format
from logferry.formats.apigw import ApiGwFormat
from logferry.model import Document, ObjectRef, ParseContext, Record
from logferry.samples.apigw import apigw_lines

CTX = ParseContext(
    ObjectRef("api-logs", "apigw/2024/10/10/access.log"),
    extra={"object_time": "2024-10-11T00:00:00.000Z"},
)
LINE = {
    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "ip": "198.51.100.7",
    "caller": "-",
    "user": "-",
    "requestTime": "10/Oct/2024:13:55:36 +0000",
    "httpMethod": "POST",
    "resourcePath": "/pets/{petId}",
    "path": "/prod/pets/42",
    "status": "502",
    "protocol": "HTTP/1.1",
    "responseLength": "36",
    "integrationLatency": "29012",
}


def one(line: str | bytes | dict[str, object]) -> Document:
    data = json.dumps(line).encode() if isinstance(line, dict) else line
    data = data.encode() if isinstance(data, str) else data
    docs = ApiGwFormat().parse(Record(5, data, 2), CTX)
    assert len(docs) == 1
    return docs[0]


def test_ecs_mapping_and_originals_kept() -> None:
    assert isinstance(get_format("apigw"), ApiGwFormat)
    doc = one(LINE)
    assert doc["@timestamp"] == "2024-10-10T13:55:36.000Z"
    assert doc["event"] == {
        "dataset": "aws.apigateway",
        "duration": 29_012_000_000,
        "outcome": "failure",
    }
    assert doc["source"] == {"address": "198.51.100.7", "ip": "198.51.100.7"}
    assert doc["http"] == {
        "request": {"id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "method": "POST"},
        "response": {"status_code": 502, "body": {"bytes": 36}},
        "version": "1.1",
    }
    assert doc["url"] == {"path": "/prod/pets/42"}
    assert "user" not in doc
    assert doc["aws"]["apigateway"] == LINE
    assert doc["message"] == json.dumps(LINE)


def test_epoch_time_numbers_and_fallbacks() -> None:
    line = {
        "requestTimeEpoch": 1728568536123,
        "status": 200,
        "resourcePath": "/pets",
        "responseLatency": 12,
        "integrationLatency": 10,
        "user": "alice",
        "sourceIp": "gateway.example",
    }
    doc = one(line)
    assert doc["@timestamp"] == "2024-10-10T13:55:36.123Z"
    assert doc["http"]["response"] == {"status_code": 200}
    assert doc["event"]["duration"] == 12_000_000
    assert doc["event"]["outcome"] == "success"
    assert doc["url"] == {"path": "/pets"}
    assert doc["user"] == {"name": "alice"}
    assert doc["source"] == {"address": "gateway.example"}
    assert one({"requestTimeEpoch": "1728568536"})["@timestamp"] == "2024-10-10T13:55:36.000Z"


def test_dashes_and_missing_time() -> None:
    doc = one({"status": "-", "responseLength": "-", "integrationLatency": "-", "ip": "-"})
    assert doc["@timestamp"] == "2024-10-11T00:00:00.000Z"
    assert "http" not in doc and "source" not in doc
    assert doc["event"] == {"dataset": "aws.apigateway"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "not a JSON object"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"requestId": "x", ', "not a JSON object"),
        (b"\xff\xfe{}", "not a JSON object"),
        (b'{"requestTime": "yesterday"}', "bad requestTime"),
    ],
)
def test_bad_lines(line: bytes, reason: str) -> None:
    doc = one(line)
    assert doc["error"]["message"].startswith("s3://api-logs/apigw/2024/10/10/access.log line 2: ")
    assert reason in doc["error"]["message"]
    assert doc["message"] == line.decode("utf-8", "replace")
    assert doc["event"]["dataset"] == "aws.apigateway"


def test_sample_lines_with_an_error_burst() -> None:
    start = datetime(2024, 10, 10, 13, 0, tzinfo=UTC)
    lines = list(apigw_lines(200, start, seed=4, error_burst=(50, 20)))
    assert lines == list(apigw_lines(200, start, seed=4, error_burst=(50, 20)))
    fmt = ApiGwFormat()
    docs = [d for i, line in enumerate(lines) for d in fmt.parse(Record(i, line.encode(), i), CTX)]
    assert not [d for d in docs if "error" in d]
    codes = [d["http"]["response"]["status_code"] for d in docs]
    assert all(c >= 500 for c in codes[50:70])
    assert not [c for c in codes[:50] + codes[70:] if c >= 500]
    assert docs[0]["@timestamp"].startswith("2024-10-10T13:00")


def test_values_no_sink_can_store_are_kept_as_text() -> None:
    doc = one(b'{"status": "200", "big": 123456789012345678901234567890, "n": NaN, "ok": 7}')
    assert doc["aws"]["apigateway"] == {
        "status": "200",
        "big": "123456789012345678901234567890",
        "n": "NaN",
        "ok": 7,
    }


def test_glued_records_give_one_document_each() -> None:
    """Firehose writes records back to back: ``}{`` on one line, each with its own offset."""
    one = '{"requestId":"r%d","ip":"192.0.2.1","httpMethod":"GET","status":"200"}'
    data = ("".join(one % i for i in range(3)) + "\n" + one % 3 + " " + one % 4 + "\n").encode()
    fmt = get_format("apigw")
    records = list(fmt.frame([data]))
    assert [data[r.offset : r.offset + len(r.data)] for r in records] == [r.data for r in records]
    ref = ObjectRef("b", "apigw.log")
    docs = [d for r in records for d in fmt.parse(r, ParseContext(ref))]
    assert [d["http"]["request"]["id"] for d in docs] == [f"r{i}" for i in range(5)]
    assert not [d for d in docs if "error" in d]
