"""Volume and latency: a 200,000-line ALB object, and S3 PUT -> searchable for 10,000 lines.

Figures go to `.local-stack/e2e-figures.json` (see conftest.py).
Run: .venv/bin/pytest tests/integration/test_chain_scale.py -s  (a few minutes).
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from logferry.demo import alb_object
from logferry.local.chain import Chain
from logferry.local.endpoints import wait_for

pytestmark = pytest.mark.e2e
BIG = 200_000
LATENCY_LINES = 10_000
LATENCY_RUNS = 5


def test_200k_line_alb_object_arrives_whole(
    chain: Chain, run_id: str, figures: dict[str, Any]
) -> None:
    d = chain.deployment
    sample = alb_object(d, f"{run_id}-big", BIG, datetime.now(UTC), seed=7)
    began = time.monotonic()
    uri = chain.put(sample.key, sample.body)
    searchable = chain.wait_count(
        chain.source_query(uri, sample.dataset), BIG, timeout=540, what=f"{BIG} documents"
    )
    group = d.alb_log_group
    wait_for(
        lambda: chain.count_log_events(group, sample.marker) == BIG,
        timeout=120,
        interval=2.0,
        what=f"{BIG} events in {group}",
    )
    total = time.monotonic() - began
    summaries = [s for s in chain.summaries(d.alb_function) if s["object"] == uri]
    assert sum(s["records"] for s in summaries) == BIG
    assert all(s["parked"] == 0 and not s["error"] for s in summaries)
    print(
        f"\n200k-line ALB object ({len(sample.body) / 2**20:.1f} MiB gzip): searchable after "
        f"{searchable:.1f}s, all in CloudWatch Logs after {total:.1f}s, "
        f"{len(summaries)} invocation(s)"
    )
    figures["alb_200k"] = {
        "lines": BIG,
        "gzip_bytes": len(sample.body),
        "searchable_seconds": round(searchable, 1),
        "end_to_end_seconds": round(total, 1),
        "invocations": len(summaries),
        "search_documents": BIG,
        "cloudwatch_events": BIG,
    }


def test_latency_put_to_searchable_10k_lines(
    chain: Chain, run_id: str, figures: dict[str, Any]
) -> None:
    d = chain.deployment
    latencies = []
    for run in range(LATENCY_RUNS):
        sample = alb_object(d, f"{run_id}-lat{run}", LATENCY_LINES, datetime.now(UTC), seed=run)
        began = time.monotonic()
        uri = chain.put(sample.key, sample.body)
        chain.wait_count(
            chain.source_query(uri, sample.dataset), LATENCY_LINES, timeout=120, what="latency"
        )
        latencies.append(time.monotonic() - began)
    median = statistics.median(latencies)
    print(
        f"\nS3 PUT -> searchable, {LATENCY_LINES} ALB lines: median {median:.2f}s "
        f"of {', '.join(f'{x:.2f}' for x in latencies)}"
    )
    figures["latency_10k"] = {
        "lines": LATENCY_LINES,
        "runs_seconds": [round(x, 2) for x in latencies],
        "median_seconds": round(median, 2),
    }
    assert median < 60
