"""Labels that make each test readable as evidence: Allure epic (area), feature (operation), story
(behaviour), severity and a link to the documentation section the test proves. The area also goes on a
pytest marker so the terminal summary can count per area.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

import allure
import pytest

F = TypeVar("F", bound=Callable[..., object])

DOCS = "https://digital.nhs.uk/developer/api-catalogue/nhs-notify"
Severity = Literal["blocker", "critical", "normal", "minor", "trivial"]


def behaviour(
    *,
    area: str,
    feature: str,
    story: str,
    severity: Severity = "normal",
    section: str = "",
    ref: str = "",
) -> Callable[[F], F]:
    """Label a test.

    Args:
        area: requirement area (epic), e.g. "negotiation"; also counted in the terminal summary.
        feature: the operation or component, e.g. "POST /v1/messages".
        story: the behaviour in a sentence a non-developer understands.
        section: the documentation anchor the behaviour comes from (appended to the API catalogue URL).
        ref: where our reference notes state the behaviour, e.g. "api-behaviour §3.2".
    """

    def apply(func: F) -> F:
        decorated: object = func
        for decorator in (
            allure.epic(area),
            allure.feature(feature),
            allure.story(story),
            allure.severity(allure.severity_level[severity.upper()]),
            allure.link(f"{DOCS}#{section}" if section else DOCS, name=ref or "NHS Notify API documentation"),
            allure.title(story),
            pytest.mark.area(area),
        ):
            decorated = decorator(decorated)
        return decorated  # type: ignore[return-value]

    return apply
