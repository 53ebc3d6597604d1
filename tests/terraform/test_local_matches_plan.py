"""The local deployer deploys what `terraform/stacks/local` declares: its spec, field by field,
against the stack's plan (`tofu show -json`, written by `make tf-plan` to
`.cache/tf/plan-local.json`; another file with LOGFERRY_TF_PLAN_LOCAL).

Compared: function names, keys, zips, handlers, runtimes, memory, timeouts, reserved
concurrency, descriptions, environment names and values, log retention, failure queues,
async retries and event age, role/policy/log group names, triggers (bucket, prefix, suffix,
direct vs SQS, queue and DLQ names, batch size, maxReceiveCount, visibility timeout, response
types), other log groups, SSM parameters, secrets, schedules and API routes. Values known only
after apply (ARNs, bucket ids) match by name; data sources answer with the offline schema
provider's account 123456789012 and region us-east-1.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from logferry.local.endpoints import repo_root
from logferry.local.plan_spec import divergences, spec_from_plan
from logferry.local.spec import Inputs, local_stack

OFFLINE_ACCOUNT = "123456789012"
PLAN = Path(
    os.environ.get("LOGFERRY_TF_PLAN_LOCAL", repo_root() / ".cache" / "tf" / "plan-local.json")
)


@pytest.fixture(scope="module")
def plan() -> dict[str, Any]:
    if not PLAN.is_file():
        pytest.skip(f"{PLAN} not found: run `make tf-plan` (offline OpenTofu plan of the stacks)")
    return dict(json.loads(PLAN.read_text()))


def inputs_of(plan: dict[str, Any]) -> Inputs:
    """The deployer's inputs from the plan's variable values."""
    variables = {name: v.get("value") for name, v in plan.get("variables", {}).items()}
    defaults = asdict(Inputs(OFFLINE_ACCOUNT))
    chosen = {k: variables.get(k, defaults[k]) for k in defaults if k != "account_id"}
    chosen["upload_allowed_cidrs"] = tuple(chosen["upload_allowed_cidrs"])
    return Inputs(OFFLINE_ACCOUNT, **chosen)


def test_the_deployers_defaults_are_the_stacks_variable_defaults(plan: dict[str, Any]) -> None:
    assert inputs_of(plan) == Inputs(OFFLINE_ACCOUNT)


def test_the_local_deployment_matches_the_plan_field_by_field(plan: dict[str, Any]) -> None:
    found = divergences(local_stack(inputs_of(plan)), plan)
    assert not found, "local deployer vs terraform/stacks/local plan:\n" + "\n".join(found)


def test_the_plan_declares_every_function_through_sqs(plan: dict[str, Any]) -> None:
    planned = spec_from_plan(plan)
    shippers = [fn for fn in planned.functions if fn.key not in ("upload_url", "log_alert")]
    assert len(shippers) == 7
    assert all(fn.trigger is not None and fn.trigger.via == "sqs" for fn in shippers)
