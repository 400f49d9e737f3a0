from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(scope="session")
def serve_runtime(tmp_path_factory):
    """Django configured once for this test process (embedded mode, in-memory layer, temporary SQLite)."""
    from django.conf import settings

    from depthhand.serve.options import ServeOptions

    if settings.configured:
        pytest.skip("Django settings were configured elsewhere in this process")
    from depthhand.serve.server import prepare

    data = tmp_path_factory.mktemp("serve-data")
    prepare(ServeOptions(token=TOKEN, data_dir=data, window=3))
    from depthhand.serve import runtime

    return runtime.get()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"server exited early ({proc.returncode}): {out}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"port {port} did not open")


def start_serve(args: list[str], data_dir: Path, port: int | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DEPTHHAND_TOKEN": TOKEN}
    cmd = [sys.executable, "-m", "depthhand.cli", "serve", "--data-dir", str(data_dir), *args]
    if port is not None:
        cmd += ["--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if port is not None:
        wait_port(port, proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def redis_url() -> Iterator[str]:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server not installed (apt-get install -y redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)
