"""JSON:API document structure, as NHS Notify uses it, checked on every response the suite sees.

Success bodies are resource documents (``data``); error bodies are ``errors`` arrays in the NHS Notify
error format (behaviour §2): ids ``<message id>.<position>``, a string ``status``, the
catalogue ``links.about``, and a ``source`` that is a header name or a pointer into the request body.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from conformance.checks import _json_pointer
from conformance.checks._exchange_kinds import is_canned_answer, is_preflight, status_has_body
from conformance.checks._rules import violation
from conformance.checks._violation import Violation
from conformance.checks.catalogue import ABOUT_LINK
from conformance.exchange import Exchange

TOP_LEVEL_MEMBERS = frozenset({"data", "errors", "links", "meta", "jsonapi", "included"})
RESOURCE_MEMBERS = frozenset({"type", "id", "attributes", "relationships", "links", "meta"})
ERROR_MEMBERS = frozenset({"id", "links", "status", "code", "title", "detail", "source", "meta"})
#: Resource types whose ids are KSUIDs.
KSUID_TYPES = frozenset({"Message", "MessageBatch"})
KSUID = re.compile(r"^[a-zA-Z0-9]{27}$")

# Gateway utility endpoints whose successful answers are plain JSON, not JSON:API documents.
_PLAIN_JSON_PATHS = ("/_ping", "/_status", "/_timeout")
_MESSAGES_POINTER = "/data/attributes/messages"
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_JSON_MEDIA_TYPE = re.compile(r"^application/([a-z0-9.!#$&^_-]+\+)?json$")
_HTTP_STATUS = re.compile(r"^[1-5][0-9]{2}$")


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_absolute_uri(value: Any) -> bool:
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc)


def _plain_json_endpoint(exchange: Exchange) -> bool:
    path = urlsplit(exchange.url).path.rstrip("/")
    return exchange.status < 400 and path.endswith(_PLAIN_JSON_PATHS)


def check_document(exchange: Exchange) -> list[Violation]:
    """Judge the body of one response against the JSON:API rules NHS Notify follows."""
    if exchange.method == "HEAD":
        if exchange.response_body:
            size = len(exchange.response_body)
            return [violation("JSONAPI-003", f"the HEAD response carried {size} bytes of body")]
        return []
    if is_preflight(exchange) or not status_has_body(exchange.status):
        return []

    out: list[Violation] = []
    content_type = exchange.response_headers.get("content-type")
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if _JSON_MEDIA_TYPE.fullmatch(media_type) is None:
        out.append(violation("JSONAPI-002", f"Content-Type is {_show(content_type)}"))
    if not exchange.response_is_json:
        if exchange.response_body:
            start = exchange.response_body[:60].decode("utf-8", "replace")
            out.append(violation("JSONAPI-001", f"HTTP {exchange.status} body is not JSON: {start!r}"))
        else:
            out.append(violation("JSONAPI-001", f"HTTP {exchange.status} has an empty body"))
        return out
    if _plain_json_endpoint(exchange):
        return out

    document = exchange.response_json
    if not isinstance(document, dict):
        out.append(
            violation("JSONAPI-004", f"the body is a JSON {type(document).__name__}: {_show(document)}")
        )
        return out
    _check_top_level(exchange, document, out)
    return out


def _check_top_level(exchange: Exchange, document: dict[str, Any], out: list[Violation]) -> None:
    has_data, has_errors = "data" in document, "errors" in document
    if has_data == has_errors:
        found = "both" if has_data else "neither"
        out.append(violation("JSONAPI-005", f"the body has {found}; members: {sorted(document)}"))
    unknown = sorted(set(document) - TOP_LEVEL_MEMBERS)
    if unknown:
        out.append(violation("JSONAPI-006", f"unexpected top-level member(s) {unknown}"))
    if has_errors and not has_data and exchange.status < 400:
        out.append(violation("JSONAPI-007", f"HTTP {exchange.status} is a success but the body has 'errors'"))
    if has_data and not has_errors and exchange.status >= 400:
        out.append(violation("JSONAPI-007", f"HTTP {exchange.status} is an error but the body has 'data'"))

    for member in ("meta", "jsonapi"):
        if member in document and not isinstance(document[member], dict):
            out.append(violation("JSONAPI-017", f"top-level '{member}' is {_show(document[member])}"))
    if "links" in document:
        _check_links(document["links"], "top-level links", out, allow_null=True)

    if has_data:
        data = document["data"]
        if isinstance(data, list):
            for index, resource in enumerate(data):
                _check_resource(resource, f"data[{index}]", out)
        elif data is not None:
            _check_resource(data, "data", out)
    if "included" in document:
        included = document["included"]
        if not isinstance(included, list):
            out.append(violation("JSONAPI-008", f"'included' is {_show(included)}, not an array"))
        else:
            for index, resource in enumerate(included):
                _check_resource(resource, f"included[{index}]", out)
    if has_errors:
        _check_errors(exchange, document["errors"], out)


def _check_links(links: Any, where: str, out: list[Violation], *, allow_null: bool = False) -> None:
    """Links are absolute URIs; top-level (pagination) links may be null to say "no such page"."""
    if not isinstance(links, dict):
        out.append(violation("JSONAPI-014", f"{where} is {_show(links)}"))
        return
    for name, link in links.items():
        if link is None and allow_null:
            continue
        if not _is_absolute_uri(link):
            out.append(violation("JSONAPI-015", f"{where} '{name}' is {_show(link)}"))


def _check_identity(resource: dict[str, Any], where: str, out: list[Violation]) -> None:
    """``type`` and ``id`` of a resource object or resource identifier."""
    kind = resource.get("type")
    if not isinstance(kind, str) or not kind:
        out.append(violation("JSONAPI-010", f"{where}.type is {_show(kind)}"))
    ident = resource.get("id")
    if not isinstance(ident, str) or not ident:
        out.append(violation("JSONAPI-011", f"{where}.id is {_show(ident)}"))
    elif kind in KSUID_TYPES and KSUID.fullmatch(ident) is None:
        out.append(
            violation("JSONAPI-012", f"{where} is a {kind} with id {ident!r} (need 27 letters or digits)")
        )


def _check_resource(resource: Any, where: str, out: list[Violation]) -> None:
    if not isinstance(resource, dict):
        out.append(violation("JSONAPI-008", f"{where} is {_show(resource)}, not a resource object"))
        return
    unknown = sorted(set(resource) - RESOURCE_MEMBERS)
    if unknown:
        out.append(violation("JSONAPI-009", f"{where} has unexpected member(s) {unknown}"))
    _check_identity(resource, where, out)
    if "attributes" in resource and not isinstance(resource["attributes"], dict):
        out.append(violation("JSONAPI-013", f"{where}.attributes is {_show(resource['attributes'])}"))
    if "links" in resource:
        _check_links(resource["links"], f"{where}.links", out)
    if "meta" in resource and not isinstance(resource["meta"], dict):
        out.append(violation("JSONAPI-017", f"{where}.meta is {_show(resource['meta'])}"))
    if "relationships" in resource:
        _check_relationships(resource["relationships"], f"{where}.relationships", out)


def _check_relationships(relationships: Any, where: str, out: list[Violation]) -> None:
    if not isinstance(relationships, dict):
        out.append(violation("JSONAPI-016", f"{where} is {_show(relationships)}"))
        return
    for name, relationship in relationships.items():
        here = f"{where}.{name}"
        if not isinstance(relationship, dict) or not {"data", "links", "meta"} & set(relationship):
            out.append(violation("JSONAPI-016", f"{here} is {_show(relationship)}"))
            continue
        linkage = relationship.get("data")
        targets = linkage if isinstance(linkage, list) else [] if linkage is None else [linkage]
        for index, target in enumerate(targets):
            label = f"{here}.data[{index}]" if isinstance(linkage, list) else f"{here}.data"
            if isinstance(target, dict):
                _check_identity(target, label, out)
            else:
                out.append(violation("JSONAPI-016", f"{label} is {_show(target)}, not a resource identifier"))
        if "links" in relationship:
            _check_links(relationship["links"], f"{here}.links", out)


def _check_errors(exchange: Exchange, errors: Any, out: list[Violation]) -> None:
    if not isinstance(errors, list) or not errors:
        out.append(violation("JSONAPI-018", f"'errors' is {_show(errors)}"))
        return
    for index, error in enumerate(errors):
        if not isinstance(error, dict):
            out.append(violation("JSONAPI-019", f"errors[{index}] is {_show(error)}"))
            continue
        _check_error(exchange, error, index, out)


def _check_error(exchange: Exchange, error: dict[str, Any], index: int, out: list[Violation]) -> None:
    where = f"errors[{index}]"
    unknown = sorted(set(error) - ERROR_MEMBERS)
    if unknown:
        out.append(violation("JSONAPI-020", f"{where} has unexpected member(s) {unknown}"))

    error_id = error.get("id")
    head, dot, tail = error_id.rpartition(".") if isinstance(error_id, str) else ("", "", "")
    if not (head and dot and tail == str(index)):
        out.append(violation("JSONAPI-021", f"{where}.id is {_show(error_id)}; it should end in '.{index}'"))

    code = error.get("code")
    if not isinstance(code, str) or not code:
        out.append(violation("JSONAPI-022", f"{where}.code is {_show(code)}"))

    links = error.get("links")
    if not isinstance(links, dict) or links.get("about") != ABOUT_LINK:
        about = links.get("about") if isinstance(links, dict) else links
        out.append(violation("JSONAPI-023", f"{where} links.about is {_show(about)}, expected {ABOUT_LINK}"))
    if isinstance(links, dict):
        _check_links({k: v for k, v in links.items() if k != "about"}, f"{where}.links", out)

    status = error.get("status")
    if not isinstance(status, str) or _HTTP_STATUS.fullmatch(status) is None:
        out.append(violation("JSONAPI-024", f"{where}.status is {_show(status)}"))
    elif index == 0 and status != str(exchange.status):
        out.append(
            violation(
                "JSONAPI-025", f"the response is HTTP {exchange.status} but errors[0].status is {status!r}"
            )
        )

    for member in ("title", "detail"):
        if not isinstance(error.get(member), str):
            out.append(violation("JSONAPI-026", f"{where}.{member} is {_show(error.get(member))}"))
    if "meta" in error and not isinstance(error["meta"], dict):
        out.append(violation("JSONAPI-017", f"{where}.meta is {_show(error['meta'])}"))
    if "source" in error:
        _check_source(exchange, error["source"], code, where, out)


def _check_source(exchange: Exchange, source: Any, code: Any, where: str, out: list[Violation]) -> None:
    if not isinstance(source, dict) or set(source) not in ({"pointer"}, {"header"}):
        out.append(violation("JSONAPI-027", f"{where}.source is {_show(source)}"))
        return
    if "header" in source:
        header = source["header"]
        if not isinstance(header, str) or _HEADER_NAME.fullmatch(header) is None:
            out.append(violation("JSONAPI-030", f"{where}.source.header is {_show(header)}"))
        return
    pointer = source["pointer"]
    if not isinstance(pointer, str) or not _json_pointer.is_valid_pointer(pointer):
        out.append(violation("JSONAPI-028", f"{where}.source.pointer is {_show(pointer)}"))
        return
    if not _pointer_resolves(exchange, pointer, code):
        if exchange.request_is_json:
            problem = "does not lead to anything in the request body"
        else:
            problem = "cannot point into a request body that is not JSON (only '/' can)"
        out.append(violation("JSONAPI-029", f"{where}.source.pointer {pointer!r} {problem}"))


def _pointer_resolves(exchange: Exchange, pointer: str, code: Any) -> bool:
    """Whether a reported pointer makes sense for the request that was sent.

    A missing property cannot resolve, so only its parent must; the gateway reports account-wide ODS
    problems at ``/data/attributes/messages`` even for a single message; sandbox ``Prefer`` triggers are
    canned and not about the body at all.
    """
    if pointer == "/" or is_canned_answer(exchange):
        return True
    if not exchange.request_is_json:
        return False
    body = exchange.request_json
    if code == "CM_MISSING_VALUE" or pointer == _MESSAGES_POINTER:
        return _json_pointer.resolves(body, _json_pointer.parent(pointer))
    return _json_pointer.resolves(body, pointer)
