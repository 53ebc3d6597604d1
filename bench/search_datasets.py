"""Engine CPU and store per document, per dataset, with and without the raw line.

Part of ``make bench-search``: each dataset's generated object goes through logferry's search
path (``process_object`` with only the search sink) into a fresh index on the bench's node,
once as shipped by default and, for formats whose fields hold the whole line
(:attr:`LogFormat.fields_hold_line`), once more with ``SEARCH_KEEP_MESSAGE=true`` (what
version 3 of the template shipped before the raw line was left out). Figures are measured as
``bench_search.measured`` does (node CPU until a refresh, store after a force-merge).
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from logferry.samples.access import access_lines
from logferry.samples.alb import alb_key, alb_lines
from logferry.samples.cwl import firehose_object

VPC_ACTIONS = ("ACCEPT",) * 9 + ("REJECT",)


def vpcflow_lines(n: int, start: datetime, seed: int = 0) -> Iterator[str]:
    """``n`` VPC flow log records in the default (version 2) format, header first."""
    rng = random.Random(seed)
    yield (
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets "
        "bytes start end action log-status"
    )
    t = int(start.timestamp())
    for _ in range(n):
        t += rng.randint(0, 1)
        packets = rng.randint(1, 400)
        yield (
            f"2 123456789012 eni-{rng.getrandbits(32):08x} 10.0.{rng.randint(0, 9)}."
            f"{rng.randint(1, 254)} 172.31.{rng.randint(0, 31)}.{rng.randint(1, 254)} "
            f"{rng.randint(1024, 65535)} {rng.choice((443, 80, 22, 5432))} "
            f"{rng.choice((6, 6, 6, 17))} {packets} {packets * rng.randint(40, 1500)} "
            f"{t} {t + 60} {rng.choice(VPC_ACTIONS)} OK"
        )


def _text(lines: Iterator[str]) -> bytes:
    return gzip.compress(("\n".join(lines) + "\n").encode())


DATASETS: dict[str, tuple[str, str, Callable[[int, datetime], bytes]]] = {
    # name: (LOG_FORMAT, object key, gzip body of n records from a start time)
    "alb": (
        "alb",
        alb_key("123456789012", "us-east-1", "bench-lb", datetime(2026, 12, 1, tzinfo=UTC)),
        lambda n, t: _text(alb_lines(n, t, seed=3)),
    ),
    "apache": ("apache", "web/access.log.gz", lambda n, t: _text(access_lines(n, t, seed=3))),
    "vpcflow": ("vpcflow", "vpc/flow.log.gz", lambda n, t: _text(vpcflow_lines(n, t, seed=3))),
    "cwl": ("cwl", "firehose/cwl.gz", lambda n, t: gzip.compress(firehose_object(n, t, seed=3))),
}


def dataset_costs(
    lines: int,
    start: datetime,
    put: Callable[[str, bytes], None],
    measure: Callable[[str, str, bool], dict[str, float]],
    whole_line: Callable[[str], bool],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """``{dataset: {variant: {engine_cpu_us_per_doc, store_bytes_per_doc}}}``.

    ``put(key, body)`` stores an object; ``measure(format, key, keep_message)`` ships it and
    returns ``bench_search.measured``'s figures; ``whole_line(format)`` says whether the
    format leaves the raw line out (then ``with_message`` is measured too).
    """
    out: dict[str, Any] = {}
    for name, (fmt, key, body) in DATASETS.items():
        put(key, body(lines, start + timedelta(minutes=1)))
        variants = {"default": False, **({"with_message": True} if whole_line(fmt) else {})}
        out[name] = {}
        for variant, keep in variants.items():
            log(f"dataset {name} ({variant}): {lines:,} records")
            figures = measure(fmt, key, keep)
            out[name][variant] = {
                k: round(figures[k], 1) for k in ("engine_cpu_us_per_doc", "store_bytes_per_doc")
            }
            log(f"  {out[name][variant]}")
    return out
