"""logferry.sinks.loadgraph: the server load graph SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from logferry.formats.serverlog import ServerLogFormat
from logferry.model import ObjectRef, ParseContext, Record
from logferry.sinks import loadgraph
from logferry.sinks.csv import CSV_COLUMNS, csv_row
from logferry.sinks.loadgraph import PANELS, render_svg

NS = {"svg": loadgraph.SVG_NS}
SERIES = [s.column for p in PANELS for s in p.series]


def row(minute: int, **overrides: str) -> dict[str, str]:
    h, m = divmod(minute, 60)
    values = {c: "1" for c in CSV_COLUMNS}
    values.update({"datetime": f"2019-08-01 {h:02d}:{m:02d}:01", "past-times": "45days 20:04"})
    values.update({"load-average01": "25.06", "cpu-id": "60", "mem-free": "379918752"})
    values.update(overrides)
    return values


DAY = [row(10 * i) for i in range(144)]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode())


def polylines(root: ET.Element, column: str) -> list[list[tuple[float, float]]]:
    found = root.findall(f".//svg:polyline[@data-series='{column}']", NS)
    return [[tuple(map(float, p.split(","))) for p in el.get("points", "").split()] for el in found]  # type: ignore[misc]


def circles(root: ET.Element, column: str) -> list[ET.Element]:
    return root.findall(f".//svg:circle[@data-series='{column}']", NS)


def test_series_use_the_seed_csv_columns() -> None:
    assert set(SERIES) <= set(CSV_COLUMNS)
    assert {"load-average01", "load-average05", "load-average15"} <= set(SERIES)
    assert {"cpu-us", "cpu-sy", "cpu-id", "cpu-wa", "mem-free"} <= set(SERIES)


def test_full_day_has_one_polyline_per_series() -> None:
    root = parse(render_svg(DAY, "web01 2019-08-01"))
    assert root.tag == f"{{{loadgraph.SVG_NS}}}svg"
    for column in SERIES:
        lines = polylines(root, column)
        assert len(lines) == 1, column
        assert len(lines[0]) == 144
        xs = [x for x, _ in lines[0]]
        assert xs == sorted(xs)
        assert xs[0] >= loadgraph.LEFT and xs[-1] <= loadgraph.WIDTH - loadgraph.RIGHT
    assert root.findall(".//svg:circle", NS) == []


def test_title_is_escaped_and_kept() -> None:
    title = 'web01 <b>&"load"</b>'
    root = parse(render_svg(DAY[:3], title))
    assert root.find("svg:title", NS) is not None
    assert root.find("svg:title", NS).text == title  # type: ignore[union-attr]
    assert root.find(".//svg:text[@class='title']", NS).text == title  # type: ignore[union-attr]


def test_axes_time_labels_and_legend() -> None:
    root = parse(render_svg(DAY, "t"))
    labels = [t.text for t in root.findall(".//svg:text[@class='time-label']", NS)]
    per_panel = ["00:00", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00", "24:00"]
    assert labels == per_panel * len(PANELS)
    legend = [t.text for t in root.findall(".//svg:text[@class='legend']", NS)]
    assert legend == [s.label for p in PANELS for s in p.series]
    headings = [g.get("data-panel") for g in root.findall("svg:g[@class='panel']", NS)]
    assert headings == ["Load average", "CPU", "Memory"]
    texts = {t.text for t in root.iter(f"{{{loadgraph.SVG_NS}}}text")}
    assert {"CPU (%)", "Memory (GiB)", "100"} <= texts


def test_missing_values_break_the_line() -> None:
    rows = [dict(r) for r in DAY]
    for i in range(30, 36):
        rows[i]["load-average01"] = ""
    rows[100]["cpu-wa"] = "-"
    rows[50].pop("mem-free")
    root = parse(render_svg(rows, "gaps"))
    assert [len(p) for p in polylines(root, "load-average01")] == [30, 108]
    assert [len(p) for p in polylines(root, "cpu-wa")] == [100, 43]
    assert [len(p) for p in polylines(root, "mem-free")] == [50, 93]
    assert len(polylines(root, "load-average05")) == 1


def test_isolated_point_is_a_dot() -> None:
    rows = [row(0), row(10, **{"cpu-us": "x"}), row(20), row(30, **{"cpu-us": "nan"})]
    root = parse(render_svg(rows, "dots"))
    assert len(circles(root, "cpu-us")) == 2
    assert polylines(root, "cpu-us") == []
    assert len(polylines(root, "cpu-sy")) == 1


def test_single_point() -> None:
    root = parse(render_svg([row(600)], "one"))
    assert all(len(circles(root, c)) == 1 for c in SERIES)
    assert root.findall(".//svg:polyline", NS) == []
    x = float(circles(root, "cpu-us")[0].get("cx", "nan"))
    plot_w = loadgraph.WIDTH - loadgraph.LEFT - loadgraph.RIGHT
    assert x == pytest.approx(loadgraph.LEFT + plot_w * 10 / 24, abs=0.1)  # 10:00


def test_no_rows_and_unreadable_times() -> None:
    for rows in ([], [row(0, datetime="garbage")]):
        root = parse(render_svg(rows, "empty"))
        assert root.findall(".//svg:polyline", NS) == []
        no_data = [t for t in root.iter(f"{{{loadgraph.SVG_NS}}}text") if t.text == "no data"]
        assert len(no_data) == len(PANELS)


def test_unsorted_rows_and_several_days() -> None:
    rows = [row(0, datetime="2019-08-02 00:10:00"), row(0), row(600)]
    root = parse(render_svg(rows, "two days"))
    (line,) = polylines(root, "load-average01")
    assert [x for x, _ in line] == sorted(x for x, _ in line)
    labels = Counter(t.text for t in root.findall(".//svg:text[@class='time-label']", NS))
    assert labels["08-01 00:00"] == len(PANELS)
    assert labels["08-03 00:00"] == len(PANELS)


def test_values_stay_inside_the_panel() -> None:
    rows = [row(0, **{"cpu-us": "250"}), row(10, **{"cpu-us": "-5"})]
    root = parse(render_svg(rows, "clamp"))
    (line,) = polylines(root, "cpu-us")
    top = loadgraph.TOP + loadgraph.PANEL_HEIGHT + loadgraph.GAP
    assert [y for _, y in line] == [top, top + loadgraph.PANEL_HEIGHT]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 1), (-3, 1), (1, 1), (1.01, 2), (2.2, 2.5), (5.65, 6), (7, 8), (9, 10), (0.03, 0.03)],
)
def test_nice_ceiling(value: float, expected: float) -> None:
    assert loadgraph.nice_ceiling(value) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("kib", "unit"), [(0, "KiB"), (1023, "KiB"), (1024, "MiB"), (1024**2, "GiB"), (4e8, "GiB")]
)
def test_memory_unit(kib: float, unit: str) -> None:
    assert loadgraph.memory_unit(kib)[0] == unit


SEED_LINES = """\
2019-08-01 00:00:01 up 45 days, 20:04, 1 user, load average: 25.06, 22.63, 21.70 124 10 493744 379918752 0 8428556 0 0 1852 156 0 0 26 12 60 2 0
2019-08-01 00:10:01 up 45 days, 20:14, 0 users, load average: 21.12, 22.57, 22.50 68 2 493744 379083296 0 8007348 0 0 1852 156 0 0 26 12 60 2 0
not a load line
2019-08-01 23:50:01 up 46 days, 19:54, 0 users, load average: 20.41, 19.96, 19.70 25 0 365536 377214816 0 8972716 0 0 1822 156 0 0 26 12 60 2 0
"""  # noqa: E501


def test_rows_from_the_serverlog_format() -> None:
    """The path the CSV Lambda takes: parse -> csv_row -> dict -> graph."""
    fmt = ServerLogFormat()
    ctx = ParseContext(ObjectRef("raw", "web01/2019-08-01.log"))
    rows = []
    for n, line in enumerate(SEED_LINES.splitlines(), 1):
        for doc in fmt.parse(Record(0, line.encode(), n), ctx):
            try:
                rows.append(dict(zip(CSV_COLUMNS, csv_row(doc), strict=True)))
            except ValueError:
                continue
    root = parse(render_svg(rows, "web01 2019-08-01"))
    assert all(len(polylines(root, column)[0]) == 3 for column in SERIES)
    (load1,) = polylines(root, "load-average01")
    (load15,) = polylines(root, "load-average15")
    assert load1[0][1] < load15[0][1]  # 25.06 drawn above 21.70 (SVG y grows downwards)
