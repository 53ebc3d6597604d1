#!/usr/bin/env python3
"""Build one reproducible zip per Lambda function under build/.

Each zip holds the function's handler.py and only what the handler imports: the
``logferry`` modules of its import closure, found statically (see :func:`import_closure`),
with the package data beside them; the locked dependencies those modules import, with
their requirements (functions/requirements.lock, pure Python, and the compiled ones of
functions/requirements-binary.lock built for both the Lambda runtime's Python (3.12) and
the local executor's (3.11): their extension modules differ by ABI tag, so one zip runs
on both (x86_64 Linux)); and, where the closure imports it, logferry's own ALB scanner,
compiled for the stable ABI (see :func:`scanner_build`). Developer tools (the local stack,
demo, samples, reports, dashboards, CLIs: :data:`TOOL_PATHS`) never go in: the build fails,
naming the import chain, if a handler's closure reaches one. The same sources (and C
compiler) give the same bytes: entries are sorted, timestamps fixed, no bytecode, no
absolute paths. These zips are what Terraform deploys and what the local stack runs.
"""

from __future__ import annotations

import argparse
import ast
import email.parser
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
LOCK = FUNCTIONS / "requirements.lock"
BINARY_LOCK = FUNCTIONS / "requirements-binary.lock"
BINARY_PYTHONS = ("3.11", "3.12")
PACKAGE = ROOT / "shared" / "logferry"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
PIP_TARGET_FLAGS = [
    "--python-version", "3.12", "--implementation", "py", "--abi", "none",
    "--platform", "any", "--only-binary=:all:",
]  # fmt: skip
SKIP_DIRS = {"__pycache__", "bin", "tests"}
SKIP_NAMES = {"direct_url.json", "INSTALLER", "REQUESTED", "RECORD"}
NATIVE_SUFFIXES = {".c", ".so"}
"""Left out of the package's files: the ALB scanner's source, and pip's build of it (made
with debug paths); the zips get the scanner from :func:`scanner_build` instead."""
SOURCE_SUFFIXES = {".py", ".pyc", ".pyo"}
SCANNER_SOURCE = PACKAGE / "formats" / "_albscan.c"
SCANNER_ENTRY = "logferry/formats/_albscan.abi3.so"
SCANNER_MODULE = "logferry.formats._albscan"
SCANNER_FLAGS = ["-shared", "-fPIC", "-O2", "-g0", "-Wall"]
TOOL_PATHS = (
    "logferry/local/", "logferry/demo.py", "logferry/samples/", "logferry/reports/",
    "logferry/dashboards/", "logferry/backfill.py", "logferry/backfill_queue.py",
    "logferry/replay.py", "logferry/cli.py", "logferry/configdoc.py",
)  # fmt: skip
"""Archive names (ending in ``/``: everything under it) no zip may hold, nor any ``.java``
file: developer tools, not Lambda code."""
MARKER_ENVIRONMENTS = [
    {
        "python_version": version, "python_full_version": f"{version}.0",
        "implementation_name": "cpython", "platform_python_implementation": "CPython",
        "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
        "os_name": "posix", "extra": "",
    }
    for version in BINARY_PYTHONS
]  # fmt: skip
"""Where the zips run (the Lambda runtime's 3.12, the local executor's 3.11): a requirement
whose environment marker holds in one of them is shipped; extras are never asked for."""


class BuildError(Exception):
    """The zips cannot be built as asked; the message says why."""


