"""Processes the benchmarks start (servers, baselines, load generators, `hub` commands): each in its own
session, stopped as a group by ``Processes.stop_all()``, its log kept under bench/results/logs/."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "bench" / "results" / "logs"
BIN = Path(sys.executable).parent  # .venv/bin when run as `.venv/bin/python -m bench`

console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=140)


class BenchError(Exception):
    """The benchmark cannot go on; the message says why (and where the logs are)."""


class Processes:
    """Owns every subprocess the run starts; ``stop_all`` ends them (TERM, then KILL after a grace)."""

    def __init__(self, log_dir: Path = LOG_DIR) -> None:
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.running: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, name: str, argv: list[str], *, env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen, Path]:
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running.append((name, proc, log_path))
        return proc, log_path

    def stop(self, proc: subprocess.Popen, grace: float = 10.0) -> None:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(5)
        self.running = [entry for entry in self.running if entry[1] is not proc]

    def stop_all(self) -> None:
        for _name, proc, _log in reversed(list(self.running)):
            try:
                self.stop(proc)
            except Exception as exc:  # keep stopping the others
                console.print(f"[yellow]could not stop pid {proc.pid}: {exc!r}[/]")


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, proc: subprocess.Popen, log_path: Path, *, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers 200; fail early when the process dies."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{url} never came up: the process exited with {proc.returncode}.\n{log_tail(log_path)}")
        try:
            response = httpx.get(url, timeout=2, trust_env=False)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise BenchError(f"{url} was not ready after {timeout:.0f} s ({last}); log {log_path}:\n{log_tail(log_path)}")


# --------------------------------------------------------------------------------------------- the hub


def postgres_dsn(url: str) -> str:
    """asyncpg's spelling of the hub's ``postgres://`` URL."""
    return url.replace("postgres://", "postgresql://", 1)


@asynccontextmanager
async def database(url: str):
    """One asyncpg connection to the bench database, for a case's raw SQL (seeding, counting, cleaning)."""
    import asyncpg

    conn = await asyncpg.connect(postgres_dsn(url), timeout=10)
    try:
        yield conn
    finally:
        await conn.close()


def clean_env(**hub_settings: str) -> dict[str, str]:
    """The environment for hub processes: the caller's, less every HUB_* (a developer's shell must not
    change what is measured), plus ``hub_settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(hub_settings)
    return env


def run_hub_cli(args: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 300) -> str:
    """Run ``.venv/bin/hub ARGS``; returns stdout, raises BenchError with its output on failure."""
    argv = [str(BIN / "hub"), *args]
    try:
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BenchError(f"`hub {' '.join(args)}` took more than {timeout:.0f} s") from None
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()[-25:]
        raise BenchError(f"`hub {' '.join(args)}` failed with exit code {done.returncode}:\n" + "\n".join(output))
    return done.stdout


# ------------------------------------------------------------------------------------- the services


async def _recreate_database(url: str) -> str:
    import asyncpg

    base, name = url.rsplit("/", 1)
    if not re.fullmatch(r"[A-Za-z0-9_]+", name) or "bench" not in name:
        raise BenchError(f"refusing to drop database {name!r}: the bench database's name must contain 'bench'")
    try:
        conn = await asyncpg.connect(postgres_dsn(base) + "/postgres", timeout=5)
    except Exception as exc:  # refused, timed out, authentication failed...
        raise BenchError(f"PostgreSQL at {_masked(base)} does not answer ({exc!r}); "
                         "start it, or set BENCH_DATABASE_URL") from None
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        version = conn.get_server_version()
        minor = version.micro if version.major >= 10 else version.minor  # 15.4 is (15, 0, 4) for asyncpg
        return f"PostgreSQL {version.major}.{minor}"
    finally:
        await conn.close()


async def _check_redis(url: str) -> str:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await asyncio.wait_for(client.ping(), 3)
        info = await client.info("server")
        return f"Redis {info.get('redis_version', '?')}"
    except Exception as exc:
        raise BenchError(f"Redis at {_masked(url)} does not answer ({exc!r}); "
                         "start it, or set BENCH_REDIS_URL") from None
    finally:
        await client.aclose()


def _masked(url: str) -> str:
    return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)
