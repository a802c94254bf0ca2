"""Slugs at the service level: their shape, and the retry when the unique index reports a taken one."""

import re

import pytest
from tortoise.exceptions import IntegrityError

from hub.codes.models import Code, CodeKind
from hub.codes.slugs import NoFreeSlug, insert_code, is_slug, new_slug
from hub.database import transaction
from tests.factories import make_code, make_store


def slugs_from(*values: str):
    """A slug source that hands out the given slugs in order and counts what it was asked for."""
    handed = []

    def make() -> str:
        handed.append(values[len(handed)])
        return handed[-1]

    return make, handed


class TestSlugShape:
    def test_fresh_slugs_are_ten_base62_characters_without_repeats(self):
        slugs = [new_slug() for _ in range(20_000)]
        assert all(re.fullmatch(r"[A-Za-z0-9]{10}", s) for s in slugs)
        assert len(set(slugs)) == len(slugs)
        assert set("".join(slugs)) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    def test_is_slug_accepts_only_base62_of_eight_to_sixteen(self):
        assert is_slug("Abc123XY") and is_slug("A" * 16)
        assert not any(is_slug(s) for s in ("Abc123X", "A" * 17, "Abc123XY-", "Abc 23XYZ", "Abc123XYé"))


class TestSlugCollisions:
    async def test_a_taken_slug_is_retried_inside_the_same_transaction(self):
        store = await make_store()
        await make_code(kind=CodeKind.STORE, store=store, slug="TakenSlug1")
        make, handed = slugs_from("TakenSlug1", "FreshSlug2")
        async with transaction():
            code = await insert_code(make_slug=make, kind=CodeKind.STORE, store=store, target_url="http://hub.test/s/x")
            # The failed INSERT was rolled back to its savepoint: the unit of work goes on (PostgreSQL too).
            assert await Code.filter(store_id=store.id).count() == 2
        assert handed == ["TakenSlug1", "FreshSlug2"]
        assert (await Code.get(id=code.id)).slug == "FreshSlug2"

    async def test_giving_up_after_five_taken_slugs_is_a_conflict_and_writes_nothing(self):
        store = await make_store()
        await make_code(kind=CodeKind.STORE, store=store, slug="TakenSlug1")
        make, handed = slugs_from(*["TakenSlug1"] * 5)
        with pytest.raises(NoFreeSlug):
            async with transaction():
                await insert_code(make_slug=make, kind=CodeKind.STORE, store=store, target_url="http://hub.test/s/x")
        assert len(handed) == 5
        assert await Code.all().count() == 1

    async def test_another_unique_rule_is_not_retried(self):
        store = await make_store()
        await make_code(kind=CodeKind.STORE, store=store, batch_key="poster-2026")
        make, handed = slugs_from("FreshSlug1", "FreshSlug2")
        with pytest.raises(IntegrityError):
            async with transaction():
                await insert_code(make_slug=make, kind=CodeKind.STORE, store=store, batch_key="poster-2026",
                                  target_url="http://hub.test/s/x")
        assert handed == ["FreshSlug1"]
        assert await Code.all().count() == 1
