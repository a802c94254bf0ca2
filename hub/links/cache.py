"""Code lookups for the public link: in-process first, then Redis (when configured), then the database.

Staleness after a change (the codes service calls ``invalidate(code_id)`` after its commit):
- the process that made the change: none (its entry is dropped before ``invalidate`` returns);
- other API processes, with Redis: the invalidation is published on ``hub:link:invalidate`` and each
  process drops its entry on receipt (milliseconds). A subscriber that loses its connection clears its
  whole cache when it reconnects, and no entry is ever older than ``LOCAL_TTL`` (30 s): the hard bound;
- without Redis (a CLI changing a code while ``hub serve`` runs on SQLite): ``LOCAL_TTL``;
- unknown slugs are remembered for ``MISSING_TTL`` (5 s); any invalidation forgets them all, so a new
  code answers at once in every process that hears it.
Redis entries are versioned (``Code.version``, which the codes service bumps on every change):
``invalidate`` raises a per-code version floor, and an entry below it (say, a loader that read the row
just before the change) is never served or stored. Entries live 5 minutes (``REDIS_TTL``), the bound
when Redis itself missed an invalidation.
Codes with a scan limit are read from the database every ``LIMITED_TTL`` (2 s) and never from Redis, so
their ``scans_counted`` is fresh; between reads each process adds the scans it counted itself. A limit
can therefore be passed by what other processes count within ~2 s plus one scan flush: the price of a
limit that needs no COUNT and no round trip per scan.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from hub.codes.models import Code
from hub.links.entry import FIELDS, CodeEntry
from hub.settings import get_settings

log = logging.getLogger("hub.links")

LOCAL_TTL = 30.0
LIMITED_TTL = 2.0
MISSING_TTL = 5.0
REDIS_TTL = 300
FLOOR_TTL = 3600  # longer than REDIS_TTL: an entry older than its floor's life has expired anyway
MAX_ENTRIES = 100_000
MAX_MISSING = 20_000
CHANNEL = "hub:link:invalidate"
ENTRY_KEY = "hub:link:code:"
FLOOR_KEY = "hub:link:ver:"
DELETED_FLOOR = 2**31  # a deleted code: no entry of it may be served again

_READ = """
local e = redis.call('GET', KEYS[1])
if not e then return false end
local id, ver = string.match(e, '^(%d+)|(%d+)|')
if not id then return false end
local floor = redis.call('GET', ARGV[1] .. id)
if floor and tonumber(floor) > tonumber(ver) then redis.call('DEL', KEYS[1]) return false end
return e
"""
_WRITE = """
local floor = redis.call('GET', KEYS[2])
if floor and tonumber(floor) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
_INVALIDATE = """
local cur = redis.call('GET', KEYS[1])
if (not cur) or tonumber(cur) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
"""


