"""Staff ↔ customer relationships out of the API, by hand."""

from __future__ import annotations

from hub.schemas import Out, OutTime
from hub.wecom.models import ContactStatus


class StaffContactOut(Out):
    id: int
    staff_id: int
    customer_id: int
    external_userid: str
    status: ContactStatus
    added_at: OutTime
    removed_at: OutTime | None
    code_id: int | None
    store_id: int | None
    campaign_id: int | None
    wecom_state: str
    welcome: str
    remark: str
