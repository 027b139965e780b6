"""The engine of the property tests: for one operation and generation mode, schemathesis generates cases,
httpx sends them through the suite's guarded transport, schemathesis's checks and ours judge each
response, and known discrepancies are counted under their names instead of failing the run."""

from __future__ import annotations

import functools
import gc
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.schemas import OpenApiSchema

from conformance import redaction
from conformance.auth import SignedJWTAuth
from conformance.environments import Budget, Target
from conformance.errors import NotAssessable
from conformance.properties import discrepancies
from conformance.properties import schema as schema_loader
from conformance.properties._schemathesis_adapter import operation_test, ready_response
from conformance.properties.schema import Mode
from conformance.properties.schemathesis_checks import CUSTOM_CHECKS, builtin_checks, ignored_auth_through
from conformance.spec import Spec
from conformance.transport import JUDGED, auth_for

#: Answers a property case gets back at once rather than waited out (see :func:`_request`).
JUDGED_BY_PROPERTIES = frozenset({425})

Case = schemathesis.Case[Any]


@dataclass
class PropertyOutcome:
    """What one operation's run did: case counts, statuses seen, known discrepancies, real failures."""

    operation_id: str
    mode: str
    seed: int
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    known: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    unsendable: int = 0
    elapsed_s: float = 0.0

    def set_aside_known(
        self, group: FailureGroup, operation_id: str, target: Target, url: str, spec: Spec
    ) -> list[Failure]:
        """Count the failures a known discrepancy of ``spec`` explains; return the ones none does."""
        unexplained = []
        for failure in group.exceptions:
            rule = discrepancies.classify(failure, operation_id, target, url, spec)
            if rule is None:
                unexplained.append(failure)
            else:
                self.known[f"{rule.id} ({rule.reason})"] += 1
        return unexplained

    def summary(self) -> str:
        statuses = ", ".join(f"{code}×{n}" for code, n in sorted(self.statuses.items()))
        lines = [
            f"{self.operation_id} ({self.mode}): {self.cases} cases in {self.elapsed_s:.1f} s, "
            f"seed {self.seed}",
            f"statuses: {statuses or 'none'}",
        ]
        if self.unsendable:
            lines.append(f"not sent: {self.unsendable} case(s) whose header values are not valid HTTP/1.1")
        lines += [f"known discrepancy {reason}: {n} case(s)" for reason, n in sorted(self.known.items())]
        return "\n".join(lines) + "\n"


class _AuthProvider:
    """Schemathesis auth provider backed by the suite's signed-JWT flow (tokens fetched through the
    guarded client). A refused client raises TokenEndpointError, which is no Exception: it passes
    through schemathesis and hypothesis untouched and stops the run (see conformance.errors)."""

    auth: SignedJWTAuth
    http: httpx.Client

    def get(self, case: Case, ctx: schemathesis.AuthContext) -> str | None:
        return self.auth.token(self.http)

    def set(self, case: Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


def _fresh_references(case: Case) -> None:
    """Positive cases get unique, non-blank references: the API rejects blank ones and answers a repeat
    with 422, neither of which the OpenAPI types can express."""
    body: Any = case.body
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return
    attributes = body["data"].get("attributes")
    if not isinstance(attributes, dict):
        return
    for key in ("messageReference", "messageBatchReference"):
        if key in attributes:
            attributes[key] = f"nc-{uuid.uuid4()}"
    for message in attributes.get("messages") or []:
        if isinstance(message, dict) and "messageReference" in message:
            message["messageReference"] = f"nc-{uuid.uuid4()}"


def _request(http: httpx.Client, case: Case, base_url: str) -> httpx.Request:
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url=base_url)
    content: bytes | None = None
    if "json" in kwargs:
        content = json.dumps(kwargs["json"]).encode()
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        content = data.encode() if isinstance(data, str) else bytes(data)
    if http.cookies or http.params or str(http.base_url):
        # a target that set cookies gets them back, merged as the client merges them
        request = http.build_request(
            kwargs["method"], kwargs["url"], params=kwargs.get("params"), content=content
        )
        request.headers.pop("Accept", None)
    else:
        # what ``build_request`` would build for a client without cookies or a base URL, without its
        # per-request merging of the client's defaults (the headers minus Accept, the timeout)
        request = httpx.Request(
            kwargs["method"],
            _parsed_url(kwargs["url"]),
            params=kwargs.get("params"),
            headers=_client_headers(http),
            content=content,
            extensions={"timeout": http.timeout.as_dict()},
        )
    for name, value in (kwargs.get("headers") or {}).items():
        request.headers[name] = str(value)
    # A generated case may repeat a reference an earlier one used (a negative case keeps its body as
    # generated): 425 "still being processed" is then a documented answer to judge, not a wait of 300 s.
    request.extensions[JUDGED] = JUDGED_BY_PROPERTIES
    return request