def deps_dir(cache: Path) -> Path:
    """Install the locked dependencies once per lock-file hash; return the folder."""
    digest = hashlib.sha256(LOCK.read_bytes() + BINARY_LOCK.read_bytes()).hexdigest()[:16]
    target = cache / f"deps-{digest}"
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    print(f"build: installing locked dependencies into {target}", flush=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
         str(target), *PIP_TARGET_FLAGS, "-r", str(LOCK)],
        check=True,
    )  # fmt: skip
    for version in BINARY_PYTHONS:
        staging = cache / f"binary-{digest}-{version}"
        shutil.rmtree(staging, ignore_errors=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
             str(staging), "--python-version", version, "--implementation", "cp",
             "--platform", "manylinux2014_x86_64", "--only-binary=:all:", "-r", str(BINARY_LOCK)],
            check=True,
        )  # fmt: skip
        shutil.copytree(staging, target, dirs_exist_ok=True)
        shutil.rmtree(staging)
    (target / ".complete").touch()
    return target


def scanner_build(cache: Path) -> Path | None:
    """The ALB scanner compiled for the zips, or ``None`` where it cannot be.

    Built for the stable ABI (one build loads on the runtime's Python 3.12 and the local
    executor's 3.11) without debug information, so the same source and compiler give the
    same bytes; cached by source hash. Lambda runs x86_64 Linux, so other hosts (or a host
    without a C compiler) ship no scanner and the zips parse ALB lines with the regex.
    """
    if sys.platform != "linux" or platform.machine() != "x86_64":
        print("build: not an x86_64 Linux host, the zips parse ALB lines with the regex")
        return None
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        print("build: no C compiler (CC), the zips parse ALB lines with the regex")
        return None
    digest = hashlib.sha256(SCANNER_SOURCE.read_bytes() + " ".join(SCANNER_FLAGS).encode())
    target = cache / f"albscan-{digest.hexdigest()[:16]}.abi3.so"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        include = sysconfig.get_paths()["include"]
        subprocess.run(  # the source by its bare name: gcc records the path it is given
            [compiler, *SCANNER_FLAGS, f"-I{include}", SCANNER_SOURCE.name, "-o", str(tmp)],
            check=True,
            cwd=SCANNER_SOURCE.parent,
        )
        tmp.replace(target)
    return target


# --- the import closure -------------------------------------------------------------------


