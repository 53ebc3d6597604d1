"""The seed's "server load graph": a self-contained SVG of one server's day.

Pure Python (no plotting library) so it runs in a small Lambda. Input rows are dicts keyed
by the seed's CSV columns (:data:`logferry.sinks.csv.CSV_COLUMNS`); three stacked
panels share the time axis: load average (1/5/15 min), CPU (us/sy/id/wa %) and memory
(free/buff/cache/swpd, vmstat KiB shown in a readable unit). A missing or non-numeric value
breaks the line; an isolated point is drawn as a dot.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 960
PANEL_HEIGHT = 190
TOP = 44
GAP = 46
LEFT = 64
RIGHT = 150
BOTTOM = 34
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")
_TICK_HOURS = (1, 2, 3, 6, 12, 24, 48, 168)
_NICE = (1, 2, 2.5, 3, 4, 5, 6, 8, 10)
_GRID = 4  # horizontal grid intervals per panel
_MEMORY_UNITS = (("GiB", 1024.0**2), ("MiB", 1024.0), ("KiB", 1.0))  # vmstat reports KiB


@dataclass(frozen=True)
class Series:
    """One line: a CSV column, its legend label and colour."""

    column: str
    label: str
    color: str


@dataclass(frozen=True)
class Panel:
    """One chart: its series share a y axis (``fixed_max`` pins the top, e.g. 100 %)."""

    title: str
    series: tuple[Series, ...]
    unit: str = ""
    fixed_max: float | None = None
    memory: bool = False


PANELS: tuple[Panel, ...] = (
    Panel(
        "Load average",
        (
            Series("load-average01", "1 min", "#d62728"),
            Series("load-average05", "5 min", "#ff7f0e"),
            Series("load-average15", "15 min", "#1f77b4"),
        ),
    ),
    Panel(
        "CPU",
        (
            Series("cpu-us", "user", "#2ca02c"),
            Series("cpu-sy", "system", "#d62728"),
            Series("cpu-id", "idle", "#9e9e9e"),
            Series("cpu-wa", "iowait", "#9467bd"),
        ),
        unit="%",
        fixed_max=100.0,
    ),
    Panel(
        "Memory",
        (
            Series("mem-free", "free", "#1f77b4"),
            Series("mem-buff", "buffers", "#2ca02c"),
            Series("mem-cache", "cache", "#ff7f0e"),
            Series("mem-swpd", "swap used", "#d62728"),
        ),
        memory=True,
    ),
)

Point = tuple[datetime, dict[str, float | None]]


def parse_time(text: str | None) -> datetime | None:
    """The CSV ``datetime`` column as a naive local datetime, or None."""
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime((text or "").strip(), fmt)
        except ValueError:
            continue
    return None


def parse_value(text: str | None) -> float | None:
    """A finite number, or None for missing / ``-`` / garbage."""
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def points(rows: Iterable[dict[str, str]]) -> list[Point]:
    """Rows with a readable time, sorted by time, values parsed (None when missing)."""
    columns = [s.column for p in PANELS for s in p.series]
    out: list[Point] = []
    for row in rows:
        when = parse_time(row.get("datetime"))
        if when is not None:
            out.append((when, {c: parse_value(row.get(c)) for c in columns}))
    out.sort(key=lambda p: p[0])
    return out


def time_domain(times: Sequence[datetime]) -> tuple[datetime, datetime]:
    """Whole days covering ``times`` (a day's data spans 00:00 to 24:00)."""
    start = datetime.combine(min(times).date(), datetime.min.time())
    end = datetime.combine(max(times).date(), datetime.min.time()) + timedelta(days=1)
    return start, end


def nice_ceiling(value: float) -> float:
    """The smallest "round" number (1, 2, 2.5, 3, 4, 5, 6, 8 x 10^k) >= ``value``; 1 if <= 0."""
    if value <= 0:
        return 1.0
    exp = 10.0 ** math.floor(math.log10(value))
    return next(m * exp for m in _NICE if m * exp >= value * (1 - 1e-9))


def memory_unit(max_kib: float) -> tuple[str, float]:
    """The largest unit in which ``max_kib`` is at least 1."""
    return next(((u, d) for u, d in _MEMORY_UNITS if max_kib >= d), _MEMORY_UNITS[-1])


def segments(xs: Sequence[float], ys: Sequence[float | None]) -> list[list[tuple[float, float]]]:
    """Split a line at missing values."""
    out: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            if out[-1]:
                out.append([])
        else:
            out[-1].append((x, y))
    return [s for s in out if s]


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) >= 0.01 or value == 0 else f"{value:.2g}"


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    """Append an element; ``font_size`` -> ``font-size``, ``class_`` -> ``class``, floats 0.1."""
    el = ET.SubElement(parent, tag)
    for key, value in attrs.items():
        name = key.rstrip("_").replace("_", "-")
        el.set(name, f"{value:.1f}" if isinstance(value, float) else str(value))
    el.text = text
    return el


