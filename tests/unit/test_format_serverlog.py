"""On-prem ``date uptime vmstat`` lines and the seed's CSV."""

from __future__ import annotations

from datetime import date

import pytest

from logferry.formats import get_format
from logferry.formats.serverlog import ServerLogFormat, parse_uptime
from logferry.model import Document, ObjectRef, ParseContext, Record
from logferry.samples.serverlog import serverlog_lines, uptime_text
from logferry.sinks.csv import CSV_COLUMNS, csv_row

CTX = ParseContext(
    ObjectRef("serverlogs-123", "web01/2019-08-01.log"),
    extra={"object_time": "2019-08-02T00:00:00.000Z"},
)
VMSTAT = "124 10 493744 379918752 0 8428556 0 0 1852 156 0 0 26 12 60 2 0"
# The seed's log and CSV images, line for line.
SEED_LOG = [
    "2019-08-01 00:00:01 up 45 days, 20:04, 1 user, load average: 25.06, 22.63, 21.70 "
    "124 10 493744 379918752 0 8428556 0 0 1852 156 0 0 26 12 60 2 0",
    "2019-08-01 00:10:01 up 45 days, 20:14, 0 users, load average: 21.12, 22.57, 22.50 "
    "68 2 493744 379083296 0 8007348 0 0 1852 156 0 0 26 12 60 2 0",
    "2019-08-01 23:50:01 up 46 days, 19:54, 0 users, load average: 20.41, 19.96, 19.70 "
    "25 0 365536 377214816 0 8972716 0 0 1822 156 0 0 26 12 60 2 0",
]
SEED_CSV = [
    "2019-08-01 00:00:01,45days 20:04,1,25.06,22.63,21.70,124,10,493744,379918752,0,8428556,"
    "0,0,1852,156,0,0,26,12,60,2,0",
    "2019-08-01 00:10:01,45days 20:14,0,21.12,22.57,22.50,68,2,493744,379083296,0,8007348,"
    "0,0,1852,156,0,0,26,12,60,2,0",
    "2019-08-01 23:50:01,46days 19:54,0,20.41,19.96,19.70,25,0,365536,377214816,0,8972716,"
    "0,0,1822,156,0,0,26,12,60,2,0",
]


def one(line: str | bytes, fmt: ServerLogFormat | None = None) -> Document:
    data = line.encode() if isinstance(line, str) else line
    docs = (fmt or ServerLogFormat()).parse(Record(40, data, 3), CTX)
    assert len(docs) == 1
    return docs[0]


def test_csv_matches_the_seed_image() -> None:
    assert len(CSV_COLUMNS) == 23
    assert CSV_COLUMNS[:3] == ("datetime", "past-times", "users")
    assert CSV_COLUMNS[-1] == "cpu-st"
    assert [",".join(csv_row(one(line))) for line in SEED_LOG] == SEED_CSV


def test_document_fields() -> None:
    doc = one(SEED_LOG[0])
    assert isinstance(get_format("serverlog"), ServerLogFormat)
    assert doc["@timestamp"] == "2019-07-31T15:00:01.000Z"  # JST by default
    assert doc["event"] == {"dataset": "serverlog.load", "timezone": "+09:00"}
    assert doc["host"] == {"name": "web01", "uptime": 45 * 86400 + 20 * 3600 + 4 * 60}
    assert doc["system"]["load"] == {"1": 25.06, "5": 22.63, "15": 21.7}
    assert doc["system"]["cpu"]["user"] == {"pct": 0.26}
    assert doc["system"]["cpu"]["idle"] == {"pct": 0.6}
    assert doc["system"]["memory"]["free"] == 379918752 * 1024
    assert doc["serverlog"]["vmstat"]["r"] == 124
    assert doc["serverlog"]["users"] == 1
    assert doc["serverlog"]["datetime"] == "2019-08-01 00:00:01"
    assert doc["log"]["offset"] == 40


def test_time_zone_option() -> None:
    assert one(SEED_LOG[0], ServerLogFormat(tz="UTC"))["@timestamp"] == "2019-08-01T00:00:01.000Z"
    utc = one(SEED_LOG[0], ServerLogFormat(tz="Europe/Paris"))
    assert utc["@timestamp"] == "2019-07-31T22:00:01.000Z"
    assert utc["event"]["timezone"] == "+02:00"
    with pytest.raises(ValueError, match="time zone"):
        ServerLogFormat(tz="Mars/Olympus")


