def fields(line: str, /) -> tuple[str | None, ...] | None:
    """``_ALB_RE.match(line).groups()``, or ``None`` when the regex must decide."""
