"""One HTTP request and its response, as the checks and the report see them.

Checks are pure functions of an :class:`Exchange`; they never send requests. The transport builds
exchanges from httpx responses, and the property-based layer from schemathesis cases, so the same
rules judge both kinds of test.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

_NO_JSON = object()
#: request extension: one line per throttling answer waited out before this one (set by the transport)
WAITED = "notify_waited"


@dataclass(frozen=True)
class Exchange:
    """A request/response pair. Header lookups are case-insensitive (httpx.Headers)."""

    method: str
    url: str
    request_headers: httpx.Headers
    request_body: bytes
    status: int
    response_headers: httpx.Headers
    response_body: bytes
    elapsed_ms: float = 0.0
    #: the 429/425/503 answers waited out before this one ("429 (Retry-After: 1) -> waited 1.0 s")
    waited: tuple[str, ...] = ()
    _json_cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_httpx(cls, response: httpx.Response) -> Exchange:
        request = response.request
        try:
            elapsed = response.elapsed.total_seconds() * 1000
        except RuntimeError:  # elapsed is only set once the body has been read or closed
            elapsed = 0.0
        return cls(
            method=request.method,
            url=str(request.url),
            request_headers=httpx.Headers(request.headers),
            request_body=bytes(request.content) if request.stream is not None else b"",
            status=response.status_code,
            response_headers=httpx.Headers(response.headers),
            response_body=response.content,
            elapsed_ms=elapsed,
            waited=tuple(request.extensions.get(WAITED, ())),
        )

    @classmethod
    def build(
        cls,
        *,
        method: str,
        url: str,
        status: int,
        request_headers: Mapping[str, str] | None = None,
        request_body: bytes = b"",
        response_headers: Mapping[str, str] | None = None,
        response_body: bytes = b"",
    ) -> Exchange:
        """Build an exchange by hand (unit tests, schemathesis adapters)."""
        return cls(
            method=method.upper(),
            url=url,
            request_headers=httpx.Headers(dict(request_headers or {})),
            request_body=request_body,
            status=status,
            response_headers=httpx.Headers(dict(response_headers or {})),
            response_body=response_body,
        )

    def _parse(self, key: str, raw: bytes) -> Any:
        if key not in self._json_cache:
            try:
                self._json_cache[key] = json.loads(raw) if raw else _NO_JSON
            except ValueError:
                self._json_cache[key] = _NO_JSON
        return self._json_cache[key]

    @property
    def response_json(self) -> Any:
        """The parsed response body, or ``None`` when it is empty or not JSON."""
        value = self._parse("response", self.response_body)
        return None if value is _NO_JSON else value

    @property
    def response_is_json(self) -> bool:
        return self._parse("response", self.response_body) is not _NO_JSON

    @property
    def request_json(self) -> Any:
        """The parsed request body, or ``None`` when it is empty or not JSON."""
        value = self._parse("request", self.request_body)
        return None if value is _NO_JSON else value

    @property
    def request_is_json(self) -> bool:
        return self._parse("request", self.request_body) is not _NO_JSON
