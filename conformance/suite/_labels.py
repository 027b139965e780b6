"""Labels that make each test readable as evidence: Allure epic (area), feature (operation), story
(behaviour), severity, a link to the NHS documentation section the test proves and a link to each section
of the project's behaviour document (``docs/behaviour.md``) its ``ref`` cites. The area also goes on a
pytest marker so the terminal summary can count per area.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import allure
import pytest

from conformance.citations import BEHAVIOUR_DOC_URL, links_for

F = TypeVar("F", bound=Callable[..., object])

DOCS = "https://digital.nhs.uk/developer/api-catalogue/nhs-notify"
Severity = Literal["blocker", "critical", "normal", "minor", "trivial"]


def behaviour(
    *,
    area: str | None,
    feature: str | None,
    story: str,
    severity: Severity = "normal",
    section: str = "",
    ref: str = "",
) -> Callable[[F], F]:
    """Label a test.

    Args:
        area: requirement area (epic), e.g. "negotiation"; also counted in the terminal summary. None for a
            test whose cases belong to different areas: each case is then a :func:`case` (pytest reads a
            test's own area marker before its cases', so a test-level area would hide theirs).
        feature: the operation or component, e.g. "POST /v1/messages"; None when the cases name theirs.
        story: the behaviour in a sentence a non-developer understands.
        section: the documentation anchor the behaviour comes from (appended to the API catalogue URL).
        ref: where ``docs/behaviour.md`` states the behaviour, e.g. "behaviour §3.2; upstream §3.2 test_406"
            (see ``conformance.citations``); each section cited becomes a link in the report.
    """

    def apply(func: F) -> F:
        decorated: object = func
        cited = [allure.link(link, name=name) for name, link in links_for(ref)] or [
            allure.link(BEHAVIOUR_DOC_URL, name="behaviour document")
        ]
        for decorator in (
            *cited,
            *_placement(area, feature, section),
            allure.story(story),
            allure.severity(allure.severity_level[severity.upper()]),
            allure.title(story),
        ):
            decorated = decorator(decorated)
        return decorated  # type: ignore[return-value]

    return apply


def case(
    *values: object,
    id: str,
    area: str,
    feature: str,
    section: str = "",
    marks: Sequence[pytest.MarkDecorator] = (),
) -> pytest.ParameterSet:
    """One case of a test labelled ``behaviour(area=None, feature=None)``: a ``pytest.param`` that carries
    its own area marker, Allure epic, feature and NHS documentation link, then ``marks``."""
    # allure's labels are pytest marks while allure-pytest is loaded, and no-ops without it
    labels = [mark for mark in _placement(area, feature, section) if isinstance(mark, pytest.MarkDecorator)]
    return pytest.param(*values, id=id, marks=[*labels, *marks])


def _placement(area: str | None, feature: str | None, section: str) -> list[Any]:
    """Where a behaviour belongs: its area (epic and marker), its feature and the NHS documentation."""
    labels: list[Any] = []
    if area is not None:
        labels += [allure.epic(area), pytest.mark.area(area)]
    if feature is not None:
        labels += [
            allure.feature(feature),
            allure.link(f"{DOCS}#{section}" if section else DOCS, name="NHS Notify API documentation"),
        ]
    return labels
