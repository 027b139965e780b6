"""A registered format told its lengths answers a length window none of them fits with nothing, at
once, and is filtered as before otherwise (see conformance.properties._schemathesis_adapter)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.hypothesis.examples import generate_one
from schemathesis.generation.jsonschema.strategy import _length_check
from schemathesis.specs.openapi.formats import STRING_FORMATS

from conformance.environments import Target
from conformance.properties import schema, strategies
from conformance.properties._schemathesis_adapter import length_window


class _Window:
    """The two members of a jsonschema_rs string view that schemathesis's length check reads."""

    def __init__(self, low: int | None, high: int | None) -> None:
        self.min_length, self.max_length = low, high


def _length_filter(low: int | None, high: int | None) -> Any:
    return _length_check(_Window(low, high))  # type: ignore[arg-type]


def test_schemathesis_length_check_is_recognised() -> None:
    # fails when a schemathesis upgrade renames or reshapes the check (then the short cut is lost)
    assert length_window(_length_filter(1, 2)) == (1, 2)
    assert length_window(lambda value: len(value) == 1) is None


@pytest.fixture
def ods_format() -> st.SearchStrategy[str]:
    schema.register_formats(Target(kind="sandbox", base_url="http://127.0.0.1:9/comms", scenarios=True))
    return STRING_FORMATS[schema.FORMAT_ODS_CODE]  # type: ignore[no-any-return]


def test_an_impossible_window_is_nothing(ods_format: st.SearchStrategy[str]) -> None:
    assert ods_format.filter(_length_filter(1, 1)).is_empty
    assert ods_format.filter(_length_filter(1, 2)).is_empty
    with pytest.raises(Unsatisfiable):
        generate_one(ods_format.filter(_length_filter(4, 4)))


def test_a_possible_window_is_still_drawn_and_filtered(ods_format: st.SearchStrategy[str]) -> None:
    assert generate_one(ods_format.filter(_length_filter(1, 3))) == "X26"
    assert len(generate_one(ods_format.filter(_length_filter(6, 6)))) == 6
    assert not ods_format.filter(_length_filter(5, 5)).is_empty
    # any other filter is left to hypothesis, as before
    assert generate_one(ods_format.filter(lambda value: value.startswith("X2"))) == "X26"
    assert len(strategies.ODS_CODE_LENGTHS) == 3