@pytest.mark.parametrize(
    ("uptime", "seconds", "shown"),
    [
        ("45 days, 20:04", 45 * 86400 + 20 * 3600 + 4 * 60, "45days 20:04"),
        ("3 min", 180, "3min"),
        ("2:10", 2 * 3600 + 600, "2:10"),
        ("1 day, 3 min", 86400 + 180, "1day 3min"),
        ("1 day, 2 hrs", 86400 + 7200, "1day 2hrs"),
        ("12 secs", 12, "12secs"),
    ],
)
def test_uptime_forms(uptime: str, seconds: int, shown: str) -> None:
    assert parse_uptime(uptime) == (seconds, shown)
    for users in ("0 users", "1 user", "2 users"):
        line = (
            f"2019-08-01 00:00:01 up {uptime},  {users},  load average: 0.00, 0.01, 0.05 {VMSTAT}"
        )
        doc = one(line)
        assert doc["host"]["uptime"] == seconds
        assert doc["serverlog"]["users"] == int(users[0])
        assert csv_row(doc)[1:3] == [shown, users[0]]


def test_line_without_users_and_with_procps4_guest_column() -> None:
    doc = one(f"2019-08-01 09:05:00 up 2:10, load average: 1.00, 2.00, 3.00 {VMSTAT} 7")
    assert "users" not in doc["serverlog"]
    assert doc["system"]["cpu"]["guest"] == {"pct": 0.07}
    assert csv_row(doc)[2] == ""
    assert len(csv_row(doc)) == len(CSV_COLUMNS)


OBJECT_TIME = "2019-08-02T00:00:00.000Z"
LINE_TIME = "2019-07-31T15:00:01.000Z"  # the line's 2019-08-01 00:00:01 in JST


@pytest.mark.parametrize(
    ("line", "reason", "timestamp"),
    [
        ("garbage", "not a 'date uptime vmstat' line", OBJECT_TIME),
        (
            "2019-08-01 00:00:01 up 3 min, 1 user, load average: 1.0, 1.0, 1.0 1 2 3",
            "vmstat",
            LINE_TIME,
        ),
        (
            f"2019-08-01 00:00:01 up 3 zebras, load average: 1.0, 1.0, 1.0 {VMSTAT}",
            "bad uptime",
            LINE_TIME,
        ),
        (
            f"2019-13-01 00:00:01 up 3 min, load average: 1.0, 1.0, 1.0 {VMSTAT}",
            "month",
            OBJECT_TIME,
        ),
        (b"\xff\xfe 2019", "not a 'date uptime vmstat' line", OBJECT_TIME),
    ],
)
def test_bad_lines(line: str | bytes, reason: str, timestamp: str) -> None:
    """An error document keeps the line's own time (in the servers' zone) when it has one."""
    doc = one(line)
    assert doc["error"]["message"].startswith("s3://serverlogs-123/web01/2019-08-01.log line 3: ")
    assert reason in doc["error"]["message"]
    assert doc["@timestamp"] == timestamp
    with pytest.raises(ValueError, match="not a parsed serverlog"):
        csv_row(doc)


@pytest.mark.parametrize(("step", "count"), [(10, 144), (1, 1440)])
def test_sample_day_parses_completely(step: int, count: int) -> None:
    lines = list(serverlog_lines(date(2019, 8, 1), step_minutes=step, seed=2))
    assert lines == list(serverlog_lines(date(2019, 8, 1), step_minutes=step, seed=2))
    assert len(lines) == count
    assert lines[0].startswith("2019-08-01 00:00:01 up 45 days, ")
    docs = [one(line) for line in lines]
    assert not [d for d in docs if "error" in d]
    loads = [d["system"]["load"]["15"] for d in docs]
    night, afternoon = loads[count * 4 // 24], loads[count * 15 // 24]
    assert afternoon > night + 5


def test_sample_uptime_text_like_procps() -> None:
    assert uptime_text(180) == "3 min"
    assert uptime_text(7800) == "2:10"
    assert uptime_text(86400 + 180) == "1 day, 3 min"
    assert uptime_text(45 * 86400 + 72240) == "45 days, 20:04"


def test_date_with_time_and_decimal_comma_loads() -> None:
    line = (
        f"2019-08-01 00:00:00 00:00:01 up 3 min,  1 user,  load average: 0,52, 0,14, 0,05 {VMSTAT}"
    )
    doc = one(line)
    assert doc["serverlog"]["datetime"] == "2019-08-01 00:00:01"
    assert doc["system"]["load"]["1"] == 0.52
    assert csv_row(doc)[3:6] == ["0.52", "0.14", "0.05"]
