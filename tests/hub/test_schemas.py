"""The shared field spellings: ``Annotated[str, Text(n)]`` and ``Choice[E]`` validate as written out."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from hub.imports.kinds import Choice
from hub.regions.models import RegionLevel
from hub.schemas import Text


class _Model(BaseModel):
    name: Annotated[str, Text(5)]
    note: Annotated[str, Text(5, min_length=0)] = ""
    maybe: Annotated[str, Text(5)] | None = None
    level: Choice[RegionLevel] = RegionLevel.PROVINCE


class TestText:
    def test_strips_then_bounds(self):
        assert _Model(name="  abcde  ").name == "abcde"
        with pytest.raises(ValidationError, match="at most 5 characters"):
            _Model(name="abcdef")

    def test_empty_only_with_min_length_zero(self):
        with pytest.raises(ValidationError, match="at least 1 character"):
            _Model(name="   ")
        assert _Model(name="a", note="  ").note == ""

    def test_refuses_control_characters_but_not_tabs(self):
        with pytest.raises(ValidationError, match="control characters"):
            _Model(name="a\x00b")
        assert _Model(name="a\tb").name == "a\tb"

    def test_optional_field(self):
        assert _Model(name="a").maybe is None
        with pytest.raises(ValidationError, match="control characters"):
            _Model(name="a", maybe="\x07")

    def test_json_schema_has_the_bounds(self):
        props = _Model.model_json_schema()["properties"]
        assert props["name"] == {"maxLength": 5, "minLength": 1, "title": "Name", "type": "string"}
        assert props["note"]["minLength"] == 0


class TestChoice:
    def test_forgives_case_and_spaces(self):
        assert _Model(name="a", level=" Province ").level is RegionLevel.PROVINCE

    def test_refuses_other_values(self):
        with pytest.raises(ValidationError):
            _Model(name="a", level="planet")
