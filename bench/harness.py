"""The benchmark harness: brings the hub up on PostgreSQL + Redis, starts baselines, drives the load
generator, and turns the measurements into one table.

Every process it starts (``hub serve``, baselines, load generators) runs in its own session and is
stopped by ``Processes.stop_all()``, which ``bench/__main__.py`` calls in a ``finally``. Logs go to
``bench/results/logs/`` (gitignored).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
LOG_DIR = RESULTS_DIR / "logs"
BIN = Path(sys.executable).parent  # .venv/bin when run as `.venv/bin/python -m bench`
BENCH_SECRET_KEY = "bench-only-secret-key-never-used-in-production-0123456789"

console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=140)


class BenchError(Exception):
    """The benchmark cannot go on; the message says why (and where the logs are)."""


@dataclass
class Options:
    database_url: str = "postgres://postgres@127.0.0.1:5432/hub_bench"
    redis_url: str = "redis://127.0.0.1:6379/11"
    rounds: int = 3
    requests: int = 200_000  # a cap: a run normally ends after max_seconds
    warmup: int = 500
    concurrency: int = 16
    max_seconds: float = 5.0
    workers: int = 2  # API processes of the hubs and baselines a case starts itself (``start_hub_server``)


# --------------------------------------------------------------------------------------------- processes


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


async def _recreate_database(url: str) -> str:
    import asyncpg

    base, name = url.rsplit("/", 1)
    if not re.fullmatch(r"[A-Za-z0-9_]+", name) or "bench" not in name:
        raise BenchError(f"refusing to drop database {name!r}: the bench database's name must contain 'bench'")
    try:
        conn = await asyncpg.connect(base.replace("postgres://", "postgresql://", 1) + "/postgres", timeout=5)
    except Exception as exc:  # refused, timed out, authentication failed...
        raise BenchError(f"PostgreSQL at {_masked(base)} does not answer ({exc!r}); start it, or set BENCH_DATABASE_URL") from None
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
        raise BenchError(f"Redis at {_masked(url)} does not answer ({exc!r}); start it, or set BENCH_REDIS_URL") from None
    finally:
        await client.aclose()


def _masked(url: str) -> str:
    return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)


def demo_data_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("hub.demo.data") is not None
    except ModuleNotFoundError:
        return False


@dataclass
class Hub:
    """A running ``hub serve`` on PostgreSQL + Redis, with an ops key."""

    base_url: str
    key: str
    process: subprocess.Popen
    log_path: Path
    seeded_with: str
    env: dict[str, str] = field(default_factory=dict)  # to start more servers on the same database and Redis
    _paths: set[str] | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, path: str, *, auth: bool = True) -> httpx.Response:
        return httpx.get(self.base_url + path, headers=self.auth if auth else {}, timeout=10, trust_env=False)

    def has_path(self, path: str) -> bool:
        """Whether the hub's OpenAPI document has ``path`` (routers land as their domains are finished)."""
        if self._paths is None:
            self._paths = set(self.get("/openapi.json", auth=False).json().get("paths", {}))
        return path in self._paths


async def _seed_regions(base_url: str, key: str) -> int:
    """A few hundred regions through the API: 1 province, 5 cities, 40 counties, 280 grids."""
    plan: list[list[dict]] = [[{"code": "BP", "name": "Bench province", "level": "province"}], [], [], []]
    for c in range(5):
        plan[1].append({"code": f"BP-C{c}", "name": f"Bench city {c}", "level": "city", "parent_code": "BP"})
        for k in range(8):
            county = f"BP-C{c}-K{k}"
            plan[2].append({"code": county, "name": f"Bench county {c}.{k}", "level": "county", "parent_code": f"BP-C{c}"})
            for g in range(7):
                plan[3].append({"code": f"{county}-G{g}", "name": f"Grid {c}.{k}.{g}", "level": "grid", "parent_code": county})
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30, trust_env=False) as client:
        gate = asyncio.Semaphore(8)

        async def post(body: dict) -> None:
            async with gate:
                response = await client.post("/api/v1/regions", json=body)
            if response.status_code != 201:
                raise BenchError(f"seeding region {body['code']}: HTTP {response.status_code} {response.text[:300]}")

        for level in plan:
            await asyncio.gather(*(post(body) for body in level))
    return sum(len(level) for level in plan)


