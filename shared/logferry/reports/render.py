"""Renderings of an :class:`AlbReport`: a text table, a self-contained HTML page, a PNG.

The HTML has no scripts, styles or fonts from anywhere else: inline CSS and inline SVG
charts. The PNG is that page rendered by headless Chromium (``CHROMIUM`` or ``chromium`` /
``chromium-browser`` / ``google-chrome`` on PATH).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from logferry.reports.alb import AlbReport
from logferry.reports.charts import STATUS_COLORS, TIMING_COLORS, stacked_area, stacked_bars
from logferry.reports.charts import status_class as klass

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
)  # fmt: skip
MINUTE = 60_000
CHART_ROWS = 10


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _status(value: int | None) -> str:
    return "-" if value is None else str(value)


def _sec(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def tables(report: AlbReport) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report as (title, header, rows) tables, shared by the text and HTML renderings."""
    per_minute = [
        [_utc(minute)[:-4], _status(status), str(count)]
        for minute, counts in sorted(report.per_minute.items())
        for status, count in sorted(counts.items(), key=lambda kv: kv[0] or 0)
    ]
    return [
        ("Requests per minute by status", ["minute", "status", "requests"], per_minute),
        ("Requests per host, path and target port", ["host", "path", "port", "requests"],
         [[r.host, r.path, _status(r.port), str(r.requests)] for r in report.by_host_path_port]),
        ("ELB status vs target status per page", ["path", "ELB", "target", "requests"],
         [[r.path, _status(r.elb_status), _status(r.target_status), str(r.requests)]
          for r in report.status_by_page]),
        ("Average processing time per page (seconds)",
         ["path", "requests", "request", "target", "response"],
         [[t.path, str(t.requests), _sec(t.request_sec), _sec(t.backend_sec),
           _sec(t.response_sec)] for t in report.timings]),
    ]  # fmt: skip


def render_table(report: AlbReport) -> str:
    """Plain-text tables, columns padded, numbers right-aligned."""
    out = [f"ALB report {_utc(report.since_ms)} .. {_utc(report.until_ms)}: "
           f"{report.total} requests"]  # fmt: skip
    for title, header, rows in tables(report):
        widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
        out += ["", title]
        for row in [header, *rows]:
            cells = [
                c.rjust(w) if c == "-" or c.replace(".", "").isdigit() else c.ljust(w)
                for c, w in zip(row, widths, strict=True)
            ]
            out.append("  ".join(cells).rstrip())
        if not rows:
            out.append("(no data)")
    return "\n".join(out) + "\n"


def status_chart(report: AlbReport) -> str:
    """Per page, two stacked bars: the ELB's status classes and the targets'."""
    pages: dict[str, dict[str, dict[str, float]]] = defaultdict(
        lambda: {"ELB": defaultdict(float), "target": defaultdict(float)}
    )
    for row in report.status_by_page:
        pages[row.path]["ELB"][klass(row.elb_status)] += row.requests
        pages[row.path]["target"][klass(row.target_status)] += row.requests
    busiest = sorted(pages, key=lambda p: -sum(pages[p]["ELB"].values()))[: CHART_ROWS * 4 // 5]
    rows = [(f"{path} · {side}", dict(pages[path][side])) for path in busiest
            for side in ("ELB", "target")]  # fmt: skip
    return stacked_bars(rows, STATUS_COLORS, title="ELB vs target status per page")


def timing_chart(report: AlbReport) -> str:
    """Per page, the average request + target + response processing time (stacked)."""
    slowest = sorted(
        report.timings,
        key=lambda t: -sum(v or 0 for v in (t.request_sec, t.backend_sec, t.response_sec)),
    )[:CHART_ROWS]
    rows = [
        (t.path, {"request": t.request_sec or 0.0, "target": t.backend_sec or 0.0,
                  "response": t.response_sec or 0.0})
        for t in slowest
    ]  # fmt: skip
    return stacked_bars(rows, TIMING_COLORS, unit="s",
                        title="Average processing time per page (slowest first)")  # fmt: skip


def traffic_chart(report: AlbReport) -> str:
    """Requests per host / path / port, busiest first."""
    rows = [
        (f"{r.host}{r.path} :{_status(r.port)}", {"requests": float(r.requests)})
        for r in report.by_host_path_port[:CHART_ROWS]
    ]
    return stacked_bars(rows, {"requests": "#3b82c4"}, title="Requests per host, path and port")


def minute_chart(report: AlbReport) -> str:
    """Requests per minute stacked by status class; minutes without requests count zero."""
    if not report.per_minute:
        return stacked_area([], STATUS_COLORS, title="Requests per minute by status")
    first, last = min(report.per_minute), max(report.per_minute)
    points = []
    for minute in range(first, last + MINUTE, MINUTE):
        classes: dict[str, float] = defaultdict(float)
        for status, count in report.per_minute.get(minute, {}).items():
            classes[klass(status)] += count
        points.append((minute, dict(classes)))
    return stacked_area(points, STATUS_COLORS, title="Requests per minute by status")


def _html_table(header: list[str], rows: Sequence[list[str]], limit: int = 25) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows[:limit]
    )
    more = f"<p class=more>… {len(rows) - limit} more rows</p>" if len(rows) > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


