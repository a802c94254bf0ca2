"""A code's WeCom contact way over the API: ops and store managers for their store, staff for their own code."""

from __future__ import annotations

from hub import clock
from hub.auth.deps import HumanKey
from hub.auth.service import Principal
from hub.codes import service as codes
from hub.codes.api import CodeId
from hub.edge import APIRouter
from hub.errors import problems
from hub.wecom.contact_ways import service as contact_ways
from hub.wecom.contact_ways.schemas import ContactWayIn, ContactWayOut

router = APIRouter(prefix="/codes", tags=["codes"], responses=problems(401, 403, 404, 422))


@router.get("/{code_id}/wecom", summary="The code's WeCom contact way: settings, sync state, today's adds")
async def get_contact_way(code_id: CodeId, key: HumanKey) -> ContactWayOut:
    code = await codes.get_code(code_id=code_id)
    codes.authorise(key, store_id=code.store_id, staff_id=code.staff_id)
    return ContactWayOut.of(await contact_ways.view(code=code, now=clock.now()))


@router.put("/{code_id}/wecom", summary="Replace the contact way's settings (applied in WeCom by a job)",
            responses=problems(409))
async def put_contact_way(code_id: CodeId, body: ContactWayIn, key: HumanKey) -> ContactWayOut:
    """Every setting left out takes its default (``members`` left out keeps the members)."""
    return await _configure(code_id, body, key, keep_unsent=False)


@router.patch("/{code_id}/wecom", summary="Change some of the contact way's settings; the rest are kept",
              responses=problems(409))
async def patch_contact_way(code_id: CodeId, body: ContactWayIn, key: HumanKey) -> ContactWayOut:
    """Only the settings sent change: ``{"welcome_text": "…"}`` keeps the welcome coupon, tags and cap."""
    return await _configure(code_id, body, key, keep_unsent=True)


_SETTINGS = ("welcome_text", "welcome_link_url", "welcome_link_title", "welcome_coupon_batch_id", "tag_names",
             "daily_cap", "skip_verify")


async def _configure(code_id: int, body: ContactWayIn, key: Principal, *, keep_unsent: bool) -> ContactWayOut:
    code = await codes.get_code(code_id=code_id)
    codes.authorise(key, store_id=code.store_id, staff_id=code.staff_id)
    settings = {name: getattr(body, name) for name in _SETTINGS}
    if keep_unsent:
        way = await contact_ways.get_way(code_id=code.id)
        settings |= {name: getattr(way, name) for name in _SETTINGS if name not in body.model_fields_set}
    members = None if body.members is None else [m.setting() for m in body.members]
    await contact_ways.configure(code=code, members=members, **settings)
    return ContactWayOut.of(await contact_ways.view(code=code, now=clock.now()))
