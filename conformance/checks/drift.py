"""Drift: what a response carries that the contract does not document.

A pure function of one :class:`~conformance.exchange.Exchange` and the contract, like the checks, but it
reports no broken rule: it names each undocumented thing, so a run can collect them, show them and (only
with ``--strict-contract``) fail on them. Four kinds:

* ``member``: a member of a JSON object whose schema closes it (``additionalProperties: false``) and does
  not list it, e.g. ``member data.attributes.newField``. The API may add fields without notice
  (behaviour ops §1.2), so an addition is drift, not a failure; a wrong type or a missing required member
  is judged by the schema checks as before;
* ``value``: a value outside the schema's ``enum``, e.g. ``value 'queued' of data.attributes.messageStatus``
  (the tests that assert a value still fail on it; drift says that it happened);
* ``header``: a response header that neither the contract's response nor the gateway's documented set
  (behaviour §1.7) names, and that is not HTTP's own (``date``, ``content-length``, ...);
* ``status``: a status the contract documents no response for, for that operation (except the sandbox's
  canned answers to ``Prefer: code=...``, which any path and method gets: behaviour §4.1).

Only exchanges of the contract's operations (method and path template) are judged; the gateway's
utility endpoints, unknown paths, undeclared methods and CORS preflights are not the contract's.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from conformance.checks._exchange_kinds import is_canned_answer
from conformance.exchange import Exchange
from conformance.spec import JSON_API, Operation, Spec, load_spec

Kind = Literal["member", "value", "header", "status"]
KINDS: tuple[Kind, ...] = ("member", "value", "header", "status")

#: Headers the gateway documents on every response (behaviour §1.7), beyond each response's own.
GATEWAY_HEADERS = frozenset(
    {
        "content-type",
        "cache-control",
        "x-content-type-options",
        "x-correlation-id",
        "access-control-allow-origin",
        "access-control-expose-headers",
        "cross-origin-resource-policy",
    }
)
#: HTTP's own headers (framing, connection, caching intermediaries, transport security): no API
#: contract documents them. ``x-amz*`` headers are not here: a check judges them (HDR-006).
HTTP_HEADERS = frozenset(
    {
        "age",
        "alt-svc",
        "connection",
        "content-encoding",
        "content-length",
        "date",
        "keep-alive",
        "proxy-connection",
        "server",
        "strict-transport-security",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "vary",
        "via",
    }
)
#: How much of an undocumented value an example shows.
SAMPLE_CHARS = 80


@dataclass(frozen=True)
class Drift:
    """One undocumented thing in one answer of one operation; ``key`` is the same for every exchange
    that shows it (the sample, the value this exchange had, is not part of it)."""

    kind: Kind
    #: the operation's method and path template as the contract writes them
    method: str
    path: str
    status: int
    #: where: a member's dotted path (``data.attributes.newField``, arrays as ``[]``), a header's name,
    #: the path of an enum-valued member, or "" for a status
    where: str
    #: the undocumented enum value (``'queued'``), for ``value`` drift
    value: str = ""
    #: what this exchange had there (shortened), for the example
    sample: str = field(default="", compare=False)

    @property
    def thing(self) -> str:
        """``member data.attributes.newField``, ``value 'queued' of ...``, ``header x-new``, a status."""
        if self.kind == "value":
            return f"value {self.value} of {self.where or '(the body)'}"
        if self.kind == "status":
            return "status not documented"
        return f"{self.kind} {self.where}"

    @property
    def shown_sample(self) -> str:
        """`` (here: 'normal')`` for a member or header; '' for a value or a status (its own example)."""
        return f" (here: {self.sample})" if self.sample and self.kind in ("member", "header") else ""

    @property
    def key(self) -> str:
        """``GET /v1/messages/{messageId} 200: member data.attributes.newField``."""
        return f"{self.method} {self.path} {self.status}: {self.thing}"


def find_drift(exchange: Exchange, spec: Spec | None = None) -> list[Drift]:
    """Everything ``exchange``'s response carries that the contract does not document (each key once)."""
    contract = spec if spec is not None else load_spec()
    operation = operation_of(exchange, contract)
    if operation is None:
        return []
    status = exchange.status

    def make(kind: Kind, where: str, value: str = "", sample: str = "") -> Drift:
        return Drift(kind, operation.method, operation.path, status, where, value, sample)

    if not operation.documents(status):
        return [] if is_canned_answer(exchange) else [make("status", "", sample=str(status))]
    response = contract.operation_object(operation.id)["responses"][str(status)]
    found: dict[str, Drift] = {}
    documented = GATEWAY_HEADERS | HTTP_HEADERS | {name.lower() for name in response.get("headers") or {}}
    for name, value in exchange.response_headers.multi_items():
        if name not in documented and not name.startswith("x-amz"):
            item = make("header", name, sample=_shorten(value))
            found.setdefault(item.key, item)
    schema = _body_schema(response, exchange)
    if schema is not None and exchange.method != "HEAD" and exchange.response_is_json:
        for where, kind, value, sample in _walk(exchange.response_json, schema, ""):
            item = make(kind, where, value, sample)
            found.setdefault(item.key, item)
    return list(found.values())


