"""Two deployments of terraform/stacks/aws (two name prefixes, two regions) share no resource name.

Each deployment is planned offline (OpenTofu with the schema provider, via scripts/tofu) in its
own copy of terraform/, with every toggle on; the names are read from ``tofu show -json``'s
planned_values. The same plans also show the bucket notification's ordering (depends_on), an
action on every alarm and what every function runs. Fails, never skips, when the offline OpenTofu
is not installed (`make tofu`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TOFU = REPO / "scripts" / "tofu"
FUNCTIONS = sorted(p.name for p in (REPO / "functions").iterdir() if (p / "handler.py").is_file())

# The attribute that names each resource type in its AWS namespace (account+region, or global).
NAME_ATTRIBUTES = {
    "aws_lambda_function": "function_name",
    "aws_s3_bucket": "bucket",
    "aws_cloudwatch_metric_alarm": "alarm_name",
    "aws_opensearch_domain": "domain_name",
    "aws_cloudwatch_log_resource_policy": "policy_name",
}
# Resource types whose `name` is only unique inside a parent the test already compares.
SCOPED_NAMES = {"aws_cloudwatch_log_stream", "aws_api_gateway_stage"}
# Kinds of named resource every full plan must contain.
REQUIRED_TYPES = {
    "aws_lambda_function",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_sqs_queue",
    "aws_cloudwatch_log_group",
    "aws_cloudwatch_metric_alarm",
    "aws_s3_bucket",
    "aws_sns_topic",
    "aws_secretsmanager_secret",
    "aws_ssm_parameter",
    "aws_api_gateway_rest_api",
    "aws_kinesis_firehose_delivery_stream",
    "aws_cloudwatch_event_rule",
    "aws_opensearch_domain",
}
# Every toggle on, so that every kind of named resource is planned.
FULL_STACK = {
    "enable_alb": True,
    "enable_cwl": True,
    "cwl_log_group_names": ["/ecs/my-service"],
    "enable_access_logs": True,
    "enable_upload": True,
    "enable_alerting": True,
    "create_search_domain": True,
    "trigger_via_sqs": True,
    "log_sources": {"cloudfront": {"prefix": "cloudfront/", "format": "cloudfront"}},
}


@dataclass(frozen=True)
class Deployment:
    """One planned copy of the AWS stack."""

    name_prefix: str
    region: str


def offline_tofu_installed() -> None:
    """Fail with the command to run when the offline OpenTofu (scripts/tofu) cannot run."""
    if not TOFU.is_file():
        pytest.fail(f"{TOFU} is missing: the offline OpenTofu wrapper is needed (make tofu)")
    cache = Path(os.environ.get("LOGFERRY_CACHE", Path.home() / ".cache" / "logferry"))
    if not (cache / "tofu" / "env.sh").is_file():
        pytest.fail(f"offline OpenTofu is not installed (no {cache}/tofu/env.sh): run make tofu")


def run_tofu(workdir: Path, *args: str) -> str:
    """Run scripts/tofu in ``workdir``; fail with its output when it exits non-zero."""
    result = subprocess.run(
        [str(TOFU), f"-chdir={workdir}", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"},
    )
    if result.returncode != 0:
        pytest.fail(
            f"tofu {' '.join(args)} failed in {workdir} ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


def stack_copy(root: Path) -> Path:
    """Copy the modules and the AWS stack under ``root``, with placeholder zips in build/."""
    shutil.copytree(
        REPO / "terraform" / "modules",
        root / "terraform" / "modules",
        ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "tests", "*.tfstate*"),
    )
    stack = root / "terraform" / "stacks" / "aws"
    shutil.copytree(
        REPO / "terraform" / "stacks" / "aws",
        stack,
        ignore=shutil.ignore_patterns(".terraform", "*.lock.hcl", "*.tfstate*", "*.tfvars"),
    )
    # The stack reads <build_dir>/<function>.zip (default ../../../build, i.e. root/build); only
    # their hashes enter the plan, so a placeholder per function stands in for `make build`.
    build = root / "build"
    build.mkdir()
    for function in FUNCTIONS:
        with zipfile.ZipFile(build / f"{function}.zip", "w") as archive:
            archive.writestr("handler.py", f"# placeholder for {function}\n")
    return stack


def plan(root: Path, deployment: Deployment) -> dict[str, Any]:
    """``tofu show -json`` of the full AWS stack planned offline for ``deployment``."""
    stack = stack_copy(root)
    settings = {**FULL_STACK, "name_prefix": deployment.name_prefix, "region": deployment.region}
    (stack / "test.auto.tfvars.json").write_text(json.dumps(settings))
    run_tofu(stack, "init", "-backend=false", "-input=false", "-no-color")
    run_tofu(stack, "plan", "-input=false", "-no-color", "-lock=false", "-out=tfplan")
    shown: dict[str, Any] = json.loads(run_tofu(stack, "show", "-json", "tfplan"))
    return shown


def resources(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every resource of a planned_values module, its child modules' included."""
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from resources(child)


