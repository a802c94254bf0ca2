"""The in-process job runner, used when HUB_REDIS_URL is unset (laptop, demo, the SQLite default).

Same registry and retry rule as arq. Jobs live in memory: a crash loses queued jobs, which is why
anything that must survive goes through the outbox, whose sweeper re-enqueues what was lost.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub import clock
from hub.jobs.registry import JOBS_BY_NAME, LANES, PERIODIC, PeriodicSpec, record_outcome
from hub.settings import Settings

log = logging.getLogger("hub.jobs")


class InProcessQueue:
    def __init__(self, settings: Settings, *, concurrency: int = 8, run_periodic: bool = True) -> None:
        self.settings = settings
        self._slots = {lane: asyncio.Semaphore(concurrency) for lane in LANES}
        self._tasks: set[asyncio.Task] = set()
        self._job_ids: set[str] = set()
        self._periodic: list[asyncio.Task] = []
        self._run_periodic = run_periodic

    async def start(self) -> None:
        if self._run_periodic:
            self._periodic = [asyncio.create_task(self._every(spec)) for spec in PERIODIC.values()]

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None, defer_seconds: float = 0) -> bool:
        """Queue a job; False when a job with the same id is already queued or running."""
        spec = JOBS_BY_NAME[name]
        if job_id is not None:
            if job_id in self._job_ids:
                return False
            self._job_ids.add(job_id)
        task = asyncio.create_task(self._run(spec, args, job_id, defer_seconds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, spec, args, job_id, defer_seconds) -> None:
        try:
            if defer_seconds:
                await asyncio.sleep(defer_seconds)
            job_try = 1
            while True:
                ctx = {"settings": self.settings, "job_try": job_try, "job_id": job_id,
                       "enqueue_time": clock.now(), "queue": self}
                async with self._slots[spec.lane]:
                    try:
                        await asyncio.wait_for(spec.func(ctx, *args), spec.timeout_seconds)
                        error = None
                    except Exception as exc:  # the retry rule decides; nothing escapes the runner
                        error = exc
                delay = record_outcome(spec, job_try, error)
                if delay is None:
                    return
                await asyncio.sleep(delay)
                job_try += 1
        finally:
            if job_id is not None:
                self._job_ids.discard(job_id)

    async def _every(self, spec: PeriodicSpec) -> None:
        while True:
            await asyncio.sleep(spec.every_seconds)
            try:
                await spec.func({"settings": self.settings, "job_try": 1, "queue": self})
            except Exception:
                log.exception("periodic job %s failed", spec.name)

    async def drain(self, timeout: float = 30) -> None:
        """Wait until every queued job (and the jobs they queue) has finished."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._tasks)} jobs still running")
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def close(self, timeout: float = 10) -> None:
        """Graceful stop: periodic loops end, running jobs get ``timeout`` seconds to finish."""
        for task in self._periodic:
            task.cancel()
        try:
            await self.drain(timeout)
        except TimeoutError:
            log.warning("stopping with %d in-process jobs unfinished; the outbox sweeper retries them",
                        len(self._tasks))
            for task in list(self._tasks):
                task.cancel()
