"""The suite's own OpenAPI contract (``specs/notify-api.yaml``), loaded once and queried by the checks.

The contract is the single source of the API's operations (ids, methods, paths, documented statuses) and
of its known discrepancies (``x-known-discrepancies``: ids and what each one says). The suite, the
property tests and the reference API all take them from here; none keeps its own list.

``Spec.raw`` keeps the document as written (``$ref`` intact, for tools such as schemathesis that resolve
references themselves); ``Spec.resolved()`` gives a reference-free view for code that just wants the
schema of a response. ``sha256`` fingerprints the exact contract a report was produced against.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import yaml

from conformance._resources import specs_dir

#: The contract's file name inside ``specs/``. It is a single file, so ``sha256`` hashes just its bytes.
SPEC_FILE_NAME = "notify-api.yaml"

#: The media type the gateway answers with unless the request asked for plain ``application/json``.
JSON_API = "application/vnd.api+json"

#: libyaml's safe loader when present (about ten times faster), else PyYAML's own.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_DISCREPANCY_FIELDS = ("id", "title", "upstream_spec", "gateway", "reference", "affects")


class SpecError(ValueError):
    """The contract file is missing, malformed, or asked for something it does not describe."""


class OperationId(StrEnum):
    """The contract's operationIds, for code that has to name one (the suite's requests, the reference's
    route table). Not a second list: :func:`named_operations` refuses a contract whose operationIds are
    not exactly these, and the unit tests hold the shipped contract to it."""

    CREATE_MESSAGE = "create-message"
    CREATE_MESSAGE_BATCH = "create-message-batch"
    GET_MESSAGE = "get-message"
    GET_NHSAPP_ACCOUNT_DETAILS = "get-nhsapp-account-details"


_PATH_PARAMETER = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class Operation:
    """One operation of the contract: its operationId, method, path template and documented statuses."""

    id: str
    method: str
    #: the path template as the contract writes it (``/v1/messages/{messageId}``)
    path: str
    #: the response statuses the contract documents, as written (``"201"``, ``"400"``, ...)
    statuses: tuple[str, ...]

    @property
    def label(self) -> str:
        """``METHOD /path/{template}``, how reports and test titles name the operation."""
        return f"{self.method} {self.path}"

    def documents(self, status: int | str) -> bool:
        """Whether the contract documents ``status`` for this operation."""
        return str(status) in self.statuses

    def path_with(self, **values: str) -> str:
        """The path with each ``{name}`` replaced by ``values[name]`` (percent-encoded)."""

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise SpecError(f"{self.id}'s path {self.path} needs a value for {{{name}}}")
            return quote(values[name], safe="")

        return _PATH_PARAMETER.sub(fill, self.path)


@dataclass(frozen=True)
class KnownDiscrepancy:
    """One way the upstream specification and the real gateway disagree (``x-known-discrepancies``)."""

    id: str
    title: str
    upstream_spec: str
    gateway: str
    reference: str
    affects: tuple[str, ...]


@dataclass(frozen=True)
class Spec:
    """The loaded contract. Equality and hashing go by file, version and content hash only.

    ``raw`` is shared by every caller (and YAML anchors make some of its parts the same object), so hand a
    ``copy.deepcopy`` of it to any tool that might modify what it is given.
    """

    path: Path
    version: str
    sha256: str
    raw: dict[str, Any] = field(compare=False, repr=False)
    #: every operation, by operationId, in the order the contract lists them
    operations: Mapping[str, Operation] = field(compare=False, repr=False)
    known_discrepancies: tuple[KnownDiscrepancy, ...] = field(compare=False, repr=False)
    _resolved_cache: dict[str, dict[str, Any]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def resolved(self) -> dict[str, Any]:
        """The document with every ``$ref`` replaced by its target; built once and shared, so read-only."""
        if "document" not in self._resolved_cache:
            self._resolved_cache["document"] = resolve_local_refs(self.raw)
        return self._resolved_cache["document"]

    def operation(self, operation_id: str) -> Operation:
        """The operation with this operationId."""
        try:
            return self.operations[operation_id]
        except KeyError:
            raise SpecError(f"the contract has no operation {operation_id!r}") from None

    def operation_object(self, operation_id: str) -> dict[str, Any]:
        """The resolved OpenAPI Operation Object (the YAML mapping) for ``operation_id``."""
        operation = self.operation(operation_id)
        return cast(dict[str, Any], self.resolved()["paths"][operation.path][operation.method.lower()])

    def response_schema(
        self, operation_id: str, status: int | str, media_type: str = JSON_API
    ) -> dict[str, Any]:
        """The resolved body schema of one documented response."""
        responses = self.operation_object(operation_id)["responses"]
        response = responses.get(str(status))
        if response is None:
            raise SpecError(f"{operation_id} documents no {status} response")
        try:
            return cast(dict[str, Any], response["content"][media_type]["schema"])
        except KeyError:
            raise SpecError(f"{operation_id} {status} has no {media_type} body") from None

    def request_schema(self, operation_id: str, media_type: str = JSON_API) -> dict[str, Any]:
        """The resolved request body schema of ``operation_id``."""
        try:
            content = self.operation_object(operation_id)["requestBody"]["content"]
            return cast(dict[str, Any], content[media_type]["schema"])
        except KeyError:
            raise SpecError(f"{operation_id} takes no {media_type} request body") from None

    def discrepancy(self, discrepancy_id: str) -> KnownDiscrepancy:
        """The known discrepancy with this id (``D1``, ``D2``, ...); SpecError when the contract has none."""
        for item in self.known_discrepancies:
            if item.id == discrepancy_id:
                return item
        raise SpecError(f"the contract lists no known discrepancy {discrepancy_id!r}")


def named_operations(spec: Spec | None = None) -> dict[OperationId, Operation]:
    """The contract's operations keyed by :class:`OperationId` (the shipped contract unless ``spec``).

    Raises SpecError when the contract's operationIds and :class:`OperationId` differ, so code that names
    operations can never drift from the contract unnoticed.
    """
    contract = spec if spec is not None else load_spec()
    named = {str(member) for member in OperationId}
    if named != set(contract.operations):
        missing = sorted(named - set(contract.operations))
        unnamed = sorted(set(contract.operations) - named)
        raise SpecError(
            f"{contract.path} and OperationId disagree: not in the contract {missing}, not named {unnamed}"
        )
    return {member: contract.operations[member] for member in OperationId}


@functools.cache
def load_spec(path: Path | None = None) -> Spec:
    """Read, hash and index the contract (the shipped one unless ``path`` is given); cached per path."""
    spec_path = (path if path is not None else specs_dir() / SPEC_FILE_NAME).resolve()
    try:
        content = spec_path.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read the OpenAPI contract {spec_path}: {exc}") from exc
    try:
        document = yaml.load(content, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise SpecError(f"{spec_path} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise SpecError(f"{spec_path} does not hold an OpenAPI document")
    version = document.get("info", {}).get("version") if isinstance(document.get("info"), dict) else None
    if not isinstance(version, str):
        raise SpecError(f"{spec_path} has no info.version string")
    operations = _index_operations(document)
    return Spec(
        path=spec_path,
        version=version,
        sha256=hashlib.sha256(content).hexdigest(),
        raw=document,
        operations=operations,
        known_discrepancies=_parse_discrepancies(document.get("x-known-discrepancies", []), operations),
    )


def resolve_local_refs(document: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``document`` with each local ``$ref`` replaced by its (resolved) target.

    Siblings of a ``$ref`` are dropped, as OpenAPI 3.0 says they are ignored. A target reached through
    several references is shared, not copied. Only ``#/...`` references exist in our contract, so any
    other kind, a dangling one or a cycle raises ``SpecError``.
    """
    done: dict[str, Any] = {}

    def follow(ref: str, chain: tuple[str, ...]) -> Any:
        if ref in chain:
            raise SpecError(f"circular $ref: {' -> '.join((*chain, ref))}")
        if ref not in done:
            done[ref] = walk(_pointer_target(document, ref), (*chain, ref))
        return done[ref]

    def walk(node: Any, chain: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                return follow(ref, chain)
            return {key: walk(value, chain) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item, chain) for item in node]
        return node

    return cast(dict[str, Any], walk(document, ()))


