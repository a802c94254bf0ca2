"""Contact-me settings in and out of the API, by hand: what ops set on a code's contact way, and its state."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from hub.schemas import DbId, OutTime, Text
from hub.wecom.contact_ways.plan import Tier, minutes
from hub.wecom.contact_ways.service import ContactWayView, MemberSetting
from hub.wecom.models import ContactWayStatus

Weekday = Literal["1", "2", "3", "4", "5", "6", "7"]  # 1 = Monday, as ISO weekdays
Clock = Annotated[str, StringConstraints(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
TagName = Annotated[str, Text(30)]  # WeCom's limit for a corp tag's name
# Sent to customers inside WeCom as a link card: plain https, printable ASCII.
WelcomeUrl = Annotated[str, StringConstraints(max_length=1000, pattern=r"^(https://[\x21-\x7e]+)?$")]


def _ordered(interval: tuple[str, str]) -> tuple[str, str]:
    start, end = interval
    if minutes(start) >= minutes(end):
        raise ValueError("the start must be before the end")
    if start == "24:00":
        raise ValueError("24:00 may only end an interval")
    return interval


Interval = Annotated[tuple[Clock, Clock], AfterValidator(_ordered)]
DutyHours = Annotated[dict[Weekday, Annotated[list[Interval], Field(max_length=6)]], Field(max_length=7)]


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff_id: DbId
    backup: bool = Field(False, description="Given customers only when no other member is eligible")
    duty_hours: DutyHours = Field(
        {}, description='Shanghai time per ISO weekday, e.g. {"1": [["09:00", "18:00"]]}; empty = always on duty'
    )

    def setting(self) -> MemberSetting:
        duty_hours: dict[str, list[list[str]]] = {
            day: [list(interval) for interval in intervals] for day, intervals in self.duty_hours.items()
        }
        return MemberSetting(staff_id=self.staff_id, backup=self.backup, duty_hours=duty_hours)


class ContactWayIn(BaseModel):
    """The whole setting (fields left out take their defaults); ``members`` left out keeps the members."""

    model_config = ConfigDict(extra="forbid")

    welcome_text: Annotated[str, Text(1000, min_length=0)] = Field("", description='"" = the hub\'s default greeting')
    welcome_link_url: WelcomeUrl = ""
    welcome_link_title: Annotated[str, Text(64, min_length=0)] = ""
    welcome_coupon_batch_id: DbId | None = Field(None, description=(
        "A coupon batch whose claim link the welcome carries (one coupon per customer, the batch's rules)"))
    tag_names: Annotated[list[TagName], Field(max_length=20)] = Field(
        [], description="Corp tags marked on every customer added through the code (made in WeCom if new)"
    )
    daily_cap: int | None = Field(None, ge=1, le=10_000, description="Store codes: adds per member per day")
    skip_verify: bool = Field(True, description="Customers are added without the staff member confirming")
    members: Annotated[list[MemberIn], Field(min_length=1, max_length=200)] | None = Field(
        None, description="Store codes: who shares the code"
    )

    @field_validator("tag_names")
    @classmethod
    def _unique_tags(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a tag")
        return value


class MemberOut(BaseModel):
    staff_id: int
    staff_no: str
    name: str
    wecom_userid: str | None
    backup: bool
    duty_hours: dict[str, list[list[str]]]
    adds_today: int = Field(description="Adds through this code today (Asia/Shanghai)")
    eligible_now: bool = Field(description="In the user list planned for now")
    applied: bool = Field(description="In the user list WeCom has")


class ContactWayOut(BaseModel):
    code_id: int
    way_type: int = Field(description="1 = one staff member (staff code), 2 = shared (store code)")
    state: str
    status: ContactWayStatus
    config_id: str | None
    qr_code: str | None
    applied_userids: list[str]
    last_error: str
    synced_at: OutTime | None
    plan_tier: Tier = Field(description="regular, backup, backup_any / any (nobody eligible), nobody")
    welcome_text: str
    welcome_link_url: str
    welcome_link_title: str
    welcome_coupon_batch_id: int | None
    tag_names: list[str]
    daily_cap: int | None
    skip_verify: bool
    members: list[MemberOut]
    version: int

    @classmethod
    def of(cls, v: ContactWayView) -> ContactWayOut:
        w = v.way
        return cls(
            code_id=v.code.id, way_type=w.way_type, state=w.state, status=w.status, config_id=v.code.wecom_config_id,
            qr_code=v.code.wecom_qr_code, applied_userids=list(w.applied_userids), last_error=w.last_error,
            synced_at=w.synced_at, plan_tier=v.plan.tier, welcome_text=w.welcome_text,
            welcome_link_url=w.welcome_link_url, welcome_link_title=w.welcome_link_title,
            welcome_coupon_batch_id=w.welcome_coupon_batch_id, tag_names=list(w.tag_names), daily_cap=w.daily_cap,
            skip_verify=w.skip_verify, version=w.version,
            members=[
                MemberOut(staff_id=m.staff.id, staff_no=m.staff.staff_no, name=m.staff.name,
                          wecom_userid=m.staff.wecom_userid, backup=m.backup, duty_hours=dict(m.duty_hours),
                          adds_today=m.adds_today, eligible_now=m.eligible_now, applied=m.applied)
                for m in v.members
            ],
        )
