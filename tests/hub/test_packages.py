"""The packages' declarations: every reference resolves, the app mounts in the declared order."""

from __future__ import annotations

import inspect

import pytest
from tortoise import Tortoise

from hub import packages
from hub.app import create_app


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

