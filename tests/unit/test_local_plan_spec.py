"""`plan_spec`: reading `tofu show -json` of stacks/local and comparing it with the local spec.

`render` writes a StackSpec as the pipeline module's plan would show it (module addresses,
resource types and values, ARNs and bucket ids unknown at plan time in `after_unknown`), so
a round trip must show no divergence and each seeded change one that names the field.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict
from typing import Any

import pytest

from logferry.local.plan_spec import UNKNOWN, divergences, planned_resources, spec_from_plan
from logferry.local.spec import Function, Inputs, StackSpec, local_stack

ACCOUNT = "123456789012"
ROOT = "module.logferry"
UNKNOWN_ENV = {"QUARANTINE_BUCKET", "OUTPUT_BUCKET", "RAW_BUCKET", "SLACK_SECRET_ARN"}


class Plan:
    """A tiny `tofu show -json` writer: modules of resources plus resource_changes."""

    def __init__(self) -> None:
        self.modules: dict[str, list[dict[str, Any]]] = {}
        self.changes: list[dict[str, Any]] = []

    def add(
        self,
        module: str,
        kind: str,
        name: str,
        values: dict[str, Any],
        index: Any = None,
        unknown: dict[str, Any] | None = None,
    ) -> None:
        suffix = "" if index is None else f"[{json.dumps(index)}]"
        address = f"{module}.{kind}.{name}{suffix}"
        resource = {
            "address": address,
            "mode": "managed",
            "type": kind,
            "name": name,
            "values": values,
        }
        if index is not None:
            resource["index"] = index
        self.modules.setdefault(module, []).append(resource)
        self.changes.append(
            {
                "address": address,
                "type": kind,
                "change": {"actions": ["create"], "after": values, "after_unknown": unknown or {}},
            }
        )

    def json(self) -> dict[str, Any]:
        def tree(address: str) -> dict[str, Any]:
            children = [
                m
                for m in self.modules
                if m.startswith(address + ".module.")
                and "." not in m[len(address) + len(".module.") :].split("[")[0]
                and m.count(".module.") == address.count(".module.") + 1
            ]
            node: dict[str, Any] = {
                "resources": self.modules.get(address, []),
                "child_modules": [tree(c) for c in children],
            }
            node["address"] = address
            return node

        root = {"resources": [], "child_modules": [tree(ROOT)]}
        return {
            "format_version": "1.2",
            "planned_values": {"root_module": root},
            "resource_changes": self.changes,
        }


def function_module(plan: Plan, module: str, fn: Function) -> None:
    env = {k: v for k, v in fn.environment.items() if k not in UNKNOWN_ENV}
    unknown_env = {k: True for k in fn.environment if k in UNKNOWN_ENV}
    plan.add(
        module,
        "aws_lambda_function",
        "this",
        {
            "function_name": fn.name,
            "description": fn.description,
            "handler": fn.handler,
            "runtime": fn.runtime,
            "timeout": fn.timeout,
            "memory_size": fn.memory,
            "reserved_concurrent_executions": fn.reserved_concurrency,
            "filename": f"/repo/terraform/stacks/local/../../../build/{fn.package}.zip",
            "environment": [{"variables": env}],
        },
        unknown={"arn": True, "environment": [{"variables": unknown_env}]},
    )
    plan.add(
        module,
        "aws_cloudwatch_log_group",
        "this",
        {"name": fn.log_group, "retention_in_days": fn.log_retention_days},
    )
    plan.add(module, "aws_iam_role", "this", {"name": fn.role})
    plan.add(
        module,
        "aws_iam_role_policy",
        "this",
        {"name": fn.policy},
        unknown={"policy": True, "role": True},
    )
    if fn.failure_queue:
        failures = {"name": fn.failure_queue, "message_retention_seconds": fn.failure_retention}
        plan.add(module, "aws_sqs_queue", "failures", failures, index=0)
    plan.add(
        module,
        "aws_lambda_function_event_invoke_config",
        "this",
        {
            "maximum_retry_attempts": fn.maximum_retry_attempts,
            "maximum_event_age_in_seconds": fn.maximum_event_age,
        },
    )


def render(spec: StackSpec) -> dict[str, Any]:
    """`spec` as the plan of stacks/local shows it."""
    plan = Plan()
    for kind, bucket in zip(("raw", "analyzed", "quarantine"), spec.buckets, strict=True):
        plan.add(f"{ROOT}.module.{kind}", "aws_s3_bucket", "this", {"bucket": bucket})
        if bucket in spec.versioned_buckets:  # the bucket id is known only after apply
            versioning = {"versioning_configuration": [{"status": "Enabled"}]}
            plan.add(f"{ROOT}.module.{kind}", "aws_s3_bucket_versioning", "this", versioning)
    for group in spec.log_groups:
        plan.add(
            ROOT,
            "aws_cloudwatch_log_group",
            "alb",
            {"name": group.name, "retention_in_days": group.retention_days},
            index=0,
        )
    triggers = f"{ROOT}.module.raw_triggers[0]"
    queues = []
    for fn in spec.functions:
        if fn.key == "upload_url":
            module = f"{ROOT}.module.upload[0]"
        elif fn.key == "log_alert":
            module = f"{ROOT}.module.alerting[0]"
        else:
            module = f'{ROOT}.module.shipper["{fn.key}"]'
        function_module(plan, module if fn.trigger else f"{module}.module.function", fn)
        if fn.trigger is None:
            continue
        t = fn.trigger
        queues.append(
            {
                "id": fn.key,
                "events": ["s3:ObjectCreated:*"],
                "filter_prefix": t.prefix,
                "filter_suffix": t.suffix or None,
            }
        )
        plan.add(
            triggers,
            "aws_sqs_queue",
            "this",
            {
                "name": t.queue,
                "visibility_timeout_seconds": t.visibility_timeout,
            },
            index=fn.key,
            unknown={"redrive_policy": True, "arn": True},
        )
        dlq = {"name": t.dlq, "message_retention_seconds": t.dlq_retention}
        plan.add(triggers, "aws_sqs_queue", "dlq", dlq, index=fn.key)
        plan.add(
            triggers,
            "aws_iam_role_policy",
            "consume",
            {"name": t.consume_policy},
            index=fn.key,
            unknown={"policy": True},
        )
        plan.add(
            triggers,
            "aws_lambda_event_source_mapping",
            "this",
            {
                "batch_size": t.batch_size,
                "function_response_types": list(t.response_types),
            },
            index=fn.key,
            unknown={"event_source_arn": True},
        )
    plan.add(
        triggers,
        "aws_s3_bucket_notification",
        "this",
        {"queue": queues, "lambda_function": []},
        unknown={"bucket": True, "queue": [{"queue_arn": True} for _ in queues]},
    )
    upload, alerting = f"{ROOT}.module.upload[0]", f"{ROOT}.module.alerting[0]"
    for parameter in spec.parameters:
        module = upload if "upload" in parameter.name else alerting
        name = "allowlist" if "upload" in parameter.name else "rules"
        plan.add(
            module,
            "aws_ssm_parameter",
            name,
            {"name": parameter.name, "type": parameter.type, "value": parameter.value},
            index=0 if name == "rules" else None,
        )
    for secret in spec.secrets:
        plan.add(
            alerting,
            "aws_secretsmanager_secret",
            "slack",
            {"name": secret.name, "description": secret.description},
        )
    for schedule in spec.schedules:
        plan.add(
            alerting,
            "aws_cloudwatch_event_rule",
            "schedule",
            {"name": schedule.name, "schedule_expression": schedule.expression},
        )
    for route in spec.routes:
        plan.add(upload, "aws_api_gateway_rest_api", "this", {"name": route.api})
        plan.add(upload, "aws_api_gateway_method", "get", {"http_method": route.method})
        plan.add(
            upload,
            "aws_api_gateway_stage",
            "this",
            {"stage_name": route.stage, "xray_tracing_enabled": route.tracing},
        )
        throttle = {
            "throttling_rate_limit": route.throttle_rate,
            "throttling_burst_limit": route.throttle_burst,
        }
        plan.add(upload, "aws_api_gateway_method_settings", "this", {"settings": [throttle]})
    for table in spec.tables:
        values = {
            "name": table.name,
            "hash_key": table.hash_key,
            "billing_mode": table.billing_mode,
            "ttl": [{"attribute_name": table.ttl_attribute, "enabled": True}],
            "point_in_time_recovery": [{"enabled": table.point_in_time_recovery}],
        }
        plan.add(ROOT, "aws_dynamodb_table", "checkpoints", values, unknown={"arn": True})
    for permission in spec.permissions:
        module = upload if "upload" in permission.function else alerting
        values = {
            "function_name": permission.function,
            "statement_id": permission.statement_id,
            "principal": permission.principal,
        }
        plan.add(module, "aws_lambda_permission", "p", values, unknown={"source_arn": True})
    return plan.json()


@pytest.fixture
def local() -> StackSpec:
    return local_stack(Inputs(ACCOUNT))


def test_the_local_spec_declares_the_stacks_functions_and_names(local: StackSpec) -> None:
    keys = [fn.key for fn in local.functions]
    assert keys == [
        "alb_to_cloudwatch",
        "cwl_to_search",
        "access_log_to_search",
        "serverlog_to_csv",
        "aws_logs_to_search",
        "nginx_to_search",
        "apigw_to_search",
        "upload_url",
        "log_alert",
    ]
    assert all(fn.name == f"logferry-{fn.key}" for fn in local.functions)
    assert local.buckets[0] == f"logferry-{ACCOUNT}-us-east-1-raw"
    csv = local.function("serverlog_to_csv")
    assert csv.environment["QUARANTINE_PREFIX"] == "quarantine"
    assert all(fn.reserved_concurrency == -1 for fn in local.functions)
    assert all(fn.trigger and fn.trigger.via == "sqs" for fn in local.functions[:7])
    assert local.function("upload_url").failure_queue is None


def test_reader_takes_values_and_marks_what_is_known_after_apply(local: StackSpec) -> None:
    planned = spec_from_plan(render(local))
    alb = planned.function("alb_to_cloudwatch")
    assert alb.package == "alb_to_cloudwatch"
    assert alb.environment["QUARANTINE_BUCKET"] == UNKNOWN
    assert alb.environment["LOG_GROUP"] == "/logferry/alb"
    assert alb.trigger is not None
    assert (alb.trigger.prefix, alb.trigger.suffix, alb.trigger.via) == (
        "alb/AWSLogs/",
        ".log.gz",
        "sqs",
    )
    assert alb.trigger.bucket == UNKNOWN
    assert asdict(alb.trigger)["max_receive_count"] == UNKNOWN
    assert planned.function("upload_url").trigger is None
    assert [s.function for s in planned.schedules] == ["logferry-log_alert"]
    assert [(r.method, r.path, r.function) for r in planned.routes] == [
        ("GET", "/", "logferry-upload_url")
    ]


def test_data_sources_are_not_resources() -> None:
    plan = {
        "planned_values": {
            "root_module": {
                "resources": [
                    {
                        "address": "data.aws_region.current",
                        "mode": "data",
                        "type": "aws_region",
                        "name": "current",
                        "values": {"region": "us-east-1"},
                    },
                ]
            }
        }
    }
    assert planned_resources(plan) == []
    with pytest.raises(ValueError, match="planned_values"):
        planned_resources({"format_version": "1.2"})


def test_the_spec_round_trips_with_no_divergence(local: StackSpec) -> None:
    assert divergences(local, render(local)) == []


def _function(plan: dict[str, Any], key: str) -> dict[str, Any]:
    for module in plan["planned_values"]["root_module"]["child_modules"][0]["child_modules"]:
        if module["address"].endswith(f'["{key}"]'):
            return next(r for r in module["resources"] if r["type"] == "aws_lambda_function")
    raise KeyError(key)


def _resource(plan: dict[str, Any], kind: str, index: Any = None) -> dict[str, Any]:
    def walk(module: dict[str, Any]) -> Any:
        for r in module.get("resources", []):
            if r["type"] == kind and r.get("index") == index:
                return r
        for child in module.get("child_modules", []):
            found = walk(child)
            if found:
                return found
        return None

    return walk(plan["planned_values"]["root_module"])  # type: ignore[no-any-return]


def _named(
    plan: dict[str, Any], kind: str, name: str, index: Any, module: str = ""
) -> dict[str, Any]:
    """The resource `kind.name[index]` in a module whose address contains `module`."""
    found = []

    def walk(node: dict[str, Any]) -> None:
        for r in node.get("resources", []):
            address = node.get("address", "")
            if (r["type"], r["name"], r.get("index")) == (kind, name, index) and module in address:
                found.append(r)
        for child in node.get("child_modules", []):
            walk(child)

    walk(plan["planned_values"]["root_module"])
    return found[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("seed", "field"),
    [
        (
            lambda p: _function(p, "cwl_to_search")["values"].update(memory_size=1024),
            "function.cwl_to_search.memory: local 512 vs plan 1024",
        ),
        (
            lambda p: _function(p, "alb_to_cloudwatch")["values"]["environment"][0][
                "variables"
            ].update(SEARCH_ENGINE="opensearch"),
            "function.alb_to_cloudwatch.environment.SEARCH_ENGINE",
        ),
        (
            lambda p: _function(p, "serverlog_to_csv")["values"]["environment"][0]["variables"].pop(
                "QUARANTINE_PREFIX"
            ),
            "function.serverlog_to_csv.environment.QUARANTINE_PREFIX: only in the local deployment",
        ),
        (
            lambda p: _function(p, "nginx_to_search")["values"].update(
                function_name="nginx_to_search"
            ),
            "function.nginx_to_search.name",
        ),
        (
            lambda p: _resource(p, "aws_iam_role_policy", "cwl_to_search")["values"].update(
                name="consume"
            ),
            "function.cwl_to_search.consume_policy",
        ),
        (
            lambda p: _function(p, "apigw_to_search")["values"].update(
                reserved_concurrent_executions=10
            ),
            "function.apigw_to_search.reserved_concurrency: local -1 vs plan 10",
        ),
        (
            lambda p: _resource(p, "aws_s3_bucket_notification")["values"]["queue"][1].update(
                filter_prefix="cwl2/"
            ),
            "function.cwl_to_search.trigger.prefix",
        ),
        (
            lambda p: _resource(p, "aws_lambda_event_source_mapping", "aws_logs_to_search")[
                "values"
            ].update(function_response_types=[]),
            "function.aws_logs_to_search.trigger.response_types",
        ),
        (
            lambda p: _resource(p, "aws_ssm_parameter", 0)["values"].update(value="{}"),
            "parameter./logferry/alert/rules.value",
        ),
        (
            lambda p: _resource(p, "aws_cloudwatch_event_rule")["values"].update(
                schedule_expression="rate(1 minute)"
            ),
            "schedule.logferry-alert-schedule.expression",
        ),
        (
            lambda p: _resource(p, "aws_api_gateway_stage")["values"].update(stage_name="prod"),
            "route.logferry-upload.stage",
        ),
        (
            lambda p: _resource(p, "aws_api_gateway_method_settings")["values"]["settings"][
                0
            ].update(throttling_rate_limit=100),
            "route.logferry-upload.throttle_rate: local 10 vs plan 100",
        ),
        (
            lambda p: _resource(p, "aws_lambda_permission")["values"].update(
                principal="s3.amazonaws.com"
            ),
            "permission.logferry-upload_url/AllowApiGatewayInvoke.principal",
        ),
        (
            lambda p: _resource(p, "aws_s3_bucket_versioning")["values"].update(
                versioning_configuration=[{"status": "Suspended"}]
            ),
            "versioned_buckets: local ['logferry-123456789012-us-east-1-analyzed', "
            "'logferry-123456789012-us-east-1-raw'] vs plan "
            "['logferry-123456789012-us-east-1-analyzed']",
        ),
        (
            lambda p: _named(p, "aws_sqs_queue", "dlq", "cwl_to_search")["values"].update(
                message_retention_seconds=60
            ),
            "function.cwl_to_search.trigger.dlq_retention: local 1209600 vs plan 60",
        ),
        (
            lambda p: _named(p, "aws_sqs_queue", "failures", 0, "nginx_to_search")["values"].update(
                message_retention_seconds=3600
            ),
            "function.nginx_to_search.failure_retention: local 1209600 vs plan 3600",
        ),
        (
            lambda p: _resource(p, "aws_dynamodb_table")["values"].update(
                ttl=[{"attribute_name": "expires_at", "enabled": False}]
            ),
            "table.logferry-checkpoints.ttl_attribute: local 'expires_at' vs plan ''",
        ),
        (
            lambda p: _resource(p, "aws_dynamodb_table")["values"].update(hash_key="id"),
            "table.logferry-checkpoints.hash_key",
        ),
        (
            lambda p: _resource(p, "aws_secretsmanager_secret")["values"].update(name="slack"),
            "secret.logferry/slack-webhook: only in the local deployment",
        ),
    ],
)
def test_each_seeded_divergence_is_named(local: StackSpec, seed: Any, field: str) -> None:
    plan = copy.deepcopy(render(local))
    seed(plan)
    found = divergences(local, plan)
    assert any(line.startswith(field) for line in found), found
