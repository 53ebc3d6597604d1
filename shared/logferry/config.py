"""One configuration model: every option a function, format or sink reads from its environment.

A component declares its options as a frozen dataclass whose fields are made with
:func:`option` (environment variable, default, kind, one line of documentation);
:func:`load` reads such a class from an environment, and the README's configuration table
is generated from the same declarations (``logferry.configdoc``). Secrets never come
through here: options name a Secrets Manager secret or an SSM parameter, not its value.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A missing or invalid setting; the message names the variable."""


def _text(name: str, raw: str) -> str:
    return raw


def _flag(name: str, raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def _integer(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected an integer") from None


def _positive(name: str, raw: str) -> int:
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError(f"{name}={raw!r}: expected a positive integer")
    return int(raw)


def _number(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number") from None


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number of seconds") from None
    if not 0 <= value < 900:
        raise ConfigError(f"{name}={raw!r}: expected seconds in [0, 900)")
    return value


def _names(name: str, raw: str) -> tuple[str, ...]:
    items = tuple(part.strip() for part in raw.split(",") if part.strip())
    if len(set(items)) != len(items):
        raise ConfigError(f"{name}={raw!r}: a name is listed twice")
    return items


KINDS: dict[str, tuple[Callable[[str, str], Any], str]] = {
    "text": (_text, "text"),
    "flag": (_flag, "true / false"),
    "integer": (_integer, "integer"),
    "positive": (_positive, "positive integer"),
    "number": (_number, "number"),
    "seconds": (_seconds, "seconds in [0, 900)"),
    "names": (_names, "comma-separated names"),
}
"""Option kinds: how a raw value is read, and how the docs describe it."""


@dataclass(frozen=True)
class Option:
    """One environment variable: its name, kind, default, allowed values and meaning."""

    env: str
    doc: str
    kind: str = "text"
    default: Any = None
    choices: tuple[str, ...] = ()
    required: bool = False

    def read(self, env: Mapping[str, str]) -> Any:
        """The value in ``env`` (missing or empty: the default; required: an error)."""
        raw = env.get(self.env)
        if raw is None or raw == "":
            if self.required:
                raise ConfigError(f"{self.env} is not set: {self.doc}")
            return self.default
        value = KINDS[self.kind][0](self.env, raw)
        allowed = self.choices
        bad = [v for v in (value if isinstance(value, tuple) else (value,)) if v not in allowed]
        if allowed and bad:
            raise ConfigError(f"{self.env}={raw!r}: expected one of {', '.join(allowed)}")
        return value


def option(
    env: str,
    default: Any,
    doc: str,
    *,
    kind: str = "text",
    choices: tuple[str, ...] = (),
    required: bool = False,
) -> Any:
    """A dataclass field read from the environment variable ``env`` by :func:`load`."""
    if kind not in KINDS:
        raise ValueError(f"option {env}: unknown kind {kind!r}")
    meta = Option(env, doc, kind, default, choices, required)
    return dataclasses.field(default=default, metadata={"option": meta})


def options_of(cls: type) -> list[tuple[str, Option]]:
    """``(field name, option)`` for every field of ``cls`` made with :func:`option`."""
    return [
        (f.name, f.metadata["option"]) for f in dataclasses.fields(cls) if "option" in f.metadata
    ]


def load(cls: type[T], env: Mapping[str, str] | None = None, **overrides: Any) -> T:
    """An instance of the options dataclass ``cls`` read from ``env`` (default: the process
    environment); ``overrides`` (not ``None``) win over the environment."""
    source = os.environ if env is None else env
    given = {k: v for k, v in overrides.items() if v is not None}
    values = {
        name: given.pop(name) if name in given else opt.read(source)
        for name, opt in options_of(cls)
    }
    if given:
        raise TypeError(f"{cls.__name__} has no option {', '.join(given)}")
    return cls(**values)