def start_hub(options: Options, procs: Processes, *, workdir: Path, meta: dict) -> Hub:
    """Fresh database, migrations, data, an ops key, then ``hub serve`` on a free loopback port."""
    console.rule("[bold]Bringing the hub up on PostgreSQL + Redis")
    meta["redis"] = asyncio.run(_check_redis(options.redis_url))
    meta["postgres"] = asyncio.run(_recreate_database(options.database_url))
    console.print(f"  database {options.database_url.rsplit('/', 1)[1]} recreated ({meta['postgres']}, {meta['redis']})")
    env = clean_env(
        HUB_DATABASE_URL=options.database_url,
        HUB_REDIS_URL=options.redis_url,
        HUB_SECRET_KEY=BENCH_SECRET_KEY,
        HUB_VAR_DIR=str(workdir / "var"),
        HUB_LOG_LEVEL="INFO",
        HUB_LOG_JSON="true",
    )
    started = time.perf_counter()
    run_hub_cli(["migrate"], env=env, cwd=workdir)
    console.print(f"  hub migrate: done in {time.perf_counter() - started:.1f} s")

    seeded_with = "regions through the API"
    if demo_data_available():
        started = time.perf_counter()
        run_hub_cli(["demo-data"], env=env, cwd=workdir, timeout=600)
        seeded_with = "hub demo-data"
        console.print(f"  hub demo-data: done in {time.perf_counter() - started:.1f} s")

    out = run_hub_cli(["keys", "create", "--role", "ops", "--name", "bench"], env=env, cwd=workdir)
    lines = out.strip().splitlines()
    key = lines[-1].strip() if lines else ""
    if not key or " " in key:
        raise BenchError(f"could not read the key from `hub keys create`:\n{out}")

    port = free_port()
    proc, log_path = procs.start(
        "hub-serve", [str(BIN / "hub"), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=workdir
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_until_ready(base_url + "/readyz", proc, log_path)
    console.print(f"  hub serve: ready on {base_url} (pid {proc.pid}, log {log_path.relative_to(ROOT)})")

    if seeded_with != "hub demo-data":
        started = time.perf_counter()
        count = asyncio.run(_seed_regions(base_url, key))
        seeded_with = f"{count} regions through the API (hub.demo.data not there yet)"
        console.print(f"  seeded {count} regions through the API in {time.perf_counter() - started:.1f} s")
    return Hub(base_url=base_url, key=key, process=proc, log_path=log_path, seeded_with=seeded_with, env=env)


# --------------------------------------------------------------------------------------------- measuring


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    first_error: str | None = None
    warmup_requests: int = 0
    warmup_errors: int = 0


@dataclass
class Figure:
    """One row of the table: a figure measured on the hub and on the baseline."""

    label: str
    hub: float
    baseline: float
    unit: str  # "req/s" (higher is better) or "ms" (lower is better)

    @property
    def ratio(self) -> float:
        return self.hub / self.baseline if self.baseline else float("nan")

    def show(self, value: float) -> str:
        return f"{value:,.0f}" if self.unit == "req/s" else f"{value:,.1f}"


def run_load(url: str, *, headers: dict[str, str], options: Options, expect_body: bytes | None,
             expect_status: int = 200, paths_file: Path | None = None) -> LoadResult:
    """One run of the load generator, in its own process (``bench/load.py``)."""
    argv = [
        sys.executable, "-m", "bench.load", url,
        "--concurrency", str(options.concurrency), "--warmup", str(options.warmup),
        "--requests", str(options.requests), "--max-seconds", str(options.max_seconds),
        "--expect-status", str(expect_status),
    ]
    if expect_body is not None:
        argv += ["--expect-sha256", hashlib.sha256(expect_body).hexdigest()]
    if paths_file is not None:
        argv += ["--paths-file", str(paths_file)]
    timeout = 2 * options.max_seconds + 60
    try:
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env={**os.environ, "BENCH_HEADERS": json.dumps(headers)})
    except subprocess.TimeoutExpired:
        raise BenchError(f"the load generator on {url} did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        raise BenchError(f"the load generator failed on {url}:\n{done.stderr.strip()[-2000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return LoadResult(**data)


@dataclass
class Bench:
    """What a case gets: the running hub, the options, and helpers to start baselines and compare."""

    options: Options
    procs: Processes
    hub: Hub
    workdir: Path
    notes: list[str] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)  # requests each server answered in compare(), warm-up included

    def note(self, text: str) -> None:
        """A line printed under the table (what was measured, sizes, caveats)."""
        self.notes.append(text)

    def start_baseline(self, *, name: str, path: str, body: bytes, content_type: str, status: int = 200,
                       headers: dict[str, str] | None = None, workers: int = 1) -> str:
        """A bare FastAPI app in its own process(es) answering GET ``path`` (a route template such as
        ``/c/{slug}`` is fine) with ``status``, ``headers`` and ``body``; returns its base URL."""
        body_file = self.workdir / f"{name}.body"
        body_file.write_bytes(body)
        port = free_port()
        extra = [arg for name_, value in (headers or {}).items() for arg in ("--header", f"{name_}: {value}")]
        proc, log_path = self.procs.start(
            f"baseline-{name}",
            [sys.executable, "-m", "bench.baseline", "--path", path, "--body-file", str(body_file),
             "--content-type", content_type, "--port", str(port), "--status", str(status),
             "--workers", str(workers), *extra],
            env=clean_env(PYTHONPATH=str(ROOT)), cwd=ROOT,
        )
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready(base_url + "/healthz", proc, log_path)
        check = httpx.get(base_url + path, timeout=5, trust_env=False)
        if (check.content != body or check.headers.get("content-type") != content_type or check.status_code != status
                or any(check.headers.get(k) != v for k, v in (headers or {}).items())):
            raise BenchError(f"the baseline for {path} does not answer the same status, headers and bytes as the hub")
        return base_url

    def start_hub_server(self, *, name: str, workers: int) -> tuple[str, subprocess.Popen, Path]:
        """Another ``hub serve --workers N`` on the shared hub's database and Redis; returns (base URL,
        process, log). Stop it with ``stop_gracefully`` to have its lifespan shutdown run."""
        port = free_port()
        proc, log_path = self.procs.start(
            name, [str(BIN / "hub"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            env=self.hub.env, cwd=self.workdir,
        )
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready(base_url + "/readyz", proc, log_path)
        console.print(f"  {name}: ready on {base_url} with {workers} API processes (log {log_path.relative_to(ROOT)})")
        return base_url, proc, log_path

    def stop_gracefully(self, proc: subprocess.Popen, log_path: Path, *, grace: float = 60.0) -> None:
        """SIGTERM and wait for the server's own shutdown (uvicorn finishes requests, then the lifespan)."""
        self.procs.stop(proc, grace=grace)
        if proc.returncode not in (0, -signal.SIGTERM):
            raise BenchError(f"the server did not stop cleanly (exit {proc.returncode}):\n{log_tail(log_path)}")

    def compare(
        self, *, label: str, path: str, baseline_url: str, headers: dict[str, str], expect_body: bytes | None,
        hub_url: str | None = None, baseline_headers: dict[str, str] | None = None, expect_status: int = 200,
        paths_file: Path | None = None,
    ) -> list[Figure]:
        """Alternate hub and baseline runs for ``options.rounds`` rounds; medians of each figure.

        ``hub_url`` measures another hub server than the shared one; ``paths_file`` sends several paths in
        turn (``path`` then only names the figure); ``expect_status`` is what every answer must be."""
        hub_url = hub_url or self.hub.base_url
        targets = {"hub": (hub_url + path, headers), "baseline": (baseline_url + path, baseline_headers or {})}
        results: dict[str, list[LoadResult]] = {"hub": [], "baseline": []}
        for round_no in range(self.options.rounds):
            order = ["hub", "baseline"] if round_no % 2 == 0 else ["baseline", "hub"]
            for who in order:
                url, hdrs = targets[who]
                result = run_load(url, headers=hdrs, options=self.options, expect_body=expect_body,
                                  expect_status=expect_status, paths_file=paths_file)
                if result.errors or result.warmup_errors:
                    raise BenchError(f"{who} answered {result.errors + result.warmup_errors} bad response(s) on "
                                     f"{path}: {result.first_error}")
                server = hub_url if who == "hub" else baseline_url
                self.sent[server] = self.sent.get(server, 0) + result.requests + result.warmup_requests
                results[who].append(result)
                console.print(
                    f"  round {round_no + 1}/{self.options.rounds} {who:8} {result.rps:8,.0f} req/s"
                    f"  p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms  ({result.requests} in {result.seconds:.1f} s)"
                )

        def median(who: str, attr: str) -> float:
            return statistics.median(getattr(r, attr) for r in results[who])

        return [
            Figure(f"{label}: requests/s", median("hub", "rps"), median("baseline", "rps"), "req/s"),
            Figure(f"{label}: p50 latency (ms)", median("hub", "p50_ms"), median("baseline", "p50_ms"), "ms"),
            Figure(f"{label}: p99 latency (ms)", median("hub", "p99_ms"), median("baseline", "p99_ms"), "ms"),
        ]

    def time_both(self, *, label: str, hub: Callable[[], object], baseline: Callable[[], object]) -> Figure:
        """A timing that is not HTTP load (rendering, parsing...): ``hub`` and ``baseline`` run in this process,
        alternately for ``options.rounds`` rounds; the figure is the median wall time of each, in ms."""
        times: dict[str, list[float]] = {"hub": [], "baseline": []}
        for round_no in range(self.options.rounds):
            for who in (["hub", "baseline"] if round_no % 2 == 0 else ["baseline", "hub"]):
                started = time.perf_counter()
                (hub if who == "hub" else baseline)()
                times[who].append((time.perf_counter() - started) * 1000)
                console.print(f"  round {round_no + 1}/{self.options.rounds} {who:8} {times[who][-1]:10,.1f} ms")
        return Figure(label, statistics.median(times["hub"]), statistics.median(times["baseline"]), "ms")


# --------------------------------------------------------------------------------------------- reporting


def describe_run(options: Options, meta: dict) -> list[str]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return [
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit or '?'}; "
        f"{os.cpu_count()} CPU(s), {platform.system()} {platform.machine()}, Python {platform.python_version()}; "
        f"{meta.get('postgres', '?')} and {meta.get('redis', '?')} on loopback.",
        f"Load: {options.concurrency} keep-alive HTTP/1.1 connections from one asyncio process (bench/load.py), "
        f"{options.warmup} warm-up requests then {options.max_seconds:g} s (at most {options.requests:,} requests) "
        f"per run; hub and baseline alternate for {options.rounds} round(s); each figure is the median of the rounds. "
        "Client, servers and database share the CPUs.",
        "Baseline: a bare FastAPI app on the same uvicorn options, answering the same bytes and content-type.",
        "Ratio is hub/baseline: below 1 for requests/s, above 1 for latency, means the hub is slower.",
    ]


def build_table(figures: list[Figure]) -> Table:
    table = Table(title="Hub vs bare FastAPI baseline")
    table.add_column("figure")
    table.add_column("hub", justify="right")
    table.add_column("baseline", justify="right")
    table.add_column("ratio (hub/baseline)", justify="right")
    for f in figures:
        table.add_row(f.label, f.show(f.hub), f.show(f.baseline), f"{f.ratio:.2f}")
    return table


def markdown(figures: list[Figure], context: list[str]) -> str:
    lines = ["| figure | hub | baseline | ratio (hub/baseline) |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {f.label} | {f.show(f.hub)} | {f.show(f.baseline)} | {f.ratio:.2f} |" for f in figures]
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {line}" for line in context) + "\n"


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="hub-bench-"))