STYLE = """
body{font-family:'DejaVu Sans',Arial,Helvetica,sans-serif;margin:24px 40px;color:#222;
background:#fafbfc}h1{font-size:24px;margin:0 0 4px}.sub{color:#666;margin:0 0 20px}
.kpis{display:flex;gap:16px;margin-bottom:20px}.kpi{background:#fff;border:1px solid #e3e6ea;
border-radius:8px;padding:12px 18px;min-width:150px}.kpi b{display:block;font-size:26px}
.kpi span{color:#666;font-size:13px}section{background:#fff;border:1px solid #e3e6ea;
border-radius:8px;padding:14px 18px;margin-bottom:20px}table{border-collapse:collapse;
font-size:12px;margin-top:10px}th,td{padding:3px 10px;border-bottom:1px solid #eef0f2;
text-align:left}td:last-child{text-align:right}.more{color:#888;font-size:12px}
details summary{cursor:pointer;color:#3b82c4;font-size:13px;margin-top:8px}
"""


def render_html(report: AlbReport) -> str:
    """A self-contained page: key figures, four charts, each with its table folded below."""
    errors = sum(r.requests for r in report.status_by_page if (r.elb_status or 0) >= 500)
    busiest_minute = max((sum(c.values()) for c in report.per_minute.values()), default=0)
    kpis = [
        ("requests", f"{report.total:,}"),
        ("ELB 5xx", f"{errors:,}"),
        ("pages", str(len(report.timings))),
        ("busiest minute", f"{busiest_minute:,}"),
    ]
    charts = [minute_chart(report), traffic_chart(report), status_chart(report)]
    charts.append(timing_chart(report))
    sections = "".join(
        f'<section><div class="chart">{chart}</div><details><summary>{escape(title)} '
        f"(table)</summary>{_html_table(header, rows)}</details></section>"
        for chart, (title, header, rows) in zip(charts, tables(report), strict=True)
    )
    cards = "".join(f'<div class="kpi"><b>{v}</b><span>{k}</span></div>' for k, v in kpis)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>ALB report</title><style>{STYLE}</style></head><body>"
        f"<h1>ALB report</h1><p class=sub>{_utc(report.since_ms)} – {_utc(report.until_ms)}</p>"
        f'<div class="kpis">{cards}</div>{sections}</body></html>\n'
    )


def find_chromium() -> str:
    """The headless browser to render with; FileNotFoundError says how to install one."""
    configured = os.environ.get("CHROMIUM")
    for name in ([configured] if configured else []) + list(CHROMIUM_NAMES):
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError("no chromium found: apt-get install -y chromium, or set CHROMIUM")


def render_png(html: str, out: Path, *, size: tuple[int, int] = (1280, 2000)) -> Path:
    """Screenshot ``html`` with headless Chromium into ``out`` (a PNG)."""
    with tempfile.TemporaryDirectory(prefix="logferry-report-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        argv = [
            find_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--screenshot={out.resolve()}", f"--window-size={size[0]},{size[1]}",
            page.as_uri(),
        ]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return out
