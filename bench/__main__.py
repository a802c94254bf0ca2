"""``make bench`` (``.venv/bin/python -m bench``): every case in bench/cases/ against the hub on PostgreSQL
and Redis; one table on the terminal and in bench/results/latest.md (paste it into README).

Needs PostgreSQL and Redis on loopback: BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/hub_bench, dropped and re-created; its name must contain "bench") and
BENCH_REDIS_URL (default redis://127.0.0.1:6379/11).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time

from rich.console import Console

from bench import cases
from bench.harness import (
    RESULTS_DIR,
    Bench,
    BenchError,
    Options,
    Processes,
    build_table,
    console,
    describe_run,
    markdown,
    new_workdir,
    start_hub,
)
from bench.load import bounded


def parse_args(argv: list[str] | None) -> tuple[Options, argparse.Namespace]:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    parser.add_argument("--rounds", type=bounded(1, 10), default=defaults.rounds,
                        help="hub/baseline pairs of runs; figures are their medians (1-10, default %(default)s)")
    parser.add_argument("--max-seconds", type=bounded(0.5, 60, float), default=defaults.max_seconds,
                        help="length of one measured run (default %(default)s)")
    parser.add_argument("--requests", type=bounded(1, 1_000_000), default=defaults.requests,
                        help="cap on the measured requests of one run (default %(default)s)")
    parser.add_argument("--warmup", type=bounded(0, 100_000), default=defaults.warmup,
                        help="warm-up requests before each run (default %(default)s)")
    parser.add_argument("--concurrency", type=bounded(1, 256), default=defaults.concurrency,
                        help="connections of the load generator (1-256, default %(default)s)")
    args = parser.parse_args(argv)
    options = Options(
        database_url=os.environ.get("BENCH_DATABASE_URL", defaults.database_url),
        redis_url=os.environ.get("BENCH_REDIS_URL", defaults.redis_url),
        rounds=args.rounds, requests=args.requests, warmup=args.warmup,
        concurrency=args.concurrency, max_seconds=args.max_seconds,
    )
    return options, args


def _terminate(signum, frame):  # SIGTERM → the same clean-up as Ctrl-C
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    options, args = parse_args(argv)
    registered = cases.discover()
    if args.list:
        for c in registered.values():
            print(f"{c.name:20} {c.title}")
        return 0
    unknown = [name for name in args.cases if name not in registered]
    if unknown:
        console.print(f"[red]bench: no benchmark named {', '.join(unknown)} (try --list)[/]")
        return 2
    selected = [registered[name] for name in (args.cases or registered)]

    signal.signal(signal.SIGTERM, _terminate)
    started = time.perf_counter()
    procs = Processes()
    workdir = new_workdir()
    meta: dict = {}
    try:
        hub = start_hub(options, procs, workdir=workdir, meta=meta)
        bench = Bench(options=options, procs=procs, hub=hub, workdir=workdir)
        figures = []
        for c in selected:
            console.rule(f"[bold]{c.name}: {c.title}")
            figures += c.run(bench)
    except BenchError as exc:
        console.print(f"[bold red]bench failed:[/] {exc}")
        return 1
    except (KeyboardInterrupt, SystemExit):
        console.print("[yellow]bench: interrupted; stopping the servers[/]")
        raise
    finally:
        procs.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)

    context = bench.notes + describe_run(options, meta)
    out = Console() if sys.stdout.isatty() else Console(width=140)  # the table on stdout, progress on stderr
    out.print()
    out.print(build_table(figures))
    for line in context:
        out.print(f"  {line}", highlight=False)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    latest = RESULTS_DIR / "latest.md"
    latest.write_text(markdown(figures, context))
    out.print(f"\nWritten to {latest.relative_to(RESULTS_DIR.parent.parent)} in {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
