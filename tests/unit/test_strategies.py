"""The domain strategies generate what they promise (checked over many draws, no network)."""

from __future__ import annotations

import re

from hypothesis import given, settings

from conformance import nhs_number
from conformance.properties import strategies


@settings(max_examples=300)
@given(strategies.nhs_numbers())
def test_generated_nhs_numbers_are_valid(value: str) -> None:
    assert nhs_number.is_valid(value)


@settings(max_examples=300)
@given(strategies.invalid_nhs_numbers())
def test_generated_invalid_nhs_numbers_are_invalid(value: object) -> None:
    assert not nhs_number.is_valid(value)


@settings(max_examples=200)
@given(strategies.ksuids())
def test_ksuids_are_27_base62_characters(value: str) -> None:
    assert re.fullmatch(r"[0-9A-Za-z]{27}", value)


@settings(max_examples=200)
@given(strategies.ods_codes())
def test_ods_codes_have_an_accepted_format_and_are_not_triggers(value: str) -> None:
    assert re.fullmatch(r"[A-Z][0-9]{5}|[A-Z][0-9][A-Z][0-9][A-Z]|X26", value)
    assert value not in {"T00404", "T00429", "T00502"}
    # the lengths schemathesis is told (so a window none of them fits is answered at once)
    assert len(value) in strategies.ODS_CODE_LENGTHS


@settings(max_examples=50)
@given(strategies.routing_plan_ids(("b838b13c-f98c-4def-93f0-515d4e4f4ee1",)))
def test_routing_plans_come_from_the_configured_set(value: str) -> None:
    assert value in {"b838b13c-f98c-4def-93f0-515d4e4f4ee1", *strategies.GLOBAL_ROUTING_PLANS}
