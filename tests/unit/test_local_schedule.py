from datetime import UTC, datetime

import pytest

from logferry.local.schedule import next_fire, parse_cron, rate_seconds

NOW = datetime(2026, 11, 24, 1, 7, 30, tzinfo=UTC)  # a Tuesday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 minute)", datetime(2026, 11, 24, 1, 8, 30, tzinfo=UTC)),
        ("rate(2 hours)", datetime(2026, 11, 24, 3, 7, 30, tzinfo=UTC)),
        ("cron(0/15 * * * ? *)", datetime(2026, 11, 24, 1, 15, tzinfo=UTC)),
        ("cron(0 9 ? * MON-FRI *)", datetime(2026, 11, 24, 9, 0, tzinfo=UTC)),
        ("cron(0 9 ? * SAT,SUN *)", datetime(2026, 11, 28, 9, 0, tzinfo=UTC)),
        ("cron(0 9 ? * 1 *)", datetime(2026, 11, 29, 9, 0, tzinfo=UTC)),  # 1 = Sunday
        ("cron(30 2 1 * ? *)", datetime(2026, 12, 1, 2, 30, tzinfo=UTC)),
        ("cron(0 12 1 JAN ? 2027)", datetime(2027, 1, 1, 12, 0, tzinfo=UTC)),
    ],
)
def test_next_fire(expression: str, expected: datetime) -> None:
    assert next_fire(expression, NOW) == expected


def test_scale_speeds_up_rates_only() -> None:
    assert (next_fire("rate(1 minute)", NOW, scale=60) - NOW).total_seconds() == 1
    assert rate_seconds("cron(0 * * * ? *)") is None


@pytest.mark.parametrize(
    "expression", ["rate(five minutes)", "cron(0 9 * *)", "cron(0 9 L * ? *)", "cron(0 61 * * ? *)"]
)
def test_bad_expressions_are_rejected(expression: str) -> None:
    with pytest.raises(ValueError, match=r"cron|rate"):
        next_fire(expression, NOW)


def test_cron_month_names_do_not_look_like_special_characters() -> None:
    assert parse_cron("cron(0 0 1 JUL ? *)").months == frozenset({7})