@dataclass
class Closure:
    """What a module needs of first-party code, found statically from import statements."""

    modules: dict[str, Path] = field(default_factory=dict)
    """Module name -> source file: the entry module, every module it reaches and every
    package ``__init__.py`` on the way."""
    imported: set[str] = field(default_factory=set)
    """First-party module names imported, also those with no source (compiled ones)."""
    external: set[str] = field(default_factory=set)
    """Top-level names imported that are neither first-party nor the standard library."""
    via: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Module name -> (the module whose import statement first reached it, its line)."""

    def chain(self, name: str) -> str:
        """How the entry module reaches ``name``, e.g. ``handler:15 -> logferry.a:3 -> name``
        (each link: a module and the line of its import that leads to the next)."""
        links = [name]
        while name in self.via:
            name, line = self.via[name]
            links.append(f"{name}:{line}")
        return " -> ".join(reversed(links))


DYNAMIC = {"import_module", "__import__"}
"""Names of the calls that import a module given as a string."""


def _imports(tree: ast.Module, package: str) -> Iterator[tuple[str, int, bool]]:
    """(absolute name, line, certainly a module) for each import statement in ``tree``,
    at any depth (in functions, ``try`` and ``if`` blocks too).

    ``import a.b`` and ``from a.b import c`` certainly import module ``a.b``; ``a.b.c`` may
    be a module or a name in ``a.b``: the caller keeps it only if there is such a module.
    Relative imports resolve against ``package`` (the module's package). A module that
    imports by name (``importlib.import_module``, ``__import__``) may also import any of
    its string constants that read as a dotted name (or ``module:attribute``): a registry
    of modules to load, such as the formats'.
    """
    dynamic = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, True
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                keep = len(parts) - (node.level - 1)
                if keep <= 0:
                    continue  # above the top-level package: fails at import time anyway
                module = ".".join(parts[:keep] + ([module] if module else []))
            yield module, node.lineno, True
            for alias in node.names:
                if alias.name != "*":
                    yield f"{module}.{alias.name}", node.lineno, False
        elif isinstance(node, ast.Attribute | ast.Name):
            dynamic |= (getattr(node, "attr", None) or getattr(node, "id", None)) in DYNAMIC
    if dynamic:
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                name = node.value.partition(":")[0]
                if name and all(part.isidentifier() for part in name.split(".")):
                    yield name, node.lineno, False


def _source(name: str, roots: Mapping[str, Path]) -> Path | None:
    """The source file of first-party module ``name`` (a package's ``__init__.py``)."""
    parts = name.split(".")
    base = roots[parts[0]].joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def import_closure(entry: Path, roots: Mapping[str, Path], name: str = "handler") -> Closure:
    """The first-party modules that module ``entry`` (named ``name``) imports, recursively.

    ``roots`` maps each first-party top-level name (``logferry``) to the folder that holds
    it (on ``sys.path`` at run time). Conservative: every import statement counts, run or
    not; importing ``a.b.c`` brings packages ``a`` and ``a.b`` (their ``__init__`` runs
    first). Imports of other names, less the standard library's, are gathered by their
    top-level name in :attr:`Closure.external`.
    """
    closure = Closure(modules={name: entry})
    queue = [(name, entry)]
    while queue:
        current, path = queue.pop(0)  # breadth first: the chains reported are the shortest
        tree = ast.parse(path.read_bytes(), filename=str(path))
        package = current if path.name == "__init__.py" else current.rpartition(".")[0]
        for imported, line, certain in _imports(tree, package):
            parts = imported.split(".")
            if parts[0] not in roots:
                if certain and parts[0] not in sys.stdlib_module_names:
                    closure.external.add(parts[0])
                continue
            for depth in range(1, len(parts) + 1):
                module = ".".join(parts[:depth])
                source = _source(module, roots)
                if source is None:
                    if certain:
                        closure.imported.add(module)  # compiled (or missing): not followed
                    continue
                closure.imported.add(module)
                if module not in closure.modules:
                    closure.modules[module] = source
                    closure.via[module] = (current, line)
                    queue.append((module, source))
    return closure


def package_data(folders: Iterable[Path]) -> Iterator[Path]:
    """The data files beside the shipped modules: each file of ``folders`` that is not
    Python source or native code (the scanner comes from :func:`scanner_build`), and of
    their subfolders that are not packages (a package ships only if it is in the closure,
    then as a folder of its own)."""
    for folder in sorted(set(folders)):
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or path.name in SKIP_DIRS:
                continue
            if path.is_dir():
                if not (path / "__init__.py").exists():
                    yield from package_data([path])
            elif path.suffix not in SOURCE_SUFFIXES | NATIVE_SUFFIXES:
                yield path


# --- third-party distributions ------------------------------------------------------------


@dataclass
class Distribution:
    """One distribution installed in the deps folder."""

    name: str
    """Normalized (PEP 503): ``opensearch-py``."""
    dist_info: str
    """Its ``*.dist-info`` folder's name."""
    top_level: list[str]
    """Its entries at the top of the deps folder: packages (folders) and modules (files)."""
    requires: list[str]
    """Names (normalized) of the distributions it requires where the zips run."""


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(spec: str) -> str | None:
    """The normalized name ``spec`` (a Requires-Dist value) requires where the zips run,
    or ``None`` if its marker holds in none of :data:`MARKER_ENVIRONMENTS`."""
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip vendors it
        try:
            from pip._vendor.packaging.requirements import (  # type: ignore[assignment]
                Requirement,
            )
        except ImportError:
            Requirement = None  # type: ignore[assignment,misc]
    if Requirement is None:  # no marker evaluation: leave out the extras only
        head, _, marker = spec.partition(";")
        if "extra" in marker:
            return None
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", head)
        return normalize(match.group(1)) if match else None
    requirement = Requirement(spec)
    if requirement.marker is not None and not any(
        requirement.marker.evaluate(env) for env in MARKER_ENVIRONMENTS
    ):
        return None
    return normalize(requirement.name)


def distributions(deps: Path) -> dict[str, Distribution]:
    """The distributions installed in ``deps`` (pip ``--target`` output), by name."""
    found = {}
    for info in sorted(deps.glob("*.dist-info")):
        metadata = email.parser.HeaderParser().parsestr(
            (info / "METADATA").read_text(encoding="utf-8")
        )
        top: set[str] = set()
        record = info / "RECORD"
        if record.is_file():
            for line in record.read_text(encoding="utf-8").splitlines():
                first = line.split(",")[0].split("/")[0]
                if first and first not in {"..", info.name} and first not in SKIP_DIRS:
                    top.add(first)
        else:
            listed = info / "top_level.txt"
            names = listed.read_text().split() if listed.is_file() else []
            for name in names:
                top.update(p.name for p in deps.glob(f"{name}*") if import_name(p.name) == name)
        requires = [_requirement(spec) for spec in metadata.get_all("Requires-Dist") or []]
        name = normalize(metadata["Name"])
        found[name] = Distribution(
            name, info.name, sorted(top), sorted({r for r in requires if r is not None})
        )
    return found


def import_name(entry: str) -> str | None:
    """The top-level import name a deps-folder entry provides (``six.py`` -> ``six``)."""
    if entry.endswith((".pth", ".txt")):
        return None
    return entry.split(".")[0] if "." in entry else entry


def shipped_distributions(
    imports: Iterable[str], dists: Mapping[str, Distribution], context: str
) -> list[Distribution]:
    """The distributions providing the top-level names ``imports``, and their requirements
    (transitively). Names no distribution provides are reported and left out."""
    provider = {import_name(entry): dist for dist in dists.values() for entry in dist.top_level}
    wanted = []
    for name in sorted(imports):
        if name in provider:
            wanted.append(provider[name].name)
        else:
            print(f"build: {context}: imports {name!r}, no locked dependency has it: left out")
    shipped: dict[str, Distribution] = {}
    while wanted:
        name = wanted.pop()
        if name in shipped:
            continue
        if name not in dists:
            print(f"build: {context}: needs {name!r}, which is not in the locked dependencies")
            continue
        shipped[name] = dists[name]
        wanted.extend(dists[name].requires)
    return [shipped[name] for name in sorted(shipped)]


# --- the zips -------------------------------------------------------------------------------


def files_under(base: Path) -> Iterator[tuple[str, Path]]:
    """(archive name, path) of every file to ship from ``base``, skipping caches."""
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if path.is_dir() or SKIP_DIRS.intersection(rel.parts) or path.name in SKIP_NAMES:
            continue
        if path.suffix in {".pyc", ".pyo"} or path.name == ".complete":
            continue
        yield rel.as_posix(), path


def write_zip(out: Path, entries: list[tuple[str, Path]]) -> str:
    """Write a deterministic zip and return its sha256."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, path in sorted(entries):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    tmp.replace(out)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def functions() -> list[Path]:
    """Every function folder (one with a handler.py)."""
    return sorted(p.parent for p in FUNCTIONS.glob("*/handler.py"))


def is_tool(name: str) -> bool:
    """Whether archive name ``name`` is a developer tool's (:data:`TOOL_PATHS`, ``.java``)."""
    return name.endswith(".java") or any(
        name.startswith(tool) if tool.endswith("/") else name == tool for tool in TOOL_PATHS
    )


def zip_entries(
    fn: Path, dists: Mapping[str, Distribution], deps: Path, scanner: Path | None
) -> tuple[list[tuple[str, Path]], Closure]:
    """What the zip of function folder ``fn`` holds (archive name, path), and its closure."""
    own = [(name, path) for name, path in files_under(fn) if not name.endswith(".md")]
    roots = {PACKAGE.name: PACKAGE.parent}
    roots.update({name[:-3]: fn for name, _ in own if "/" not in name and name.endswith(".py")})
    roots.update({name.split("/")[0]: fn for name, _ in own if name.endswith("/__init__.py")})
    closure = import_closure(fn / "handler.py", roots)
    modules = [path for path in closure.modules.values() if path.is_relative_to(PACKAGE)]
    package = [(f"logferry/{p.relative_to(PACKAGE).as_posix()}", p) for p in modules]
    package += [
        (f"logferry/{p.relative_to(PACKAGE).as_posix()}", p)
        for p in package_data(p.parent for p in modules)
    ]
    if scanner is not None and SCANNER_MODULE in closure.imported:
        package.append((SCANNER_ENTRY, scanner))
    third_party: list[tuple[str, Path]] = []
    for dist in shipped_distributions(closure.external, dists, fn.name):
        for entry in [*dist.top_level, dist.dist_info]:
            path = deps / entry
            if path.is_dir():
                third_party += [(f"{entry}/{name}", p) for name, p in files_under(path)]
            elif path.is_file():
                third_party.append((entry, path))
    return sorted(dict(own + package + third_party).items()), closure


def tool_report(fn: str, entries: list[tuple[str, Path]], closure: Closure) -> str | None:
    """Why the zip of ``fn`` may not be built (it would ship a tool), or ``None``."""
    tools = [name for name, _ in entries if is_tool(name)]
    if not tools:
        return None
    by_path = {path: module for module, path in closure.modules.items()}
    lines = [f"{fn}.zip would ship developer tools: {', '.join(tools)}"]
    for name, path in entries:
        if name in tools and path in by_path:
            lines.append(f"  imported by {closure.chain(by_path[path])}")
    return "\n".join(lines)


def build(out_dir: Path, cache: Path, only: list[str]) -> None:
    """Build the zips (all functions, or those named in ``only``); none if one would ship a
    developer tool (:class:`BuildError`, naming the import chains that bring it in)."""
    deps = deps_dir(cache)
    dists = distributions(deps)
    scanner = scanner_build(cache)
    plans, problems = [], []
    for fn in functions():
        if only and fn.name not in only:
            continue
        entries, closure = zip_entries(fn, dists, deps, scanner)
        problem = tool_report(fn.name, entries, closure)
        if problem:
            problems.append(problem)
        plans.append((fn, entries))
    if problems:
        raise BuildError("\n".join(problems))
    for fn, entries in plans:
        out = out_dir / f"{fn.name}.zip"
        digest = write_zip(out, entries)
        size = out.stat().st_size / 1024
        print(f"build: {out} {size:.0f} KB, {len(entries)} files, sha256={digest}", flush=True)


def relock() -> None:
    """Re-resolve the runtime dependencies of shared/pyproject.toml into the lock file."""
    import tomllib

    project = tomllib.loads((ROOT / "shared" / "pyproject.toml").read_text())["project"]
    binary = {line.split("==")[0] for line in BINARY_LOCK.read_text().split() if "==" in line}
    runtime = [d for d in project["dependencies"] if d.split("==")[0] not in binary]
    tmp = ROOT / "build" / ".relock"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(tmp),
         *PIP_TARGET_FLAGS, *runtime],
        check=True,
    )  # fmt: skip
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--path", str(tmp)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    header = LOCK.read_text().split("\n")[:3]
    LOCK.write_text("\n".join(header) + "\n" + frozen)
    shutil.rmtree(tmp)
    print(f"build: wrote {LOCK}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("functions", nargs="*", help="only these functions (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "lambda")
    parser.add_argument("--relock", action="store_true", help="re-resolve the lock file")
    args = parser.parse_args()
    if args.relock:
        relock()
        return 0
    try:
        build(args.out, args.cache, args.functions)
    except BuildError as error:
        print(f"build: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