class LinkCache:
    """The process's code cache; ``entries`` is read directly by the redirect (a dict lookup)."""

    def __init__(self) -> None:
        self.entries: dict[str, CodeEntry] = {}
        self.missing: dict[str, float] = {}  # slug -> until
        self.slugs_of: dict[int, str] = {}
        self.generation = 0  # bumped by every drop, so a load that raced an invalidation is not kept
        self.redis: Any = None
        self._loading: dict[str, asyncio.Future] = {}

    def clear(self) -> None:
        self.entries.clear()
        self.missing.clear()
        self.slugs_of.clear()
        self.generation += 1

    def drop(self, code_id: int) -> None:
        slug = self.slugs_of.pop(code_id, None)
        if slug is not None:
            self.entries.pop(slug, None)
        self.missing.clear()  # the change may be a new code under a slug someone tried already
        self.generation += 1

    async def lookup(self, slug: str, now: float) -> CodeEntry | None:
        """The entry for ``slug`` (None when no such code); concurrent misses share one load."""
        until = self.missing.get(slug)
        if until is not None and until > now:
            return None
        pending = self._loading.get(slug)
        if pending is not None:
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._loading[slug] = future
        try:
            entry = await self._load(slug, now)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        else:
            future.set_result(entry)
            return entry
        finally:
            del self._loading[slug]

    async def _load(self, slug: str, now: float) -> CodeEntry | None:
        generation = self.generation
        data = await self._from_redis(slug)
        if data is None:
            data = await Code.filter(slug=slug).first().values(*FIELDS)
            if data is None:
                if generation == self.generation:
                    if len(self.missing) >= MAX_MISSING:
                        self.missing.clear()
                    self.missing[slug] = now + MISSING_TTL
                return None
            data = _plain(data)
            if data["scan_limit"] is None:
                await self._to_redis(data)
        entry = CodeEntry(data, fresh_until=now + (LIMITED_TTL if data["scan_limit"] is not None else LOCAL_TTL))
        if generation == self.generation:
            if len(self.entries) >= MAX_ENTRIES:  # drop the oldest tenth (dicts keep insertion order)
                for old in list(self.entries)[: MAX_ENTRIES // 10]:
                    self.slugs_of.pop(self.entries.pop(old).id, None)
            self.entries[slug] = entry
            self.slugs_of[entry.id] = slug
        return entry

    async def _from_redis(self, slug: str) -> dict | None:
        if self.redis is None:
            return None
        try:
            raw = await self.redis.eval(_READ, 1, ENTRY_KEY + slug, FLOOR_KEY)
        except Exception as exc:  # Redis trouble never stops a redirect: the database answers
            log.warning("link cache: Redis read failed (%r); reading the database", exc)
            return None
        if not raw:
            return None
        try:
            data = json.loads(raw.split(b"|", 2)[2])
        except (IndexError, ValueError):  # not an entry this code wrote: read the database instead
            return None
        return data if isinstance(data, dict) and data.get("slug") == slug else None

    async def _to_redis(self, data: dict) -> None:
        if self.redis is None:
            return
        value = f"{data['id']}|{data['version']}|{json.dumps(data, separators=(',', ':'))}"
        try:
            await self.redis.eval(_WRITE, 2, ENTRY_KEY + data["slug"], FLOOR_KEY + str(data["id"]),
                                  data["version"], value, REDIS_TTL)
        except Exception as exc:
            log.warning("link cache: Redis write failed (%r)", exc)


def _plain(row: dict) -> dict:
    """A row with times as Unix seconds: what Redis stores and CodeEntry reads."""
    return {k: (v.timestamp() if hasattr(v, "timestamp") else v) for k, v in row.items()}


CACHE = LinkCache()


async def invalidate(code_id: int) -> None:
    """Forget a code everywhere: this process, Redis, and (through pub/sub) every other API process.

    Call it after the change commits (``UnitOfWork.after_commit``). Works from any process, the CLI too.
    """
    known_slug = CACHE.slugs_of.get(code_id)
    CACHE.drop(code_id)
    client = CACHE.redis  # an API process's own connection; other processes (the CLI) open one here
    url = get_settings().redis_url
    if client is None and not url:
        return
    row = await Code.filter(id=code_id).first().values("slug", "version")
    slugs = {s for s in (known_slug, row and row["slug"]) if s}
    floor = row["version"] if row else DELETED_FLOOR
    owned = client is None
    if owned:
        from redis.asyncio import Redis

        client = Redis.from_url(get_settings().required_redis_url)  # set: no client and no URL returned above
    try:
        keys = [FLOOR_KEY + str(code_id), *(ENTRY_KEY + s for s in sorted(slugs))]
        await client.eval(_INVALIDATE, len(keys), *keys, floor, FLOOR_TTL, CHANNEL, str(code_id))
    except Exception as exc:  # the entry then lives at most REDIS_TTL, other processes' at most LOCAL_TTL
        log.warning("link cache: could not invalidate code %s in Redis (%r)", code_id, exc)
    finally:
        if owned:
            await client.aclose()


async def listen(redis: Any) -> None:
    """Drop entries other processes invalidate; runs for the life of the API process."""
    while True:
        try:
            async with redis.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                CACHE.clear()  # whatever was published while we were not listening is lost: start afresh
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        try:
                            CACHE.drop(int(message["data"]))
                        except ValueError:
                            CACHE.clear()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("link cache: invalidation channel lost (%r); reconnecting", exc)
            CACHE.clear()
            await asyncio.sleep(1.0)
