"""Apache / nginx access logs and user-defined regex formats."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from logferry.formats import get_format
from logferry.formats.access import ApacheFormat, NginxFormat, RegexFormat
from logferry.formats.timeparse import APACHE_TIME_FORMAT, apache_time_to_iso
from logferry.model import Document, ObjectRef, ParseContext, Record, iso
from logferry.samples.access import access_lines

CTX = ParseContext(
    ObjectRef("logs", "web/access.log"), extra={"object_time": "2024-03-01T00:00:00.000Z"}
)
SEED_NGINX = (
    '111.111.111.111 - - [02/Dec/2016:13:58:47 +0000] "POST /graphql HTTP/1.1" 200 1161 '
    '"https://www.myurl.com/endpoint/12345" "Mozilla/5.0 (Windows NT 6.1; WOW64) '
    'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/54.0.2840.99 Safari/537.36" 0.172 '
    '"query user userMessages hasPermissions F0 F1" 11111;222222'
)
COMMON = (
    'host.example.com - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'
)


def one(fmt: ApacheFormat | RegexFormat, line: str | bytes, offset: int = 0) -> Document:
    data = line.encode() if isinstance(line, str) else line
    docs = fmt.parse(Record(offset, data, 7), CTX)
    assert len(docs) == 1
    return docs[0]


def test_registry_names() -> None:
    assert isinstance(get_format("apache"), ApacheFormat)
    assert get_format("nginx").dataset == "nginx.access"
    assert get_format("apache").dataset == "apache.access"


def test_combined_line_with_extra_fields() -> None:
    doc = one(NginxFormat(), SEED_NGINX, offset=123)
    assert doc["@timestamp"] == "2016-12-02T13:58:47.000Z"
    assert doc["source"] == {"address": "111.111.111.111", "ip": "111.111.111.111"}
    assert doc["http"] == {
        "request": {"method": "POST", "referrer": "https://www.myurl.com/endpoint/12345"},
        "version": "1.1",
        "response": {"status_code": 200, "body": {"bytes": 1161}},
    }
    assert doc["url"] == {"original": "/graphql"}
    assert doc["user_agent"]["original"].startswith("Mozilla/5.0 (Windows NT 6.1")
    assert doc["nginx"]["access"]["extra"] == (
        '0.172 "query user userMessages hasPermissions F0 F1" 11111;222222'
    )
    assert doc["log"] == {"file": {"path": "s3://logs/web/access.log"}, "offset": 123}
    assert doc["message"] == SEED_NGINX
    assert doc["event"] == {"dataset": "nginx.access"}


def test_common_line_hostname_user_and_offset_conversion() -> None:
    doc = one(ApacheFormat(), COMMON)
    assert doc["@timestamp"] == "2000-10-10T20:55:36.000Z"
    assert doc["source"] == {"address": "host.example.com"}
    assert doc["user"] == {"name": "frank"}
    assert "referrer" not in doc["http"]["request"]
    assert "user_agent" not in doc
    assert "apache" not in doc


def test_dashes_become_missing_fields() -> None:
    line = '2001:db8::1 - - [01/Jan/2024:00:00:00 +0900] "GET / HTTP/2.0" 304 - "-" "-"'
    doc = one(ApacheFormat(), line)
    assert doc["@timestamp"] == "2023-12-31T15:00:00.000Z"
    assert doc["source"]["ip"] == "2001:db8::1"
    assert doc["http"]["response"] == {"status_code": 304}
    assert doc["http"]["request"] == {"method": "GET"}
    assert "user" not in doc and "user_agent" not in doc


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("-", {}),
        ("\\x16\\x03\\x01\\x02\\x00\\x01", {"request": "\\x16\\x03\\x01\\x02\\x00\\x01"}),
        ('GET /q?a=\\"b\\" HTTP/1.1', None),
    ],
)
def test_odd_requests(request_text: str, expected: dict[str, str] | None) -> None:
    line = f'1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "{request_text}" 400 0 "-" "-"'
    doc = one(ApacheFormat(), line)
    assert "error" not in doc
    if expected is None:
        assert doc["url"]["original"] == '/q?a=\\"b\\"'
    else:
        assert doc.get("apache", {}).get("access", {}) == expected
        assert "url" not in doc


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"garbage line", "not an access log line"),
        (b'1.2.3.4 - - [10/Oct/2000:13:55:36 +0100] "GET / HTTP/1.1" 2000 5', "not an access"),
        (b'1.2.3.4 - - [10/Foo/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 5', "not an Apache time"),
        (b'1.2.3.4 - - [10/Oct/2000:13:55:36 +07] "GET / HTTP/1.1" 200 5', "not an Apache time"),
        (b"\xff\xfe\x00binary", "not an access log line"),
    ],
)
def test_bad_lines_give_error_documents(line: bytes, reason: str) -> None:
    doc = one(ApacheFormat(), line)
    assert doc["error"]["message"].startswith("s3://logs/web/access.log line 7: ")
    assert reason in doc["error"]["message"]
    own_time = b"[10/Oct/2000:13:55:36 +0100]" in line  # a readable time of its own
    assert doc["@timestamp"] == (
        "2000-10-10T12:55:36.000Z" if own_time else "2024-03-01T00:00:00.000Z"
    )
    assert doc["logferry"]["timestamp_from"] == ("line" if own_time else "object")
    assert doc["message"] == line.decode("utf-8", "replace")
    assert doc["event"]["dataset"] == "apache.access"


def test_non_utf8_inside_a_good_line_is_replaced() -> None:
    line = COMMON.encode().replace(b"frank", b"fr\xe4nk")
    doc = one(ApacheFormat(), line)
    assert doc["user"]["name"] == "fr\ufffdnk"


def test_fast_time_parse_matches_strptime() -> None:
    for minutes in (-720, -420, 0, 330, 345, 540, 840):
        zone = timezone(timedelta(minutes=minutes))
        when = datetime(2024, 2, 29, 23, 59, 58, tzinfo=zone)
        text = when.strftime(APACHE_TIME_FORMAT)
        assert apache_time_to_iso(text) == iso(datetime.strptime(text, APACHE_TIME_FORMAT))


@pytest.mark.parametrize("style", ["combined", "common"])
def test_sample_lines_all_parse(style: str) -> None:
    start = datetime(2024, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    lines = list(access_lines(300, start, seed=1, style=style))
    assert lines == list(access_lines(300, start, seed=1, style=style))
    fmt = ApacheFormat()
    docs = [one(fmt, line) for line in lines]
    assert not [d for d in docs if "error" in d]
    assert docs[0]["@timestamp"].startswith("2024-03-01T00:00")
    assert any("user_agent" in d for d in docs) == (style == "combined")
    assert any("bytes" not in d["http"]["response"].get("body", {}) for d in docs)


def test_sample_style_is_checked() -> None:
    with pytest.raises(ValueError, match="style"):
        next(access_lines(1, datetime(2024, 1, 1), style="json"))


# --- RegexFormat -------------------------------------------------------------------------

KINESIS = (
    r'^(?P<source.ip>[\d.]+) - - \[(?P<timestamp>[^\]]+)\] "(?P<http.request.method>\w+) '
    r'(?P<url.original>\S+) HTTP/(?P<http.version>[\d.]+)" (?P<http.response.status_code>\d{3}) '
    r'(?P<http.response.body.bytes>\d+|-) "(?P<http.request.referrer>[^"]*)" "(?P<agent>[^"]*)" '
    r"(?P<event.duration>[\d.]+)"
)


def test_regex_named_dotted_groups_become_nested_fields() -> None:
    fmt = get_format("regex", pattern=KINESIS, dataset="myapp.access")
    assert isinstance(fmt, RegexFormat)
    doc = one(fmt, SEED_NGINX)
    assert doc["@timestamp"] == "2016-12-02T13:58:47.000Z"
    assert doc["source"] == {"ip": "111.111.111.111"}
    assert doc["http"]["response"] == {"status_code": 200, "body": {"bytes": 1161}}
    assert doc["http"]["request"]["method"] == "POST"
    assert doc["agent"].startswith("Mozilla")
    assert doc["event"] == {"dataset": "myapp.access", "duration": "0.172"}
    assert "timestamp" not in doc


def test_regex_java_style_groups_and_custom_time() -> None:
    fmt = RegexFormat(
        r"(?<time>\S+ \S+) (?<log.level>\w+) (?<message>.*)",
        time_field="time",
        time_format="%Y-%m-%d %H:%M:%S",
    )
    doc = one(fmt, "2024-03-01 12:00:00 WARN disk almost full")
    assert doc["@timestamp"] == "2024-03-01T12:00:00.000Z"
    assert doc["log"]["level"] == "WARN"
    assert doc["message"] == "2024-03-01 12:00:00 WARN disk almost full"


def test_regex_field_names_like_kinesis_agent() -> None:
    fmt = RegexFormat(r"(\S+) (\d+) (\d+)", field_names=["host.name", "source.port", "t"])
    fmt.time_field, fmt.time_format = "t", "epoch_millis"
    doc = one(fmt, "web1 8080 1709251200123")
    assert doc["host"] == {"name": "web1"}
    assert doc["source"] == {"port": 8080}
    assert doc["@timestamp"] == "2024-03-01T00:00:00.123Z"


def test_regex_without_time_uses_object_time_and_mismatch_is_error() -> None:
    fmt = RegexFormat(r"(?P<word>\w+)$")
    assert one(fmt, "hello")["@timestamp"] == "2024-03-01T00:00:00.000Z"
    bad = one(fmt, "two words")
    assert "does not match" in bad["error"]["message"]
    bad_time = one(RegexFormat(r"(?P<timestamp>.*)"), "yesterday")
    assert "bad time" in bad_time["error"]["message"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pattern": "(?P<a>[unclosed"}, "invalid regex"),
        ({"pattern": r"\d+ (\w+)"}, "no named groups"),
        ({"pattern": r"(\w+)", "field_names": ["a", "b"]}, "2 names but the pattern has 1"),
        ({"pattern": r"(?P<a>\w+)", "field_names": ["a"]}, "not both"),
        ({"pattern": r"(?P<log>\w+)"}, "would overwrite 'log.file.path'"),
        ({"pattern": r"(?P<event.dataset>\w+)"}, "would overwrite 'event.dataset'"),
        ({"pattern": r"(?P<source>\w+) (?P<source.ip>\S+)"}, "would overwrite 'source.ip'"),
        ({"pattern": r"(\w+)", "field_names": ["a..b"]}, "bad field name"),
    ],
)
def test_regex_is_validated_at_construction(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RegexFormat(**kwargs)  # type: ignore[arg-type]


def test_regex_backreference_to_a_dotted_group() -> None:
    fmt = RegexFormat(r"(?P<quote.char>['\"])(?P<word>\w+)(?P=quote.char)$")
    assert one(fmt, "'abc'")["word"] == "abc"
    assert "error" in one(fmt, "'abc\"")


def test_regex_time_group_may_be_called_at_timestamp() -> None:
    fmt = RegexFormat(
        r"(?P<@timestamp>\S+) (?P<word>\w+)", time_field="@timestamp", time_format="iso8601"
    )
    assert one(fmt, "2024-03-01T09:00:00+09:00 hi")["@timestamp"] == "2024-03-01T00:00:00.000Z"


@pytest.mark.parametrize(
    "field",
    ["", "plain", 'a\\"b', "ends with \\\\", '\\"', 'x\\\\y \\"z\\"', "tab\\tok", "é日本 " * 900],
)
def test_quoted_field_matches_the_per_character_definition(field: str) -> None:
    """The unrolled quoted-field regex accepts and captures exactly what the plain one does."""
    from logferry.formats.access import _QUOTED

    reference = re.compile(r'"((?:[^"\\]|\\.)*)"')
    for text in (f'"{field}"', f'"{field}" "{field}"', f'"{field}', f'"{field}\\"'):
        expected = reference.match(text)
        got = re.compile(_QUOTED).match(text)
        assert (got and got.group(1)) == (expected and expected.group(1)), text


def test_regex_ip_fields_take_only_ips() -> None:
    fmt = RegexFormat(r"^(?P<source.ip>\S+) (?P<destination.ip>\S+)$")
    doc = one(fmt, b"web01.example.com 10.0.0.1")
    assert doc["source"] == {"address": "web01.example.com"}
    assert doc["destination"] == {"ip": "10.0.0.1"}
    masked = one(fmt, b"12.34.178.90.32 2001:db8::1")
    assert masked["source"] == {"address": "12.34.178.90.32"}
    assert masked["destination"] == {"ip": "2001:db8::1"}
