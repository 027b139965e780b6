"""Our JSON:API, header and content-type rules, registered as schemathesis checks, plus the choice of
built-in schemathesis checks per environment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks

from conformance.checks import check_exchange
from conformance.checks._violation import Severity
from conformance.exchange import Exchange

CheckFunction = Callable[..., Any]


def exchange_from_schemathesis(response: schemathesis.Response) -> Exchange:
    """Adapt a schemathesis response (and the request it carries) to our :class:`Exchange`."""
    request = response.request
    body: Any = request.body or b""
    return Exchange(
        method=str(request.method),
        url=str(request.url),
        request_headers=httpx.Headers({name: str(value) for name, value in request.headers.items()}),
        request_body=body.encode() if isinstance(body, str) else bytes(body),
        status=response.status_code,
        response_headers=httpx.Headers(
            [(name, value) for name, values in response.headers.items() for value in values]
        ),
        response_body=response.content,
        elapsed_ms=response.elapsed * 1000,
    )


@schemathesis.check
def notify_document_rules(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any) -> None:
    """JSON:API document, error object, standard header and content-type rules (``conformance.checks``)."""
    violations = [
        v for v in check_exchange(exchange_from_schemathesis(response)) if v.severity is Severity.ERROR
    ]
    if violations:
        raise AssertionError("\n".join(f"{v.code} {v.title}: {v.detail}" for v in violations))


#: Custom checks added to every validation.
CUSTOM_CHECKS: tuple[CheckFunction, ...] = (notify_document_rules,)


def builtin_checks(*, auth_enforced: bool, production: bool) -> list[CheckFunction]:
    """The schemathesis checks that fit an environment.

    ``ignored_auth`` and the Authorization half of ``missing_required_header`` only make sense where auth
    is enforced (not in sandbox); ``ignored_auth`` sends extra probe requests, so production never gets it.
    """
    checks: list[CheckFunction] = [
        not_a_server_error,
        openapi_checks.status_code_conformance,
        openapi_checks.content_type_conformance,
        openapi_checks.response_headers_conformance,
        openapi_checks.response_schema_conformance,
        openapi_checks.negative_data_rejection,
        openapi_checks.positive_data_acceptance,
        openapi_checks.missing_required_header,
        openapi_checks.unsupported_method,
    ]
    if auth_enforced and not production:
        checks.append(openapi_checks.ignored_auth)
    return checks
