"""The scan buffer: the redirect appends a scan in memory and never waits on the database; a background
task writes batches (``hub.links.service.write_scans``, one transaction per batch).

When scans are written: every ``HUB_SCAN_FLUSH_SECONDS`` (0.5 s), or at once when
``HUB_SCAN_BUFFER_MAX`` (2,000) are waiting; a batch is at most that many scans.

What a stop can lose:
- graceful stop (``lifecycle.stop()``, i.e. SIGTERM to ``hub serve``): nothing. Everything buffered is
  written; what cannot be written (database down) is spilled to ``var/scan-spill/`` and written on the
  next start.
- crash (SIGKILL, power): the scans not yet written: those of the last flush interval plus the batch
  being committed, i.e. about 2 × 0.5 s of scans (at most 2 × HUB_SCAN_BUFFER_MAX while the database keeps
  up with the traffic). During a database outage failed batches are kept in memory and retried with
  backoff (0.5 s doubling to 30 s); memory is capped at ``HARD_CAP_FACTOR`` × HUB_SCAN_BUFFER_MAX scans
  (20,000 by default), beyond which the oldest batches are spilled to disk, so an outage crash loses at
  most that cap.
A spilled file is claimed by renaming, replayed in one transaction, then deleted: a crash between the
commit and the delete replays it once more (at most one batch of duplicates). A spilled batch that fails
while the database answers is bad data: it is renamed ``*.rejected`` and logged as an
error, kept for an operator, never dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from prometheus_client import Counter, Gauge

from hub import clock as hub_clock
from hub import database
from hub.database import transaction
from hub.links.service import ScanRow, write_scans
from hub.links.visitors import anonymise_ip, printable, referrer

log = logging.getLogger("hub.links.scans")

HARD_CAP_FACTOR = 10
PREPARE_SLICE = 250
BACKOFF, BACKOFF_MAX = 0.5, 30.0
WRITTEN = Counter("hub_scan_events_written_total", "Scan events written to the database")
FAILED = Counter("hub_scan_batches_failed_total", "Scan batch writes that failed (and will be retried)")
SPILLED = Counter("hub_scan_events_spilled_total", "Scan events spilled to disk while the database failed")
WAITING = Gauge("hub_scan_events_waiting", "Scan events in memory, not yet written")


def prepare(record: tuple) -> ScanRow:
    """A redirect's raw record as a row to store: the IP anonymised, the referrer cut, props as JSON."""
    at, entry, slug, visitor_id, ua, qr, ip, referer, refused, raw_ua = record
    props = _PROPS.get((qr, ua.ua_class, ua.in_app))
    if props is None:
        props = _PROPS[(qr, ua.ua_class, ua.in_app)] = (
            f'{{"source":"{"qr" if qr else "link"}","ua_class":"{ua.ua_class}","in_app":"{ua.in_app}","ip_anon":"')
    props += anonymise_ip(ip) + '"'
    ref = referrer(referer) if referer else None
    if ref:
        props += ',"referrer":' + json.dumps(ref, ensure_ascii=False)
    if ua.bot:
        props += ',"bot":' + json.dumps(ua.bot) + ',"ua":' + json.dumps(printable(raw_ua.decode("latin-1"))[:200])
    if refused:
        props += ',"refused":"' + refused + '"'
    if entry is None:
        slug = printable(slug)[:64]
        props += ',"slug":' + json.dumps(slug, ensure_ascii=False) + "}"
        return ScanRow(at, None, None, None, None, None, "", slug, visitor_id, False, ua.bot is not None, qr,
                       ua.in_app, props)
    redirected = refused is None
    return ScanRow(at, entry.id, entry.store_id, entry.staff_id, entry.product_id, entry.campaign_id, entry.channel,
                   entry.slug, visitor_id, redirected and ua.bot is None, redirected and ua.bot is not None, qr,
                   ua.in_app, props + "}")


_PROPS: dict[tuple, str] = {}  # the constant start of props per (qr, ua_class, in_app)


