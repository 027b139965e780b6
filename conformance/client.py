"""The suite's view of a target: send a request, get the response, have it checked.

Tests never build raw HTTP by hand; they call :class:`ApiClient`, which sends through the guarded,
recorded transport and judges every response it sees with the JSON:API and header checks.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import httpx

from conformance.checks import assert_no_violations, check_exchange
from conformance.environments import Target
from conformance.exchange import Exchange
from conformance.transport import JUDGED, JUDGED_IF_REPEATED, NO_RETRY

JSONAPI = "application/vnd.api+json"
_UNSET: Any = object()


class ApiClient:
    """Requests against one target's base URL, with its auth, recorded and checked."""

    def __init__(self, target: Target, http: httpx.Client) -> None:
        self.target = target
        self.http = http

    def url(self, path: str) -> str:
        """``path`` is appended to the base URL as given (so ``//v1/messages`` keeps its double slash)."""
        return self.target.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = _UNSET,
        content: bytes | str | None = None,
        params: Mapping[str, str] | None = None,
        accept: str | None = JSONAPI,
        content_type: str | None = _UNSET,
        omit: Iterable[str] = (),
        authenticated: bool = True,
        check: bool = True,
        retry: bool = True,
        judge: Collection[int] = (),
        judge_if_repeated: Collection[int] = (),
    ) -> httpx.Response:
        """Send one request.

        Args:
            accept: the Accept header, or None to send none at all.
            content_type: the Content-Type; by default JSON:API when a body is sent, none otherwise.
            omit: header names to remove after the defaults are applied.
            authenticated: False sends no token even where the target needs one (and keeps any
                Authorization header the test set itself).
            check: False skips the automatic checks (for responses a test judges itself).
            retry: False sends the request once even if the answer is a 429, 425 or 503 with
                ``Retry-After``.
            judge: statuses this test provokes and judges itself (a sandbox trigger's 429, a 425 for
                a repeated reference): such an answer is returned at once, while a throttling answer
                the test did not ask for is still waited out.
            judge_if_repeated: statuses judged only when they come again after the wait they ask for
                (a trigger's 429 where the test expects another answer: throttling passes, the trigger
                answers every time).
        """
        body: bytes | None = None
        if json is not _UNSET:
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
        elif content is not None:
            body = content.encode() if isinstance(content, str) else content
        request = self.http.build_request(method, self.url(path), params=params, content=body)
        if accept is None:
            request.headers.pop("Accept", None)
        else:
            request.headers["Accept"] = accept
        if content_type is _UNSET:
            content_type = JSONAPI if body is not None else None
        request.headers.pop("Content-Type", None)
        if content_type is not None:
            request.headers["Content-Type"] = content_type
        for name, value in (headers or {}).items():
            request.headers[name] = value
        for name in omit:
            request.headers.pop(name, None)
        if not retry:
            request.extensions[NO_RETRY] = True
        else:
            if judge:
                request.extensions[JUDGED] = frozenset(judge)
            if judge_if_repeated:
                request.extensions[JUDGED_IF_REPEATED] = frozenset(judge_if_repeated)
        auth: Any = httpx.USE_CLIENT_DEFAULT if authenticated else None
        response = self.http.send(request, auth=auth)
        if check:
            assert_no_violations(check_exchange(Exchange.from_httpx(response)))
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)
