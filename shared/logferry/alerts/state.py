"""Per-rule alert state: the last window handled, the last message sent, repeats held back,
and whether the rule's query is failing (since when, the error, the last notice about it).

Kept as one JSON SSM parameter per rule under ``STATE_PARAM_PREFIX`` (``SsmStateStore``) or
in memory (``MemoryStateStore``, tests and the local one-shot CLI).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class RuleState:
    """What a rule remembers between runs (times in epoch milliseconds)."""

    last_end_ms: int | None = None
    last_sent_ms: int | None = None
    suppressed: int = 0
    failing_since_ms: int | None = None
    """When the rule's runs started to fail (``None``: it works)."""
    failure_noticed_ms: int | None = None
    """When the last "rule failing" notice was delivered (rate limit)."""
    last_error: str | None = None

    def to_json(self) -> str:
        """The stored form."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str) -> RuleState:
        """Parse the stored form; a corrupt value raises ValueError naming ``where``."""
        try:
            raw = json.loads(text)
            return cls(**{k: raw.get(k) for k in cls.__dataclass_fields__ if k in raw})
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}: alert state is not valid: {exc}") from None


class StateStore(Protocol):
    """Where rule states live."""

    def load(self, rule_name: str) -> RuleState: ...

    def save(self, rule_name: str, state: RuleState) -> None: ...


class MemoryStateStore:
    """States in a dict (tests, local one-shot runs)."""

    def __init__(self) -> None:
        self.states: dict[str, RuleState] = {}

    def load(self, rule_name: str) -> RuleState:
        """The saved state, or a fresh one."""
        return self.states.get(rule_name, RuleState())

    def save(self, rule_name: str, state: RuleState) -> None:
        """Remember ``state``."""
        self.states[rule_name] = state


_PARAM_UNSAFE = re.compile(r"[^a-zA-Z0-9_.\-/]")


class SsmStateStore:
    """One String parameter per rule: ``<prefix><rule name>``."""

    def __init__(self, ssm_client: Any, prefix: str) -> None:
        self.ssm = ssm_client
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"

    def name(self, rule_name: str) -> str:
        """The parameter name of a rule (unsafe characters become ``_``)."""
        return self.prefix + _PARAM_UNSAFE.sub("_", rule_name)

    def load(self, rule_name: str) -> RuleState:
        """The saved state, or a fresh one when the parameter does not exist yet."""
        name = self.name(rule_name)
        try:
            value = self.ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except self.ssm.exceptions.ParameterNotFound:
            return RuleState()
        return RuleState.from_json(value, f"ssm:{name}")

    def save(self, rule_name: str, state: RuleState) -> None:
        """Overwrite the rule's parameter."""
        self.ssm.put_parameter(
            Name=self.name(rule_name), Value=state.to_json(), Type="String", Overwrite=True
        )
