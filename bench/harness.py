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
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.table import Table

from bench.processes import (  # noqa: F401 - cases import these from the harness
    BIN,
    BenchError,
    Processes,
    _check_redis,
    _recreate_database,
    clean_env,
    console,
    database,
    free_port,
    log_tail,
    run_hub_cli,
    wait_until_ready,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
LOG_DIR = RESULTS_DIR / "logs"
BENCH_SECRET_KEY = "bench-only-secret-key-never-used-in-production-0123456789"



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
            plan[2].append({"code": county, "name": f"Bench county {c}.{k}", "level": "county",
                            "parent_code": f"BP-C{c}"})
            for g in range(7):
                plan[3].append({"code": f"{county}-G{g}", "name": f"Grid {c}.{k}.{g}", "level": "grid",
                                "parent_code": county})
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
    console.print(f"  database {options.database_url.rsplit('/', 1)[1]} recreated "
                  f"({meta['postgres']}, {meta['redis']})")
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
                       headers: dict[str, str] | None = None, workers: int = 1, method: str = "GET") -> str:
        """A bare FastAPI app in its own process(es) answering ``method`` ``path`` (a route template such as
        ``/c/{slug}`` is fine) with ``status``, ``headers`` and ``body``; returns its base URL."""
        body_file = self.workdir / f"{name}.body"
        body_file.write_bytes(body)
        port = free_port()
        extra = [arg for name_, value in (headers or {}).items() for arg in ("--header", f"{name_}: {value}")]
        proc, log_path = self.procs.start(
            f"baseline-{name}",
            [sys.executable, "-m", "bench.baseline", "--path", path, "--body-file", str(body_file),
             "--content-type", content_type, "--port", str(port), "--status", str(status),
             "--workers", str(workers), "--method", method, *extra],
            env=clean_env(PYTHONPATH=str(ROOT)), cwd=ROOT,
        )
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready(base_url + "/healthz", proc, log_path)
        check = httpx.request(method, base_url + path, timeout=5, trust_env=False)
        if (check.content != body or check.headers.get("content-type") != content_type or check.status_code != status
                or any(check.headers.get(k) != v for k, v in (headers or {}).items())):
            raise BenchError(f"the baseline for {path} does not answer the same status, headers and bytes as the hub")
        return base_url

    def start_hub_server(self, *, name: str, workers: int, env: dict[str, str] | None = None,
                         ) -> tuple[str, subprocess.Popen, Path]:
        """Another ``hub serve --workers N`` on the shared hub's database and Redis (``env`` adds settings);
        returns (base URL, process, log). Stop it with ``stop_gracefully`` to have its lifespan shutdown run."""
        port = free_port()
        proc, log_path = self.procs.start(
            name, [str(BIN / "hub"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            env={**self.hub.env, **(env or {})}, cwd=self.workdir,
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
                    f"  p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms"
                    f"  ({result.requests} in {result.seconds:.1f} s)"
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
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    return [
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit or '?'}; "
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
