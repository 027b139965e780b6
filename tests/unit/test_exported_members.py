"""Pins the public API: ``__all__`` lists exactly the public names, once each."""

from __future__ import annotations

import types

import conformance


def test_all_is_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(conformance).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(conformance.__all__) == public | {"__version__"}
    assert len(conformance.__all__) == len(set(conformance.__all__))  # ruff (RUF022) keeps it sorted
