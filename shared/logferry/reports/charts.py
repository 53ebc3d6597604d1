"""Inline SVG charts for the HTML reports: stacked horizontal bars and a stacked area series.

Pure string building (no plotting library, no network): the SVG is embedded in the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
STATUS_COLORS = {
    "2xx": "#2f9e5b", "3xx": "#3b82c4", "4xx": "#e0a100", "5xx": "#d64545", "other": "#9aa3ad",
}  # fmt: skip
TIMING_COLORS = {"request": "#7c6bd6", "target": "#3b82c4", "response": "#2bb3a3"}
_NICE = (1, 2, 2.5, 5, 10)


def status_class(status: int | None) -> str:
    """``2xx`` .. ``5xx``, or ``other`` (no status)."""
    return f"{status // 100}xx" if status is not None and 200 <= status < 600 else "other"


def nice_max(value: float, intervals: int = 4) -> float:
    """A round axis maximum >= ``value`` that splits into ``intervals`` round steps."""
    if value <= 0:
        return 1.0
    raw = value / intervals
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(n * magnitude for n in _NICE if n * magnitude >= raw)
    return float(step * intervals)


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _text(x: float, y: float, body: str, size: int = 12, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{extra}>{escape(body)}</text>'


def legend(colors: dict[str, str], x: float, y: float) -> str:
    """A row of colour swatches with labels."""
    parts = []
    for name, color in colors.items():
        parts.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{color}"/>')
        parts.append(_text(x + 17, y, name, 12, fill="#333"))
        x += 30 + 7.5 * len(name)
    return "".join(parts)


def stacked_bars(
    rows: Sequence[tuple[str, dict[str, float]]],
    colors: dict[str, str],
    *,
    unit: str = "",
    width: int = 1180,
    label_width: int = 360,
    title: str = "",
) -> str:
    """Horizontal bars, one per row, stacked by series (in ``colors`` order); totals at the end."""
    bar, gap, top = 18, 7, 58 if title else 30
    height = top + len(rows) * (bar + gap) + 34
    plot = width - label_width - 90
    totals = [sum(values.values()) for _, values in rows]
    scale = nice_max(max(totals, default=0))
    out = [_svg_open(width, height)]
    if title:
        out.append(_text(10, 22, title, 16, font_weight="bold", fill="#222"))
    out.append(legend(colors, label_width, top - 12))
    for step in range(5):
        x = label_width + plot * step / 4
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 28}" stroke="#e3e6ea"/>'
        )
        out.append(_text(x, height - 12, _number(scale * step / 4) + unit, 11,
                         fill="#666", text_anchor="middle"))  # fmt: skip
    for n, ((label, values), total) in enumerate(zip(rows, totals, strict=True)):
        y = top + n * (bar + gap)
        short = label if len(label) <= 48 else label[:47] + "…"
        out.append(_text(label_width - 8, y + 13, short, 12, fill="#222", text_anchor="end"))
        x = float(label_width)
        for series, color in colors.items():
            value = values.get(series, 0.0)
            if value <= 0:
                continue
            w = plot * value / scale
            out.append(
                f'<rect class="bar" x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{bar}" '
                f'fill="{color}"><title>{escape(label)} {series}: {_number(value)}{unit}'
                "</title></rect>"
            )
            x += w
        out.append(_text(x + 6, y + 13, _number(total) + unit, 11, fill="#444"))
    out.append("</svg>")
    return "".join(out)


def stacked_area(
    points: Sequence[tuple[int, dict[str, float]]],
    colors: dict[str, str],
    *,
    width: int = 1180,
    height: int = 280,
    title: str = "",
) -> str:
    """Series stacked over time (minute buckets in epoch ms), with a time axis in UTC."""
    left, right, top, bottom = 56, 44, 58 if title else 30, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    out = [_svg_open(width, height)]
    if title:
        out.append(_text(10, 22, title, 16, font_weight="bold", fill="#222"))
    out.append(legend(colors, left, top - 12))
    if not points:
        out.append(_text(width / 2, top + plot_h / 2, "no data in this period", 14,
                         fill="#888", text_anchor="middle"))  # fmt: skip
        return "".join([*out, "</svg>"])
    times = [t for t, _ in points]
    t0, t1 = times[0], max(times[-1], times[0] + 60_000)
    scale = nice_max(max(sum(v.values()) for _, v in points))

    def px(t: int) -> float:
        return left + plot_w * (t - t0) / (t1 - t0)

    def py(v: float) -> float:
        return top + plot_h * (1 - v / scale)

    for step in range(5):
        y = py(scale * step / 4)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                   'stroke="#e3e6ea"/>')  # fmt: skip
        out.append(_text(left - 6, y + 4, _number(scale * step / 4), 11, fill="#666",
                         text_anchor="end"))  # fmt: skip
    for t in time_ticks(t0, t1):
        label = datetime.fromtimestamp(t / 1000, tz=UTC).strftime("%m-%d %H:%M")
        out.append(_text(px(t), height - 12, label, 11, fill="#666", text_anchor="middle"))
    below = [0.0] * len(points)
    for series, color in colors.items():
        above = [b + v.get(series, 0.0) for b, (_, v) in zip(below, points, strict=True)]
        if above == below:
            continue
        upper = [f"{px(t):.1f},{py(a):.1f}" for t, a in zip(times, above, strict=True)]
        lower = [f"{px(t):.1f},{py(b):.1f}" for t, b in zip(times, below, strict=True)][::-1]
        out.append(f'<polygon class="area" points="{" ".join(upper + lower)}" fill="{color}" '
                   f'fill-opacity="0.85"><title>{series}</title></polygon>')  # fmt: skip
        below = above
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" '
               f'y2="{top + plot_h}" stroke="#999"/>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)


def time_ticks(t0: int, t1: int, most: int = 8) -> list[int]:
    """Round tick times (epoch ms) in ``[t0, t1]``: every 1, 5, 15, 30 minutes or 1..24 hours."""
    steps = (1, 5, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
    span = max(t1 - t0, 60_000)
    step = next((m * 60_000 for m in steps if span / (m * 60_000) <= most), 10080 * 60_000)
    first = -(-t0 // step) * step
    return list(range(first, t1 + 1, step))


def _svg_open(width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" role="img">'
    )
