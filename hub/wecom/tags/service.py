"""Corp tags by name: the names ops give a code become WeCom tag ids, looked up once and cached in WecomTag.

A name the cache does not know is looked up in WeCom's tag list (any group, ours preferred) and, when
WeCom has no such tag, created in the hub's group ``GROUP_NAME``. WeCom answers an existing name in that
group with the existing tag, so two processes creating the same tag at once end up with one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hub import clock
from hub.wecom.connection import wecom_client
from hub.wecom.tags.models import WecomTag

GROUP_NAME = "数字营销"


class TagNotCreated(RuntimeError):
    """WeCom answered add_corp_tag without a tag asked for (a retry will look again)."""


async def tag_ids_for(names: list[str]) -> list[str]:
    """Corp tag ids for ``names``, in their order without repeats; missing tags are made in WeCom."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return []
    known = {t.name: t.tag_id for t in await WecomTag.filter(name__in=wanted)}
    missing = [name for name in wanted if name not in known]
    if missing:
        known.update(await _from_wecom(missing))
    return [known[name] for name in wanted]


async def _from_wecom(names: list[str]) -> dict[str, str]:
    """Find (or create) the tags in WeCom and cache them; name -> tag id."""
    client = wecom_client()
    found = _match(await client.get_corp_tag_list(), names)
    absent = [name for name in names if name not in found]
    if absent:
        found.update(_match([await client.add_corp_tag(group_name=GROUP_NAME, tags=absent)], absent))
    still = [name for name in names if name not in found]
    if still:
        raise TagNotCreated(f"WeCom answered add_corp_tag without the tags {', '.join(still)}")
    for name, (tag_id, group_name) in found.items():
        await _cache(name=name, tag_id=tag_id, group_name=group_name)
    return {name: tag_id for name, (tag_id, _) in found.items()}


def _match(groups: Iterable[dict], names: list[str]) -> dict[str, tuple[str, str]]:
    """name -> (tag id, group name) for the names found in these tag groups; the hub's group wins a tie."""
    wanted, found = set(names), {}
    for group in sorted(groups, key=lambda g: g.get("group_name") != GROUP_NAME):
        if group.get("deleted"):
            continue
        for tag in group.get("tag") or []:
            name = tag.get("name")
            if name in wanted and name not in found and not tag.get("deleted"):
                found[name] = (str(tag["id"]), str(group.get("group_name", "")))
    return found


async def _cache(*, name: str, tag_id: str, group_name: str) -> None:
    values: dict[str, Any] = dict(tag_id=tag_id, group_name=group_name, synced_at=clock.now())
    try:
        # A savepoint: losing the race below must not abort a transaction the caller has open.
        async with in_transaction("default"):
            await WecomTag.filter(tag_id=tag_id).exclude(name=name).delete()  # the tag was renamed in WeCom
            if not await WecomTag.filter(name=name).update(**values):
                await WecomTag.create(name=name, **values)
    except IntegrityError:
        pass  # another process cached the same tag meanwhile; its row says the same


async def forget(tag_ids: list[str]) -> int:
    """Drop cached tags WeCom no longer knows (deleted in the console), so the next lookup finds or makes
    them again; returns how many were dropped."""
    return await WecomTag.filter(tag_id__in=tag_ids).delete()
