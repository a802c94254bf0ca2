"""The hub's real processes for tests: `hub serve` (uvicorn) and `hub worker` (arq), each started as its own
process with its own environment and working directory, as containers run them."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

HUB = str(Path(sys.executable).with_name("hub"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(process: subprocess.Popen) -> str:
    """Stop gracefully (SIGTERM, as docker does) and return what it printed."""
    process.terminate()
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out.decode(errors="replace")


@contextmanager
def hub_serve(env: dict[str, str], cwd: Path) -> Iterator[str]:
    """`hub serve` on a free port until its /healthz answers; yields the base URL."""
    cwd.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = subprocess.Popen([HUB, "serve", "--port", str(port)], env=env, cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(f"hub serve did not come up: {_stop(server)[-2000:]}") from None
                time.sleep(0.2)
        yield base
    finally:
        _stop(server)


@contextmanager
def hub_worker(env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen]:
    """`hub worker` (both lanes, periodic jobs included) until the block ends."""
    cwd.mkdir(parents=True, exist_ok=True)
    worker = subprocess.Popen([HUB, "worker"], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield worker
    finally:
        output = _stop(worker)
        if worker.returncode not in (0, -15):
            raise AssertionError(f"hub worker ended with {worker.returncode}: {output[-2000:]}")
