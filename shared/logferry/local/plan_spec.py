"""Read the local stack's `StackSpec` out of `tofu show -json` of its plan, and compare.

`spec_from_plan` walks `planned_values.root_module` through its `child_modules`, takes the
resources by `type` and `values`, and marks what `resource_changes[].change.after_unknown`
lists (known only after apply: ARNs, ids) as `UNKNOWN`. `divergences(local, plan)` lists
every field where the local deployer's spec and the plan differ; an UNKNOWN plan value
matches any local value (its name was still compared).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import Any

from logferry.local.spec import (
    Function,
    LogGroup,
    Parameter,
    Permission,
    Route,
    Schedule,
    Secret,
    StackSpec,
    Table,
    Trigger,
)

UNKNOWN = "(known after apply)"


@dataclass(frozen=True)
class Planned:
    """One planned resource instance: its module address, type, name, index and values."""

    module: str
    type: str
    name: str
    index: Any
    values: dict[str, Any]


def _mark_unknown(values: Any, unknown: Any) -> Any:
    """`values` with every leaf `unknown` marks as True replaced by UNKNOWN."""
    if unknown is True:
        return UNKNOWN
    if isinstance(unknown, dict):
        base = dict(values) if isinstance(values, dict) else {}
        for key, mark in unknown.items():
            base[key] = _mark_unknown(base.get(key), mark)
        return base
    if isinstance(unknown, list):
        items = list(values) if isinstance(values, list) else []
        items += [None] * (len(unknown) - len(items))
        return [_mark_unknown(item, mark) for item, mark in zip(items, unknown, strict=False)]
    return values


def planned_resources(plan: dict[str, Any]) -> list[Planned]:
    """Every managed resource instance in the plan's planned values, unknowns marked."""
    unknown = {
        change["address"]: change.get("change", {}).get("after_unknown", {})
        for change in plan.get("resource_changes", [])
    }
    found: list[Planned] = []

    def walk(module: dict[str, Any], address: str) -> None:
        for resource in module.get("resources", []):
            if resource.get("mode", "managed") != "managed":
                continue
            values = _mark_unknown(resource.get("values", {}), unknown.get(resource["address"]))
            found.append(
                Planned(address, resource["type"], resource["name"], resource.get("index"), values)
            )
        for child in module.get("child_modules", []):
            walk(child, child.get("address", ""))

    root = plan.get("planned_values", {}).get("root_module")
    if root is None:
        raise ValueError("not `tofu show -json` of a plan: no planned_values.root_module")
    walk(root, "")
    return found


def _v(values: dict[str, Any] | None, key: str) -> Any:
    """`values[key]`: None for a resource the plan lacks; UNKNOWN for a key absent from its
    planned values (known only after apply)."""
    if values is None:
        return None
    return values.get(key, UNKNOWN)


def _one(values: Any) -> dict[str, Any]:
    """The single element of a max-one block list (or {})."""
    if isinstance(values, list) and values and isinstance(values[0], dict):
        return values[0]
    return {}


def _strings(value: Any) -> Any:
    """A list attribute as a tuple (UNKNOWN while unknown, () when absent)."""
    return value if value == UNKNOWN else tuple(value or ())


def _max_receives(redrive: Any) -> Any:
    """maxReceiveCount of a redrive policy's JSON (UNKNOWN while the policy is)."""
    if not isinstance(redrive, str) or redrive == UNKNOWN:
        return redrive
    return json.loads(redrive).get("maxReceiveCount", UNKNOWN)


def _function_key(module: str, name: str) -> str:
    shipper = re.search(r'module\.shipper\["([^"]+)"\]', module)
    if shipper:
        return shipper.group(1)
    if "module.upload" in module:
        return "upload_url"
    if "module.alerting" in module:
        return "log_alert"
    return name


