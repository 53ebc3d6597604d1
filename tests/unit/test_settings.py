"""Function settings from the environment."""

from __future__ import annotations

import pytest

from logferry.settings import ConfigError, Settings


@pytest.mark.parametrize(("raw", "seconds"), [(None, 20.0), ("0", 0.0), ("2.5", 2.5), ("45", 45.0)])
def test_reserve_seconds_keeps_zero_and_fractions(raw: str | None, seconds: float) -> None:
    env = {} if raw is None else {"RESERVE_SECONDS": raw}
    assert Settings.from_env("alb", env).reserve_seconds == seconds


@pytest.mark.parametrize("raw", ["soon", "-1", "900"])
def test_reserve_seconds_rejects_nonsense_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="RESERVE_SECONDS"):
        Settings.from_env("alb", {"RESERVE_SECONDS": raw})