class _Chart:
    """Draws panels into an SVG root sharing one time scale."""

    def __init__(self, root: ET.Element, start: datetime, end: datetime) -> None:
        self.root, self.start, self.end = root, start, end
        self.plot_w = WIDTH - LEFT - RIGHT

    def x(self, when: datetime) -> float:
        span = (self.end - self.start).total_seconds()
        return LEFT + self.plot_w * (when - self.start).total_seconds() / span

    def time_ticks(self) -> list[datetime]:
        hours = (self.end - self.start).total_seconds() / 3600
        step = next((h for h in _TICK_HOURS if hours / h <= 8), _TICK_HOURS[-1])
        return [self.start + timedelta(hours=step * i) for i in range(int(hours // step) + 1)]

    def panel(self, index: int, panel: Panel, data: list[Point]) -> None:
        top = TOP + index * (PANEL_HEIGHT + GAP)
        bottom = top + PANEL_HEIGHT
        group = _el(self.root, "g", class_="panel", data_panel=panel.title)
        values = [v for _, row in data for s in panel.series if (v := row[s.column]) is not None]
        unit, divisor = panel.unit, 1.0
        if panel.memory:
            unit, divisor = memory_unit(max(values, default=0.0))
        y_max = panel.fixed_max or _GRID * nice_ceiling(max(values, default=0.0) / divisor / _GRID)

        def y(value: float) -> float:
            return bottom - PANEL_HEIGHT * min(max(value / y_max, 0.0), 1.0)

        heading = f"{panel.title} ({unit})" if unit else panel.title
        _el(group, "text", heading, x=LEFT, y=top - 8, font_size=13, font_weight="bold")
        self._axes(group, top, bottom, y_max, y)
        xs = [self.x(when) for when, _ in data]
        for i, series in enumerate(panel.series):
            ys = [None if (v := row[series.column]) is None else y(v / divisor) for _, row in data]
            self._series(group, series, segments(xs, ys))
            lx, ly = WIDTH - RIGHT + 16, top + 14 + 20 * i
            _el(
                group,
                "line",
                x1=lx,
                x2=lx + 22,
                y1=ly - 4,
                y2=ly - 4,
                stroke=series.color,
                stroke_width=3,
            )
            _el(group, "text", series.label, x=lx + 28, y=ly, font_size=12, class_="legend")
        if not values:
            _el(
                group,
                "text",
                "no data",
                x=LEFT + self.plot_w / 2,
                y=(top + bottom) / 2,
                text_anchor="middle",
                fill="#888",
                font_size=14,
            )

    def _axes(
        self, group: ET.Element, top: int, bottom: int, y_max: float, y: Callable[[float], float]
    ) -> None:
        right = LEFT + self.plot_w
        _el(
            group,
            "rect",
            x=LEFT,
            y=top,
            width=self.plot_w,
            height=PANEL_HEIGHT,
            fill="#ffffff",
            stroke="#444",
        )
        for i in range(_GRID + 1):
            value = y_max * i / _GRID
            if 0 < i < _GRID:
                _el(group, "line", x1=LEFT, x2=right, y1=y(value), y2=y(value), stroke="#e4e4e4")
            _el(
                group,
                "text",
                _fmt(value),
                x=LEFT - 6,
                y=y(value) + 4,
                text_anchor="end",
                font_size=11,
            )
        multi_day = self.end - self.start > timedelta(days=1)
        for tick in self.time_ticks():
            xx = self.x(tick)
            _el(group, "line", x1=xx, x2=xx, y1=top, y2=bottom + 4, stroke="#e4e4e4")
            label = tick.strftime("%m-%d %H:%M" if multi_day else "%H:%M")
            if tick == self.end and not multi_day:
                label = "24:00"
            _el(
                group,
                "text",
                label,
                x=xx,
                y=bottom + 17,
                text_anchor="middle",
                font_size=11,
                class_="time-label",
            )

    @staticmethod
    def _series(group: ET.Element, series: Series, parts: list[list[tuple[float, float]]]) -> None:
        for part in parts:
            if len(part) == 1:
                ((cx, cy),) = part
                _el(
                    group, "circle", cx=cx, cy=cy, r=3, fill=series.color, data_series=series.column
                )
                continue
            coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in part)
            _el(
                group,
                "polyline",
                points=coords,
                fill="none",
                stroke=series.color,
                stroke_width=1.5,
                data_series=series.column,
            )


def render_svg(rows: Iterable[dict[str, str]], title: str) -> str:
    """Render one server's load, CPU and memory over the day as a standalone SVG document."""
    data = points(rows)
    height = TOP + len(PANELS) * (PANEL_HEIGHT + GAP) - GAP + BOTTOM
    root = ET.Element("svg")
    for name, value in (
        ("xmlns", SVG_NS),
        ("width", str(WIDTH)),
        ("height", str(height)),
        ("viewBox", f"0 0 {WIDTH} {height}"),
        ("font-family", FONT),
    ):
        root.set(name, value)
    _el(root, "title", title)
    _el(root, "rect", width="100%", height="100%", fill="#fafafa")
    _el(
        root,
        "text",
        title,
        x=WIDTH / 2,
        y=22,
        text_anchor="middle",
        font_size=16,
        font_weight="bold",
        class_="title",
    )
    if data:
        start, end = time_domain([when for when, _ in data])
    else:
        start = datetime(1970, 1, 1)
        end = start + timedelta(days=1)
    chart = _Chart(root, start, end)
    for index, panel in enumerate(PANELS):
        chart.panel(index, panel, data)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
