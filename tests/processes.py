"""Real processes for tests of production's shape: `hub serve`, `hub worker` and a redis-server of the test's
own, each logging to a file under the test's tmp_path, in the working directory it is given (separate
containers share nothing but PostgreSQL and Redis), all stopped when the test ends.

These tests run the hub as production does, on PostgreSQL and Redis: without them they skip on a
developer's machine and fail under CI=true (as conftest's ``redis_url`` does).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import DATABASE_URL, IN_CI

HUB = str(Path(sys.executable).with_name("hub"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require(condition: bool, problem: str) -> None:
    """Skip without a service on a developer's machine; under CI=true a missing service fails."""
    if not condition:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)  # CI guard above: only on a developer's bare machine


async def wait_until(check: Callable[[], Awaitable[bool]], *, within: float, what: str) -> float:
    """Poll ``check`` until it holds; returns the seconds it took, fails after ``within``."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within}s: {what}")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


class Processes:
    """Starts processes for one test and stops the ones still running at its end (SIGTERM, then SIGKILL)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[tuple[str, subprocess.Popen, Path]] = []

    def env(self, **hub: str) -> dict[str, str]:
        """The test process's environment (its database and secret key) plus ``HUB_*`` overrides."""
        return {**os.environ, "HUB_VAR_DIR": str(self.tmp_path / "var"), **hub}

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen:
        log = self.tmp_path / f"{name}-{len(self.started)}.log"
        cwd = cwd or self.tmp_path
        cwd.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            process = subprocess.Popen(args, env=env or self.env(), cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        self.started.append((name, process, log))
        return process

    def output(self, process: subprocess.Popen) -> str:
        log = next(log for _, p, log in self.started if p is process)
        return log.read_text(errors="replace")[-3000:]

    async def serve(self, env: dict[str, str], cwd: Path | None = None) -> str:
        """`hub serve` on a free port; returns its base URL once /healthz answers."""
        port = free_port()
        process = self.start("serve", [HUB, "serve", "--port", str(port)], env, cwd)
        base = f"http://127.0.0.1:{port}"

        async def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"hub serve exited {process.returncode}:\n{self.output(process)}")
            try:
                async with httpx.AsyncClient(trust_env=False) as client:
                    return (await client.get(f"{base}/healthz", timeout=1)).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(up, within=60, what="hub serve answers /healthz")
        return base

    def worker(self, env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen:
        """`hub worker`: both lanes and the periodic sweeps, as in production."""
        return self.start("worker", [HUB, "worker"], env, cwd)

    def redis_server(self, port: int) -> subprocess.Popen:
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server is not installed")
        return self.start("redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                    "--appendonly", "no", "--daemonize", "no"])

    def stop_all(self) -> None:
        for _, process, _ in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process, _ in reversed(self.started):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def processes(tmp_path) -> Iterator[Processes]:
    """Real hub processes on PostgreSQL (the test database); they stop before the tables are emptied."""
    require(DATABASE_URL.startswith("postgres"), "HUB_TEST_DATABASE_URL=postgres://... is not set")
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()
