"""Code jobs: batch generation, and the hourly clean-up of old batch folders.

``codes_batch`` is idempotent: a second run (a retry, a re-queued stalled batch) finds the codes by
their batch keys and writes the same ZIP again.
"""

from __future__ import annotations

import logging
import shutil
import time

from hub.codes import batch
from hub.codes.batch import BatchState, BatchStatus
from hub.database import transaction
from hub.jobs import enqueue, job, periodic

log = logging.getLogger("hub.codes.jobs")

MAX_TRIES = 3
KEEP_SECONDS = 7 * 24 * 3600  # finished batches are downloaded within days; the codes themselves stay
PROGRESS_EVERY_SECONDS = 0.2


async def start_batch(state: BatchState) -> bool:
    """Queue the batch's job; the job id keeps a batch from running twice at once."""
    return await enqueue("codes_batch", state.id, job_id=f"codes_batch:{state.id}")


@job(max_tries=MAX_TRIES, timeout_seconds=3600)
async def codes_batch(ctx: dict, batch_id: str) -> str:
    state = batch.load_state(batch_id)
    if state is None:
        log.warning("batch %s has no state file (pruned?): nothing to do", batch_id)
        return "missing"
    if state.status == BatchStatus.DONE and batch.zip_path(batch_id).exists():
        return "done"
    state.status, state.error = BatchStatus.RUNNING, ""
    batch.save_state(state)
    try:
        stores = await batch.scope_stores(store_id=state.store_id, region_id=state.region_id)
        async with transaction():
            prepared = await batch.prepare(per=state.per, stores=stores, created_by_id=state.requested_by)
        state.created += prepared.created  # across tries: codes this batch made, wherever it stopped before
        state.reused = len(prepared.items) - state.created
        state.skipped_inactive, state.total, state.done = prepared.skipped_inactive, len(prepared.items), 0
        batch.save_state(state)
        last_write = time.monotonic()

        def progress(done: int, total: int) -> None:
            nonlocal last_write
            state.done = done
            if time.monotonic() - last_write >= PROGRESS_EVERY_SECONDS:
                batch.save_state(state)
                last_write = time.monotonic()

        await batch.write_zip(prepared.items, out=batch.zip_path(batch_id), on_progress=progress)
    except Exception:
        log.exception("batch %s failed on try %d", batch_id, ctx["job_try"])
        final = ctx["job_try"] >= MAX_TRIES
        state.status = BatchStatus.FAILED if final else BatchStatus.QUEUED
        state.error = f"try {ctx['job_try']} of {MAX_TRIES} failed" + ("" if final else "; retrying")
        batch.save_state(state)
        raise  # the job runner's retry rule takes it from here
    state.status, state.done = BatchStatus.DONE, state.total
    batch.save_state(state)
    return "done"


@periodic(every_seconds=3600)
async def codes_batch_prune(ctx: dict) -> int:
    """Remove batch folders untouched for ``KEEP_SECONDS``."""
    removed = 0
    root = batch.batches_dir()
    for folder in root.iterdir() if root.is_dir() else []:
        state_file = folder / "state.json"
        touched = state_file.stat().st_mtime if state_file.exists() else folder.stat().st_mtime
        if time.time() - touched > KEEP_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
