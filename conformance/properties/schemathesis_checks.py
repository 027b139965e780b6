"""Our JSON:API, header and content-type rules, registered as schemathesis checks, plus the choice of
built-in schemathesis checks per environment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.openapi.checks import AuthScenario, IgnoredAuth
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

    Schemathesis's own ``ignored_auth`` sends its probes through its own transport, past the suite's
    pacing, safety guard and counts; :func:`ignored_auth_through` does its job through the suite's client
    instead (see :meth:`PropertyRunner.run`), where auth is enforced and never in production.
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
    return checks


#: sends the case again with this Authorization header (None: without one) and returns the status
ProbeSender = Callable[[Any, str | None], int]
_INVALID_TOKEN = "Bearer notify-conformance-invalid-token"


def ignored_auth_through(send_probe: ProbeSender) -> CheckFunction:
    """``ignored_auth``'s question (does an operation that declares auth refuse a request without a
    token, or with an invalid one?) asked through the suite's own client, once per operation a run."""
    confirmed: set[str] = set()

    def ignored_auth(ctx: Any, response: Any, case: Any) -> bool | None:
        label = case.operation.label
        # only a case that carried the run's own token and was accepted says anything about enforcement
        carried_token = "authorization" in {name.lower() for name in (case.headers or {})}
        if label in confirmed or not carried_token or not 200 <= response.status_code < 300:
            return None
        for scenario, header in ((AuthScenario.NO_AUTH, None), (AuthScenario.INVALID_AUTH, _INVALID_TOKEN)):
            status = send_probe(case, header)
            if status not in (401, 403):
                what = "without authentication" if header is None else "with invalid authentication"
                raise IgnoredAuth(
                    operation=label,
                    message=f"Expected 401 or 403, got {status} for `{label}` {what}",
                    scenario=scenario,
                    title=f"API accepts requests {what}",
                )
        confirmed.add(label)
        return None

    ignored_auth.__name__ = "ignored_auth"
    return ignored_auth