class ScanBuffer:
    def __init__(self, *, max_events: int = 2000, flush_seconds: float = 0.5, spill_dir: Path | None = None,
                 clock: Callable[[], float] = hub_clock.unix) -> None:
        self.configure(max_events=max_events, flush_seconds=flush_seconds, spill_dir=spill_dir, clock=clock)
        self.pending: list[tuple] = []  # raw records from the redirect
        self.batches: deque[list[ScanRow]] = deque()  # prepared, waiting or failed, oldest first
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._failures = 0
        self._retry_at = 0.0
        self._spilled = False

    def configure(self, *, max_events: int, flush_seconds: float, spill_dir: Path | None,
                  clock: Callable[[], float]) -> None:
        self.max_events, self.flush_seconds, self.spill_dir, self.clock = max_events, flush_seconds, spill_dir, clock
        self.hard_cap = HARD_CAP_FACTOR * max_events

    def add(self, record: tuple) -> None:
        """Called by the redirect: append, and wake the writer when a batch is full."""
        self.pending.append(record)
        if len(self.pending) >= self.max_events:
            self._wake.set()

    def waiting(self) -> int:
        return len(self.pending) + sum(len(b) for b in self.batches)

    # --- the background writer ------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._wake, self._lock = asyncio.Event(), asyncio.Lock()  # bound to the running loop
        self._task = asyncio.create_task(self._run(), name="scan-writer")

    async def _run(self) -> None:
        async with self._lock:
            await self.replay_spilled(all_processes=True)
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), self.flush_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                if loop.time() >= self._retry_at:
                    await self.flush()
                else:  # backing off: only keep memory bounded
                    async with self._lock:
                        await self._cut()
                        self._cap_memory()
            except Exception:  # never let the writer die; the next round tries again
                log.exception("scan writer round failed")

    async def stop(self) -> None:
        """Graceful stop: write everything; what cannot be written is spilled to disk."""
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            await self._task
            self._task = None
        for attempt in range(3):
            if await self.flush():
                return
            await asyncio.sleep(BACKOFF * 2**attempt)
        async with self._lock:
            await self._cut()
            while self.batches and self._spill(self.batches[0]):
                self.batches.popleft()
            if self.batches:
                log.error("%d scans could not be written nor spilled and are lost with this process", self.waiting())

    async def flush(self) -> bool:
        """Write what is waiting, oldest first; False when a batch failed (it stays, to be retried)."""
        async with self._lock:  # the writer task and stop() (or a test) never write the same batch twice
            return await self._flush()

    async def _flush(self) -> bool:
        await self._cut()
        while self.batches:
            batch = self.batches[0]
            try:
                await self._write(batch)
            except Exception as exc:
                self._failed(len(batch), exc)
                self._cap_memory()
                return False
            self.batches.popleft()
            self._failures = 0
            WAITING.set(self.waiting())
        if self._spilled:
            await self.replay_spilled()
        return True

    def _failed(self, size: int, exc: Exception) -> None:
        self._failures += 1
        delay = min(BACKOFF * 2 ** (self._failures - 1), BACKOFF_MAX)
        self._retry_at = asyncio.get_running_loop().time() + delay
        FAILED.inc()
        log.warning("scan batch of %d failed (%r); %d waiting, retry in %.1f s", size, exc, self.waiting(), delay)

    async def _write(self, rows: list[ScanRow]) -> None:
        async with transaction():
            await write_scans(rows=rows)
        WRITTEN.inc(len(rows))

    async def _cut(self) -> None:
        """Move the redirect's records into prepared batches of at most ``max_events``, letting requests
        run every ``PREPARE_SLICE`` records (preparing 2,000 scans takes ~10 ms of CPU)."""
        records, self.pending = self.pending, []
        for start in range(0, len(records), self.max_events):
            batch: list[ScanRow] = []
            for first in range(start, min(start + self.max_events, len(records)), PREPARE_SLICE):
                batch += [prepare(r) for r in records[first : min(first + PREPARE_SLICE, start + self.max_events)]]
                await asyncio.sleep(0)
            self.batches.append(batch)
        WAITING.set(self.waiting())

    def _cap_memory(self) -> None:
        while self.batches and self.waiting() > self.hard_cap and self._spill(self.batches[0]):
            self.batches.popleft()

    # --- spilling to disk -----------------------------------------------------------------------

    def _spill(self, rows: list[ScanRow]) -> bool:
        """Write a batch to a file; False (the batch stays in memory) when there is nowhere to write it."""
        if self.spill_dir is None:
            log.error("no scan spill directory: keeping %d scans in memory", len(rows))
            return False
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        name = f"scans-{time.time_ns()}-{os.getpid()}.jsonl"
        temporary = self.spill_dir / (name + ".tmp")
        try:
            with open(temporary, "w", encoding="utf-8") as out:
                for r in rows:
                    out.write(json.dumps(r, ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
            temporary.rename(self.spill_dir / name)
        except OSError:
            log.exception("could not spill %d scans; keeping them in memory", len(rows))
            return False
        self._spilled = True
        SPILLED.inc(len(rows))
        log.warning("spilled %d scans to %s", len(rows), self.spill_dir / name)
        return True

    async def replay_spilled(self, *, all_processes: bool = False) -> None:
        """Write spilled files (this process's, or on start every dead process's too)."""
        if self.spill_dir is None or not self.spill_dir.is_dir():
            self._spilled = False
            return
        if all_processes:
            _release_orphaned_claims(self.spill_dir)
        for path in sorted(self.spill_dir.glob("scans-*.jsonl")):
            claimed = path.with_name(f"{path.name}.{os.getpid()}.claimed")
            try:
                path.rename(claimed)
            except OSError:
                continue  # another process took it
            rows = [_row(line) for line in claimed.read_text(encoding="utf-8").splitlines() if line]
            try:
                await self._write(rows)
            except Exception as exc:
                if await _database_answers():  # the database works: this file's data is at fault
                    claimed.rename(path.with_name(path.name + ".rejected"))
                    log.error("spilled scans in %s cannot be written (%r): kept as .rejected", path, exc)
                    continue
                claimed.rename(path)
                self._failed(len(rows), exc)
                self._spilled = True
                return
            claimed.unlink()
            log.info("replayed %d spilled scans from %s", len(rows), path.name)
        self._spilled = False


async def _database_answers() -> bool:
    try:
        await asyncio.wait_for(database.ping(), 5)
        return True
    except Exception:
        return False


def _row(line: str) -> ScanRow:
    return ScanRow(*json.loads(line))


def _release_orphaned_claims(spill_dir: Path) -> None:
    """Files claimed by a process that died mid-replay go back to the queue."""
    for path in spill_dir.glob("scans-*.jsonl.*.claimed"):
        pid = int(path.name.split(".")[-2])
        try:
            os.kill(pid, 0)
            continue  # still running: its claim stands
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        path.rename(spill_dir / path.name.rsplit(".", 2)[0])


BUFFER = ScanBuffer()
