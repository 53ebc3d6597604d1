"""LOGFERRY_BACKEND=docker: LocalStack + Elasticsearch containers through testcontainers.

Only usable where a Docker engine runs; without one it fails within a second or two.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

from logferry.local.endpoints import Endpoints

LOCALSTACK_IMAGE = "localstack/localstack:4.4"
ELASTICSEARCH_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:8.19.3"


class BackendUnavailable(RuntimeError):
    """The selected backend cannot run on this machine."""


def docker_socket() -> Path:
    """The engine's Unix socket (from DOCKER_HOST=unix://..., else /var/run/docker.sock)."""
    host = os.environ.get("DOCKER_HOST", "")
    return (
        Path(host.removeprefix("unix://"))
        if host.startswith("unix://")
        else Path("/var/run/docker.sock")
    )


def check_engine(timeout: float = 2.0) -> None:
    """Raise BackendUnavailable unless a Docker engine answers on its socket."""
    path = docker_socket()
    if not path.exists():
        raise BackendUnavailable(
            f"LOGFERRY_BACKEND=docker needs a Docker engine: no engine at {path}. "
            "Unset LOGFERRY_BACKEND to use the Docker-free host stack."
        )
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(timeout)
        try:
            probe.connect(str(path))
            probe.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            answer = probe.recv(64)
        except OSError as error:
            raise BackendUnavailable(f"Docker engine at {path} does not answer: {error}") from None
    if b" 200 " not in answer:
        raise BackendUnavailable(f"Docker engine at {path} answered {answer[:40]!r} to /_ping")


def start(progress: Callable[[str], None]) -> Endpoints:
    """Start LocalStack and Elasticsearch containers (kept running until `stop`)."""
    check_engine()
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # outlive `make up`
    try:
        from testcontainers.elasticsearch import ElasticSearchContainer
        from testcontainers.localstack import LocalStackContainer
    except ImportError:
        raise BackendUnavailable(
            "LOGFERRY_BACKEND=docker needs `pip install testcontainers localstack-client`"
        ) from None
    progress(f"starting {LOCALSTACK_IMAGE} and {ELASTICSEARCH_IMAGE}")
    aws = LocalStackContainer(image=LOCALSTACK_IMAGE).start()
    search = ElasticSearchContainer(ELASTICSEARCH_IMAGE).start()
    search_url = f"http://{search.get_container_host_ip()}:{search.get_exposed_port(9200)}"
    return Endpoints(
        aws=aws.get_url(),
        search=search_url,
        search_engine="elasticsearch",
        backend="docker",
        containers={
            "aws": aws.get_wrapped_container().id,
            "search": search.get_wrapped_container().id,
        },
    )


def stop(endpoints: Endpoints) -> None:
    """Remove the containers recorded in `endpoints`."""
    if endpoints.containers:
        subprocess.run(["docker", "rm", "-f", *endpoints.containers.values()], check=False)
