"""The demo's WeCom: the sandbox learns the demo staff, and one store gets contact-me codes.

Run by ``hub demo-wecom`` (``make demo`` does) once the sandbox is up. Re-runnable: codes are found by
their batch key, and a sandbox restarted since (which forgot every contact way) gets them made again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from hub.codes.models import Code, CodeKind, TargetKind
from hub.codes.service import create_code
from hub.database import transaction
from hub.staff.models import Staff
from hub.stores.models import Store
from hub.wecom.contact_ways.service import configure, resync
from hub.wecom.models import ContactWay

WELCOME = "{name}您好，我是{store}的{staff}！新客专享：到店办理宽带送 3 个月视频会员，点下方链接逛逛本店云货架。"
TAGS = ["云货架新客", "企微活码"]


class SandboxUnreachable(Exception):
    pass


@dataclass(frozen=True)
class DemoCode:
    kind: str
    who: str
    userid: str
    state: str
    slug: str


async def wait_for_sandbox(sandbox_url: str, *, seconds: float = 15) -> None:
    """The sandbox is started in the background by ``make demo``: give it a moment."""
    deadline = asyncio.get_running_loop().time() + seconds
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=2, trust_env=False) as http:
        while True:
            try:
                if (await http.get("/sandbox/stats")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise SandboxUnreachable(f"the WeCom sandbox at {sandbox_url} did not answer within {seconds:.0f} s")
            await asyncio.sleep(0.25)


async def set_up(*, sandbox_url: str) -> list[DemoCode]:
    """Staff directory into the sandbox; WeCom codes for the first demo store's staff and the store."""
    await wait_for_sandbox(sandbox_url)
    staff = await Staff.filter(active=True, wecom_userid__not_isnull=True).order_by("id")
    if not staff:
        raise SandboxUnreachable("no demo staff: run `hub demo-data` first")
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10, trust_env=False) as http:
        answer = await http.put("/sandbox/users", json=[{"userid": s.wecom_userid, "name": s.name} for s in staff])
        answer.raise_for_status()
    store = await Store.get(id=staff[0].store_id)
    members = [s for s in staff if s.store_id == store.id]
    made = [await _code(CodeKind.STAFF, f"demo-wecom-staff-{s.staff_no}", staff=s) for s in members]
    made.append(await _code(CodeKind.STORE, f"demo-wecom-store-{store.code}", store=store))
    rows = []
    for code in made:
        way = await ContactWay.get(code_id=code.id)
        member = next((s for s in members if s.id == code.staff_id), members[0])
        rows.append(DemoCode(kind=code.kind.value, who=member.name if code.staff_id else store.name,
                             userid=member.wecom_userid or "", state=way.state, slug=code.slug))
    return rows


async def _code(kind: CodeKind, batch_key: str, *, staff: Staff | None = None, store: Store | None = None) -> Code:
    """The demo code with this batch key, made (with its welcome and tags) if new, else synced again."""
    async with transaction():
        code = await Code.get_or_none(batch_key=batch_key)
        if code is None:
            if staff is not None:
                name = f"{staff.name}的企微码"
            elif store is not None:
                name = f"{store.name}企微码"
            else:
                raise ValueError("a demo code is for a staff member or a store")
            code = await create_code(kind=kind, target_kind=TargetKind.WECOM_CONTACT, name=name, batch_key=batch_key,
                                     staff_id=staff.id if staff else None, store_id=store.id if store else None,
                                     channel="wecom")
            await configure(code=code, welcome_text=WELCOME, welcome_link_url="", welcome_link_title="",
                            tag_names=TAGS, daily_cap=20 if kind == CodeKind.STORE else None, skip_verify=True,
                            members=None)
        else:
            await resync(code_id=code.id)  # the sandbox keeps nothing across restarts
    return code
