"""The load generator, run in its own process: ``python -m bench.load URL [options]``.

``--concurrency`` workers each keep one keep-alive HTTP/1.1 connection busy: a warm-up (not measured),
then ``--requests`` requests or ``--max-seconds``, whichever ends first. Every answer must have the
``--expect-status`` (200 by default; and, with ``--expect-sha256``, exactly the expected body), or it counts
as an error. ``--paths-file`` sends several paths in turn (each connection starts at a different one).
Prints one JSON object: requests, errors, first_error, seconds, rps, p50_ms, p99_ms, warmup_requests,
warmup_errors. Only loopback URLs are accepted.

Two clients: ``raw`` (default), a minimal asyncio HTTP/1.1 client, and ``httpx``. On a small machine
httpx spends over a millisecond of CPU per request, so it caps what can be measured well below what
a bare uvicorn answers (seen: ~700 req/s on 2 cores); the raw client costs a fraction of that, so the
figures describe the servers rather than the client. ``--client httpx`` is kept to cross-check.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# One request: returns (status, body); raises OSError/asyncio.IncompleteReadError/ValueError on failure.
Fetch = Callable[[], Awaitable[tuple[int, bytes]]]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]


def raw_request(method: str, target: str, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """One HTTP/1.1 request as bytes for ``RawConnection`` (a body gets its Content-Length)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class RawConnection:
    """One keep-alive HTTP/1.1 connection sending the same GET (or the same few GETs in turn) again and again,
    or whatever requests ``exchange`` is given."""

    def __init__(self, host: str, port: int, request: bytes | list[bytes] = b"", start: int = 0) -> None:
        self.host, self.port = host, port
        self.requests = request if isinstance(request, list) else [request]
        self.next = start % len(self.requests)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def fetch(self) -> tuple[int, bytes]:
        request = self.requests[self.next]
        self.next = (self.next + 1) % len(self.requests)
        return await self.exchange(request)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one whole request (head and body) and read its answer: status and body."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        try:
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            if "content-length" in headers:
                body = await self.reader.readexactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                body = await self._chunked()
            else:
                raise ValueError("answer without Content-Length or chunked encoding")
            if headers.get("connection", "").lower() == "close":
                await self.close()
            return status, body
        except BaseException:
            await self.close()
            raise

    async def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = self.reader = None


async def phase(
    fetchers: list[Fetch], *, count: int, deadline: float, expect_sha256: str | None, latencies: list[float] | None,
    expect_status: int = 200,
) -> tuple[int, int, str | None]:
    """Send ``count`` requests over the fetchers (one worker each); returns (done, errors, first error)."""
    remaining = count
    done = errors = 0
    first_error: str | None = None

    async def worker(fetch: Fetch) -> None:
        nonlocal remaining, done, errors, first_error
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            started = time.perf_counter()
            problem = None
            try:
                status, body = await asyncio.wait_for(fetch(), 10)
                if status != expect_status:
                    problem = f"HTTP {status}: {body[:200]!r}"
                elif expect_sha256 and hashlib.sha256(body).hexdigest() != expect_sha256:
                    problem = f"body differs from the expected one ({len(body)} bytes)"
            except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                problem = repr(exc)
            except Exception as exc:  # httpx errors, when that client is used
                if type(exc).__module__.split(".")[0] != "httpx":
                    raise
                problem = repr(exc)
            elapsed = time.perf_counter() - started
            done += 1
            if problem:
                errors += 1
                first_error = first_error or problem
            elif latencies is not None:
                latencies.append(elapsed)

    await asyncio.gather(*(worker(f) for f in fetchers))
    return done, errors, first_error


async def run(args: argparse.Namespace) -> dict:
    parts = urlsplit(args.url)
    headers = json.loads(os.environ.get("BENCH_HEADERS", "{}"))  # keeps keys off the command line
    for header in args.header:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    closers = []
    targets = [parts.path + (f"?{parts.query}" if parts.query else "")]
    if args.paths_file:
        targets = [line.strip() for line in args.paths_file.read_text().splitlines() if line.strip()]
    if args.client == "raw":
        requests = []
        for target in targets:
            agent = {} if any(k.lower() == "user-agent" for k in headers) else {"User-Agent": "hub-bench"}
            requests.append(raw_request("GET", target, parts.netloc, {"Accept": "*/*", **agent, **headers}))
        spread = max(1, len(requests) // args.concurrency)  # connections start at different paths
        connections = [RawConnection(parts.hostname, parts.port or 80, requests, start=i * spread)
                       for i in range(args.concurrency)]
        fetchers: list[Fetch] = [c.fetch for c in connections]
        closers = [c.close for c in connections]
    else:
        import httpx

        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        client = httpx.AsyncClient(headers=headers, limits=limits, timeout=10, trust_env=False)
        base = f"{parts.scheme}://{parts.netloc}"
        turn = iter(range(10**12))

        async def fetch() -> tuple[int, bytes]:
            response = await client.get(base + targets[next(turn) % len(targets)])
            return response.status_code, response.content

        fetchers = [fetch] * args.concurrency
        closers = [client.aclose]
    try:
        warmup_done, warmup_errors, _ = await phase(
            fetchers, count=args.warmup, deadline=time.perf_counter() + args.max_seconds,
            expect_sha256=args.expect_sha256, latencies=None, expect_status=args.expect_status)
        latencies: list[float] = []
        started = time.perf_counter()
        done, errors, first_error = await phase(
            fetchers, count=args.requests, deadline=started + args.max_seconds,
            expect_sha256=args.expect_sha256, latencies=latencies, expect_status=args.expect_status,
        )
        seconds = time.perf_counter() - started
    finally:
        for close in closers:
            await close()
    latencies.sort()
    return {
        "requests": done,
        "errors": errors,
        "first_error": first_error,
        "seconds": round(seconds, 4),
        "rps": (done - errors) / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "warmup_requests": warmup_done,
        "warmup_errors": warmup_errors,
    }


def bounded(low: float, high: float, kind=int):
    def parse(text: str):
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--header", action="append", default=[],
                        help="'Name: value', repeatable (or a JSON object in BENCH_HEADERS, kept out of ps)")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--concurrency", type=bounded(1, 256), default=16)
    parser.add_argument("--warmup", type=bounded(0, 100_000), default=300)
    parser.add_argument("--requests", type=bounded(1, 1_000_000), default=3000)
    parser.add_argument("--max-seconds", type=bounded(0.1, 300, float), default=15.0)
    parser.add_argument("--expect-sha256", help="every 200 body must have this SHA-256, else it is an error")
    parser.add_argument("--expect-status", type=bounded(100, 599), default=200,
                        help="the status every answer must have (default %(default)s; 302 for redirects)")
    parser.add_argument("--paths-file", type=Path,
                        help="paths (with query) to send in turn, one per line, on the URL's host and port")
    args = parser.parse_args(argv)
    parts = urlsplit(args.url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        parser.error("only http:// URLs on loopback (127.0.0.1, localhost, ::1) are allowed")
    extra = json.loads(os.environ.get("BENCH_HEADERS", "{}"))
    if any("\r" in h or "\n" in h for h in [*args.header, *extra, *extra.values()]):
        parser.error("a header may not contain a line break")
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # plain asyncio is fine, only slower
        pass
    print(json.dumps(asyncio.run(run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
