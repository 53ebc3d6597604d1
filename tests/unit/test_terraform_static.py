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
    assert re.search(r'required_version\s+=\s+"[^"]+"', text), f"{path}: no required_version"
    assert re.search(r'source\s+=\s+"hashicorp/aws"\s+version\s+=\s+"[~>=<]*\s*\d+\.\d+', text), (
        f"{path}: hashicorp/aws without a version constraint"
    )


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
    for path in TF_FILES:
        text = path.read_text()
        assert "aws_secretsmanager_secret_version" not in text, path
        assert not re.search(r'=\s*"https://hooks\.slack\.com', text), path
        assert not re.search(r"(?i)(password|secret_string)\s*=", text), path


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
    services = "s3 lambda logs iam sts sqs ssm secretsmanager apigateway events firehose"
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
