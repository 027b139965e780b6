"""Labels that make each test readable as evidence: Allure epic (area), feature (operation), story
(behaviour), severity, a link to the NHS documentation section the test proves and a link to each section
of the project's behaviour document (``docs/behaviour.md``) its ``ref`` cites. The area also goes on a
pytest marker so the terminal summary can count per area.

A module names its area, feature and section once (:func:`for_module`); each test then gives its story
as the first paragraph of its docstring, and its severity and citations to the decorator::

    behaviour = _labels.for_module(area="messages", feature="POST /v1/messages", section="post-/v1/messages")

    @behaviour(severity="blocker", ref="behaviour §1.2; upstream §3.6")
    def test_valid_message_is_created(api: ApiClient) -> None:
        '''A valid message is created: 201, a Location and self link naming it.'''
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, TypeVar

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
    story: str | None = None,
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
        story: the behaviour in a sentence a non-developer understands. By default the first paragraph of
            the test's docstring, in one line and without its final full stop; the docstring keeps the
            rest, which Allure shows as the test's description.
        section: the documentation anchor the behaviour comes from (appended to the API catalogue URL).
        ref: where ``docs/behaviour.md`` states the behaviour, e.g. "behaviour §3.2; upstream §3.2 test_406"
            (see ``conformance.citations``); each section cited becomes a link in the report.
    """

    def apply(func: F) -> F:
        told = _story_of(func) if story is None else story
        decorated: object = func
        cited = [allure.link(link, name=name) for name, link in links_for(ref)] or [
            allure.link(BEHAVIOUR_DOC_URL, name="behaviour document")
        ]
        for decorator in (
            *cited,
            *_placement(area, feature, section),
            allure.story(told),
            allure.severity(allure.severity_level[severity.upper()]),
            allure.title(told),
        ):
            decorated = decorator(decorated)
        return decorated  # type: ignore[return-value]

    return apply


class Labeller(Protocol):
    """:func:`behaviour` with a module's area, feature and section already given."""

    def __call__(
        self,
        *,
        area: str | None = ...,
        feature: str | None = ...,
        story: str | None = ...,
        severity: Severity = ...,
        section: str = ...,
        ref: str = ...,
    ) -> Callable[[F], F]: ...


def for_module(*, area: str | None, feature: str | None = None, section: str = "") -> Labeller:
    """:func:`behaviour` for the tests of one module: its area, feature and section, which a test may
    still replace by naming its own (``@behaviour(feature=..., ref=...)``)."""
    return functools.partial(behaviour, area=area, feature=feature, section=section)


def _story_of(func: Callable[..., object]) -> str:
    """The first paragraph of ``func``'s docstring, in one line and without its final full stop; the
    docstring is left with the rest (None when there is none)."""
    first, _, rest = inspect.cleandoc(func.__doc__ or "").partition("\n\n")
    if not first:
        raise TypeError(f"{func.__qualname__} has no story: give it a docstring or story=...")
    func.__doc__ = rest.strip() or None
    return " ".join(first.split()).removesuffix(".")


def case(
    *values: object,
    id: str,
    area: str,
    feature: str,
    section: str = "",
    marks: Sequence[pytest.MarkDecorator] = (),
) -> pytest.ParameterSet:
    """One case of a test labelled with ``area=None, feature=None``: a ``pytest.param`` that carries
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
