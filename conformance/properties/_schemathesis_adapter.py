"""The one place the property tests reach into schemathesis's private API.

:func:`operation_test` builds the hypothesis test for one API operation exactly as schemathesis's own
pytest plugin does: every phase the schema's configuration enables (examples, fuzzing, coverage), its
hypothesis settings, the seed derived per operation and the configured headers.

schemathesis 4.32.5 offers no public way to do this for a single operation from inside a running test:
``schema.parametrize()`` and ``schemathesis.pytest.from_fixture`` only work as pytest collects tests,
and ``operation.as_strategy()`` (with hypothesis ``@given``) runs the fuzzing phase alone, without the
examples and coverage phases and without the per-operation seed and settings. So the private
``build_operation_test`` is used, here and only here; when schemathesis is upgraded (it is pinned in
pyproject.toml), this module is what to check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemathesis import APIOperation
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.specs.openapi.schemas import OpenApiSchema


def operation_test(
    schema: OpenApiSchema, operation: APIOperation[Any, Any, Any, Any], test: Callable[..., None]
) -> Callable[[], None]:
    """The hypothesis test that calls ``test(case)`` for every case schemathesis generates for
    ``operation``, in every phase ``schema``'s configuration enables."""
    built: Callable[[], None] = build_operation_test(
        config=schema.config,
        operation=operation,
        test_func=test,
        given_kwargs={},
        feedback=FeedbackSources(),
    )
    return built
