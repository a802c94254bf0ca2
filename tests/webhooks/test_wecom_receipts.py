"""Processing stored receipts: the claim, retries until failed, the sweeper, and ``hub webhooks``."""

from __future__ import annotations

import asyncio
import os
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from hub import jobs
from hub.database import transaction
from hub.settings import get_settings
from webhooks.models import ReceiptStatus, WebhookReceipt
from webhooks.wecom import service

FIELDS = {"FromUserName": "sys", "CreateTime": "1750000000", "MsgType": "event", "Event": "change_external_contact",
          "ChangeType": "edit_external_contact", "UserID": "zhangsan", "ExternalUserID": "wmAAA"}


async def make_receipt(*, ago: timedelta = timedelta(0), payload=None, key: str = "k1", **state) -> WebhookReceipt:
    """A receipt written straight to the table, as if its job had been lost (nothing is enqueued)."""
    return await WebhookReceipt.create(
        source="wecom", dedup_key=key, kind="change_external_contact/edit_external_contact",
        payload=FIELDS if payload is None else payload, received_at=datetime.now(UTC) - ago, **state,
    )


def hub(*args: str) -> subprocess.CompletedProcess:
    # os.environ points HUB_DATABASE_URL at the test database; a wide terminal keeps the table whole.
    return subprocess.run([".venv/bin/hub", "webhooks", *args], env={**os.environ, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=60)


class TestStoreReceipt:
    async def test_new_receipt_is_processed_after_its_commit(self, queue):
        # On PostgreSQL a job enqueued before the commit would not see the row and would skip it.
        async with transaction():
            receipt, created = await service.store_receipt(fields=FIELDS)
        assert created and receipt.status == ReceiptStatus.PENDING and receipt.deliveries == 1
        await queue.drain()
        assert (await WebhookReceipt.get(id=receipt.id)).status == ReceiptStatus.DONE

    async def test_receipt_outside_a_transaction_is_refused(self):
        with pytest.raises(RuntimeError, match="transaction"):
            await service.store_receipt(fields=FIELDS)
        assert await WebhookReceipt.all().count() == 0

    async def test_repeat_counts_a_delivery_and_enqueues_nothing(self, queue):
        async with transaction():
            first, _ = await service.store_receipt(fields=FIELDS)
        await queue.drain()
        async with transaction():
            again, created = await service.store_receipt(fields=dict(FIELDS))
        assert not created and again.id == first.id and again.deliveries == 2
        await queue.drain()
        assert (await WebhookReceipt.get(id=first.id)).attempts == 1


class TestProcessing:
    async def test_concurrent_jobs_for_one_receipt_run_it_once(self):
        receipt = await make_receipt()
        results = await asyncio.gather(*(service.process_receipt(receipt_id=receipt.id) for _ in range(3)))
        assert results.count("skipped") == 2
        await receipt.refresh_from_db()
        assert receipt.status == ReceiptStatus.DONE and receipt.attempts == 1
        assert receipt.outcome == next(r for r in results if r != "skipped")[:255]

    async def test_a_receipt_handle_cannot_apply_is_retried_then_failed(self, queue):
        # A payload that is not a dict of fields makes handle() raise: a real failure, no mock.
        receipt = await make_receipt(payload=["not", "fields"])
        await jobs.enqueue(service.PROCESS_JOB, receipt.id)
        await queue.drain()
        await receipt.refresh_from_db()
        assert receipt.status == ReceiptStatus.FAILED and receipt.attempts == service.MAX_ATTEMPTS
        assert receipt.outcome.startswith("error: AttributeError") and receipt.processed_at is None
        assert receipt.lease_until is None

    async def test_done_and_failed_receipts_are_not_claimed(self):
        done = await make_receipt(key="a", status=ReceiptStatus.DONE, attempts=1)
        failed = await make_receipt(key="b", status=ReceiptStatus.FAILED, attempts=5)
        assert await service.process_receipt(receipt_id=done.id) == "skipped"
        assert await service.process_receipt(receipt_id=failed.id) == "skipped"
        assert [r.attempts for r in await WebhookReceipt.all().order_by("id")] == [1, 5]


class TestSweeper:
    async def test_pending_receipt_whose_job_was_lost_is_processed(self, queue):
        lost = await make_receipt(ago=timedelta(minutes=1))
        assert await service.sweep() == 1
        await queue.drain()
        await lost.refresh_from_db()
        assert lost.status == ReceiptStatus.DONE and lost.attempts == 1

    async def test_fresh_pending_receipt_is_left_to_its_own_job(self, queue):
        await make_receipt()
        assert await service.sweep() == 0

    async def test_expired_lease_is_taken_back_or_failed_after_the_last_try(self, queue):
        now = datetime.now(UTC)
        crashed = await make_receipt(key="a", ago=timedelta(minutes=5), status=ReceiptStatus.PROCESSING, attempts=1,
                                     lease_until=now - timedelta(seconds=1))
        running = await make_receipt(key="b", ago=timedelta(minutes=1), status=ReceiptStatus.PROCESSING, attempts=1,
                                     lease_until=now + timedelta(minutes=1))
        hopeless = await make_receipt(key="c", ago=timedelta(minutes=9), status=ReceiptStatus.PROCESSING,
                                      attempts=service.MAX_ATTEMPTS, lease_until=now - timedelta(seconds=1))
        assert await service.sweep() == 1
        await queue.drain()
        await crashed.refresh_from_db()
        await running.refresh_from_db()
        await hopeless.refresh_from_db()
        assert crashed.status == ReceiptStatus.DONE and crashed.attempts == 2
        assert running.status == ReceiptStatus.PROCESSING and running.attempts == 1
        assert hopeless.status == ReceiptStatus.FAILED and "did not finish" in hopeless.outcome

    async def test_a_lapsed_lease_is_processed_at_once_however_fresh_the_receipt(self, queue):
        # Its worker died seconds after the callback arrived: the welcome code has 20 s, no waiting STALE_AFTER.
        now = datetime.now(UTC)
        dropped = await make_receipt(ago=timedelta(seconds=2), status=ReceiptStatus.PROCESSING, attempts=1,
                                     lease_until=now - timedelta(milliseconds=1))
        assert await service.sweep() == 1
        await queue.drain()
        await dropped.refresh_from_db()
        assert dropped.status == ReceiptStatus.DONE and dropped.attempts == 2

    async def test_a_claim_holds_a_short_lease_not_the_try_timeout(self):
        receipt = await make_receipt()
        claimed = await service.claim(receipt_id=receipt.id)
        left = claimed.lease_until - datetime.now(UTC)
        assert claimed.status == ReceiptStatus.PROCESSING and left <= timedelta(seconds=get_settings().lease_seconds)
        assert get_settings().lease_seconds < service.TRY_TIMEOUT_SECONDS

    async def test_sweeper_is_registered_as_periodic_and_processing_on_the_urgent_lane(self):
        from hub.jobs.registry import JOBS_BY_NAME, PERIODIC, URGENT_LANE

        assert JOBS_BY_NAME[service.PROCESS_JOB].lane == URGENT_LANE
        assert JOBS_BY_NAME[service.PROCESS_JOB].max_tries == service.MAX_ATTEMPTS
        assert "wecom_sweep_receipts" in PERIODIC


class TestCli:
    async def test_failed_receipts_are_replayed(self):
        failed = await make_receipt(key="a", status=ReceiptStatus.FAILED, attempts=5, outcome="error: boom")
        done = await make_receipt(key="b", status=ReceiptStatus.DONE, attempts=1, outcome="ok")
        result = hub("replay", "--failed")
        assert result.returncode == 0, result.stderr
        assert f"Replayed 1 receipt(s): {failed.id}" in result.stdout
        await failed.refresh_from_db()
        await done.refresh_from_db()
        # The CLI drains its queue before exiting: the replayed receipt was processed with fresh tries.
        assert failed.status == ReceiptStatus.DONE and failed.attempts == 1 and failed.processed_at is not None
        assert done.outcome == "ok" and done.attempts == 1

    async def test_one_receipt_is_replayed_by_id(self):
        done = await make_receipt(status=ReceiptStatus.DONE, attempts=1, outcome="before the fix")
        result = hub("replay", "--id", str(done.id))
        assert result.returncode == 0, result.stderr
        await done.refresh_from_db()
        assert done.status == ReceiptStatus.DONE and done.outcome != "before the fix"

    async def test_replay_refuses_unknown_ids_and_needs_exactly_one_choice(self):
        pending = await make_receipt()
        missing = hub("replay", "--id", str(pending.id))  # pending: its job will run it
        assert missing.returncode == 2 and f"No failed or done WeCom receipt {pending.id}" in missing.stderr
        assert hub("replay").returncode == 2
        assert hub("replay", "--failed", "--id", "1").returncode == 2

    async def test_status_counts_receipts_and_ages_the_oldest_pending(self):
        await make_receipt(key="a", ago=timedelta(minutes=10))
        await make_receipt(key="b", ago=timedelta(minutes=1))
        await make_receipt(key="c", status=ReceiptStatus.FAILED, attempts=5)
        result = hub("status")
        assert result.returncode == 0, result.stderr
        lines = {line.split("│")[2].strip(): line for line in result.stdout.splitlines() if "wecom" in line}
        assert set(lines) == {"pending", "failed"}
        assert "│ 2 " in lines["pending"] and "│ 1 " in lines["failed"]
        age = int(lines["pending"].split("│")[4].strip().rstrip("s"))
        assert 600 <= age < 700
