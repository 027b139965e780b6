"""Our OpenAPI contract: valid, indexed, consistent with upstream, and true to the sandbox's own data."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import FormatChecker, ValidationError, validators
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_openapi
from openapi_spec_validator.validation import OpenAPIV30SpecValidator
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from conformance import nhs_number
from conformance._resources import fixtures_dir, specs_dir
from conformance.spec import (
    SPEC_FILE_NAME,
    OperationId,
    SpecError,
    load_spec,
    named_operations,
    resolve_local_refs,
)

UPSTREAM_CONTRACT = (
    Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "notify-api-contract.json"
)

OPERATIONS = {
    "create-message": ("POST", "/v1/messages"),
    "create-message-batch": ("POST", "/v1/message-batches"),
    "get-message": ("GET", "/v1/messages/{messageId}"),
    "get-nhsapp-account-details": ("GET", "/channels/nhsapp/accounts"),
}
#: Statuses the gateway emits that upstream does not document (api-behaviour §1.2), by operation.
ADDED_STATUSES = {
    "create-message": {"413", "502"},
    "create-message-batch": {"502"},
    "get-message": {"502"},
    "get-nhsapp-account-details": set(),
}
#: Entries our ErrorCode / ErrorTitle enums have beyond upstream's (discrepancy D13).
ADDED_ERROR_CODES = {"CM_CANNOT_SET_CONTACT_DETAILS"}
ADDED_ERROR_TITLES = {"Cannot set contact details", "Duplicate message request", "Duplicate batch request"}

SANDBOX_BASE = "https://sandbox.api.service.nhs.uk/comms"
MEDIA_TYPES = ("application/vnd.api+json", "application/json")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

needs_upstream = pytest.mark.skipif(
    not UPSTREAM_CONTRACT.is_file(),
    reason=f"no upstream contract at {UPSTREAM_CONTRACT} (shared/ is not checked out beside this clone)",
)


# --- helpers ----------------------------------------------------------------------------------------------


def _is_absolute_uri(value: object) -> bool:
    if not isinstance(value, str) or re.search(r"\s", value):
        return False
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


def _is_uri_reference(value: object) -> bool:
    return isinstance(value, str) and value != "" and not re.search(r"\s", value)


def _format_checker() -> FormatChecker:
    """jsonschema's checkers plus ``uri`` and ``uri-reference``, which it skips without rfc3987."""
    checker = FormatChecker()
    checker.checks("uri")(_is_absolute_uri)
    checker.checks("uri-reference")(_is_uri_reference)
    return checker


