#!/usr/bin/env python3
"""`make bench`: run every benchmark script, then print one JSON object with all their figures.

Each script still runs alone and ends with one JSON line of its own; this runs them in turn
with the same interpreter (their progress goes to stderr as it comes), takes each one's last
JSON line and merges them. A key two scripts both report with different values is an error,
not a silent overwrite. ``bench_seconds`` says how long each script took.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCRIPTS = ("bench_alb.py", "bench_large.py", "bench_search.py")


def last_json(stdout: str) -> dict[str, Any]:
    """The last non-empty line of ``stdout``, which must be one JSON object."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError("no output")
    value = json.loads(lines[-1])
    if not isinstance(value, dict):
        raise ValueError(f"last line is not a JSON object: {lines[-1][:200]}")
    return value


def merge(results: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One object with every key of every ``(script, figures)``; a conflicting key raises."""
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for script, figures in results:
        for key, value in figures.items():
            if key in merged and merged[key] != value:
                first = f"{origin[key]} says {merged[key]!r}"
                raise ValueError(f"{key!r} differs: {first}, {script} says {value!r}")
            merged[key] = value
            origin.setdefault(key, script)
    return merged


def run(script: str) -> dict[str, Any]:
    """Run one benchmark script (stderr passes through); its figures."""
    print(f"bench: running {script}", file=sys.stderr, flush=True)
    out = subprocess.run(
        [sys.executable, str(HERE / script)], stdout=subprocess.PIPE, text=True, check=False
    )
    if out.returncode:
        raise SystemExit(f"bench: {script} failed with exit code {out.returncode}")
    try:
        return last_json(out.stdout)
    except ValueError as exc:
        raise SystemExit(f"bench: {script}: {exc}") from exc


def main() -> int:
    results: list[tuple[str, dict[str, Any]]] = []
    seconds: dict[str, float] = {}
    for script in SCRIPTS:
        started = time.perf_counter()
        results.append((script, run(script)))
        seconds[script] = round(time.perf_counter() - started, 1)
        print(f"bench: {script} took {seconds[script]:.0f} s", file=sys.stderr, flush=True)
    print(json.dumps(merge([*results, ("run.py", {"bench_seconds": seconds})])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
