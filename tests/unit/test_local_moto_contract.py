"""The local emulator patches moto internals: fail loudly when moto changes under us."""

import inspect
import re
from importlib.metadata import version
from pathlib import Path

import moto.events.notifications as events_notifications
import moto.s3.notifications as s3_notifications
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.events.models import Rule

from logferry.local.emulator import MOTO_VERSION
from logferry.local.endpoints import repo_root


def params(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_installed_moto_is_the_pinned_version() -> None:
    pyproject = (repo_root() / "shared" / "pyproject.toml").read_text()
    assert f'"moto[server]=={MOTO_VERSION}"' in pyproject
    assert version("moto") == MOTO_VERSION, "moto changed: re-check logferry.local.emulator patches"


def test_invoke_lambda_signature_is_what_the_runner_replaces() -> None:
    signature = inspect.signature(LambdaFunction._invoke_lambda)
    assert list(signature.parameters) == ["self", "event"]
    assert signature.parameters["event"].default is None
    assert str(signature.return_annotation) == "tuple[str, bool, str]"


def test_every_invoke_path_still_ends_in_invoke_lambda() -> None:
    source = inspect.getsource(LambdaFunction.invoke)
    assert "self._invoke_lambda(event=body)" in source
    assert "func.invoke(" in inspect.getsource(s3_notifications._invoke_awslambda)


def test_async_patch_points_keep_their_signatures() -> None:
    assert params(s3_notifications._invoke_awslambda) == [
        "account_id",
        "event_body",
        "fn_arn",
        "region_name",
    ]
    assert params(events_notifications._invoke_lambda) == ["account_id", "fn_arn", "event"]
    assert params(LambdaBackend.invoke) == [
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ]
    assert params(Rule.send_to_targets) == ["self", "original_event", "transform_input"]


def test_notifications_call_the_patched_module_globals() -> None:
    s3_source = Path(s3_notifications.__file__).read_text()
    assert re.search(r"^\s+_invoke_awslambda\(", s3_source, re.MULTILINE)
    events_source = Path(events_notifications.__file__).read_text()
    assert re.search(r"^\s+_invoke_lambda\(account_id", events_source, re.MULTILINE)
