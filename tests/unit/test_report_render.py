"""ALB report renderings: text table, self-contained HTML with SVG charts.

The PNG rendering (headless Chromium, pixels checked) is in tests/integration/test_alerting.py:
decoding a 1280x2000 PNG in pure Python takes seconds.
"""

from __future__ import annotations

import re

from logferry.reports.alb import AlbReport, HostPathPort, PageStatus, PageTiming
from logferry.reports.charts import nice_max, status_class, time_ticks
from logferry.reports.render import render_html, render_table

SINCE = 1_764_000_000_000


def sample_report() -> AlbReport:
    report = AlbReport(SINCE, SINCE + 3_600_000, total=1_500)
    report.by_host_path_port = [
        HostPathPort("shop.example.com", "/api/orders", 8080, 1_000),
        HostPathPort("shop.example.com", "/", 80, 500),
    ]
    report.status_by_page = [
        PageStatus("/api/orders", 200, 200, 900),
        PageStatus("/api/orders", 502, None, 100),
        PageStatus("/", 200, 200, 500),
    ]
    report.timings = [PageTiming("/api/orders", 1_000, 0.001, 0.4, 0.0005),
                      PageTiming("/", 500, 0.001, 0.02, None)]  # fmt: skip
    report.per_minute = {SINCE + m * 60_000: {200: 20 + m % 7, 502: 9 if m == 30 else 0}
                         for m in range(60)}  # fmt: skip
    return report


def test_table_lists_every_section() -> None:
    text = render_table(sample_report())
    assert "1500 requests" in text
    assert re.search(r"/api/orders\s+502\s+-\s+100", text)
    assert re.search(r"/\s+500\s+0\.001\s+0\.020\s+-", text)
    assert "Requests per minute by status" in text


def test_html_is_self_contained_with_four_charts() -> None:
    html = render_html(sample_report())
    assert html.count("<svg") == 4
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html and "@import" not in html
    assert html.count('class="bar"') >= 6 and 'class="area"' in html
    assert ">1,500<" in html and ">100<" in html  # requests and ELB 5xx key figures


def test_chart_helpers() -> None:
    assert [nice_max(v) for v in (0, 7, 130, 0.42)] == [1.0, 8.0, 200.0, 0.8]
    assert [status_class(s) for s in (200, 304, 404, 503, None)] == [
        "2xx", "3xx", "4xx", "5xx", "other",
    ]  # fmt: skip
    ticks = time_ticks(SINCE + 30_000, SINCE + 3_600_000)
    assert ticks[:2] == [SINCE + 900_000, SINCE + 1_800_000] and len(ticks) == 4
