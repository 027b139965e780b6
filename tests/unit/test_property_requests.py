"""The property engine builds each request and the schemathesis view of each answer without the
general-purpose paths (httpx's per-request merge of the client's defaults, schemathesis's conversion
through ``requests.Request(...).prepare()``), so what is sent and what the checks read must be exactly
what those paths give. Generated cases, sent to the sandbox reference on loopback, compared field by
field (see conformance.properties.engine)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from schemathesis.core.transport import Response

from conformance.environments import Budget, Target
from conformance.properties import _schemathesis_adapter, engine
from conformance.properties._schemathesis_adapter import ready_response
from conformance.properties.engine import PropertyRunner, _request
from conformance.reference.server import ReferenceConfig, start
from conformance.safety import SafetyPolicy
from conformance.spec import load_spec
from conformance.transport import JUDGED, build_client

#: cases compared per operation and mode; the rest of each run is not sent
COMPARED = 40


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with start(ReferenceConfig(mode="sandbox")) as server:
        yield server.base_url


def _merged_request(http: httpx.Client, case: Any, base_url: str) -> httpx.Request:
    """The request as the engine built it before: through ``build_request``, Accept dropped."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    content = json.dumps(kwargs["json"]).encode() if "json" in kwargs else kwargs.get("data")
    if isinstance(content, str):
        content = content.encode()
    request = http.build_request(
        kwargs["method"], kwargs["url"], params=kwargs.get("params"), content=content
    )
    request.headers.pop("Accept", None)
    for name, value in (kwargs.get("headers") or {}).items():
        request.headers[name] = str(value)
    request.extensions[JUDGED] = engine.JUDGED_BY_PROPERTIES
    return request


def _sent(request: httpx.Request) -> tuple[object, ...]:
    return request.method, str(request.url), request.headers.raw, request.content, request.extensions


def _read(response: Response) -> tuple[object, ...]:
    request = response.request
    return (
        response.status_code,
        response.headers,
        response.content,
        response.elapsed,
        response.message,
        response.encoding,
        response.http_version,
        response.verify,
        request.method,
        request.url,
        dict(request.headers),
        request.body,
        len(request._cookies or ()),
        request.hooks,
    )


def _compare_cases(
    monkeypatch: pytest.MonkeyPatch, base_url: str, operation_id: str, mode: str
) -> tuple[int, list[str]]:
    """Run the operation's property test, comparing the first cases both ways."""
    compared, differences = 0, []
    target = Target(kind="sandbox", base_url=base_url, scenarios=True)
    with build_client(policy=SafetyPolicy.open(), target=target) as http:
        built = _schemathesis_adapter.operation_test

        def comparing(schema: Any, operation: Any, test: Callable[[Any], None]) -> Callable[[], None]:
            def compare(case: Any) -> None:
                nonlocal compared
                if compared >= COMPARED:
                    return
                compared += 1
                ours, merged = _request(http, case, base_url), _merged_request(http, case, base_url)
                if _sent(ours) != _sent(merged):
                    differences.append(f"request: {_sent(ours)} != {_sent(merged)}")
                    return
                try:
                    answer = http.send(ours, auth=None)
                except httpx.LocalProtocolError:
                    return
                if _read(ready_response(answer)) != _read(Response.from_any(answer)):
                    differences.append(f"answer: {_read(ready_response(answer))}")

            return built(schema, operation, compare)

        monkeypatch.setattr(engine, "operation_test", comparing)
        runner = PropertyRunner(load_spec(), target, Budget(max_examples=2), http, 11, production=False)
        runner.run(operation_id, mode)  # type: ignore[arg-type]
    return compared, differences


@pytest.mark.parametrize(
    ("operation_id", "mode"),
    [
        ("create-message", "positive"),
        ("create-message-batch", "negative"),
        # query parameters: schemathesis's view repeats them in its request URL, and so must ours
        ("get-nhsapp-account-details", "negative"),
    ],
)
def test_requests_and_answers_are_what_the_general_paths_give(
    monkeypatch: pytest.MonkeyPatch, sandbox: str, operation_id: str, mode: str
) -> None:
    compared, differences = _compare_cases(monkeypatch, sandbox, operation_id, mode)
    assert compared > 0
    assert differences == []


def test_a_client_holding_cookies_sends_them_with_every_case(sandbox: str) -> None:
    target = Target(kind="sandbox", base_url=sandbox, scenarios=True)
    spec = load_spec()
    with build_client(policy=SafetyPolicy.open(), target=target) as http:
        runner = PropertyRunner(spec, target, Budget(max_examples=1), http, 3, production=False)
        operation = runner.schema("positive").find_operation_by_id("get-message")
        case = operation.Case(path_parameters={"messageId": "2WL3qFTEFM0qMY8xjRbt1LIKCzM"})
        assert "Cookie" not in _request(http, case, sandbox).headers
        http.cookies.set("session", "kept", domain="127.0.0.1")
        request = _request(http, case, sandbox)
        assert request.headers["Cookie"] == "session=kept"
        assert _sent(request) == _sent(_merged_request(http, case, sandbox))