def operation_of(exchange: Exchange, spec: Spec) -> Operation | None:
    """The contract's operation ``exchange`` was a request of (method and path template), if any."""
    path = urlsplit(exchange.url).path
    for operation, pattern in _patterns(spec):
        if operation.method == exchange.method.upper() and pattern.search(path):
            return operation
    return None


@functools.cache
def _patterns(spec: Spec) -> tuple[tuple[Operation, re.Pattern[str]], ...]:
    """Each operation with a pattern for the end of a request path (the base URL's own path comes first)."""
    found = []
    for operation in spec.operations.values():
        parts = re.split(r"(\{[^{}]+\})", operation.path)
        body = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts if part)
        found.append((operation, re.compile(body + "$")))
    return tuple(found)


def _body_schema(response: dict[str, Any], exchange: Exchange) -> dict[str, Any] | None:
    content = response.get("content")
    if not isinstance(content, dict) or not content:
        return None
    media_type = (exchange.response_headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    chosen = content.get(media_type) or content.get(JSON_API) or next(iter(content.values()))
    schema = chosen.get("schema") if isinstance(chosen, dict) else None
    return schema if isinstance(schema, dict) else None


_Found = tuple[str, Kind, str, str]


def _walk(value: Any, schema: dict[str, Any], where: str) -> list[_Found]:
    """The undocumented members and enum values of ``value`` against ``schema`` (resolved, no $ref)."""
    found: list[_Found] = []
    branches = _branches(schema)
    if isinstance(value, dict):
        properties, closed, extra = _object_view(branches)
        if properties is None:
            return found
        for name, member in value.items():
            here = f"{where}.{name}" if where else str(name)
            if name in properties:
                found += _walk(member, properties[name], here)
            elif closed:
                found.append((here, "member", "", _shorten(member)))
            elif extra is not None:
                found += _walk(member, extra, here)
    elif isinstance(value, list):
        items = next((b["items"] for b in branches if isinstance(b.get("items"), dict)), None)
        if items is not None:
            seen: set[tuple[str, Kind, str]] = set()
            for item in value:
                for entry in _walk(item, items, where + "[]"):
                    if entry[:3] not in seen:  # a 45 000-message batch: each thing once
                        seen.add(entry[:3])
                        found.append(entry)
    else:
        enums = [b["enum"] for b in branches if isinstance(b.get("enum"), list)]
        if enums and not any(value in enum for enum in enums):
            shown = _shorten(value)
            found.append((where, "value", shown, shown))
    return found


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema and the alternatives or parts it combines (oneOf, anyOf, allOf), flattened."""
    out = [schema]
    for combinator in ("allOf", "oneOf", "anyOf"):
        for part in schema.get(combinator) or ():
            if isinstance(part, dict):
                out += _branches(part)
    return out


def _object_view(
    branches: list[dict[str, Any]],
) -> tuple[dict[str, Any] | None, bool, dict[str, Any] | None]:
    """The members the branches document, whether they close the object, and a schema for the rest.

    A member documented by any branch is documented; the object is closed only when every branch that
    describes objects says ``additionalProperties: false``.
    """
    properties: dict[str, Any] = {}
    describing = [b for b in branches if "properties" in b or "additionalProperties" in b]
    if not describing:
        return None, False, None
    extra: dict[str, Any] | None = None
    for branch in describing:
        for name, member in (branch.get("properties") or {}).items():
            if isinstance(member, dict):
                properties.setdefault(name, member)
        if isinstance(branch.get("additionalProperties"), dict):
            extra = branch["additionalProperties"]
    closed = all(branch.get("additionalProperties") is False for branch in describing)
    return properties, closed, extra


def _shorten(value: Any) -> str:
    """A value as an example shows it: a string quoted, anything else as compact JSON, at most
    :data:`SAMPLE_CHARS` characters."""
    if isinstance(value, str):
        shown = repr(value)
    else:
        try:
            shown = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError):
            shown = repr(value)
    return shown if len(shown) <= SAMPLE_CHARS else shown[: SAMPLE_CHARS - 1] + "\u2026"


class ContractDrift(AssertionError):
    """Raised, only under ``--strict-contract``, by a test whose answers showed drift: one line each."""

    def __init__(self, items: list[Drift]) -> None:
        self.items = tuple(items)
        noun = "thing" if len(self.items) == 1 else "things"
        lines = [f"contract drift (--strict-contract): {len(self.items)} undocumented {noun} in the answers"]
        lines += [f"  {item.key}{item.shown_sample}" for item in self.items]
        super().__init__("\n".join(lines))
