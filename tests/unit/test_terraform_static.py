"""Static checks of terraform/ (pure Python, no tofu): layout, variables, IAM wildcards, secrets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
MODULES = sorted(p for p in (TERRAFORM / "modules").iterdir() if p.is_dir())
STACKS = sorted(p for p in (TERRAFORM / "stacks").iterdir() if p.is_dir())
MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")
TF_FILES = sorted(TERRAFORM.rglob("*.tf"))
FUNCTIONS = (
    "alb_to_cloudwatch",
    "cwl_to_search",
    "access_log_to_search",
    "serverlog_to_csv",
    "upload_url",
    "log_alert",
)


@dataclass(frozen=True)
class Block:
    """A top-level HCL block such as ``variable "name" { ... }``."""

    kind: str
    name: str
    body: str
    path: Path
    line: int


def blocks(path: Path, kind: str) -> list[Block]:
    """The top-level ``kind`` blocks of ``path`` (brace counting; fmt-style layout)."""
    text = path.read_text()
    found = []
    for match in re.finditer(rf'^{kind} "([^"]+)" \{{', text, re.M):
        depth, end = 0, match.end() - 1
        for end in range(match.end() - 1, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                break
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(kind, match.group(1), text[match.end() : end], path, line))
    return found


def top_level_attribute(block: Block, name: str) -> bool:
    """Whether ``block`` sets ``name`` directly (two-space indent, as `tofu fmt` writes it)."""
    return re.search(rf"^  {name}\s+=", block.body, re.M) is not None


def test_there_are_modules_and_stacks() -> None:
    assert len(MODULES) >= 8
    assert {p.name for p in STACKS} >= {"aws", "local"}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_has_standard_files_and_example(module: Path) -> None:
    missing = [f for f in MODULE_FILES if not (module / f).is_file()]
    assert not missing, f"{module.name}: missing {missing}"
    assert list((module / "example").glob("*.tf")), f"{module.name}: no example/*.tf"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_readme_documents_every_input_and_output(module: Path) -> None:
    readme = (module / "README.md").read_text()
    names = [b.name for b in blocks(module / "variables.tf", "variable")]
    names += [b.name for b in blocks(module / "outputs.tf", "output")]
    undocumented = [n for n in names if f"`{n}`" not in readme]
    assert not undocumented, f"{module.name}/README.md does not mention {undocumented}"


VARIABLE_FILES = sorted(TERRAFORM.rglob("variables.tf"))


@pytest.mark.parametrize("path", VARIABLE_FILES, ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_variable_has_description_and_type(path: Path) -> None:
    variables = blocks(path, "variable")
    assert variables, f"{path}: no variables"
    bad = [
        f"{v.name} (line {v.line})"
        for v in variables
        if not (top_level_attribute(v, "description") and top_level_attribute(v, "type"))
    ]
    assert not bad, f"{path}: variables without description or type: {bad}"


@pytest.mark.parametrize("path", sorted(TERRAFORM.rglob("versions.tf")), ids=str)
def test_versions_pin_the_aws_provider(path: Path) -> None:
    text = path.read_text()
    # 1.9: validations that read other variables (lifecycle pairs) need Terraform >= 1.9.
    assert re.search(r'required_version\s+=\s+">= 1\.9\.0"', text), f"{path}: required_version"
    assert re.search(r'source\s+=\s+"hashicorp/aws"\s+version\s+=\s+"~> 6\.0"', text), (
        f"{path}: hashicorp/aws is not pinned to the 6.x major"
    )


def test_no_deprecated_region_name() -> None:
    """aws 6.x deprecates data.aws_region.<x>.name for .region."""
    bad = [
        f"{p.relative_to(TERRAFORM)}:{n}"
        for p in TF_FILES
        for n, line in enumerate(p.read_text().splitlines(), start=1)
        if re.search(r"\bdata\.aws_region\.\w+\.name\b", line)
    ]
    assert not bad, f"data.aws_region .name (use .region): {bad}"


def test_all_versions_files_agree() -> None:
    constraints = {
        re.search(r'hashicorp/aws"\s+version\s+=\s+"([^"]+)"', p.read_text()).group(1)  # type: ignore[union-attr]
        for p in TERRAFORM.rglob("versions.tf")
    }
    assert len(constraints) == 1, f"different aws provider constraints: {constraints}"


WILDCARD_RESOURCE = re.compile(r'(resources\s*=\s*\[[^\]]*"\*"|Resource"?\s*[=:]\s*"\*")')


def unjustified_wildcards(path: Path) -> list[int]:
    """Lines with a ``"*"`` IAM resource not preceded by a ``# wildcard: <reason>`` comment."""
    lines = path.read_text().splitlines()
    bad = []
    for number, line in enumerate(lines, start=1):
        if WILDCARD_RESOURCE.search(line):
            context = lines[max(0, number - 3) : number]
            if not any(re.search(r"#\s*wildcard:\s*\S", c) for c in context):
                bad.append(number)
    return bad


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_no_unjustified_wildcard_resources(path: Path) -> None:
    assert not unjustified_wildcards(path), f'{path}: unjustified Resource "*"'