def names(shown: dict[str, Any]) -> dict[str, set[str]]:
    """The planned resource names, by resource type (managed resources only)."""
    found: dict[str, set[str]] = {}
    for resource in resources(shown["planned_values"]["root_module"]):
        kind = resource["type"]
        if resource["mode"] != "managed" or kind in SCOPED_NAMES:
            continue
        value = resource.get("values", {}).get(NAME_ATTRIBUTES.get(kind, "name"))
        if isinstance(value, str) and value:
            found.setdefault(kind, set()).add(value)
    return found


def all_names(by_type: dict[str, set[str]]) -> set[str]:
    """Every name of ``by_type``, qualified by its resource type."""
    return {f"{kind}:{name}" for kind, values in by_type.items() for name in values}


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[Deployment, dict[str, Any]]:
    """Offline plans of the AWS stack for three deployments."""
    offline_tofu_installed()
    deployments = [
        Deployment("logferry", "eu-west-1"),
        Deployment("lf-second", "us-east-2"),
        Deployment("logferry", "us-east-2"),
    ]
    return {d: plan(tmp_path_factory.mktemp(f"{d.name_prefix}-{d.region}"), d) for d in deployments}


def test_each_plan_names_every_kind_of_resource(
    plans: dict[Deployment, dict[str, Any]],
) -> None:
    for deployment, shown in plans.items():
        by_type = names(shown)
        missing = REQUIRED_TYPES - by_type.keys()
        assert not missing, f"{deployment}: no named {sorted(missing)} planned"
        assert len(all_names(by_type)) >= 80, f"{deployment}: only {len(all_names(by_type))} names"
        assert len(by_type["aws_lambda_function"]) == len(FUNCTIONS) + 1, by_type


def test_two_prefixes_in_two_regions_share_no_name(
    plans: dict[Deployment, dict[str, Any]],
) -> None:
    first = names(plans[Deployment("logferry", "eu-west-1")])
    second = names(plans[Deployment("lf-second", "us-east-2")])
    shared = all_names(first) & all_names(second)
    assert not shared, f"names in both deployments: {sorted(shared)}"


def test_every_name_carries_its_prefix(plans: dict[Deployment, dict[str, Any]]) -> None:
    for deployment, shown in plans.items():
        for kind, values in names(shown).items():
            for name in values:
                assert deployment.name_prefix in name, f"{deployment}: {kind} {name!r} unprefixed"


def test_buckets_differ_between_regions_of_one_prefix(
    plans: dict[Deployment, dict[str, Any]],
) -> None:
    """S3 names are global: one prefix deployed in two regions must still own distinct buckets."""
    west = names(plans[Deployment("logferry", "eu-west-1")])["aws_s3_bucket"]
    east = names(plans[Deployment("logferry", "us-east-2")])["aws_s3_bucket"]
    assert len(west) == 3 and len(east) == 3
    assert not west & east, f"buckets in both regions: {sorted(west & east)}"
    assert all("-eu-west-1-" in b for b in west) and all("-us-east-2-" in b for b in east)


def module_resources(config: dict[str, Any], path: tuple[str, ...]) -> list[dict[str, Any]]:
    """The configuration resources of the module at ``path`` (module call names from the root)."""
    module = config["root_module"]
    for call in path:
        module = module["module_calls"][call]["module"]
    resources: list[dict[str, Any]] = module.get("resources", [])
    return resources


def test_bucket_notification_waits_for_its_permissions_and_queue_policies(
    plans: dict[Deployment, dict[str, Any]],
) -> None:
    """S3 checks destinations when the notification is saved: permissions and policies first."""
    shown = plans[Deployment("logferry", "eu-west-1")]
    trigger = module_resources(shown["configuration"], ("logferry", "raw_triggers"))
    by_address = {r["address"]: r for r in trigger}
    notification = by_address["aws_s3_bucket_notification.this"]
    assert set(notification.get("depends_on", [])) >= {
        "aws_lambda_permission.s3",
        "aws_sqs_queue_policy.this",
    }, notification
    mapping = by_address["aws_lambda_event_source_mapping.this"]
    assert "aws_iam_role_policy.consume" in mapping.get("depends_on", []), mapping


def changes(shown: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The planned changes of every ``kind`` resource."""
    return [c for c in shown["resource_changes"] if c["type"] == kind]


def test_every_alarm_of_the_full_stack_has_an_action(
    plans: dict[Deployment, dict[str, Any]],
) -> None:
    """Function, failures-queue and DLQ alarms all notify the alarm topic (its ARN is computed)."""
    alarms = changes(plans[Deployment("logferry", "eu-west-1")], "aws_cloudwatch_metric_alarm")
    assert len(alarms) >= 20
    for alarm in alarms:
        after, unknown = alarm["change"]["after"], alarm["change"]["after_unknown"]
        assert after.get("alarm_actions") or unknown.get("alarm_actions") is True, alarm["address"]


def test_every_function_runs_what_the_zips_carry(
    plans: dict[Deployment, dict[str, Any]],
) -> None:
    functions = changes(plans[Deployment("logferry", "eu-west-1")], "aws_lambda_function")
    for function in functions:
        after = function["change"]["after"]
        assert after["handler"] == "handler.handler", function["address"]
        assert after["runtime"] == "python3.12", function["address"]
        assert after["architectures"] == ["x86_64"], function["address"]
        assert after["reserved_concurrent_executions"] == -1, function["address"]
