"""Customer contact (客户联系) in the sandbox: contact ways, customers, corp tags, welcome codes.

Shapes follow the platform's documents: add/get/update/del_contact_way (path/92228), externalcontact/get
(path/92114), batch/get_by_user (path/92994), corp tags (path/92117, 92118), send_welcome_msg (path/92137).
"""

from __future__ import annotations

import time
from typing import Any

from connectors.wecom.sandbox.state import ApiError, Directory, SentLog, invalid, new_id, paginate

STATE_MAX = 30  # characters of a contact way's state (WECOM.md)


class Contacts:
    def __init__(self, *, directory: Directory, sent: SentLog, welcome_window_seconds: float,
                 unionid_bound: bool) -> None:
        self.directory = directory
        self.sent = sent
        self.welcome_window_seconds = welcome_window_seconds
        self.unionid_bound = unionid_bound
        self.ways: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}  # external_userid -> external_contact
        self.follows: dict[str, dict[str, dict[str, Any]]] = {}  # external_userid -> userid -> follow_user
        self.tag_groups: list[dict[str, Any]] = []
        self.welcome_codes: dict[str, dict[str, Any]] = {}

    # ---- contact ways ------------------------------------------------------------------------------

    def add_way(self, body: dict[str, Any]) -> dict[str, Any]:
        way_type, scene = body.get("type"), body.get("scene")
        if way_type not in (1, 2) or scene not in (1, 2):
            raise invalid("type and scene must be 1 or 2")
        users = self._way_users(body.get("user", []), way_type)
        config_id = new_id("", 32)
        self.ways[config_id] = {
            "config_id": config_id, "type": way_type, "scene": scene, "style": body.get("style", 1),
            "remark": str(body.get("remark", "")), "skip_verify": bool(body.get("skip_verify", True)),
            "state": self._state(body.get("state", "")), "user": users, "party": body.get("party", []),
            "is_temp": False, "expires_in": 0, "chat_expires_in": 0, "unionid": "", "conclusions": {},
        }
        if scene == 2:
            self.ways[config_id]["qr_code"] = f"https://wework.qpic.cn/wwpic/{new_id('', 24)}/0"
        return {"config_id": config_id, **({"qr_code": self.ways[config_id]["qr_code"]} if scene == 2 else {})}

    def update_way(self, body: dict[str, Any]) -> dict[str, Any]:
        way = self._way(body)
        if "state" in body:
            way["state"] = self._state(body["state"])
        if "user" in body:
            way["user"] = self._way_users(body["user"], way["type"])
        for name in ("remark", "skip_verify", "style"):
            if name in body:
                way[name] = body[name]
        return {}

    def get_way(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"contact_way": dict(self._way(body))}

    def del_way(self, body: dict[str, Any]) -> dict[str, Any]:
        del self.ways[self._way(body)["config_id"]]
        return {}

    def _way(self, body: dict[str, Any]) -> dict[str, Any]:
        way = self.ways.get(str(body.get("config_id", "")))
        if way is None:
            raise invalid("config_id")
        return way

    def _way_users(self, users: Any, way_type: int) -> list[str]:
        if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
            raise invalid("user must be a list of userids")
        if way_type == 1 and len(users) != 1:
            raise invalid("type 1 takes exactly one user")
        for userid in users:
            self.directory.require(userid)
        return list(users)

    @staticmethod
    def _state(state: Any) -> str:
        if not isinstance(state, str) or len(state) > STATE_MAX:
            raise invalid(f"state must be a string of at most {STATE_MAX} characters")
        return state

    # ---- customers -----------------------------------------------------------------------------------

    def get(self, external_userid: str | None) -> dict[str, Any]:
        contact = self.customer(external_userid)
        follows = self.follows.get(contact["external_userid"], {})
        if not follows:
            raise ApiError(84061, "not external contact")
        return {"external_contact": dict(contact), "follow_user": [self._follow_user(f) for f in follows.values()]}

    def batch_get_by_user(self, body: dict[str, Any]) -> dict[str, Any]:
        userids = body.get("userid_list")
        if not isinstance(userids, list) or not 1 <= len(userids) <= 100:
            raise invalid("userid_list must hold 1 to 100 userids")
        for userid in userids:
            self.directory.require(userid)
        entries = [
            {"external_contact": dict(self.customers[external_userid]), "follow_info": self._follow_info(follow)}
            for external_userid, follows in self.follows.items()
            for userid, follow in follows.items() if userid in userids
        ]
        page, next_cursor = paginate(entries, body.get("cursor"), body.get("limit", 50), 100)
        return {"external_contact_list": page, "next_cursor": next_cursor}

    def follow_user_list(self) -> dict[str, Any]:
        if self.directory.users is not None:
            return {"follow_user": list(self.directory.users)}
        return {"follow_user": sorted({u for w in self.ways.values() for u in w["user"]}
                                      | {u for f in self.follows.values() for u in f})}

    def customer(self, external_userid: str | None) -> dict[str, Any]:
        if not external_userid or not external_userid.startswith(("wm", "wo")):
            raise ApiError(40096, "invalid external userid")
        contact = self.customers.get(external_userid)
        if contact is None:
            raise ApiError(84061, "not external contact")
        return contact

    def _follow_user(self, follow: dict[str, Any]) -> dict[str, Any]:
        tags = [{"group_name": g["group_name"], "tag_name": t["name"], "tag_id": t["id"], "type": 1}
                for g in self.tag_groups for t in g["tag"] if t["id"] in follow["tag_ids"]]
        return {k: v for k, v in follow.items() if k != "tag_ids"} | {"tags": tags}

    @staticmethod
    def _follow_info(follow: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in follow.items() if k != "tag_ids"} | {"tag_id": list(follow["tag_ids"])}

    # ---- what customers do (driven by /sandbox/simulate) ----------------------------------------------

    def customer_adds(self, *, staff: str, state: str, name: str | None, external_userid: str | None,
                      unionid: str | None, welcome: bool) -> tuple[str, str | None]:
        """A WeChat user adds a staff member through a contact way: (external_userid, welcome code or None).

        A new customer gets a unionid when the corp has bound a WeChat developer ID (``unionid`` picks it,
        to play a person the hub already knows from elsewhere).
        """
        self.directory.require(staff)
        self._state(state)
        if external_userid is None:
            external_userid = new_id("wm", 30)
        contact = self.customers.setdefault(external_userid, {
            "external_userid": external_userid, "name": name or f"客户{external_userid[-4:]}", "type": 1,
            "avatar": f"https://wework.qpic.cn/wwhead/{external_userid}/0", "gender": 0,
        })
        if unionid or (self.unionid_bound and "unionid" not in contact):
            contact["unionid"] = unionid or new_id("o", 27)
        if name:
            contact["name"] = name
        now = int(time.time())
        self.follows.setdefault(external_userid, {})[staff] = {
            "userid": staff, "remark": "", "description": "", "createtime": now, "tag_ids": [],
            "remark_corp_name": "", "remark_mobiles": [], "oper_userid": external_userid, "add_way": 1,
            "state": state,
        }
        if not welcome:
            return external_userid, None
        code = new_id("", 43)
        self.welcome_codes[code] = {"external_userid": external_userid, "userid": staff, "issued_at": time.time(),
                                    "used": False}
        return external_userid, code

    def relation(self, *, staff: str, external_userid: str) -> dict[str, Any]:
        follow = self.follows.get(external_userid, {}).get(staff)
        if follow is None:
            raise ApiError(84061, f"{external_userid} is not a contact of {staff}")
        return follow

    def end_relation(self, *, staff: str, external_userid: str) -> None:
        """Staff deleted the customer, or the customer deleted the staff member (both end it here)."""
        self.relation(staff=staff, external_userid=external_userid)
        del self.follows[external_userid][staff]

    def is_contact(self, *, staff: str, external_userid: str) -> bool:
        return staff in self.follows.get(external_userid, {})

    # ---- tags -------------------------------------------------------------------------------------

    def tag_list(self, body: dict[str, Any]) -> dict[str, Any]:
        tag_ids, group_ids = set(body.get("tag_id") or []), set(body.get("group_id") or [])
        groups = []
        for group in self.tag_groups:
            if group_ids and group["group_id"] not in group_ids:
                continue
            tags = [dict(t) for t in group["tag"] if not tag_ids or t["id"] in tag_ids]
            if tags or not tag_ids:
                groups.append({**group, "tag": tags})
        return {"tag_group": groups}

    def add_tag(self, body: dict[str, Any]) -> dict[str, Any]:
        group_name, names = body.get("group_name"), [t.get("name") for t in body.get("tag") or []]
        if not isinstance(group_name, str) or not 1 <= len(group_name) <= 30:
            raise invalid("group_name must be 1 to 30 characters")
        if not names or not all(isinstance(n, str) and 1 <= len(n) <= 30 for n in names):
            raise invalid("tag names must be 1 to 30 characters")
        now = int(time.time())
        group = next((g for g in self.tag_groups if g["group_name"] == group_name), None)
        if group is None:
            group = {"group_id": new_id("et", 30), "group_name": group_name, "create_time": now, "order": 0,
                     "deleted": False, "tag": []}
            self.tag_groups.append(group)
        added = []
        for name in names:  # an existing name answers the existing tag
            tag = next((t for t in group["tag"] if t["name"] == name), None)
            if tag is None:
                tag = {"id": new_id("et", 30), "name": name, "create_time": now, "order": 0, "deleted": False}
                group["tag"].append(tag)
            added.append(dict(tag))
        return {"tag_group": {k: v for k, v in group.items() if k != "deleted"} | {"tag": added}}

    def mark_tag(self, body: dict[str, Any]) -> dict[str, Any]:
        userid, external_userid = str(body.get("userid", "")), body.get("external_userid")
        add, remove = list(body.get("add_tag") or []), list(body.get("remove_tag") or [])
        if not add and not remove:
            raise invalid("add_tag and remove_tag are both empty")
        self.directory.require(userid)
        self.customer(external_userid)
        follow = self.relation(staff=userid, external_userid=str(external_userid))
        known = {t["id"] for g in self.tag_groups for t in g["tag"]}
        if not set(add + remove) <= known:
            raise ApiError(40068, "invalid tagid")
        follow["tag_ids"] = [t for t in follow["tag_ids"] if t not in remove] + [
            t for t in add if t not in follow["tag_ids"]]
        self.sent.record("mark_tag", userid=userid, external_userid=external_userid, add_tag=add, remove_tag=remove)
        return {}

    # ---- welcome messages ----------------------------------------------------------------------------

    def send_welcome(self, body: dict[str, Any]) -> dict[str, Any]:
        """Once per code, within the window after the add event; 41051 otherwise."""
        text, attachments = body.get("text"), body.get("attachments") or []
        if not (isinstance(text, dict) and text.get("content")) and not attachments:
            raise invalid("text and attachments are both empty")
        if len(attachments) > 9:
            raise invalid("at most 9 attachments")
        code = self.welcome_codes.get(str(body.get("welcome_code", "")))
        if code is None:
            raise ApiError(41051, "invalid welcome_code")
        if code["used"]:
            raise ApiError(41051, "welcome_code already used")
        if time.time() - code["issued_at"] > self.welcome_window_seconds:
            raise ApiError(41051, "welcome_code expired")
        code["used"] = True
        self.sent.record("welcome", welcome_code=body["welcome_code"], userid=code["userid"],
                         external_userid=code["external_userid"], text=text, attachments=attachments)
        return {}