def test_wildcard_detector_catches_both_spellings(tmp_path: Path) -> None:
    sample = tmp_path / "x.tf"
    sample.write_text(
        'a = { Resource = "*" }\n'
        "b {\n"
        "  # wildcard: xray has no ARN\n"
        '  resources = ["*"]\n'
        "}\n"
        'c { resources = ["arn:aws:s3:::b/*", "*"] }\n'
        'principals { identifiers = ["*"] }\n'
    )
    assert unjustified_wildcards(sample) == [1, 6]


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_checkov_skips_give_a_reason(path: Path) -> None:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if "checkov:skip" in line:
            assert re.search(r"#checkov:skip=CKV2?_AWS_\d+:\s*\w.{9,}", line), f"{path}:{number}"


def test_no_secret_values_in_code() -> None:
    """The only secret value is the sensitive slack_webhook_url input, written by alerting."""
    alerting = TERRAFORM / "modules" / "alerting" / "main.tf"
    for path in TF_FILES:
        text = path.read_text()
        if path != alerting:
            assert "aws_secretsmanager_secret_version" not in text, path
        assert not re.search(r'=\s*"https://hooks\.slack\.com', text), path
        assert not re.search(r"(?i)password\s*=", text), path
        for match in re.finditer(r"(?i)secret_string\s*=\s*(.+)", text):
            assert path == alerting and match.group(1) == "var.slack_webhook_url", path
    for path in VARIABLE_FILES:
        for variable in blocks(path, "variable"):
            if variable.name == "slack_webhook_url":
                assert re.search(r"^  sensitive\s+=\s+true$", variable.body, re.M), path
                assert re.search(r"^  default\s+=\s+null$", variable.body, re.M), path


def test_stacks_deploy_the_contract_functions() -> None:
    pipeline = "\n".join(p.read_text() for p in (TERRAFORM / "modules").rglob("*.tf"))
    for name in FUNCTIONS:
        assert re.search(rf"\b{name}\b", pipeline), f"function {name} is not deployed"
    for env in ("RAW_BUCKET", "ALLOWLIST_PARAM", "URL_TTL_SECONDS", "MAX_AGE_DAYS", "LOG_GROUP"):
        assert f"{env} " in pipeline or f"{env}=" in pipeline, f"env {env} is not set"
    for env in ("SLACK_SECRET_ARN", "STATE_PARAM_PREFIX", "RULES_PARAM", "RULES_S3_URI"):
        assert env in pipeline, f"env {env} is not set"


def test_local_stack_points_every_service_at_the_emulator() -> None:
    providers = (TERRAFORM / "stacks" / "local" / "providers.tf").read_text()
    services = "s3 lambda logs iam sts sqs ssm secretsmanager apigateway events firehose dynamodb"
    for service in services.split():
        assert re.search(rf"^\s+{service}\s+=\s+var\.aws_endpoint$", providers, re.M), service
    for flag in ("s3_use_path_style", "skip_credentials_validation", "skip_requesting_account_id"):
        assert re.search(rf"{flag}\s+=\s+true", providers), flag


# --- references: what `tofu validate` would catch without provider schemas -------------------

CONFIG_DIRS = sorted({p.parent for p in TF_FILES})
META_ARGUMENTS = {"source", "count", "for_each", "depends_on", "providers", "version"}


def config_text(directory: Path) -> str:
    """All .tf files of one configuration, without comments and prose (descriptions, errors)."""
    text = "\n".join(p.read_text() for p in sorted(directory.glob("*.tf")))
    return re.sub(r'(?m)^\s*(#.*|(description|error_message)\s+=\s+".*")$', "", text)


def declared_locals(text: str) -> set[str]:
    names: set[str] = set()
    for match in re.finditer(r"^locals \{\n(.*?)^\}", text, re.M | re.S):
        names.update(re.findall(r"^  (\w+)\s+=", match.group(1), re.M))
    return names


