"""A real redis-server for the feature-store tests: started once per session on 127.0.0.1 and a free port,
no persistence, stopped by its PID. Skipped (with the reason) only when the binary is not installed here;
CI (.ci/run) installs it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from typing import Iterator

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(binary: str) -> tuple[subprocess.Popen, int]:
    """redis-server on a free port; a few tries, since another process may take the port between probe and bind."""
    import redis

    for _ in range(3):
        port = _free_port()
        server = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                   "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        try:
            while server.poll() is None and time.monotonic() < deadline:
                try:
                    client.ping()
                    return server, port
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        server.terminate()
        server.wait(timeout=10)
    raise RuntimeError(f"redis-server did not start on 127.0.0.1 (last exit code {server.returncode})")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server; .ci/run installs it)")
    server, port = _start(binary)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)
