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

:func:`register_format` is the other reach: schemathesis knows the lengths of its built-in formats only,
so a registered one is told its lengths here (see :class:`_OfLengths`).

:func:`ready_response` is the third: it builds the schemathesis view of a response the way
``Response.from_any`` does (a ``requests`` prepared request included), minus the steps that cannot change
it for a request the suite built; ``tests/unit/test_property_requests.py`` compares the two field by field.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import strategies as st
from hypothesis.internal.conjecture.data import ConjectureData
from requests.cookies import RequestsCookieJar
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


def length_window(condition: Callable[..., Any]) -> tuple[int, float] | None:
    """The ``(shortest, longest)`` lengths ``condition`` admits when it is schemathesis's own length
    check (the filter it puts on a format's strategy for ``minLength``/``maxLength``), else None."""
    if (
        getattr(condition, "__module__", None) != "schemathesis.generation.jsonschema.strategy"
        or getattr(condition, "__qualname__", None) != "_length_check.<locals>.check"
    ):
        return None
    cells = dict(zip(condition.__code__.co_freevars, condition.__closure__ or (), strict=True))
    if "low" not in cells or "high" not in cells:
        return None
    return cells["low"].cell_contents, cells["high"].cell_contents


class _OfLengths(st.SearchStrategy[str]):
    """The strings of ``inner``, whose lengths are all among ``lengths``.

    Filtered by schemathesis's length check for a window none of those lengths falls in (the coverage
    phase asks a format for a value of the schema's ``minLength``, 1 for an ODS code), it is ``nothing()``
    at once: drawing and filtering would spend the whole generation budget (seconds, per window) looking
    for a value that cannot exist, and then give up just the same.
    """

    def __init__(self, inner: st.SearchStrategy[str], lengths: frozenset[int]) -> None:
        super().__init__()
        self._inner = inner
        self._lengths = lengths

    def do_draw(self, data: ConjectureData) -> str:
        return data.draw(self._inner)

    def filter(self, condition: Callable[[str], Any]) -> st.SearchStrategy[str]:  # type: ignore[override]
        window = length_window(condition)
        if window is not None and not any(window[0] <= length <= window[1] for length in self._lengths):
            return st.nothing()
        return super().filter(condition)

    def __repr__(self) -> str:
        return repr(self._inner)


def register_format(
    name: str, strategy: st.SearchStrategy[str], lengths: frozenset[int] | None = None
) -> None:
    """Register a string format with schemathesis, with the lengths its values have when they are known."""
    schemathesis.openapi.format(name, strategy)
    if lengths is not None:
        from schemathesis.specs.openapi.formats import STRING_FORMATS, _invalidate_caches

        # schemathesis stores ``strategy.map(wrap_bytes)``, which leaves a string as it is
        STRING_FORMATS[name] = _OfLengths(STRING_FORMATS[name], lengths)
        _invalidate_caches()


def ready_response(response: httpx.Response) -> schemathesis.Response:
    """The schemathesis view of ``response``, as ``Response.from_any`` builds it (the request as
    ``requests`` prepares it, query parameters and all), without the steps that cannot change it for a
    request the suite built: no cookies to merge, no credentials in the URL."""
    request = response.request
    url = str(request.url)
    if "@" in url or not isinstance(request.stream, httpx.ByteStream):
        return schemathesis.Response.from_any(response)
    prepared = requests.PreparedRequest()
    prepared.prepare_method(request.method)
    prepared.url = _prepared_url(request.url)
    prepared.prepare_headers(dict(request.headers))
    prepared._cookies = RequestsCookieJar()
    prepared.prepare_body(request.content, None, None)
    return schemathesis.Response(
        status_code=response.status_code,
        headers={key: [value] for key, value in response.headers.items()},
        content=response.content,
        request=prepared,
        elapsed=response.elapsed.total_seconds(),
        message=response.reason_phrase,
        encoding=response.encoding,
        http_version=response.http_version,
        verify=True,
    )


@functools.lru_cache(maxsize=1024)
def _prepared_url(url: httpx.URL) -> str | None:
    """``url`` as ``requests`` prepares it, with the query parameters ``Response.from_any`` hands it again
    (the URL's own): a function of the URL alone, kept because most cases of an operation share theirs."""
    prepared = requests.PreparedRequest()
    prepared.prepare_url(str(url), dict(url.params))
    return prepared.url
