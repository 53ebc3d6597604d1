"""scripts/build_lambdas.py: a handler's import closure, package data, the tool guard and
the dependencies a zip carries, on a small fake package (no pip, no zips)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_lambdas.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_lambdas", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bl = _load()


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """shared/pkg: a fake first-party package; fn/handler.py imports part of it."""
    write(
        tmp_path / "shared",
        {
            "pkg/__init__.py": "",
            "pkg/plain.py": "import json\nimport pkg.sub.deep\n",
            "pkg/sub/__init__.py": "from . import sibling\n",
            "pkg/sub/deep.py": "from ..leaf import VALUE\n",
            "pkg/sub/sibling.py": "",
            "pkg/leaf.py": "VALUE = 1\n",
            "pkg/names.py": "def helper():\n    pass\n",
            "pkg/mods/__init__.py": "",
            "pkg/mods/one.py": "",
            "pkg/lazy.py": "def f():\n    from pkg.tool import run\n    import requests.adapters\n",
            "pkg/tool.py": "import yaml\n",
            "pkg/registry.py": (
                "import importlib\n"
                "TABLE = {'a': 'pkg.dyn:Factory', 'b': 'not a module', 'c': 'pkg.nothere'}\n"
                "def get(k):\n    return importlib.import_module(TABLE[k])\n"
            ),
            "pkg/dyn.py": "",
            "pkg/strings.py": "NAME = 'pkg.unused'\n",
            "pkg/unused.py": "",
            "pkg/native_user.py": "from pkg.sub._native import fast\n",
            "pkg/untouched.py": "import pkg.unused\n",
        },
    )
    write(
        tmp_path / "fn",
        {
            "handler.py": (
                "from __future__ import annotations\n"
                "import os\n"
                "import boto3\n"
                "import pkg.plain\n"  # plain, dotted
                "from pkg import names, mods\n"  # from-package-import-module
                "from pkg.names import helper\n"  # from-module-import-name
                "from pkg.mods import one as _one\n"
                "from pkg import lazy, registry, strings, native_user\n"
                "def handler(event, context):\n"
                "    from botocore.config import Config\n"  # inside a function
                "    return Config\n"
            ),
        },
    )
    return tmp_path


def closure(tree: Path) -> object:
    return bl.import_closure(tree / "fn" / "handler.py", {"pkg": tree / "shared"})


def test_closure_follows_every_import_form(tree: Path) -> None:
    found = closure(tree)
    assert found.modules["handler"] == tree / "fn" / "handler.py"
    shipped = {
        p.relative_to(tree / "shared").as_posix()
        for p in found.modules.values()
        if p.is_relative_to(tree / "shared")
    }
    assert shipped == {
        "pkg/__init__.py",
        "pkg/plain.py",  # import pkg.plain
        "pkg/sub/__init__.py",  # a parent package of pkg.sub.deep
        "pkg/sub/deep.py",  # import pkg.sub.deep (in pkg.plain)
        "pkg/sub/sibling.py",  # from . import sibling (relative, in a package __init__)
        "pkg/leaf.py",  # from ..leaf import VALUE (relative, two levels)
        "pkg/names.py",  # from pkg import names
        "pkg/mods/__init__.py",
        "pkg/mods/one.py",  # from pkg.mods import one as _one
        "pkg/lazy.py",
        "pkg/tool.py",  # an import inside a function counts
        "pkg/registry.py",
        "pkg/dyn.py",  # a string constant of a module that calls import_module
        "pkg/strings.py",
        "pkg/native_user.py",
    }
    # from a module, a name is not a module; strings count only where import_module is used
    assert "pkg.names.helper" not in found.modules
    assert "pkg.unused" not in found.modules and "pkg.untouched" not in found.modules
    assert "pkg.nothere" not in found.imported  # a string that names no module
    # a compiled module has no source to follow, but the closure knows it is imported
    assert "pkg.sub._native" in found.imported and "pkg.sub._native" not in found.modules
    # third-party top-level names, also from imports in functions; not the stdlib's
    assert found.external == {"boto3", "botocore", "requests", "yaml"}


def test_chain_names_each_import_on_the_way(tree: Path) -> None:
    found = closure(tree)
    assert found.chain("pkg.tool") == "handler:8 -> pkg.lazy:2 -> pkg.tool"
    assert found.chain("pkg.leaf") == "handler:4 -> pkg.plain:2 -> pkg.sub.deep:1 -> pkg.leaf"


def test_package_data_beside_shipped_modules_only(tree: Path) -> None:
    write(
        tree / "shared",
        {
            "pkg/py.typed": "",
            "pkg/sub/template.json": "{}",
            "pkg/sub/_native.c": "",
            "pkg/sub/_native.abi3.so": "",
            "pkg/sub/assets/logo.svg": "<svg/>",  # a data folder (not a package)
            "pkg/sub/assets/gen.py": "",
            "pkg/unshipped/__init__.py": "",  # a package not in the closure
            "pkg/unshipped/Tool.java": "",
        },
    )
    found = closure(tree)
    folders = [p.parent for p in found.modules.values() if p.is_relative_to(tree / "shared")]
    data = {p.relative_to(tree / "shared").as_posix() for p in bl.package_data(folders)}
    assert data == {"pkg/py.typed", "pkg/sub/template.json", "pkg/sub/assets/logo.svg"}


@pytest.mark.parametrize(
    ("name", "tool"),
    [
        ("logferry/local/stack.py", True),
        ("logferry/local/search-node/opensearch/pom.xml", True),
        ("logferry/demo.py", True),
        ("logferry/samples/alb.py", True),
        ("logferry/reports/__init__.py", True),
        ("logferry/dashboards/logferry.ndjson", True),
        ("logferry/backfill.py", True),
        ("logferry/backfill_queue.py", True),
        ("logferry/replay.py", True),
        ("logferry/cli.py", True),
        ("logferry/configdoc.py", True),
        ("somewhere/Node.java", True),
        ("logferry/alerts/cli.py", False),
        ("logferry/localtime.py", False),
        ("logferry/runtime.py", False),
    ],
)
def test_tool_paths(name: str, tool: bool) -> None:
    assert bl.is_tool(name) is tool


def test_tool_report_names_the_import_chain(tmp_path: Path) -> None:
    write(
        tmp_path / "shared",
        {
            "logferry/__init__.py": "",
            "logferry/runtime.py": "def f():\n    from logferry.demo import main\n",
            "logferry/demo.py": "",
        },
    )
    write(tmp_path / "fn", {"handler.py": "from logferry import runtime\n"})
    package = tmp_path / "shared" / "logferry"
    found = bl.import_closure(tmp_path / "fn" / "handler.py", {"logferry": package.parent})
    entries = [
        (f"logferry/{p.relative_to(package).as_posix()}", p)
        for p in found.modules.values()
        if p.is_relative_to(package)
    ]
    report = bl.tool_report("fn", entries, found)
    assert report is not None
    assert "fn.zip would ship developer tools: logferry/demo.py" in report
    assert "handler:1 -> logferry.runtime:2 -> logferry.demo" in report
    clean = [entry for entry in entries if entry[0] != "logferry/demo.py"]
    assert bl.tool_report("fn", clean, found) is None


def dist_info(deps: Path, name: str, version: str, top: list[str], requires: list[str]) -> None:
    info = deps / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = [f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires)]
    (info / "METADATA").write_text("\n".join(["Metadata-Version: 2.1", *lines]) + "\n")
    record = [f"{t}/__init__.py,," if "." not in t else f"{t},," for t in top]
    (info / "RECORD").write_text("\n".join([*record, f"{info.name}/METADATA,,", ""]))


def test_dependencies_by_import_name_and_requirements(tmp_path: Path) -> None:
    deps = tmp_path / "deps"
    dist_info(deps, "boto3", "1", ["boto3"], ["botocore (>=1)", "crt ; extra == 'crt'"])
    dist_info(deps, "botocore", "1", ["botocore"], ["six"])
    dist_info(deps, "six", "1", ["six.py"], [])
    dist_info(deps, "opensearch-py", "2", ["opensearchpy"], ["old ; python_version < '3.8'"])
    dist_info(deps, "crt", "1", ["crt"], [])
    dist_info(deps, "old", "1", ["old"], [])
    dists = bl.distributions(deps)
    assert dists["opensearch-py"].top_level == ["opensearchpy"]
    assert dists["boto3"].requires == ["botocore"]  # the extra is not asked for
    assert dists["opensearch-py"].requires == []  # nor a Python the zips never run on
    shipped = bl.shipped_distributions({"boto3"}, dists, "fn")
    assert [d.name for d in shipped] == ["boto3", "botocore", "six"]
    shipped = bl.shipped_distributions({"opensearchpy", "yaml"}, dists, "fn")
    assert [d.name for d in shipped] == ["opensearch-py"]