class _Reading:
    """The plan's resources grouped by module, and the lookups the spec needs."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.resources = planned_resources(plan)

    def of(self, kind: str, module: str | None = None) -> Iterator[Planned]:
        for resource in self.resources:
            if resource.type == kind and (module is None or resource.module == module):
                yield resource

    def first(self, kind: str, module: str, name: str | None = None) -> dict[str, Any] | None:
        for resource in self.of(kind, module):
            if name is None or resource.name == name:
                return resource.values
        return None

    def function(self, planned: Planned) -> Function:
        v, module = planned.values, planned.module
        group = self.first("aws_cloudwatch_log_group", module)
        failures = self.first("aws_sqs_queue", module, "failures")
        invoke = self.first("aws_lambda_function_event_invoke_config", module)
        env = _one(_v(v, "environment")).get("variables", {})
        filename = _v(v, "filename")
        package = PurePosixPath(filename).stem if isinstance(filename, str) else UNKNOWN
        return Function(
            key=_function_key(module, str(_v(v, "function_name"))),
            name=_v(v, "function_name"),
            package=package,
            description=v.get("description", ""),
            environment=dict(env) if isinstance(env, dict) else env,
            timeout=_v(v, "timeout"),
            memory=_v(v, "memory_size"),
            runtime=_v(v, "runtime"),
            handler=_v(v, "handler"),
            reserved_concurrency=_v(v, "reserved_concurrent_executions"),
            log_retention_days=_v(group, "retention_in_days"),
            failure_queue=_v(failures, "name"),
            failure_retention=_v(failures, "message_retention_seconds"),
            maximum_retry_attempts=_v(invoke, "maximum_retry_attempts"),
            maximum_event_age=_v(invoke, "maximum_event_age_in_seconds"),
        )

    def triggers(self) -> dict[str, Trigger]:
        found: dict[str, Trigger] = {}
        for notification in self.of("aws_s3_bucket_notification"):
            v, module = notification.values, notification.module
            for via, block in (("sqs", "queue"), ("s3", "lambda_function")):
                for target in v.get(block) or []:
                    key = _v(target, "id")
                    bucket = _v(v, "bucket")
                    prefix = _v(target, "filter_prefix") or ""
                    suffix = _v(target, "filter_suffix") or ""
                    if via == "s3":
                        found[key] = Trigger(bucket, prefix, suffix, via, response_types=())
                        continue
                    queue = self.keyed("aws_sqs_queue", module, "this", key)
                    dlq = self.keyed("aws_sqs_queue", module, "dlq", key)
                    esm = self.keyed("aws_lambda_event_source_mapping", module, "this", key)
                    found[key] = Trigger(
                        bucket,
                        prefix,
                        suffix,
                        via,
                        queue=_v(queue, "name"),
                        dlq=_v(dlq, "name"),
                        dlq_retention=_v(dlq, "message_retention_seconds"),
                        batch_size=_v(esm, "batch_size"),
                        max_receive_count=_max_receives(_v(queue, "redrive_policy")),
                        visibility_timeout=_v(queue, "visibility_timeout_seconds"),
                        response_types=_strings(_v(esm, "function_response_types")),
                    )
        return found

    def keyed(self, kind: str, module: str, name: str, key: str) -> dict[str, Any] | None:
        for resource in self.of(kind, module):
            if resource.name == name and resource.index == key:
                return resource.values
        return None

    def module_function(self, module: str) -> str:
        """Name of the function of the module `module` (its `.module.function` child)."""
        for planned in self.of("aws_lambda_function"):
            if planned.module.startswith(module):
                return str(_v(planned.values, "function_name"))
        raise ValueError(f"no aws_lambda_function under {module}")


def spec_from_plan(plan: dict[str, Any]) -> StackSpec:
    """The `StackSpec` a `tofu show -json` plan of terraform/stacks/local declares."""
    reading = _Reading(plan)
    triggers = reading.triggers()
    functions = []
    function_groups = set()
    for planned in reading.of("aws_lambda_function"):
        fn = reading.function(planned)
        functions.append(Function(**{**_fields(fn), "trigger": triggers.get(fn.key)}))
        function_groups.add(planned.module)
    groups = tuple(
        LogGroup(_v(r.values, "name"), _v(r.values, "retention_in_days"))
        for r in reading.of("aws_cloudwatch_log_group")
        if r.module not in function_groups
    )
    schedules = tuple(
        Schedule(
            _v(r.values, "name"),
            _v(r.values, "schedule_expression"),
            reading.module_function(r.module),
        )
        for r in reading.of("aws_cloudwatch_event_rule")
    )
    routes = []
    for api in reading.of("aws_api_gateway_rest_api"):
        stage = reading.first("aws_api_gateway_stage", api.module)
        function = reading.module_function(api.module)
        paths = [
            _v(r.values, "path_part") for r in reading.of("aws_api_gateway_resource", api.module)
        ]
        settings = reading.first("aws_api_gateway_method_settings", api.module)
        throttle = _one(_v(settings, "settings")) if settings else None
        for method in reading.of("aws_api_gateway_method", api.module):
            path = "/" if not paths else UNKNOWN
            routes.append(
                Route(
                    _v(api.values, "name"),
                    _v(stage, "stage_name"),
                    _v(method.values, "http_method"),
                    path,
                    function,
                    throttle_rate=_v(throttle, "throttling_rate_limit"),
                    throttle_burst=_v(throttle, "throttling_burst_limit"),
                    tracing=_v(stage, "xray_tracing_enabled"),
                )
            )
    return StackSpec(
        buckets=tuple(_v(r.values, "bucket") for r in reading.of("aws_s3_bucket")),
        versioned_buckets=tuple(
            _v(reading.first("aws_s3_bucket", r.module), "bucket")
            for r in reading.of("aws_s3_bucket_versioning")
            if _one(_v(r.values, "versioning_configuration")).get("status") == "Enabled"
        ),
        functions=tuple(functions),
        log_groups=groups,
        parameters=tuple(
            Parameter(_v(r.values, "name"), _v(r.values, "type"), _v(r.values, "value"))
            for r in reading.of("aws_ssm_parameter")
        ),
        secrets=tuple(
            Secret(_v(r.values, "name"), _v(r.values, "description"))
            for r in reading.of("aws_secretsmanager_secret")
        ),
        schedules=schedules,
        routes=tuple(routes),
        permissions=tuple(
            Permission(
                _v(r.values, "function_name"),
                _v(r.values, "statement_id"),
                _v(r.values, "principal"),
            )
            for r in reading.of("aws_lambda_permission")
        ),
        tables=tuple(_table(r.values) for r in reading.of("aws_dynamodb_table")),
    )


def _table(values: dict[str, Any]) -> Table:
    """A planned aws_dynamodb_table as a `Table` (its TTL attribute only when TTL is on)."""
    ttl = _one(_v(values, "ttl"))
    recovery = _one(_v(values, "point_in_time_recovery"))
    return Table(
        name=_v(values, "name"),
        hash_key=_v(values, "hash_key"),
        ttl_attribute=ttl.get("attribute_name", "") if ttl.get("enabled") else "",
        billing_mode=_v(values, "billing_mode"),
        point_in_time_recovery=bool(recovery.get("enabled")),
    )


def _fields(fn: Function) -> dict[str, Any]:
    return {name: getattr(fn, name) for name in Function.__dataclass_fields__}


def derived_names(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per function name: the role, policy, log group and queue-consuming policy names the
    plan gives it."""
    reading = _Reading(plan)
    consume = {
        r.index: _v(r.values, "name")
        for r in reading.of("aws_iam_role_policy")
        if r.name == "consume"
    }
    found = {}
    for planned in reading.of("aws_lambda_function"):
        module = planned.module
        role = reading.first("aws_iam_role", module)
        policy = reading.first("aws_iam_role_policy", module, "this")
        group = reading.first("aws_cloudwatch_log_group", module)
        found[str(_v(planned.values, "function_name"))] = {
            "role": _v(role, "name"),
            "policy": _v(policy, "name"),
            "log_group": _v(group, "name"),
            "consume_policy": consume.get(_function_key(module, "")),
        }
    return found