def module_variables(directory: Path) -> tuple[set[str], set[str]]:
    """(all variables, required variables) of the module in ``directory``."""
    variables = blocks(directory / "variables.tf", "variable")
    required = {v.name for v in variables if not top_level_attribute(v, "default")}
    return {v.name for v in variables}, required


def reference_errors(directory: Path) -> list[str]:
    """Undeclared var./local./resource/data/module references and bad module arguments."""
    text = config_text(directory)
    errors: list[str] = []
    variables = set(re.findall(r'^variable "(\w+)"', text, re.M))
    errors += [f"var.{n}" for n in set(re.findall(r"\bvar\.(\w+)", text)) - variables]
    errors += [
        f"local.{n}" for n in set(re.findall(r"\blocal\.(\w+)", text)) - declared_locals(text)
    ]
    resources = set(re.findall(r'^resource "(\w+)" "(\w+)"', text, re.M))
    used = set(re.findall(r"(?<![\w.])(aws_\w+)\.(\w+)", text))
    errors += [f"{t}.{n}" for t, n in used - resources]
    data = set(re.findall(r'^data "(\w+)" "(\w+)"', text, re.M))
    errors += [f"data.{t}.{n}" for t, n in set(re.findall(r"\bdata\.(\w+)\.(\w+)", text)) - data]
    calls = {b.name: b for p in sorted(directory.glob("*.tf")) for b in blocks(p, "module")}
    for name, call in calls.items():
        source = re.search(r'^  source\s+=\s+"([^"]+)"', call.body, re.M)
        assert source, f"{directory}: module {name} without source"
        target = (directory / source.group(1)).resolve()
        known, required = module_variables(target)
        arguments = set(re.findall(r"^  (\w+)\s+=", call.body, re.M)) - META_ARGUMENTS
        errors += [f"module.{name}: unknown argument {a}" for a in arguments - known]
        errors += [f"module.{name}: missing argument {a}" for a in required - arguments]
        outputs = {b.name for b in blocks(target / "outputs.tf", "output")}
        refs = re.findall(rf"\bmodule\.{name}(?:\[[^\]]*\])?\.(\w+)", text)
        errors += [f"module.{name}.{o}: no such output" for o in set(refs) - outputs]
    unknown_modules = set(re.findall(r"\bmodule\.(\w+)", text)) - set(calls)
    errors += [f"module.{m}: not declared" for m in unknown_modules]
    return sorted(errors)