def _pointer_target(document: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise SpecError(f"only local $refs are supported, not {ref!r}")
    node: Any = document
    for token in ref[2:].split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise SpecError(f"$ref {ref!r} points at nothing")
    return node


def _index_operations(document: dict[str, Any]) -> dict[str, Operation]:
    paths = document.get("paths")
    if not isinstance(paths, dict):
        raise SpecError("the contract has no paths")
    operations: dict[str, Operation] = {}
    for path, item in paths.items():
        for method in _HTTP_METHODS:
            operation = item.get(method) if isinstance(item, dict) else None
            if not isinstance(operation, dict):
                continue
            operation_id = operation.get("operationId")
            if not isinstance(operation_id, str):
                raise SpecError(f"{method.upper()} {path} has no operationId")
            if operation_id in operations:
                raise SpecError(f"operationId {operation_id!r} is used twice")
            responses = operation.get("responses")
            statuses = tuple(str(status) for status in responses) if isinstance(responses, dict) else ()
            operations[operation_id] = Operation(operation_id, method.upper(), str(path), statuses)
    return operations


def _parse_discrepancies(items: Any, operations: Mapping[str, Operation]) -> tuple[KnownDiscrepancy, ...]:
    if not isinstance(items, list):
        raise SpecError("x-known-discrepancies must be a list")
    parsed: list[KnownDiscrepancy] = []
    for item in items:
        if not isinstance(item, dict) or any(name not in item for name in _DISCREPANCY_FIELDS):
            raise SpecError(f"a known discrepancy needs {', '.join(_DISCREPANCY_FIELDS)}: {item!r}")
        texts = {name: item[name] for name in _DISCREPANCY_FIELDS if name != "affects"}
        affects = item["affects"]
        if not all(isinstance(text, str) for text in texts.values()) or not (
            isinstance(affects, list) and all(isinstance(op, str) for op in affects)
        ):
            raise SpecError(f"known discrepancy {item.get('id')!r} has a field of the wrong type")
        unknown = sorted(set(affects) - set(operations))
        if unknown:
            raise SpecError(
                f"known discrepancy {item['id']!r} affects operations the contract lacks: {unknown}"
            )
        parsed.append(KnownDiscrepancy(affects=tuple(affects), **texts))
    seen = [item.id for item in parsed]
    duplicates = sorted({ident for ident in seen if seen.count(ident) > 1})
    if duplicates:
        raise SpecError(f"known discrepancy ids used more than once: {', '.join(duplicates)}")
    return tuple(parsed)