def _differ(local: Any, planned: Any) -> bool:
    return bool(planned != UNKNOWN and local != planned)


def _compare(path: str, local: Any, planned: Any, out: list[str]) -> None:
    if isinstance(local, dict) and isinstance(planned, dict):
        for key in sorted(set(local) | set(planned)):
            if key not in planned:
                out.append(f"{path}.{key}: only in the local deployment{_shown(local[key])}")
            elif key not in local:
                out.append(f"{path}.{key}: only in the plan{_shown(planned[key])}")
            else:
                _compare(f"{path}.{key}", local[key], planned[key], out)
    elif isinstance(local, (list, tuple)) and isinstance(planned, (list, tuple)):
        if len(local) != len(planned) or any(
            _differ(a, b) for a, b in zip(local, planned, strict=False)
        ):
            out.append(f"{path}: local {list(local)!r} vs plan {list(planned)!r}")
    elif _differ(local, planned):
        out.append(f"{path}: local {local!r} vs plan {planned!r}")


def _shown(value: Any) -> str:
    return "" if isinstance(value, dict) else f" ({value!r})"


def _by(items: tuple[Any, ...], field: str) -> dict[str, dict[str, Any]]:
    return {str(getattr(item, field)): asdict(item) for item in items}


def _permissions(spec: StackSpec) -> dict[str, dict[str, Any]]:
    return {f"{p.function}/{p.statement_id}": asdict(p) for p in spec.permissions}


def divergences(local: StackSpec, plan: dict[str, Any]) -> list[str]:
    """Every field where `local` differs from what `plan` declares, each naming the field."""
    planned = spec_from_plan(plan)
    out: list[str] = []
    _compare("buckets", sorted(local.buckets), sorted(planned.buckets), out)
    _compare(
        "versioned_buckets",
        sorted(local.versioned_buckets),
        sorted(planned.versioned_buckets),
        out,
    )
    skip = {"statements"}  # policy documents are compared by name (ARNs unknown at plan)
    mine = {f.key: {k: v for k, v in asdict(f).items() if k not in skip} for f in local.functions}
    theirs = {
        f.key: {k: v for k, v in asdict(f).items() if k not in skip} for f in planned.functions
    }
    _compare("function", mine, theirs, out)
    names = derived_names(plan)
    for fn in local.functions:
        want = {
            "role": fn.role,
            "policy": fn.policy,
            "log_group": fn.log_group,
            "consume_policy": fn.trigger.consume_policy if fn.trigger else None,
        }
        _compare(f"function.{fn.key}", want, names.get(fn.name, {}), out)
    _compare("log_group", _by(local.log_groups, "name"), _by(planned.log_groups, "name"), out)
    _compare("parameter", _by(local.parameters, "name"), _by(planned.parameters, "name"), out)
    _compare("secret", _by(local.secrets, "name"), _by(planned.secrets, "name"), out)
    _compare("schedule", _by(local.schedules, "name"), _by(planned.schedules, "name"), out)
    _compare("route", _by(local.routes, "api"), _by(planned.routes, "api"), out)
    _compare("permission", _permissions(local), _permissions(planned), out)
    _compare("table", _by(local.tables, "name"), _by(planned.tables, "name"), out)
    return out
