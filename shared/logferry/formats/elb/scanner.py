"""The loader of the compiled ALB line scanner ``logferry.formats._albscan``.

The scanner (``formats/_albscan.c``, built by ``pip install`` when a C compiler is there)
gives :func:`~logferry.formats.elb.patterns._fields_by_regex`'s fields several times faster
and hands the lines it cannot be sure of back to the regex (it returns ``None``).
``LOGFERRY_ALB_SCANNER=regex`` turns it off.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from logferry.formats.elb.patterns import _fields_by_regex


def _load_scanner() -> Callable[[str], tuple[Any, ...] | None]:
    """The compiled scanner's ``fields`` if it is built and not turned off, else the regex."""
    choice = os.environ.get("LOGFERRY_ALB_SCANNER", "c")
    if choice not in ("c", "regex"):
        raise ValueError(f"LOGFERRY_ALB_SCANNER must be c or regex, not {choice!r}")
    if choice == "regex":
        return _fields_by_regex
    try:
        from logferry.formats._albscan import fields
    except ImportError:
        return _fields_by_regex
    return fields


_scan = _load_scanner()
"""A line's fields as :func:`_fields_by_regex` gives them, or ``None`` when the scanner hands
the line to the regex."""
