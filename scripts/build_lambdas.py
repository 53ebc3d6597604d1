#!/usr/bin/env python3
"""Build one reproducible zip per Lambda function under build/.

Each zip holds the function's handler.py, the ``logferry`` package (from shared/), the
pinned pure-Python dependencies of functions/requirements.lock, and the compiled ones of
functions/requirements-binary.lock built for both the Lambda runtime's Python (3.12) and
the local executor's (3.11): their extension modules differ by ABI tag, so one zip runs
on both (x86_64 Linux); and logferry's own ALB scanner, compiled for the stable ABI (see
:func:`scanner_build`). The same sources (and C compiler) give
the same bytes: entries are sorted, timestamps fixed, no bytecode, no absolute paths.
These zips are what Terraform deploys and what the local stack runs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
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
SCANNER_SOURCE = PACKAGE / "formats" / "_albscan.c"
SCANNER_ENTRY = "logferry/formats/_albscan.abi3.so"
SCANNER_FLAGS = ["-shared", "-fPIC", "-O2", "-g0", "-Wall"]


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


def build(out_dir: Path, cache: Path, only: list[str]) -> None:
    """Build the zips (all functions, or those named in ``only``)."""
    deps = list(files_under(deps_dir(cache)))
    package = [
        (f"logferry/{name}", path)
        for name, path in files_under(PACKAGE)
        if path.suffix not in NATIVE_SUFFIXES
    ]
    scanner = scanner_build(cache)
    if scanner is not None:
        package.append((SCANNER_ENTRY, scanner))
    for fn in functions():
        if only and fn.name not in only:
            continue
        own = [(name, path) for name, path in files_under(fn) if not name.endswith(".md")]
        digest = write_zip(out_dir / f"{fn.name}.zip", own + package + deps)
        print(f"build: {out_dir / fn.name}.zip sha256={digest}", flush=True)


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
    build(args.out, args.cache, args.functions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