@pytest.mark.parametrize("directory", CONFIG_DIRS, ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_references_resolve(directory: Path) -> None:
    assert reference_errors(directory) == []


def test_reference_checker_finds_typos(tmp_path: Path) -> None:
    child = tmp_path / "child"
    child.mkdir()
    (child / "variables.tf").write_text('variable "a" {\n  type = string\n}\n')
    (child / "outputs.tf").write_text('output "o" {\n  value = var.a\n}\n')
    (tmp_path / "main.tf").write_text(
        'module "m" {\n  source = "./child"\n  b      = 1\n}\n'
        "locals {\n  x = module.m.p\n}\n"
        'resource "aws_s3_bucket" "b" {\n  bucket = var.nope\n}\n'
        'output "y" {\n  value = [local.x, local.z, aws_s3_bucket.c.id]\n}\n'
    )
    assert reference_errors(tmp_path) == [
        "aws_s3_bucket.c",
        "local.z",
        "module.m.p: no such output",
        "module.m: missing argument a",
        "module.m: unknown argument b",
        "var.nope",
    ]


# --- first-deploy rules: names, runtimes, concurrency, alarms, state ---------------------------

MODULE_DIRS = {p.name: p for p in MODULES}
NAME_ATTRIBUTES = {
    "name": None,
    "alarm_name": None,
    "policy_name": None,
    "function_name": {"aws_lambda_function"},
    "bucket": {"aws_s3_bucket"},
    "domain_name": {"aws_opensearch_domain"},
}
"""Attributes that name the resource that sets them (None: any type); elsewhere, e.g. a
permission's ``function_name``, they refer to another resource."""
NAMING_INPUTS = (
    "var.name_prefix",
    "var.function_name",
    "var.stream_name",
    "var.domain_name",
    "var.bucket_name",
    "var.queue_name_prefix",
)
"""The inputs a module's names derive from; the pipeline fills each from its name_prefix."""
UNNAMED = {("aws_cloudwatch_log_stream", "name")}
"""Names inside an already prefixed parent (the log stream of a prefixed log group)."""


def resource_blocks(directory: Path) -> list[tuple[str, Block]]:
    """(resource type, block named by its second label) of every resource in ``directory``."""
    found = []
    for path in sorted(directory.glob("*.tf")):
        text = path.read_text()
        for match in re.finditer(r'^resource "(\w+)" "(\w+)" \{', text, re.M):
            depth, end = 0, match.end() - 1
            for end in range(match.end() - 1, len(text)):
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                if depth == 0:
                    break
            line = text.count("\n", 0, match.start()) + 1
            block = Block("resource", match.group(2), text[match.end() : end], path, line)
            found.append((match.group(1), block))
    return found


def derived_locals(directory: Path) -> set[str]:
    """Locals whose value reads a naming input (one level: local.x = "${var.name_prefix}-...")."""
    text = config_text(directory)
    names = set()
    for match in re.finditer(r"^  (\w+)\s+=\s+(.+)$", text, re.M):
        if any(i in match.group(2) for i in NAMING_INPUTS):
            names.add(match.group(1))
    return names


def unprefixed_names(directory: Path) -> list[str]:
    """Resource names in ``directory`` that derive from no naming input."""
    allowed = NAMING_INPUTS + tuple(f"local.{n}" for n in derived_locals(directory))
    bad = []
    for kind, block in resource_blocks(directory):
        for match in re.finditer(r"^  (\w+)\s+=\s+(.+)$", block.body, re.M):
            attribute, value = match.groups()
            if attribute not in NAME_ATTRIBUTES or (kind, attribute) in UNNAMED:
                continue
            owners = NAME_ATTRIBUTES[attribute]
            if owners is not None and kind not in owners:
                continue
            if not any(a in value for a in allowed) and not re.search(
                r"aws_\w+\.\w+(\[[^]]*\])?\.name", value
            ):
                bad.append(f"{kind}.{block.name}.{attribute} = {value}")
    return bad


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_every_name_derives_from_a_naming_input(module: Path) -> None:
    assert unprefixed_names(module) == []


def test_name_checker_finds_a_fixed_name(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'locals {\n  fn = "${var.name_prefix}-x"\n}\n'
        'resource "aws_sqs_queue" "a" {\n  name = "fixed"\n}\n'
        'resource "aws_sqs_queue" "b" {\n  name = "${local.fn}-q"\n}\n'
        'resource "aws_iam_role" "c" {\n  name = "${var.function_name}-role"\n}\n'
        'resource "aws_lambda_function" "d" {\n  function_name = "log_alert"\n}\n'
    )
    assert unprefixed_names(tmp_path) == [
        'aws_sqs_queue.a.name = "fixed"',
        'aws_lambda_function.d.function_name = "log_alert"',
    ]


def module_call(directory: Path, name: str) -> Block:
    return next(
        b for p in sorted(directory.glob("*.tf")) for b in blocks(p, "module") if b.name == name
    )


def test_pipeline_names_every_function_queue_and_bucket_from_name_prefix() -> None:
    pipeline = MODULE_DIRS["pipeline"]
    text = config_text(pipeline)
    assert 'function_name                  = "${var.name_prefix}-${each.key}"' in text
    assert re.search(
        r'"\$\{var\.name_prefix\}-\$\{local\.account\}-\$\{local\.region\}-\$\{k\}"', text
    )
    assert "region    = data.aws_region.current.region" in text
    for call in ("raw_triggers",):
        assert "queue_name_prefix   = var.name_prefix" in module_call(pipeline, call).body
    for call in ("upload", "alerting"):
        assert re.search(
            r"^  name_prefix\s+=\s+var\.name_prefix$", module_call(pipeline, call).body, re.M
        )
    for module, key in (("upload_api", "upload_url"), ("alerting", "log_alert")):
        main = (MODULE_DIRS[module] / "main.tf").read_text()
        assert f'coalesce(var.function_name, "${{var.name_prefix}}-{key}")' in main, module


def test_runtimes_and_architectures_are_what_the_zips_carry() -> None:
    build = (TERRAFORM.parent / "scripts" / "build_lambdas.py").read_text()
    pythons = re.search(r"^BINARY_PYTHONS = \(([^)]*)\)", build, re.M)
    assert pythons, "scripts/build_lambdas.py: no BINARY_PYTHONS"
    built = {f"python{v}" for v in re.findall(r'"(3\.\d+)"', pythons.group(1))}
    assert "manylinux2014_x86_64" in build
    variables = {
        b.name: b for b in blocks(MODULE_DIRS["lambda_function"] / "variables.tf", "variable")
    }
    allowed = re.search(r"contains\(\[([^\]]*)\], var\.runtime\)", variables["runtime"].body)
    assert allowed and set(re.findall(r'"([^"]+)"', allowed.group(1))) == built
    assert 'var.architecture == "x86_64"' in variables["architecture"].body
    for path in TF_FILES:
        text = path.read_text()
        assert not re.search(r'"python3\.(?!11"|12")\d+"', text), f"{path}: a runtime the zips lack"
        assert '"arm64"' not in text, f"{path}: arm64"


def test_reserved_concurrency_is_unreserved_by_default() -> None:
    found = 0
    for path in VARIABLE_FILES:
        for value in re.findall(
            r"reserved_concurrent_executions\s+=\s+optional\(number, (-?\d+)\)", path.read_text()
        ):
            found += 1
            assert value == "-1", f"{path}: reserved_concurrent_executions defaults to {value}"
        for variable in blocks(path, "variable"):
            if variable.name == "reserved_concurrent_executions":
                found += 1
                assert re.search(r"^  default\s+=\s+-1$", variable.body, re.M), path
    assert found >= 5


def test_secret_recovery_window_defaults_to_zero() -> None:
    main = (MODULE_DIRS["alerting"] / "main.tf").read_text()
    assert "recovery_window_in_days = var.secret_recovery_window_days" in main
    for path in VARIABLE_FILES:
        for variable in blocks(path, "variable"):
            if variable.name == "secret_recovery_window_days":
                assert re.search(r"^  default\s+=\s+0$", variable.body, re.M), path


def test_lifecycle_pairs_are_validated_against_each_other() -> None:
    for module, expiry, transition in (
        ("log_bucket", "expiration_days", "transition_to_ia_days"),
        ("pipeline", "log_expiration_days", "log_transition_to_ia_days"),
    ):
        variable = next(
            b for b in blocks(MODULE_DIRS[module] / "variables.tf", "variable") if b.name == expiry
        )
        assert f"var.{expiry} > var.{transition}" in variable.body, module
        message = re.findall(r"error_message\s+=\s+(.+)", variable.body)[-1]
        assert f"{expiry} (${{" in message and f"{transition} (${{" in message, module


def test_every_failure_queue_and_dlq_has_an_alarm_with_the_topic() -> None:
    for module in MODULES:
        resources = resource_blocks(module)
        queues = [
            b
            for kind, b in resources
            if kind == "aws_sqs_queue" and re.search(r"-(failures|dlq)\"", b.body)
        ]
        alarms = [b for kind, b in resources if kind == "aws_cloudwatch_metric_alarm"]
        for queue in queues:
            watching = [
                a
                for a in alarms
                if re.search(rf"QueueName = aws_sqs_queue\.{queue.name}\b", a.body)
            ]
            assert watching, f"{module.name}: no alarm on aws_sqs_queue.{queue.name}"
            for alarm in watching:
                assert "ApproximateNumberOfMessagesVisible" in alarm.body
                assert re.search(r'comparison_operator\s+=\s+"GreaterThanThreshold"', alarm.body)
                assert re.search(r"threshold\s+=\s+0$", alarm.body, re.M)
        for alarm in alarms:
            # the pipeline's own alarms notify its topic: the given one or <prefix>-alarms
            topic = r"(var\.(function_settings\.)?alarm_sns_topic_arn|local\.alarm_topic_arn)"
            assert re.search(rf"alarm_actions       = compact\(\[{topic}\]\)", alarm.body), (
                alarm.name
            )
    pipeline = MODULE_DIRS["pipeline"]
    text = config_text(pipeline)
    assert text.count("alarm_sns_topic_arn            = local.alarm_topic_arn") == 1  # shippers
    assert (
        text.count("alarm_sns_topic_arn = local.alarm_topic_arn") == 3
    )  # triggers, upload, alerting
    assert "alarm_sns_topic_arn = var.function_settings" not in text
    topic = next(b for kind, b in resource_blocks(pipeline) if kind == "aws_sns_topic")
    assert '"${var.name_prefix}-alarms"' in topic.body and "kms_master_key_id" in topic.body


def test_aws_stack_backend_example_locks_and_encrypts() -> None:
    example = (TERRAFORM / "stacks" / "aws" / "backend.tf.example").read_text()
    assert re.search(r'^  backend "s3" \{', example, re.M)
    assert re.search(r"^\s+use_lockfile\s+=\s+true$", example, re.M)
    assert re.search(r"^\s+encrypt\s+=\s+true$", example, re.M)
    assert "dynamodb_table" not in example
