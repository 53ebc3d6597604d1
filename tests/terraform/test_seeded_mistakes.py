"""`make tf-validate`'s script catches mistakes with the engine's own messages.

A copy of terraform/modules/lambda_function is validated as it is (must pass), then with one
mistake seeded at a time (must fail with OpenTofu's diagnostic). This runs the real OpenTofu and
the schema provider (scripts/install-tofu.sh builds them if missing); without them it fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
MODULE = ROOT / "terraform" / "modules" / "lambda_function"
VALIDATE = ROOT / "scripts" / "tf-offline.sh"
FUNCTION = 'resource "aws_lambda_function" "this" {\n'
ROLE_LINE = re.compile(r"^(  role +=) aws_iam_role\.this\.arn$", re.M)
ENV_BLOCK = re.compile(r'^  dynamic "environment" \{\n.*?^  \}\n', re.M | re.S)


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / "lambda_function"
    shutil.copytree(MODULE, dest, ignore=shutil.ignore_patterns(".terraform*", "tests"))
    return dest


def _validate(module: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VALIDATE), "validate", str(module)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _seed(module: Path, change: Callable[[str], str]) -> None:
    main = module / "main.tf"
    before = main.read_text()
    after = change(before)
    assert after != before, (
        "the seed did not apply: terraform/modules/lambda_function changed shape"
    )
    main.write_text(after)


def _unknown_argument(text: str) -> str:
    return text.replace(FUNCTION, FUNCTION + "  not_an_argument = true\n", 1)


def _block_as_attribute(text: str) -> str:
    without = ENV_BLOCK.sub("", text, count=1)
    if without == text:
        return text
    return without.replace(
        FUNCTION, FUNCTION + "  environment = { variables = var.environment_variables }\n", 1
    )


def _missing_required(text: str) -> str:
    return ROLE_LINE.sub("", text, count=1)


def _bad_reference(text: str) -> str:
    return ROLE_LINE.sub(r"\1 aws_iam_role.missing.arn", text, count=1)


def test_unseeded_copy_validates(tmp_path: Path) -> None:
    done = _validate(_copy(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success! The configuration is valid." in done.stdout
    assert "tf-validate: 1 of 1 passed" in done.stdout


@pytest.mark.parametrize(
    ("seed", "messages"),
    [
        (_unknown_argument, ["Unsupported argument", 'An argument named "not_an_argument"']),
        (
            _block_as_attribute,
            ["Unsupported argument", 'define a block of type "environment"'],
        ),
        (_missing_required, ["Missing required argument", 'The argument "role" is required']),
        (
            _bad_reference,
            ["Reference to undeclared resource", '"aws_iam_role" "missing"'],
        ),
    ],
    ids=["unknown-argument", "block-as-attribute", "missing-required", "bad-reference"],
)
def test_seeded_mistake_fails_with_the_engines_message(
    tmp_path: Path, seed: Callable[[str], str], messages: list[str]
) -> None:
    module = _copy(tmp_path)
    _seed(module, seed)
    done = _validate(module)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "tf-validate: 0 of 1 passed; FAILED" in done.stderr
    flowed = " ".join(output.split())  # OpenTofu wraps its messages at 78 columns
    for message in messages:
        assert message in flowed, output
