import pytest

from coupons.batches import service as batches
from coupons.batches.service import BatchWrongStatus, OwnBatchApprovalForbidden, StaleQuantity
from coupons.models import BatchKind, BatchStatus, CouponBatch
from hub.auth.models import Role
from hub.auth.service import create_key
from hub.database import transaction
from hub.errors import InvalidInput
from tests.coupons.helpers import DAY, NOW, claim, make_batch, make_customer


async def _draft(**values):
    author, _ = await create_key(role=Role.OPS)
    values = {"name": "满50减10", "kind": BatchKind.THRESHOLD, "face_value_fen": 1000, "min_spend_fen": 5000,
              "total_quantity": 10, "valid_days": 30, **values}
    async with transaction():
        return await batches.create_batch(created_by_id=author.id, **values), author


class TestDrafting:
    @pytest.mark.parametrize(("values", "field"), [
        ({"kind": BatchKind.DISCOUNT, "face_value_fen": 0}, "discount_percent"),
        ({"kind": BatchKind.CASH, "discount_percent": 10}, "discount_percent"),
        ({"kind": BatchKind.CASH, "face_value_fen": 0}, "face_value_fen"),
        ({"min_spend_fen": 1000}, "min_spend_fen"),
        ({"valid_days": None}, "valid_days"),
        ({"valid_from": NOW}, "valid_days"),
        ({"valid_days": None, "valid_from": NOW, "valid_until": NOW - DAY}, "valid_until"),
        ({"budget_fen": 9999}, "total_quantity"),
        ({"campaign_id": 999}, "campaign_id"),
    ])
    async def test_inconsistent_rules_are_refused_naming_the_field(self, values, field):
        with pytest.raises(InvalidInput) as refused:
            await _draft(**values)
        assert refused.value.errors[0].field == field
        assert await CouponBatch.all().count() == 0

    async def test_a_batch_within_its_budget_is_a_draft(self):
        batch, author = await _draft(budget_fen=10_000)
        assert (batch.status, batch.created_by_id, batch.issued_count) == (BatchStatus.DRAFT, author.id, 0)


class TestApproval:
    async def test_the_author_cannot_approve_their_own_batch(self):
        batch, author = await _draft()
        with pytest.raises(OwnBatchApprovalForbidden):
            async with transaction():
                await batches.approve_batch(batch_id=batch.id, approver_id=author.id)
        assert (await CouponBatch.get(id=batch.id)).status == BatchStatus.DRAFT

    async def test_another_key_approves_then_activates_pauses_resumes_and_ends(self):
        batch, _ = await _draft()
        approver, _ = await create_key(role=Role.OPS)
        async with transaction():
            approved = await batches.approve_batch(batch_id=batch.id, approver_id=approver.id)
        assert (approved.status, approved.approved_by_id) == (BatchStatus.APPROVED, approver.id)
        steps = [batches.activate_batch, batches.pause_batch, batches.resume_batch, batches.end_batch]
        seen = []
        for step in steps:
            async with transaction():
                seen.append((await step(batch_id=batch.id)).status)
        assert seen == [BatchStatus.ACTIVE, BatchStatus.PAUSED, BatchStatus.ACTIVE, BatchStatus.ENDED]
        assert (await CouponBatch.get(id=batch.id)).version == 6

    @pytest.mark.parametrize(("status", "step"), [
        (BatchStatus.DRAFT, batches.activate_batch), (BatchStatus.ACTIVE, batches.resume_batch),
        (BatchStatus.APPROVED, batches.pause_batch), (BatchStatus.ENDED, batches.end_batch),
    ])
    async def test_a_transition_from_the_wrong_status_is_a_conflict(self, status, step):
        batch = await make_batch(status=status)
        with pytest.raises(BatchWrongStatus):
            await step(batch_id=batch.id)
        assert (await CouponBatch.get(id=batch.id)).status == status


class TestQuantity:
    async def test_a_change_based_on_the_current_value_applies(self):
        batch = await make_batch(total_quantity=100)
        changed = await batches.set_quantity(batch_id=batch.id, expected=100, quantity=150)
        assert (changed.total_quantity, changed.version) == (150, 2)

    async def test_a_change_based_on_a_stale_value_is_refused_and_changes_nothing(self):
        batch = await make_batch(total_quantity=100)
        await batches.set_quantity(batch_id=batch.id, expected=100, quantity=150)
        with pytest.raises(StaleQuantity):
            await batches.set_quantity(batch_id=batch.id, expected=100, quantity=80)
        assert (await CouponBatch.get(id=batch.id)).total_quantity == 150

    async def test_the_stock_cannot_drop_below_what_was_issued(self):
        batch = await make_batch(total_quantity=5, per_customer_limit=5)
        customer = await make_customer()
        for _ in range(3):
            await claim(batch, customer)
        with pytest.raises(InvalidInput) as refused:
            await batches.set_quantity(batch_id=batch.id, expected=5, quantity=2)
        assert refused.value.errors[0].field == "total_quantity"
        assert (await batches.set_quantity(batch_id=batch.id, expected=5, quantity=3)).total_quantity == 3

    async def test_the_stock_cannot_outgrow_the_budget(self):
        batch = await make_batch(total_quantity=10, face_value_fen=500, budget_fen=5000)
        with pytest.raises(InvalidInput):
            await batches.set_quantity(batch_id=batch.id, expected=10, quantity=11)
