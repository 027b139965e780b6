"""Pins the public API: ``__all__`` lists exactly the public names, sorted."""

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
    assert conformance.__all__ == sorted(conformance.__all__, key=lambda n: (n.startswith("_"), n.lower()))
