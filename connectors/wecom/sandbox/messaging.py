"""Messages in the sandbox: group-send tasks to customers (path/92135, 93338) and app messages to staff.

A group send only creates a task per staff member; nothing reaches a customer until the staff member
confirms it in the WeCom client (``confirm``, driven by ``POST /sandbox/groupmsg/confirm``). Then each
customer gets status 1 (sent), 2 (no longer a contact) or 3 (already received this month's quota).
App messages are capped per member (30 a minute, 1,000 an hour); the excess is dropped without an error.
"""

from __future__ import annotations

import calendar
import time
from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.wecom.sandbox.contacts import Contacts
from connectors.wecom.sandbox.state import ApiError, Directory, SandboxConfig, SentLog, invalid, new_id, paginate

EXTERNAL_USERIDS_MAX = 10_000
ATTACHMENTS_MAX = 9
_SHANGHAI = ZoneInfo("Asia/Shanghai")


class Messaging:
    def __init__(self, *, config: SandboxConfig, directory: Directory, contacts: Contacts, sent: SentLog) -> None:
        self.config = config
        self.directory = directory
        self.contacts = contacts
        self.sent = sent
        self.tasks: dict[str, dict[str, dict[str, Any]]] = {}  # msgid -> sender -> task
        self.received: Counter[tuple[str, str]] = Counter()  # (external_userid, "YYYY-MM") -> group messages
        self._app_windows: Counter[tuple[str, str, int]] = Counter()  # (userid, "m"/"h", window) -> sent

    # ---- group sends ---------------------------------------------------------------------------------

    def add_msg_template(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("chat_type", "single") != "single":
            raise invalid("the sandbox simulates chat_type single only")
        external_userids, sender = body.get("external_userid") or [], body.get("sender")
        text, attachments = body.get("text"), body.get("attachments") or []
        if not external_userids and not sender:
            raise invalid("external_userid and sender are both empty")
        if len(external_userids) > EXTERNAL_USERIDS_MAX:
            raise invalid(f"at most {EXTERNAL_USERIDS_MAX} external_userid")
        if len(attachments) > ATTACHMENTS_MAX:
            raise invalid(f"at most {ATTACHMENTS_MAX} attachments")
        if not (isinstance(text, dict) and text.get("content")) and not attachments:
            raise invalid("text and attachments are both empty")
        if sender:
            self.directory.require(sender)
        if not external_userids:  # every customer of the sender
            external_userids = [e for e, follows in self.contacts.follows.items() if sender in follows]
        msgid = new_id("msg", 24)
        tasks: dict[str, dict[str, Any]] = {}
        fail_list = []
        for external_userid in external_userids:
            staff = [u for u in self.contacts.follows.get(external_userid, {}) if not sender or u == sender]
            if not staff:
                fail_list.append(external_userid)
                continue
            # One staff member per customer sends it: the sender, else whoever holds the customer first.
            task = tasks.setdefault(staff[0], {"userid": staff[0], "status": 0, "send_time": None, "customers": {}})
            task["customers"][external_userid] = {"status": 0, "send_time": None}
        self.tasks[msgid] = tasks
        self.sent.record("msg_template", msgid=msgid, sender=sender, external_userid=list(external_userids),
                         text=text, attachments=attachments, fail_list=fail_list)
        return {"msgid": msgid, "fail_list": fail_list}

    def confirm(self, *, msgid: str, userid: str) -> dict[str, Any]:
        """The staff member presses "send" in the WeCom client."""
        task = self._task(msgid, userid)
        if task["status"] == 1:
            raise invalid("task already sent")
        now = int(time.time())
        month = datetime.fromtimestamp(now, _SHANGHAI)
        quota = self.config.group_msg_monthly_quota or calendar.monthrange(month.year, month.month)[1]
        task.update(status=1, send_time=now)
        for external_userid, result in task["customers"].items():
            key = (external_userid, month.strftime("%Y-%m"))
            if not self.contacts.is_contact(staff=userid, external_userid=external_userid):
                result.update(status=2)
            elif self.received[key] >= quota:
                result.update(status=3)
            else:
                self.received[key] += 1
                result.update(status=1, send_time=now)
        return {"msgid": msgid, "userid": userid, "send_list": self._send_list(task)}

    def task_list(self, body: dict[str, Any]) -> dict[str, Any]:
        tasks = self.tasks.get(str(body.get("msgid", "")))
        if tasks is None:
            raise invalid("msgid")
        rows = [_sent_fields({"userid": t["userid"], "status": t["status"], "send_time": t["send_time"]})
                for t in tasks.values()]
        page, next_cursor = paginate(rows, body.get("cursor"), body.get("limit", 500), 1000)
        return {"task_list": page, "next_cursor": next_cursor}

    def send_result(self, body: dict[str, Any]) -> dict[str, Any]:
        task = self._task(str(body.get("msgid", "")), str(body.get("userid", "")))
        page, next_cursor = paginate(self._send_list(task), body.get("cursor"), body.get("limit", 500), 1000)
        return {"send_list": page, "next_cursor": next_cursor}

    def _task(self, msgid: str, userid: str) -> dict[str, Any]:
        tasks = self.tasks.get(msgid)
        if tasks is None:
            raise invalid("msgid")
        self.directory.require(userid)
        if userid not in tasks:
            raise invalid(f"{userid} has no task in {msgid}")
        return tasks[userid]

    @staticmethod
    def _send_list(task: dict[str, Any]) -> list[dict[str, Any]]:
        return [_sent_fields({"external_userid": e, "userid": task["userid"], **r})
                for e, r in task["customers"].items()]

    # ---- app messages to staff -----------------------------------------------------------------------

    def send_app_message(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("agentid") != self.config.agent_id:
            raise ApiError(40056, "invalid agentid")
        if body.get("msgtype") != "text":
            raise ApiError(40008, "invalid message type")
        content = (body.get("text") or {}).get("content")
        if not content:
            raise ApiError(44004, "empty content")
        touser = str(body.get("touser", ""))
        users = list(self.directory.users or {}) if touser == "@all" else [u for u in touser.split("|") if u]
        valid = [u for u in users if self.directory.knows(u)]
        invalid_users = [u for u in users if u not in valid]
        if not valid:
            raise ApiError(81013, "user & party & tag all invalid")
        delivered = [u for u in valid if self._within_member_caps(u)]
        msgid = new_id("", 40)
        self.sent.record("app_message", msgid=msgid, touser=users, content=content, delivered=delivered,
                         dropped=[u for u in valid if u not in delivered])
        return {"invaliduser": "|".join(invalid_users), "invalidparty": "", "invalidtag": "",
                "unlicenseduser": "", "msgid": msgid}

    def _within_member_caps(self, userid: str) -> bool:
        """Count one message to this member unless a cap is reached (then it is silently dropped)."""
        now = time.time()
        minute, hour = (userid, "m", int(now // 60)), (userid, "h", int(now // 3600))
        if (self._app_windows[minute] >= self.config.app_messages_per_member_minute
                or self._app_windows[hour] >= self.config.app_messages_per_member_hour):
            return False
        self._app_windows[minute] += 1
        self._app_windows[hour] += 1
        return True


def _sent_fields(row: dict[str, Any]) -> dict[str, Any]:
    """send_time appears only once something was sent, as on the platform."""
    return {k: v for k, v in row.items() if k != "send_time" or v is not None}
