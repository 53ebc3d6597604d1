"""The pure helpers of `make bench`: merging the scripts' JSON lines, bench_large's figures."""

from __future__ import annotations

import gzip
import importlib
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from logferry.pipeline import Summary
from logferry.sinks.cloudwatch import time_verdict

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str) -> ModuleType:
    """A bench script as a module (they import each other by plain name, from bench/)."""
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


run = load("run")
large = load("bench_large")


def test_last_json_takes_the_last_line_after_progress_output() -> None:
    out = "generating\n{'not': json}\n" + json.dumps({"a": 1, "b": [2]}) + "\n\n"
    assert run.last_json(out) == {"a": 1, "b": [2]}


@pytest.mark.parametrize("out", ["", "\n  \n", "[1, 2]\n", '{"a": 1}\ndone\n'])
def test_last_json_refuses_output_not_ending_in_an_object(out: str) -> None:
    with pytest.raises(ValueError):
        run.last_json(out)


def test_merge_keeps_every_key_of_every_script_in_order() -> None:
    merged = run.merge([("a.py", {"x": 1, "same": 2}), ("b.py", {"same": 2, "y": {"z": 3}})])
    assert merged == {"x": 1, "same": 2, "y": {"z": 3}}
    assert list(merged) == ["x", "same", "y"]


def test_merge_refuses_a_key_two_scripts_report_differently() -> None:
    with pytest.raises(ValueError, match=r"'peak'.*a\.py says 1.*b\.py says 2"):
        run.merge([("a.py", {"peak": 1}), ("b.py", {"peak": 2})])


@pytest.mark.parametrize("hours", [0, 1, 30, 24 * 4 + 23, 24 * 5, 24 * 9 + 13])
def test_data_start_keeps_a_2gb_log_inside_cloudwatchs_window(hours: int) -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC) + timedelta(hours=hours, minutes=59)
    start = large.data_start(now)
    assert timedelta(days=5) <= now - start < timedelta(days=10)
    now_ms = int(now.timestamp() * 1000)
    for at in (start, start + timedelta(hours=5)):  # a 2 GB log spans about 4 hours
        assert time_verdict(int(at.timestamp() * 1000), now_ms) is None


def test_data_start_is_the_same_for_a_whole_period_so_the_cache_holds() -> None:
    first = large.data_start(datetime(2026, 11, 20, 0, 0, 1, tzinfo=UTC))
    starts = {
        large.data_start(datetime(2026, 11, 20, tzinfo=UTC) + timedelta(hours=h))
        for h in range(0, 24 * 10, 7)
    }
    assert first in starts
    assert len(starts) in (2, 3)  # ten days cross one or two period boundaries


@pytest.mark.parametrize(
    ("mb", "label"), [(10, "10MB"), (100, "100MB"), (1024, "1GB"), (2048, "2GB"), (1536, "1536MB")]
)
def test_size_label(mb: int, label: str) -> None:
    assert large.size_label(mb) == label


def test_flatness_and_overhead() -> None:
    figures = large.flatness({"10MB": 80.0, "1GB": 84.0, "2GB": 100.0})
    assert figures == {"peak_rss_mb_max": 100.0, "peak_rss_mb_min": 80.0, "rss_flat": 1.25}
    assert large.overhead(10.0, 10.5) == 0.05
    assert large.overhead(10.0, 9.9) == -0.01


def summary(start: int, records: int, next_offset: int | None, member: bool) -> Summary:
    """A run of 100-byte records from ``start`` on; stopped early if ``next_offset``."""
    return Summary(
        object="s3://b/k",
        format="alb",
        start_offset=start,
        records=records,
        documents=records,
        bytes=records * 100,
        shipped={"cloudwatch": records},
        next_offset=next_offset,
        resume_from=(1, 0) if member and next_offset is not None else None,
    )


def split(member: bool) -> list[Summary]:
    return [
        summary(0, 10, 1000, member),
        summary(1000, 10, 2000, member),
        summary(2000, 5, None, member),
    ]


@pytest.mark.parametrize("member", [False, True])
def test_check_split_accepts_runs_that_add_up_and_hand_over(member: bool) -> None:
    whole = summary(0, 25, None, member)
    large.check_split(whole, split(member), 3, multi=member)


def test_check_split_refuses_missing_records_a_gap_or_the_wrong_resume_path() -> None:
    whole = summary(0, 25, None, False)
    with pytest.raises(RuntimeError, match="3 runs"):
        large.check_split(whole, split(False), 4, multi=False)
    short = split(False)
    short[2] = summary(2000, 4, None, False)
    with pytest.raises(RuntimeError, match="shipped"):
        large.check_split(whole, short, 3, multi=False)
    gap = split(False)
    gap[1] = summary(1100, 10, 2000, False)
    with pytest.raises(RuntimeError, match="hand-over"):
        large.check_split(whole, gap, 3, multi=False)
    with pytest.raises(RuntimeError, match="hand-over"):  # multi-member but no member resume
        large.check_split(whole, split(False), 3, multi=True)


alb = load("bench_alb")


def test_child_peak_rss_reports_the_childs_own_memory_cpu_and_output() -> None:
    burn = "x = bytearray(64 * 2**20)\nsum(range(3_000_000))\nprint('a', 'b')"
    child = alb.child_peak_rss(burn)
    assert child.output == ["a", "b"]
    assert 64 < child.peak_rss_mb < 1024
    assert 0 < child.cpu_s < 60


def test_ceiling_counts_every_line_of_the_gzip_object(tmp_path: Path) -> None:
    lines = list(alb.alb_lines(300, datetime(2026, 11, 1, tzinfo=UTC), seed=1, error_rate=0.1))
    path = tmp_path / "sample.log.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    figures = alb.ceiling(path)
    assert figures["lines"] == 300
    assert figures["lines_per_s"] == pytest.approx(300 / figures["seconds"])


def test_big_object_figures_name_issue_2s_keys() -> None:
    ours = alb.ChildRun(86.25, 80.0, ["1796480", str(1022 * 2**20), "1796480"])
    seed = alb.ChildRun(3411.44, 9.0, ["1796480"])
    assert large.big_object_figures(ours, seed) == {
        "big_object_uncompressed_mb": 1022.0,
        "big_object_lines": 1796480,
        "big_object_shipped": 1796480,
        "peak_rss_mb_1gb": 86.2,
        "seed_peak_rss_mb_1gb": 3411.4,
    }
