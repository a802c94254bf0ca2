"""The contact-way planner on its own: duty hours, the daily cap, backups and rotation, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.schemas import shanghai_day
from hub.wecom.contact_ways.plan import (
    MAX_USERS,
    MemberState,
    Tier,
    duty_boundary_between,
    midnight_between,
    on_duty,
    plan,
)

UTC = UTC
# Monday 2031-03-03 in Shanghai: 10:00 there is 02:00 UTC; 23:59 there is 15:59 UTC.
MONDAY_10 = datetime(2031, 3, 3, 2, 0, tzinfo=UTC)
MONDAY_2359 = datetime(2031, 3, 3, 15, 59, tzinfo=UTC)
TUESDAY_0001 = datetime(2031, 3, 3, 16, 1, tzinfo=UTC)
OFFICE = {"1": [["09:00", "18:00"]], "2": [["09:00", "18:00"]]}


def member(staff_id: int, *, adds: int = 0, backup: bool = False, duty: dict | None = None) -> MemberState:
    return MemberState(staff_id=staff_id, userid=f"u{staff_id}", backup=backup, duty_hours=duty or {}, adds_today=adds)


class TestDays:
    def test_shanghai_day_turns_at_16_utc(self):
        assert shanghai_day(MONDAY_2359).isoformat() == "2031-03-03"
        assert shanghai_day(TUESDAY_0001).isoformat() == "2031-03-04"

    def test_midnight_between_only_when_the_shanghai_day_changes(self):
        assert midnight_between(MONDAY_2359, TUESDAY_0001)
        assert not midnight_between(MONDAY_10, MONDAY_2359)


class TestDutyHours:
    def test_interval_includes_its_start_and_excludes_its_end(self):
        nine = datetime(2031, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 Shanghai
        six_pm = datetime(2031, 3, 3, 10, 0, tzinfo=UTC)  # 18:00 Shanghai
        assert on_duty(OFFICE, nine) and on_duty(OFFICE, MONDAY_10)
        assert not on_duty(OFFICE, six_pm)

    def test_weekday_left_out_is_off_and_empty_hours_are_always_on(self):
        wednesday_10 = datetime(2031, 3, 5, 2, 0, tzinfo=UTC)
        assert not on_duty(OFFICE, wednesday_10)
        assert on_duty({}, wednesday_10)

    def test_midnight_end_covers_the_last_minute_of_the_day(self):
        late = {"1": [["20:00", "24:00"]]}
        assert on_duty(late, MONDAY_2359)
        assert not on_duty(late, TUESDAY_0001)

    def test_boundaries_are_found_in_the_window_only(self):
        before_nine = datetime(2031, 3, 3, 0, 59, tzinfo=UTC)
        after_nine = datetime(2031, 3, 3, 1, 1, tzinfo=UTC)
        assert duty_boundary_between(OFFICE, before_nine, after_nine)
        assert not duty_boundary_between(OFFICE, after_nine, MONDAY_10)
        assert not duty_boundary_between({}, before_nine, after_nine)


class TestEligibility:
    def test_off_duty_and_capped_members_are_left_out(self):
        members = [member(1), member(2, duty={"2": [["09:00", "18:00"]]}), member(3, adds=5)]
        result = plan(members, daily_cap=5, applied=[], now=MONDAY_10)
        assert (result.userids, result.tier) == (["u1"], Tier.REGULAR)

    def test_no_cap_means_every_add_counts_for_rotation_only(self):
        result = plan([member(1, adds=50), member(2, adds=3)], daily_cap=None, applied=[], now=MONDAY_10)
        assert result.userids == ["u2", "u1"]

    def test_backups_step_in_only_when_no_regular_member_is_eligible(self):
        members = [member(1, adds=2), member(2, backup=True)]
        assert plan(members, daily_cap=3, applied=[], now=MONDAY_10).userids == ["u1"]
        capped = plan(members, daily_cap=2, applied=[], now=MONDAY_10)
        assert (capped.userids, capped.tier) == (["u2"], Tier.BACKUP)

    def test_capped_backups_are_used_regardless_when_nobody_is_left(self):
        members = [member(1, adds=2), member(2, backup=True, adds=2), member(3, backup=True, adds=1)]
        result = plan(members, daily_cap=1, applied=[], now=MONDAY_10)
        assert (result.userids, result.tier) == (["u3", "u2"], Tier.BACKUP_ANY)
        assert result.tier.fallback

    def test_without_backups_everyone_is_used_rather_than_nobody(self):
        result = plan([member(1, adds=4), member(2, adds=3)], daily_cap=3, applied=[], now=MONDAY_10)
        assert (result.userids, result.tier) == (["u2", "u1"], Tier.ANY)

    def test_no_member_on_wecom_plans_nobody(self):
        result = plan([], daily_cap=None, applied=[], now=MONDAY_10)
        assert (result.userids, result.tier) == ([], Tier.NOBODY)

    def test_the_cap_lifts_on_the_next_shanghai_day(self):
        # Adds are counted per Shanghai day, so the caller passes 0 adds after midnight.
        before = plan([member(1, adds=3), member(2)], daily_cap=3, applied=["u1", "u2"], now=MONDAY_2359)
        after = plan([member(1, adds=0), member(2)], daily_cap=3, applied=before.userids, now=TUESDAY_0001)
        assert before.userids == ["u2"] and sorted(after.userids) == ["u1", "u2"]


class TestRotation:
    def test_fewest_adds_first_then_those_left_out_last_time_then_previous_order(self):
        members = [member(1, adds=2), member(2, adds=1), member(3, adds=1), member(4, adds=1), member(5, adds=1)]
        result = plan(members, daily_cap=None, applied=["u4", "u2", "u1"], now=MONDAY_10)
        # 3 and 5 were left out (least recently applied), then 4 and 2 in their previous order, then 1 (2 adds).
        assert result.userids == ["u3", "u5", "u4", "u2", "u1"]
        assert result.staff_ids == [3, 5, 4, 2, 1]

    def test_at_most_a_hundred_users_and_those_waiting_come_first(self):
        members = [member(i) for i in range(1, MAX_USERS + 6)]
        first = plan(members, daily_cap=None, applied=[], now=MONDAY_10)
        assert len(first.userids) == MAX_USERS and first.userids[0] == "u1"
        second = plan(members, daily_cap=None, applied=first.userids, now=MONDAY_10)
        # The five left out last time now lead; five of the previous hundred make room for them.
        assert second.userids[:5] == [f"u{i}" for i in range(MAX_USERS + 1, MAX_USERS + 6)]
        assert len(second.userids) == MAX_USERS and second.userids[5:] == first.userids[:95]
