"""Labels that make each test readable as evidence: Allure epic (area), feature (operation), story
(behaviour), severity, a link to the NHS documentation section the test proves and a link to each section
of the project's behaviour document (``docs/behaviour.md``) its ``ref`` cites. The area also goes on a
pytest marker so the terminal summary can count per area.

The report's Suites tab reads the same way as its Behaviors tab and ``readiness.md``: parent suite = the
area, suite = the operation (``POST /v1/messages``, or one of :data:`REQUEST_GROUPS` for requests that are
no single operation of the contract), sub-suite = the behaviour, for a test with several cases. A case
sent to one operation of a test about several (``every operation``) is filed under its own operation
(:func:`file_under`, run when the case is collected), so Allure never falls back to module names.

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
from conformance.spec import load_spec

F = TypeVar("F", bound=Callable[..., object])

DOCS = "https://digital.nhs.uk/developer/api-catalogue/nhs-notify"
Severity = Literal["blocker", "critical", "normal", "minor", "trivial"]

#: The contract's operations by operationId, each as its label (``POST /v1/messages``).
OPERATIONS = {operation.id: operation.label for operation in load_spec().operations.values()}
#: What a test may be about besides one operation of the contract (the suite of its report entries).
REQUEST_GROUPS = (
    "POST /oauth2/token",
    "every operation",
    "every create operation",
    "every path",
    "unknown path",
    "bare base URL and unknown paths",
    "sandbox fault paths",
    "CORS preflight",
    "message and channel status callbacks",
)
#: The parameter every suite test has (the target it is sent to), which makes no case of its own.
_TARGET_PARAMETER = "target"


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
    """Where a behaviour belongs: its area (epic, parent suite and marker), its operation (feature and
    suite) and the NHS documentation."""
    labels: list[Any] = []
    if area is not None:
        labels += [allure.epic(area), allure.parent_suite(area), pytest.mark.area(area)]
    if feature is not None:
        labels += [
            allure.feature(feature),
            allure.suite(feature),
            allure.link(f"{DOCS}#{section}" if section else DOCS, name="NHS Notify API documentation"),
        ]
    return labels


def file_under(item: pytest.Item) -> None:
    """Place one collected case in the report: a case sent to one operation of a test about several
    (its ``operation`` parameter, or a parameter naming an operationId) is filed under that operation,
    and the cases of a parametrised test are grouped under its behaviour (sub-suite). Labels come from
    the test's own decorators; this only narrows them, per case, before allure-pytest reads them."""
    if item.get_closest_marker("area") is None or not isinstance(item, pytest.Function):
        return
    own = _operation_of(item)
    if own is not None and own not in _labels(item, "feature"):
        item.own_markers[:] = [
            mark for mark in item.own_markers if _label_type(mark) not in ("feature", "suite")
        ]
        _add(item, allure.feature(own), allure.suite(own))
    stories = _labels(item, "story")
    cases = [
        name for name in getattr(getattr(item, "callspec", None), "params", {}) if name != _TARGET_PARAMETER
    ]
    if cases and stories and not _labels(item, "subSuite"):
        _add(item, allure.sub_suite(stories[0]))


def _operation_of(item: pytest.Function) -> str | None:
    """The one contract operation a case is sent to, if a parameter says so."""
    for value in getattr(getattr(item, "callspec", None), "params", {}).values():
        operation = getattr(value, "operation", None)  # an OperationRequest
        label = getattr(operation, "label", None)
        if isinstance(label, str) and label in OPERATIONS.values():
            return label
        if isinstance(value, str) and value in OPERATIONS:  # an operationId, e.g. a probe's
            return OPERATIONS[value]
    return None


def _label_type(mark: pytest.Mark) -> str | None:
    return str(mark.kwargs.get("label_type")) if mark.name == "allure_label" else None


def _labels(item: pytest.Item, label_type: str) -> list[str]:
    return [
        str(arg)
        for mark in item.iter_markers("allure_label")
        if _label_type(mark) == label_type
        for arg in mark.args
    ]


def _add(item: pytest.Item, *labels: object) -> None:
    # allure's labels are pytest marks while allure-pytest is loaded, and no-ops without it
    for label in labels:
        if isinstance(label, pytest.MarkDecorator):
            item.add_marker(label)
