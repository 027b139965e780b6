"""Every rule the checks know, by stable code, so reports can say what a code means.

A code is added here before any check may report it; codes are never renumbered or reused. Prefixes:
``JSONAPI`` document structure, ``HDR`` headers on every response, ``CORS`` preflight answers, ``CT``
the negotiated Content-Type, ``ERR`` an error response against the suite's expected-error table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from conformance.checks._violation import Severity, Violation


@dataclass(frozen=True)
class Rule:
    """One rule: its code, a one-line title a non-developer can read, and how much it matters."""

    code: str
    title: str
    severity: Severity = Severity.ERROR

    def violation(self, detail: str) -> Violation:
        return Violation(code=self.code, title=self.title, detail=detail, severity=self.severity)


_ALL = (
    # Document structure (JSON:API), checked on every response the suite sees.
    Rule("JSONAPI-001", "Response should have a JSON body"),
    Rule("JSONAPI-002", "Response Content-Type should be a JSON media type"),
    Rule("JSONAPI-003", "HEAD response should have an empty body"),
    Rule("JSONAPI-004", "Response body should be a JSON object"),
    Rule("JSONAPI-005", "Response body should have exactly one of 'data' and 'errors'"),
    Rule("JSONAPI-006", "Response body should have no top-level members outside JSON:API"),
    Rule("JSONAPI-007", "Error statuses should carry 'errors' and success statuses 'data'"),
    Rule("JSONAPI-008", "'data' and 'included' should hold resource objects"),
    Rule("JSONAPI-009", "Resource objects should have no members outside JSON:API"),
    Rule("JSONAPI-010", "Resource 'type' should be a non-empty string"),
    Rule("JSONAPI-011", "Resource 'id' should be a non-empty string"),
    Rule("JSONAPI-012", "Message and MessageBatch ids should be 27-character KSUIDs"),
    Rule("JSONAPI-013", "Resource 'attributes' should be an object"),
    Rule("JSONAPI-014", "'links' should be an object"),
    Rule("JSONAPI-015", "Links should be absolute URIs"),
    Rule("JSONAPI-016", "Resource 'relationships' should hold relationship objects"),
    Rule("JSONAPI-017", "'meta' and 'jsonapi' members should be objects"),
    Rule("JSONAPI-018", "'errors' should be a non-empty array"),
    Rule("JSONAPI-019", "Each error should be a JSON object"),
    Rule("JSONAPI-020", "Error objects should have no members outside the NHS Notify error format"),
    Rule("JSONAPI-021", "Error 'id' should be a string ending in '.<position>' (0, 1, 2, ...)"),
    Rule("JSONAPI-022", "Error 'code' should be a non-empty string"),
    Rule("JSONAPI-023", "Error 'links.about' should point at the NHS Notify API catalogue page"),
    Rule("JSONAPI-024", "Error 'status' should be a string holding an HTTP status code"),
    Rule("JSONAPI-025", "The first error's 'status' should equal the response status"),
    Rule("JSONAPI-026", "Error 'title' and 'detail' should be strings"),
    Rule("JSONAPI-027", "Error 'source' should be exactly one of {pointer} or {header}"),
    Rule("JSONAPI-028", "Error 'source.pointer' should be a valid JSON pointer"),
    Rule("JSONAPI-029", "Error 'source.pointer' should point at a place in the request body"),
    Rule("JSONAPI-030", "Error 'source.header' should name an HTTP header"),
    # Headers on every response.
    Rule("HDR-001", "Response should carry a non-empty X-Correlation-Id"),
    Rule("HDR-002", "Response X-Correlation-Id should echo the one the client sent"),
    Rule("HDR-003", "A generated X-Correlation-Id should look like a gateway id ('rrt-...')", Severity.INFO),
    Rule("HDR-004", "Cache-Control should be 'no-cache, no-store, must-revalidate'"),
    Rule("HDR-005", "X-Content-Type-Options should be 'nosniff'"),
    Rule("HDR-006", "Response should not leak AWS ('x-amz...') headers"),
    Rule("HDR-007", "Access-Control-Allow-Origin should echo the request Origin"),
    Rule("HDR-008", "Access-Control-Expose-Headers should be 'x-correlation-id'"),
    Rule("HDR-009", "Cross-Origin-Resource-Policy should be 'cross-origin'"),
    # CORS preflight answers.
    Rule("CORS-001", "A CORS preflight should be answered with 200"),
    Rule("CORS-002", "Preflight Access-Control-Allow-Origin should echo the request Origin"),
    Rule("CORS-003", "Preflight Access-Control-Allow-Headers should list exactly the documented headers"),
    Rule("CORS-004", "Preflight Access-Control-Max-Age should be 3628800"),
    Rule("CORS-005", "Preflight Access-Control-Allow-Methods should be 'GET, PUT, POST, PATCH, DELETE'"),
    Rule("CORS-006", "Preflight Cross-Origin-Resource-Policy should be 'cross-origin'"),
    Rule("CORS-007", "Preflight should not send Access-Control-Allow-Credentials"),
    Rule("CORS-008", "Preflight response should have no body"),
    # Content negotiation.
    Rule("CT-001", "Response with a body should have a Content-Type"),
    Rule("CT-002", "Response Content-Type should follow the request's Accept header"),
    Rule("CT-003", "Response Content-Type should carry no parameters (such as charset)"),
    # An error response against what the suite expected.
    Rule("ERR-001", "Response status should be the expected error status"),
    Rule("ERR-002", 'Error response body should be {"errors": [...]}'),
    Rule("ERR-003", "Error ids should end in their position: .0, .1, .2, ..."),
    Rule("ERR-004", "The single error should be exactly the expected error"),
    Rule("ERR-005", "Every expected error should be among the errors returned"),
)

#: Every rule by code, in the order above.
RULES: Mapping[str, Rule] = MappingProxyType({rule.code: rule for rule in _ALL})


def violation(code: str, detail: str) -> Violation:
    """A violation of the registered rule ``code`` (a KeyError for an unregistered code is a bug)."""
    return RULES[code].violation(detail)
