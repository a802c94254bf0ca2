"""Campaigns: drafting, the four-eyes approval flow, and the schedule that starts and ends them.

Every status change is one conditional UPDATE (``filter(id=, status=).update(...)``) whose row count
decides: two callers racing for the same transition cannot both win, and the loser gets a 409.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import F
from tortoise.queryset import QuerySet

from hub import clock
from hub.campaigns.models import Campaign, CampaignStatus
from hub.customers.models import Channel
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.pagination import filter_given
from hub.products.models import Product

DRAFT, APPROVED, RUNNING, ENDED = (
    CampaignStatus.DRAFT, CampaignStatus.APPROVED, CampaignStatus.RUNNING, CampaignStatus.ENDED
)


class CampaignNotFound(NotFound):
    title = "Campaign not found"


class CampaignNotDraft(Conflict):
    title = "The campaign is no longer a draft"


class CampaignNotApproved(Conflict):
    title = "The campaign is not approved"


class CampaignAlreadyEnded(Conflict):
    title = "The campaign has already ended"


class CampaignChanged(Conflict):
    title = "The campaign changed meanwhile"


class OwnApprovalForbidden(Forbidden):
    title = "A campaign needs a second pair of eyes"


def _loaded(query: QuerySet | None = None) -> QuerySet:
    """Campaigns with what ``CampaignOut`` shows: both keys joined, products prefetched."""
    query = query if query is not None else Campaign.all()
    return query.select_related("drafted_by", "approved_by").prefetch_related("products")


async def get_campaign(*, campaign_id: int) -> Campaign:
    campaign = await _loaded(Campaign.filter(id=campaign_id)).first()
    if campaign is None:
        raise CampaignNotFound(f"No campaign {campaign_id}")
    return campaign


def list_campaigns(
    *, status: CampaignStatus | None = None, q: str | None = None, active_at: datetime | None = None
) -> QuerySet:
    """Campaigns by status, part of the name, or whose window contains ``active_at`` (start ≤ t < end)."""
    query = filter_given(_loaded(), status=status, name__icontains=q)
    if active_at is not None:
        active_at = active_at.astimezone(UTC)  # SQLite compares stored UTC text
        query = query.filter(starts_at__lte=active_at, ends_at__gt=active_at)
    return query


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidInput.field("ends_at", "must be after starts_at")


async def _products(product_ids: Iterable[int]) -> list[Product]:
    ids = list(product_ids)
    products = await Product.filter(id__in=ids) if ids else []
    missing = sorted(set(ids) - {p.id for p in products})
    if missing:
        raise InvalidInput.field("product_ids", f"no product {', '.join(map(str, missing))}")
    return products


async def create_campaign(
    *,
    name: str,
    description: str = "",
    starts_at: datetime,
    ends_at: datetime,
    channels: list[Channel],
    budget_fen: int | None = None,
    product_ids: Iterable[int] = (),
    drafted_by_id: int,
) -> Campaign:
    """A new draft; ``drafted_by_id`` is the calling key, which may then never approve it."""
    _check_window(starts_at, ends_at)
    products = await _products(product_ids)
    campaign = await Campaign.create(
        name=name, description=description, starts_at=starts_at, ends_at=ends_at,
        channels=[Channel(c).value for c in channels], budget_fen=budget_fen, drafted_by_id=drafted_by_id,
    )
    if products:
        await campaign.products.add(*products)
    return await get_campaign(campaign_id=campaign.id)


async def update_campaign(*, campaign_id: int, changes: dict[str, Any]) -> Campaign:
    """Change a draft; guarded by status and version, so an approval in between wins with a 409."""
    current = await get_campaign(campaign_id=campaign_id)
    if current.status != DRAFT:
        raise CampaignNotDraft(f"Campaign {campaign_id} is {current.status.value}; only drafts can be edited")
    changes = dict(changes)
    _check_window(changes.get("starts_at", current.starts_at), changes.get("ends_at", current.ends_at))
    product_ids = changes.pop("product_ids", None)
    products = await _products(product_ids) if product_ids is not None else None
    if "channels" in changes:
        changes["channels"] = [Channel(c).value for c in changes["channels"]]
    if not changes and products is None:
        return current
    count = await Campaign.filter(id=campaign_id, status=DRAFT, version=current.version).update(
        **changes, version=F("version") + 1, updated_at=clock.now()
    )
    if not count:
        latest = await get_campaign(campaign_id=campaign_id)
        if latest.status != DRAFT:
            raise CampaignNotDraft(f"Campaign {campaign_id} is {latest.status.value}; only drafts can be edited")
        raise CampaignChanged(f"Campaign {campaign_id} was changed by someone else; reload and retry")
    if products is not None:
        await current.products.clear()
        if products:
            await current.products.add(*products)
    return await get_campaign(campaign_id=campaign_id)


async def _move(*, campaign_id: int, allowed: Iterable[CampaignStatus], to: CampaignStatus,
                extra_filter: dict[str, Any] | None = None, **stamps: Any) -> int:
    """The conditional UPDATE behind every transition; returns the number of rows changed (0 or 1)."""
    return await Campaign.filter(id=campaign_id, status__in=list(allowed), **(extra_filter or {})).update(
        status=to, version=F("version") + 1, updated_at=clock.now(), **stamps
    )


async def approve_campaign(*, campaign_id: int, approver_id: int) -> Campaign:
    """draft → approved, by a key other than the one that drafted it."""
    now = clock.now()
    count = await _move(campaign_id=campaign_id, allowed=[DRAFT], to=APPROVED,
                        extra_filter={"drafted_by_id__not": approver_id}, approved_at=now, approved_by_id=approver_id)
    campaign = await get_campaign(campaign_id=campaign_id)
    if not count:
        if campaign.drafted_by_id == approver_id:
            raise OwnApprovalForbidden(
                f"Campaign {campaign_id} was drafted with this key; another ops key must approve it"
            )
        raise CampaignNotDraft(f"Campaign {campaign_id} is {campaign.status.value}; only drafts can be approved")
    return campaign


async def start_campaign(*, campaign_id: int) -> Campaign:
    """approved → running, now rather than at ``starts_at``."""
    count = await _move(campaign_id=campaign_id, allowed=[APPROVED], to=RUNNING, started_at=clock.now())
    campaign = await get_campaign(campaign_id=campaign_id)
    if not count:
        raise CampaignNotApproved(f"Campaign {campaign_id} is {campaign.status.value}; only approved ones can start")
    return campaign


async def end_campaign(*, campaign_id: int) -> Campaign:
    """running → ended; a draft or approved campaign can be ended too, which cancels it."""
    count = await _move(campaign_id=campaign_id, allowed=[DRAFT, APPROVED, RUNNING], to=ENDED, ended_at=clock.now())
    campaign = await get_campaign(campaign_id=campaign_id)
    if not count:
        raise CampaignAlreadyEnded(f"Campaign {campaign_id} has already ended")
    return campaign


async def advance_schedule(*, now: datetime) -> dict[str, int]:
    """Start approved campaigns whose window has begun and end those whose window is over.

    An approved campaign whose whole window passed unstarted is ended without ever running (``expired``).
    Each step is a single conditional UPDATE, so a manual start or end racing this one is never undone.
    """
    now = now.astimezone(UTC)
    bump = {"version": F("version") + 1, "updated_at": now}
    ended = await Campaign.filter(status=RUNNING, ends_at__lte=now).update(status=ENDED, ended_at=now, **bump)
    expired = await Campaign.filter(status=APPROVED, ends_at__lte=now).update(status=ENDED, ended_at=now, **bump)
    started = await Campaign.filter(status=APPROVED, starts_at__lte=now, ends_at__gt=now).update(
        status=RUNNING, started_at=now, **bump
    )
    return {"started": started, "ended": ended, "expired": expired}