def _mod11(validator: Any, kind: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if kind == "mod11" and isinstance(instance, str) and not nhs_number.is_valid(instance):
        yield ValidationError(f"{instance!r} fails the NHS number Modulus 11 check")


#: OpenAPI 3.0 schema validator that also enforces our ``x-checksum: mod11`` annotation.
ContractValidator = validators.extend(OAS30Validator, {"x-checksum": _mod11})


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = ContractValidator(schema, format_checker=_format_checker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def _walk(node: Any, path: str = "#") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield item[method]["operationId"], method, path, item[method]


@pytest.fixture(scope="module")
def spec_document() -> dict[str, Any]:
    return load_spec().raw


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    return load_spec().resolved()


@pytest.fixture(scope="module")
def upstream() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(UPSTREAM_CONTRACT.read_text(encoding="utf-8"))
    return document


def _upstream_operations(upstream: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Upstream's API operations, leaving out its pseudo-paths for callbacks."""
    return {
        operation_id: operation
        for operation_id, _, path, operation in _operations(upstream)
        if not path.startswith("/<")
    }


def _error_enum(upstream: dict[str, Any], field: str) -> set[str]:
    values: set[str] = set()
    for operation in _upstream_operations(upstream).values():
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            for media in response["content"].values():
                item = media["schema"]["properties"]["errors"]["items"]["properties"][field]
                values.update(item.get("enum", []))
    return values


# --- the file and its loader ------------------------------------------------------------------------------


def test_contract_is_valid_openapi_3_0_3(spec_document: dict[str, Any]) -> None:
    assert spec_document["openapi"] == "3.0.3"
    validate_openapi(spec_document, cls=OpenAPIV30SpecValidator)


def test_validator_rejects_a_broken_contract(spec_document: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(spec_document))
    broken["components"]["schemas"]["Timestamp"] = {"type": "date-time"}  # upstream's mistake (D23)
    with pytest.raises(OpenAPIValidationError, match="date-time"):
        validate_openapi(broken, cls=OpenAPIV30SpecValidator)


def test_version_and_hash_are_exposed_and_stable() -> None:
    spec = load_spec()
    path = specs_dir() / SPEC_FILE_NAME
    assert spec.version == "1.0.0" == spec.raw["info"]["version"]
    assert spec.raw["info"]["x-upstream-release"] == "v4.66.0"
    assert spec.path == path.resolve()
    assert spec.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256)
    assert load_spec() is spec
    fresh = load_spec.__wrapped__()
    assert fresh is not spec and fresh == spec and hash(fresh) == hash(spec)


def test_operations_are_indexed_by_operation_id() -> None:
    operations = load_spec().operations
    assert {op_id: (op.method, op.path) for op_id, op in operations.items()} == OPERATIONS
    assert all(op_id == op.id for op_id, op in operations.items())
    assert operations["get-message"].label == "GET /v1/messages/{messageId}"
    assert operations["get-message"].path_with(messageId="a b") == "/v1/messages/a%20b"
    with pytest.raises(SpecError, match="messageId"):
        operations["get-message"].path_with()


def test_operation_statuses_are_the_documented_responses(spec_document: dict[str, Any]) -> None:
    for op_id, operation in load_spec().operations.items():
        method, path = OPERATIONS[op_id]
        assert operation.statuses == tuple(spec_document["paths"][path][method.lower()]["responses"])
    assert load_spec().operation("get-message").documents(404)
    assert not load_spec().operation("get-message").documents(201)


def test_operation_id_names_exactly_the_contracts_operations() -> None:
    named = named_operations()
    assert [str(member) for member in named] == list(load_spec().operations)
    assert set(OperationId) == set(OPERATIONS)
    assert named[OperationId.GET_MESSAGE] is load_spec().operation("get-message")


def test_named_operations_refuses_a_contract_that_drifted(tmp_path: Path) -> None:
    drifted = load_spec(_write_spec(tmp_path / "drifted.yaml", []))
    with pytest.raises(SpecError, match="OperationId disagree"):
        named_operations(drifted)


def test_the_yaml_holds_only_json_values(spec_document: dict[str, Any]) -> None:
    """Unquoted dates would load as datetime objects and break JSON tools and example validation."""
    json.dumps(spec_document, allow_nan=False)


def test_no_ref_has_siblings(spec_document: dict[str, Any]) -> None:
    """OpenAPI 3.0 ignores a $ref's siblings, so any we wrote would be silently lost."""
    offenders = [
        path
        for path, node in _walk(spec_document)
        if isinstance(node, dict) and "$ref" in node and len(node) > 1
    ]
    assert offenders == []


def test_resolved_view_has_no_refs_and_is_cached() -> None:
    spec = load_spec()
    resolved = spec.resolved()
    assert resolved is spec.resolved()
    assert not [path for path, node in _walk(resolved) if isinstance(node, dict) and "$ref" in node]
    assert any(isinstance(node, dict) and "$ref" in node for _, node in _walk(spec.raw))
    schema = spec.response_schema("get-message", 200)
    assert schema["properties"]["data"]["properties"]["id"]["pattern"] == "^[a-zA-Z0-9]{27}$"
    assert spec.request_schema("create-message", "application/json")["required"] == ["data"]


def test_spec_lookups_name_what_is_missing() -> None:
    spec = load_spec()
    with pytest.raises(SpecError, match="no operation 'delete-message'"):
        spec.operation("delete-message")
    with pytest.raises(SpecError, match="no operation 'delete-message'"):
        spec.operation_object("delete-message")
    with pytest.raises(SpecError, match="no 418 response"):
        spec.response_schema("get-message", 418)
    with pytest.raises(SpecError, match="no application/xml body"):
        spec.response_schema("get-message", 200, "application/xml")
    with pytest.raises(SpecError, match="takes no"):
        spec.request_schema("get-message")
    with pytest.raises(SpecError, match="D999"):
        spec.discrepancy("D999")
    assert spec.discrepancy("D1").affects == ("create-message",)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"a": {"$ref": "#/b"}, "b": {"$ref": "#/a"}}, "circular"),
        ({"a": {"$ref": "other.yaml#/b"}}, "only local"),
        ({"a": {"$ref": "#/missing/thing"}}, "points at nothing"),
    ],
)
def test_resolver_refuses_what_it_cannot_resolve(document: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        resolve_local_refs(document)


def test_resolver_follows_nested_and_escaped_pointers() -> None:
    document = {
        "defs": {"a/b": {"list": [{"x": 1}, {"$ref": "#/defs/c~0d"}]}, "c~d": {"y": 2}},
        "use": {"$ref": "#/defs/a~1b/list/1", "description": "ignored sibling"},
    }
    assert resolve_local_refs(document)["use"] == {"y": 2}
    assert document["use"]["$ref"] == "#/defs/a~1b/list/1"


def _write_spec(path: Path, discrepancies: Any) -> Path:
    document = {
        "openapi": "3.0.3",
        "info": {"version": "9"},
        "paths": {},
        "x-known-discrepancies": discrepancies,
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_load_spec_rejects_malformed_discrepancies(tmp_path: Path) -> None:
    item = {"id": "D1", "title": "t", "upstream_spec": "u", "gateway": "g", "reference": "r", "affects": []}
    assert load_spec(_write_spec(tmp_path / "good.yaml", [item])).known_discrepancies[0].id == "D1"
    with pytest.raises(SpecError, match="used more than once: D1"):
        load_spec(_write_spec(tmp_path / "twice.yaml", [item, item]))
    with pytest.raises(SpecError, match="needs id"):
        load_spec(_write_spec(tmp_path / "short.yaml", [{"id": "D1"}]))
    with pytest.raises(SpecError, match="wrong type"):
        load_spec(_write_spec(tmp_path / "typed.yaml", [{**item, "affects": "create-message"}]))
    with pytest.raises(SpecError, match="affects operations the contract lacks"):
        load_spec(_write_spec(tmp_path / "affects.yaml", [{**item, "affects": ["create-message"]}]))


def test_load_spec_rejects_a_file_that_is_not_a_contract(tmp_path: Path) -> None:
    not_yaml = tmp_path / "bad.yaml"
    not_yaml.write_text("openapi: [unclosed", encoding="utf-8")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(not_yaml)
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "absent.yaml")


# --- agreement with upstream ------------------------------------------------------------------------------


@needs_upstream
def test_same_operations_as_upstream(spec_document: dict[str, Any], upstream: dict[str, Any]) -> None:
    ours = {op_id: (method, path) for op_id, method, path, _ in _operations(spec_document)}
    theirs = {
        op_id: (method, path) for op_id, method, path, _ in _operations(upstream) if not path.startswith("/<")
    }
    assert ours == theirs
    assert [server["url"] for server in spec_document["servers"]] == [s["url"] for s in upstream["servers"]]


@needs_upstream
@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_response_statuses_are_upstreams_plus_documented_additions(
    operation_id: str, spec_document: dict[str, Any], upstream: dict[str, Any]
) -> None:
    upstream_statuses = set(_upstream_operations(upstream)[operation_id]["responses"])
    method, path = OPERATIONS[operation_id]
    responses = spec_document["paths"][path][method.lower()]["responses"]
    assert set(responses) - upstream_statuses == ADDED_STATUSES[operation_id]
    assert upstream_statuses <= set(responses)
    for status in ADDED_STATUSES[operation_id]:
        marker = responses[status].get("x-notify-discrepancy")
        assert isinstance(marker, str) and re.match(r"D\d+: .*§", marker), (operation_id, status)


@needs_upstream
@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_media_types_match_upstream(
    operation_id: str, resolved: dict[str, Any], upstream: dict[str, Any]
) -> None:
    theirs = _upstream_operations(upstream)[operation_id]
    method, path = OPERATIONS[operation_id]
    ours = resolved["paths"][path][method.lower()]
    if "requestBody" in theirs:
        assert (
            set(ours["requestBody"]["content"]) == set(theirs["requestBody"]["content"]) == set(MEDIA_TYPES)
        )
    for status, response in ours["responses"].items():
        expected = (
            set(theirs["responses"][status]["content"]) if status in theirs["responses"] else set(MEDIA_TYPES)
        )
        assert set(response["content"]) == expected, status


@needs_upstream
def test_error_enums_are_upstreams_plus_documented_additions(
    spec_document: dict[str, Any], upstream: dict[str, Any]
) -> None:
    schemas = spec_document["components"]["schemas"]
    codes, titles = schemas["ErrorCode"]["enum"], schemas["ErrorTitle"]["enum"]
    assert len(codes) == len(set(codes)) and len(titles) == len(set(titles))
    assert set(codes) == _error_enum(upstream, "code") | ADDED_ERROR_CODES
    assert set(titles) == _error_enum(upstream, "title") | ADDED_ERROR_TITLES
    assert set(schemas["ErrorCode"]["x-notify-additions"]) == ADDED_ERROR_CODES
    assert set(schemas["ErrorTitle"]["x-notify-additions"]) == ADDED_ERROR_TITLES
    assert schemas["ErrorObject"]["properties"]["code"] == {"$ref": "#/components/schemas/ErrorCode"}
    assert schemas["ErrorObject"]["properties"]["title"] == {"$ref": "#/components/schemas/ErrorTitle"}


def test_per_status_error_schemas_only_narrow_the_shared_enums(spec_document: dict[str, Any]) -> None:
    """A narrowing value missing from ErrorCode/ErrorTitle would make that response schema unsatisfiable."""
    schemas = spec_document["components"]["schemas"]
    allowed = {"code": set(schemas["ErrorCode"]["enum"]), "title": set(schemas["ErrorTitle"]["enum"])}
    narrowed = 0
    for name, schema in schemas.items():
        if schema.get("allOf", [{}])[0] != {"$ref": "#/components/schemas/ErrorDocument"}:
            continue
        narrowed += 1
        item = schema["allOf"][1]["properties"]["errors"]["items"]["properties"]
        assert set(item["code"]["enum"]) <= allowed["code"], name
        assert set(item.get("title", {}).get("enum", allowed["title"])) <= allowed["title"], name
        assert all(re.fullmatch(r"[45]\d\d", status) for status in item["status"]["enum"]), name
    assert narrowed == 20


# --- headers, security, callbacks -------------------------------------------------------------------------


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_every_response_declares_the_gateway_headers(operation_id: str) -> None:
    spec = load_spec()
    operation = spec.operation_object(operation_id)
    assert operation["security"] == [{"bearerAuth": []}]
    assert [p["name"] for p in operation["parameters"] if p["in"] == "header"] == ["X-Correlation-Id"]
    for status, response in operation["responses"].items():
        headers = response["headers"]
        assert headers["X-Correlation-Id"]["required"] is True, status
        assert headers["Cache-Control"]["schema"]["enum"] == ["no-cache, no-store, must-revalidate"]
        assert headers["X-Content-Type-Options"]["schema"]["enum"] == ["nosniff"]
        assert ("Retry-After" in headers) == (status in {"425", "429"}), status
        assert ("Location" in headers) == (operation_id == "create-message" and status == "201"), status


def test_retry_after_and_location_headers() -> None:
    headers = load_spec().resolved()["components"]["headers"]
    assert headers["Retry-After-TooEarly"]["schema"]["type"] == "integer"
    assert headers["Retry-After-RateLimited"]["schema"]["type"] == "integer"
    location = headers["Location"]["schema"]
    assert location["format"] == "uri-reference"
    assert re.fullmatch(location["pattern"], "/v1/messages/2WL3qFTEFM0qMY8xjRbt1LIKCzM")
    assert not re.fullmatch(location["pattern"], f"{SANDBOX_BASE}/v1/messages/2WL3qFTEFM0qMY8xjRbt1LIKCzM")


def test_bearer_security_and_token_urls(spec_document: dict[str, Any]) -> None:
    scheme = spec_document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "sandbox" in scheme["description"].lower()
    token_urls = {
        s["x-environment"]: s["x-token-url"] for s in spec_document["servers"] if "x-token-url" in s
    }
    assert (
        token_urls
        == scheme["x-token-urls"]
        == {
            "int": "https://int.api.service.nhs.uk/oauth2/token",
            "prod": "https://api.service.nhs.uk/oauth2/token",
        }
    )
    assertion = scheme["x-client-assertion"]
    assert assertion["jwt-header"]["alg"] == "RS512"
    assert set(assertion["jwt-claims"]) == {"iss", "sub", "aud", "jti", "exp"}
    assert assertion["max-lifetime-seconds"] == 300


@pytest.mark.parametrize("operation_id", ["create-message", "create-message-batch"])
def test_status_callbacks_are_openapi_callbacks(operation_id: str) -> None:
    callbacks = load_spec().operation_object(operation_id)["callbacks"]
    expected = {"messageStatus": "MessageStatus", "channelStatus": "ChannelStatus"}
    assert set(callbacks) == set(expected)
    for name, event_type in expected.items():
        ((url, item),) = callbacks[name].items()
        assert url.startswith("https://") and ".invalid/" in url
        operation = item["post"]
        assert {p["name"] for p in operation["parameters"]} == {"x-hmac-sha256-signature", "x-api-key"}
        assert set(operation["responses"]) == {"202", "401", "403", "429"}
        assert "Retry-After" in operation["responses"]["429"]["headers"]
        event = operation["requestBody"]["content"]["application/vnd.api+json"]["schema"]["properties"][
            "data"
        ]
        assert event["items"]["properties"]["type"]["enum"] == [event_type]
    assert not [path for path in load_spec().raw["paths"] if "<" in path]


# --- examples and the sandbox's own data -----------------------------------------------------------------


def _examples(resolved: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every (location, schema, example) pair: media types, parameters, headers and schema ``example``s."""
    for path, node in _walk(resolved):
        if not isinstance(node, dict):
            continue
        schema = node.get("schema")
        if isinstance(schema, dict):
            if "example" in node:
                yield path, schema, node["example"]
            for name, example in node.get("examples", {}).items():
                yield f"{path}/examples/{name}", schema, example["value"]
        if isinstance(node.get("type"), str) and "example" in node:
            yield f"{path}/example", node, node["example"]


def test_every_example_is_valid_against_its_schema(resolved: dict[str, Any]) -> None:
    examples = list(_examples(resolved))
    assert len(examples) >= 60, "the walk found too few examples; has the contract's layout changed?"
    failures = {path: errors for path, schema, example in examples if (errors := _errors(schema, example))}
    assert failures == {}


def test_examples_cover_every_success_and_error_response(resolved: dict[str, Any]) -> None:
    for operation_id, _, _, operation in _operations(resolved):
        for status, response in operation["responses"].items():
            for media_type, media in response["content"].items():
                assert media.get("examples"), (operation_id, status, media_type)
        if "requestBody" in operation:
            assert all(media.get("examples") for media in operation["requestBody"]["content"].values())


def test_example_validation_can_fail() -> None:
    spec = load_spec()
    examples = spec.resolved()["components"]["examples"]
    body = json.loads(json.dumps(examples["CreateMessageRequest"]["value"]))
    schema = spec.request_schema("create-message")
    assert _errors(schema, body) == []
    body["data"]["attributes"]["recipient"]["nhsNumber"] = "9990548608"
    assert any("Modulus 11" in error for error in _errors(schema, body))
    created = json.loads(json.dumps(examples["MessageCreatedResponse"]["value"]))
    created["data"]["links"]["self"] = "/v1/messages/2ZljUiS8NjJNs95PqiYOO7gAfJb"
    assert _errors(spec.response_schema("create-message", 201), created)
    denied = json.loads(json.dumps(examples["AccessDeniedError"]["value"]))
    denied["errors"][0]["code"] = "CM_FORBIDDEN"
    assert _errors(spec.response_schema("get-message", 401), denied)


def _fixture_files(folder: str) -> list[Path]:
    return sorted((fixtures_dir() / "sandbox" / folder).glob("*.json"))


def _with_links(path: Path, root: str) -> Any:
    return json.loads(path.read_text(encoding="utf-8").replace("%PATH_ROOT%", root))


@pytest.mark.parametrize("path", _fixture_files("messages"), ids=lambda p: p.stem)
def test_sandbox_messages_match_the_get_message_schema(path: Path) -> None:
    schema = load_spec().response_schema("get-message", 200)
    message = _with_links(path, f"{SANDBOX_BASE}/v1/messages/{path.stem}")
    assert message["data"]["id"] == path.stem
    assert _errors(schema, message) == []


@pytest.mark.parametrize("path", _fixture_files("nhsapp-accounts"), ids=lambda p: p.stem)
def test_sandbox_nhsapp_pages_match_the_accounts_schema(path: Path) -> None:
    schema = load_spec().response_schema("get-nhsapp-account-details", 200, "application/json")
    assert _errors(schema, _with_links(path, f"{SANDBOX_BASE}/channels/nhsapp/accounts")) == []


def test_fixtures_exist_and_unfilled_placeholders_fail() -> None:
    """Guards the two tests above: they must have data, and an unreplaced placeholder is not a URL."""
    messages, pages = _fixture_files("messages"), _fixture_files("nhsapp-accounts")
    assert len(messages) >= 20 and len(pages) >= 8
    raw_message = json.loads(messages[0].read_text(encoding="utf-8"))
    assert _errors(load_spec().response_schema("get-message", 200), raw_message)


# --- known discrepancies ---------------------------------------------------------------------------------


def test_known_discrepancy_ids_are_unique_and_well_formed(spec_document: dict[str, Any]) -> None:
    raw_items = spec_document["x-known-discrepancies"]
    ids = [item["id"] for item in raw_items]
    assert len(ids) == len(set(ids))
    assert ids == [f"D{number}" for number in range(1, len(ids) + 1)]
    parsed = load_spec().known_discrepancies
    assert [item.id for item in parsed] == ids
    for item in parsed:
        assert item.reference.startswith("behaviour §"), item.id
        assert item.affects and set(item.affects) <= set(OPERATIONS), item.id
        assert item.title and item.upstream_spec and item.gateway, item.id


def test_discrepancy_ids_mentioned_in_the_contract_exist() -> None:
    text = (specs_dir() / SPEC_FILE_NAME).read_text(encoding="utf-8")
    known = {item.id for item in load_spec().known_discrepancies}
    mentioned = set(re.findall(r"\bD\d+\b", text))
    assert mentioned and mentioned <= known
