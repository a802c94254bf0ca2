import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hub import clock
from hub.auth.models import Role
from hub.auth.service import create_key
from hub.campaigns import service
from hub.campaigns.models import Campaign, CampaignStatus
from hub.customers.models import Channel
from hub.database import transaction
from hub.errors import InvalidInput
from hub.jobs.registry import PERIODIC, load_job_modules
from tests import factories

NOW = datetime(2025, 7, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
HOUR = timedelta(hours=1)


async def make_campaign(*, status: CampaignStatus = CampaignStatus.DRAFT, starts_at: datetime = NOW - HOUR,
                        ends_at: datetime = NOW + HOUR, name: str = "活动") -> Campaign:
    """The shared factory with this module's fixed clock as the default window."""
    return await factories.make_campaign(status=status, starts_at=starts_at, ends_at=ends_at, name=name)


async def status_of(campaign: Campaign) -> CampaignStatus:
    return (await Campaign.get(id=campaign.id)).status


class TestScheduleAdvance:
    async def test_starts_approved_campaigns_whose_start_has_passed(self):
        due = await make_campaign(status=CampaignStatus.APPROVED, starts_at=NOW - HOUR)
        exactly_now = await make_campaign(status=CampaignStatus.APPROVED, starts_at=NOW)
        later = await make_campaign(status=CampaignStatus.APPROVED, starts_at=NOW + timedelta(minutes=1),
                                    ends_at=NOW + 2 * HOUR)
        draft = await make_campaign(status=CampaignStatus.DRAFT)
        async with transaction():
            counts = await service.advance_schedule(now=NOW)
        assert counts == {"started": 2, "ended": 0, "expired": 0}
        row = await Campaign.get(id=due.id)
        assert row.status == CampaignStatus.RUNNING and row.started_at == NOW and row.version == 2
        assert await status_of(exactly_now) == CampaignStatus.RUNNING
        assert await status_of(later) == CampaignStatus.APPROVED
        assert await status_of(draft) == CampaignStatus.DRAFT

    async def test_ends_running_campaigns_whose_end_has_passed(self):
        over = await make_campaign(status=CampaignStatus.RUNNING, starts_at=NOW - 2 * HOUR, ends_at=NOW)
        still_on = await make_campaign(status=CampaignStatus.RUNNING, ends_at=NOW + timedelta(seconds=1))
        async with transaction():
            counts = await service.advance_schedule(now=NOW)
        assert counts == {"started": 0, "ended": 1, "expired": 0}
        row = await Campaign.get(id=over.id)
        assert row.status == CampaignStatus.ENDED and row.ended_at == NOW and row.version == 2
        assert await status_of(still_on) == CampaignStatus.RUNNING

    async def test_approved_campaign_whose_window_passed_ends_without_running(self):
        missed = await make_campaign(status=CampaignStatus.APPROVED, starts_at=NOW - 2 * HOUR, ends_at=NOW - HOUR)
        async with transaction():
            counts = await service.advance_schedule(now=NOW)
        assert counts == {"started": 0, "ended": 0, "expired": 1}
        row = await Campaign.get(id=missed.id)
        assert row.status == CampaignStatus.ENDED and row.started_at is None and row.ended_at == NOW

    async def test_a_second_run_changes_nothing(self):
        due = await make_campaign(status=CampaignStatus.APPROVED)
        async with transaction():
            await service.advance_schedule(now=NOW)
        async with transaction():
            counts = await service.advance_schedule(now=NOW + timedelta(seconds=30))
        assert counts == {"started": 0, "ended": 0, "expired": 0}
        assert (await Campaign.get(id=due.id)).version == 2

    async def test_clock_in_another_zone_means_the_same_instant(self):
        due = await make_campaign(status=CampaignStatus.APPROVED, starts_at=NOW)
        shanghai_noon = NOW.astimezone(timezone(timedelta(hours=8)))
        async with transaction():
            assert (await service.advance_schedule(now=shanghai_noon))["started"] == 1
        assert (await Campaign.get(id=due.id)).started_at == NOW

    async def test_the_job_is_registered_every_minute(self):
        load_job_modules()
        spec = PERIODIC["campaigns_advance_schedule"]
        assert spec.every_seconds == 60
        due = await make_campaign(status=CampaignStatus.APPROVED, starts_at=datetime.now(UTC) - HOUR,
                                  ends_at=datetime.now(UTC) + HOUR)
        assert await spec.func({}) == {"started": 1, "ended": 0, "expired": 0}
        assert await status_of(due) == CampaignStatus.RUNNING


class TestStampsFollowTheClock:
    async def test_approval_start_and_end_are_stamped_with_the_clocks_time(self):
        """Manual transitions read ``hub.clock``, so a frozen clock fixes every stamp they write."""
        campaign = await make_campaign()
        approver, _ = await create_key(role=Role.OPS)
        with clock.frozen(NOW):
            await service.approve_campaign(campaign_id=campaign.id, approver_id=approver.id)
        with clock.frozen(NOW + HOUR):
            await service.start_campaign(campaign_id=campaign.id)
        with clock.frozen(NOW + 2 * HOUR):
            await service.end_campaign(campaign_id=campaign.id)
        row = await Campaign.get(id=campaign.id)
        assert (row.approved_at, row.started_at, row.ended_at, row.updated_at) == (
            NOW, NOW + HOUR, NOW + 2 * HOUR, NOW + 2 * HOUR)


class TestTransitionsAreConditional:
    async def test_two_racing_approvals_have_one_winner(self):
        campaign = await make_campaign()
        approvers = [(await create_key(role=Role.OPS))[0] for _ in range(2)]

        async def approve(approver_id: int):
            async with transaction():
                return await service.approve_campaign(campaign_id=campaign.id, approver_id=approver_id)

        results = await asyncio.gather(*(approve(a.id) for a in approvers), return_exceptions=True)
        winners = [r for r in results if isinstance(r, Campaign)]
        assert len(winners) == 1 and isinstance(next(r for r in results if r not in winners), service.CampaignNotDraft)
        row = await Campaign.get(id=campaign.id)
        assert row.version == 2 and row.approved_by_id == winners[0].approved_by_id

    async def test_a_stale_edit_loses_to_an_approval(self):
        campaign = await make_campaign()
        approver, _ = await create_key(role=Role.OPS)
        await service.approve_campaign(campaign_id=campaign.id, approver_id=approver.id)
        with pytest.raises(service.CampaignNotDraft):
            await service.update_campaign(campaign_id=campaign.id, changes={"name": "late"})
        assert (await Campaign.get(id=campaign.id)).name == "活动"

    async def test_ending_an_ended_campaign_keeps_its_first_end(self):
        campaign = await make_campaign(status=CampaignStatus.RUNNING)
        first = await service.end_campaign(campaign_id=campaign.id)
        with pytest.raises(service.CampaignAlreadyEnded):
            await service.end_campaign(campaign_id=campaign.id)
        row = await Campaign.get(id=campaign.id)
        assert row.ended_at == first.ended_at and row.version == 2

    async def test_create_refuses_an_empty_window(self):
        key, _ = await create_key(role=Role.OPS)
        with pytest.raises(InvalidInput) as error:
            await service.create_campaign(name="x", starts_at=NOW, ends_at=NOW, channels=[Channel.SMS],
                                          drafted_by_id=key.id)
        assert error.value.errors[0].field == "ends_at"
        assert await Campaign.all().count() == 0
