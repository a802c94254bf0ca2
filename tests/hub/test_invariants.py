"""hub.errors.present: the narrowing the type checker reads, kept at run time with its reason."""

from __future__ import annotations

import pytest

from hub.errors import BrokenInvariant, present


def test_present_passes_a_value_through():
    assert present(0, "zero is a value") == 0
    assert present("", "so is empty") == ""


def test_present_raises_with_the_reason_on_none():
    with pytest.raises(BrokenInvariant, match="unexpected None: the row was just written"):
        present(None, "the row was just written")
