"""The packages' declarations: every reference resolves, the app mounts in the declared order, hooks behave."""

from __future__ import annotations

import inspect

import pytest
from tortoise import Tortoise

from hub import packages
from hub.app import create_app
from hub.hooks import Hook


def _paths_in_matching_order(app) -> list[str]:
    paths = []
    for route in app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        paths += [getattr(getattr(c, "starlette_route", None) or c, "path", None) for c in contexts]
    return [p for p in paths if p]


class TestDeclarations:
    def test_every_declared_reference_resolves_to_what_its_role_needs(self):
        for package in packages.declarations():
            for router in package.routers:
                assert packages.resolve(router.module).router is not None, router
            for group in package.commands:
                assert packages.resolve(group.module).app is not None, group
            for module in (*package.models, *package.jobs):
                packages.resolve(module)
            for reference in (*package.on_startup, *package.on_shutdown, *package.on_exit):
                assert inspect.iscoroutinefunction(packages.resolve(reference)), reference
            for fill in package.hooks:
                assert isinstance(packages.resolve(fill.hook), Hook), fill
                assert callable(packages.resolve(fill.func)), fill

    def test_the_public_link_is_matched_before_every_other_route_of_ours(self):
        paths = [p for p in _paths_in_matching_order(create_app()) if p not in ("/openapi.json", "/redoc")
                 and not p.startswith("/docs")]
        assert paths[0] == "/c/{slug}"
        first_api = next(i for i, p in enumerate(paths) if p.startswith("/api/v1/"))
        assert {"/healthz", "/webhooks/wecom"} <= set(paths[:first_api])  # hot routers before the API's
        assert paths.index("/staff/") > first_api

    def test_api_routers_are_mounted_under_api_v1_and_root_routers_at_the_root(self):
        paths = set(_paths_in_matching_order(create_app()))
        for mount, prefix in ((packages.Mount.API, "/api/v1"), (packages.Mount.ROOT, "")):
            for declared in packages.routers(mount=mount):
                router = packages.resolve(declared.module).router
                for route in router.routes:
                    assert prefix + route.path in paths, (declared, route.path)

    def test_the_database_holds_every_declared_model_module(self, migrated_database):
        loaded = {model.__module__ for model in Tortoise.apps["hub"].values()}
        assert loaded == set(packages.model_modules())


class TestHooks:
    async def test_notify_calls_every_filler_in_order_sync_or_async(self):
        hook, seen = Hook("test.notify"), []

        async def first(*, n: int) -> None:
            seen.append(("first", n))

        hook.fill(first)
        hook.fill(lambda *, n: seen.append(("second", n)))
        await hook.notify(n=7)
        assert seen == [("first", 7), ("second", 7)]

    async def test_any_is_true_when_one_filler_says_so(self):
        hook = Hook("test.any")
        assert not await hook.any(code_id=1)
        hook.fill(lambda *, code_id: False)
        assert not await hook.any(code_id=1)

        async def claims(*, code_id: int) -> bool:
            return code_id == 1

        hook.fill(claims)
        assert await hook.any(code_id=1) and not await hook.any(code_id=2)

    def test_a_one_function_hook_refuses_two_fillers_and_answers_none_when_empty(self):
        hook = Hook("test.only")
        assert hook.only() is None
        hook.fill(len)
        hook.fill(len)  # filling twice with the same function is one filler
        assert hook.only() is len
        hook.fill(abs)
        with pytest.raises(RuntimeError, match="filled 2 times"):
            hook.only()

    def test_the_declared_hooks_are_filled_from_the_declarations(self):
        from hub.codes import hooks as code_hooks
        from hub.wecom import hooks as wecom_hooks

        assert [f.__qualname__ for f in code_hooks.code_committed.fillers()] == ["invalidate"]
        assert wecom_hooks.check_welcome_coupon_batch.only().__module__ == "coupons.welcome"