@functools.lru_cache(maxsize=1024)
def _parsed_url(url: str) -> httpx.URL:
    """``url`` parsed once: an ``httpx.URL`` never changes, and most cases of an operation share theirs."""
    return httpx.URL(url)


def _client_headers(http: httpx.Client) -> httpx.Headers:
    """The client's default headers without Accept: a property case sends the Accept it was generated
    with, or none."""
    headers = httpx.Headers(http.headers)
    headers.pop("Accept", None)
    return headers


def _reproduction(case: Case, failures: list[Failure], base_url: str) -> str:
    titles = "; ".join(f"[{failure.code}] {failure.title}" for failure in failures)
    return f"{titles}\n\nReproduce with:\n\n    {case.as_curl_command(base_url=base_url)}"


def _describe_group(error: BaseExceptionGroup[BaseException]) -> list[str]:
    """Readable, redacted text for each distinct failure, with its curl reproduction line."""
    if isinstance(error, FailureGroup):
        curl = error.message.partition("Reproduce with:")[2].strip()
        suffix = f"\n\nReproduce with:\n    {curl}" if curl else ""
        return [redaction.redact(f"[{failure.code}] {failure}{suffix}") for failure in error.exceptions]
    described: list[str] = []
    for item in error.exceptions:
        if isinstance(item, BaseExceptionGroup):
            described += _describe_group(item)
        else:
            described.append(redaction.redact(f"{type(item).__name__}: {item}"))
    return described


def _reraise_not_assessable(group: BaseExceptionGroup[BaseException]) -> None:
    """An answer that says nothing about the API ends the test as not assessed, even when hypothesis
    has grouped it with other errors."""
    found, _ = group.split(NotAssessable)
    if found is not None:
        first = found.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first


class PropertyRunner:
    """Property tests for one target: one schema per generation mode, shared auth."""

    def __init__(
        self, spec: Spec, target: Target, budget: Budget, http: httpx.Client, seed: int, *, production: bool
    ) -> None:
        self.spec = spec
        self.target = target
        self.budget = budget
        self.http = http
        self.seed = seed
        self.production = production
        self._schemas: dict[str, OpenApiSchema] = {}
        # one per runner, so each operation's enforcement is confirmed once a run
        self._ignored_auth = ignored_auth_through(self._send_probe)
        self._auth = auth_for(target)

    def schema(self, mode: Mode) -> OpenApiSchema:
        if mode not in self._schemas:
            loaded = schema_loader.load(self.spec, self.target, mode=mode, budget=self.budget, seed=self.seed)
            if self._auth is not None:
                attributes = {"auth": self._auth, "http": self.http}
                provider = type("NotifySignedJWT", (_AuthProvider,), attributes)
                loaded.auth(refresh_interval=None)(provider)
            self._schemas[mode] = loaded
        return self._schemas[mode]

    def _send_probe(self, case: Case, authorization: str | None) -> int:
        """The case again, through the suite's client, with this Authorization header or none."""
        request = _request(self.http, case, self.target.base_url)
        request.headers.pop("Authorization", None)
        if authorization is not None:
            request.headers["Authorization"] = authorization
        return self.http.send(request, auth=None).status_code

    def run(self, operation_id: str, mode: Mode) -> PropertyOutcome:
        loaded = self.schema(mode)
        operation = loaded.find_operation_by_id(operation_id)
        outcome = PropertyOutcome(operation_id, mode, self.seed)
        checks = builtin_checks(auth_enforced=self.target.auth_required, production=self.production)
        extra = list(CUSTOM_CHECKS)
        if self.target.auth_required and not self.production:
            extra.append(self._ignored_auth)

        def test(case: Case) -> None:
            meta = case.meta  # each read hashes the generated parts again to see whether they changed
            if meta is not None and meta.generation.mode.is_positive:
                _fresh_references(case)
            try:
                response = self.http.send(_request(self.http, case, self.target.base_url), auth=None)
            except httpx.LocalProtocolError:
                # e.g. a generated header value with trailing spaces: not valid HTTP/1.1, so never sent
                outcome.unsendable += 1
                return
            outcome.cases += 1
            outcome.statuses[response.status_code] += 1
            try:
                case.validate_response(ready_response(response), checks=checks, additional_checks=extra)
            except FailureGroup as group:
                unexplained = outcome.set_aside_known(
                    group, operation_id, self.target, str(response.request.url), self.spec
                )
                if unexplained:
                    raise FailureGroup(
                        unexplained, _reproduction(case, unexplained, self.target.base_url)
                    ) from None

        started = time.monotonic()
        # What lives before the run (the suite, the schemas, the report's state) is no garbage of the
        # run's; frozen, the collector's full passes during the run skip it instead of walking it again.
        gc.freeze()
        try:
            hypothesis_test = operation_test(loaded, operation, test)
            hypothesis_test()
        except BaseExceptionGroup as error:
            _reraise_not_assessable(error)
            outcome.failures += _describe_group(error)
        finally:
            gc.unfreeze()
        outcome.elapsed_s = time.monotonic() - started
        return outcome
