"""JSON:API structure rules: every rule passes a good exchange and catches at least one bad one."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from conformance.checks import RULES, check_document
from conformance.exchange import Exchange

BASE = "http://127.0.0.1:9000"
VND = "application/vnd.api+json"
ABOUT = "https://digital.nhs.uk/developer/api-catalogue/nhs-notify"
MESSAGE_ID = "2WL5qbEa7TzSWZXU2IAOCCrLXVL"
_OMIT: Any = object()

MESSAGE_DOC: dict[str, Any] = {
    "data": {
        "type": "Message",
        "id": MESSAGE_ID,
        "attributes": {"messageReference": "ref-1", "messageStatus": "delivered"},
        "links": {"self": f"{BASE}/v1/messages/{MESSAGE_ID}"},
        "relationships": {
            "messageBatch": {"data": {"type": "MessageBatch", "id": "2WWq0oqcx5pdoNnh8hJuYLonZMy"}}
        },
    }
}
ACCOUNTS_DOC: dict[str, Any] = {
    "data": {"type": "NhsAppAccounts", "id": "X26", "attributes": {"accounts": []}},
    "links": {
        "self": f"{BASE}/channels/nhsapp/accounts?ods-organisation-code=X26&page=1",
        "last": f"{BASE}/channels/nhsapp/accounts?ods-organisation-code=X26&page=1",
        "next": None,
    },
}
SEND_BODY: dict[str, Any] = {
    "data": {
        "type": "Message",
        "attributes": {
            "routingPlanId": "00000000-0000-0000-0000-000000000001",
            "messageReference": "ref-1",
            "recipient": {"nhsNumber": "999054860"},
        },
    }
}


def error(index: int = 0, **overrides: Any) -> dict[str, Any]:
    """A well-formed NHS Notify error object at ``index``; an override of _OMIT removes the member."""
    body: dict[str, Any] = {
        "id": f"rrt-123-c-geu2-1.{index}",
        "code": "CM_NOT_FOUND",
        "links": {"about": ABOUT},
        "status": "404",
        "title": "Resource not found",
        "detail": "The resource at the requested URI was not found.",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not _OMIT}


def field_error(pointer: Any, index: int = 0, code: str = "CM_INVALID_VALUE") -> dict[str, Any]:
    return error(
        index, code=code, status="400", title="Invalid value", detail="x", source={"pointer": pointer}
    )


def response(
    body: Any = MESSAGE_DOC,
    *,
    status: int = 200,
    method: str = "GET",
    path: str = f"/v1/messages/{MESSAGE_ID}",
    raw: bytes | None = None,
    content_type: str | None = VND,
    request_body: Any = None,
    request_raw: bytes = b"",
    request_headers: dict[str, str] | None = None,
) -> Exchange:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return Exchange.build(
        method=method,
        url=BASE + path,
        status=status,
        request_headers=request_headers,
        request_body=json.dumps(request_body).encode() if request_body is not None else request_raw,
        response_headers=headers,
        response_body=raw if raw is not None else json.dumps(body).encode(),
    )


def errors_response(*errors: dict[str, Any], status: int = 404, **kwargs: Any) -> Exchange:
    return response({"errors": list(errors)}, status=status, **kwargs)


def post_errors(*errors: dict[str, Any], request_body: Any = SEND_BODY, **kwargs: Any) -> Exchange:
    return errors_response(
        *errors, status=400, method="POST", path="/v1/messages", request_body=request_body, **kwargs
    )


def with_data(**resource_changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(MESSAGE_DOC)
    doc["data"].update(resource_changes)
    doc["data"] = {k: v for k, v in doc["data"].items() if v is not _OMIT}
    return doc


def codes(exchange: Exchange) -> list[str]:
    return [v.code for v in check_document(exchange)]


# ------------------------------------------------------------------------------------------------------
# Conforming exchanges: no rule fires.

CONFORMING = {
    "message": response(),
    "message without optional members": response({"data": {"type": "Message", "id": MESSAGE_ID}}),
    "batch created": response(
        {"data": {"type": "MessageBatch", "id": MESSAGE_ID, "attributes": {"messages": []}}},
        status=201,
        method="POST",
        path="/v1/message-batches",
    ),
    "accounts with null next link": response(ACCOUNTS_DOC, path="/channels/nhsapp/accounts"),
    "plain json media type": response(content_type="application/json"),
    "array of resources": response({"data": [MESSAGE_DOC["data"], MESSAGE_DOC["data"]], "meta": {}}),
    "null data": response({"data": None, "jsonapi": {"version": "1.1"}}),
    "not found error": errors_response(error()),
    "header source": errors_response(
        error(code="CM_NOT_ACCEPTABLE", status="406", source={"header": "Accept"}), status=406
    ),
    "several errors, later status differs": post_errors(
        field_error("/data/type"), error(1, status="413", source={"pointer": "/data/attributes/recipient"})
    ),
    "nhs number error with extra link": post_errors(
        field_error("/data/attributes/recipient/nhsNumber", code="CM_INVALID_NHS_NUMBER")
        | {
            "links": {
                "about": ABOUT,
                "nhsNumbers": "https://www.datadictionary.nhs.uk/attributes/nhs_number.html",
            }
        }
    ),
    "missing value: only the parent must exist": post_errors(
        field_error("/data/attributes/billingReference", code="CM_MISSING_VALUE")
    ),
    "missing /data on a top-level array body": post_errors(
        field_error("/data", code="CM_MISSING_VALUE"), request_body=[1, 2]
    ),
    "ODS errors point at messages even for one message": post_errors(
        field_error("/data/attributes/messages", code="CM_CANNOT_SET_ODS_CODE")
    ),
    "unparseable request body reported at /": post_errors(
        field_error("/"), request_body=None, request_raw=b"{}SF{}"
    ),
    "array index pointer": post_errors(
        field_error("/data/attributes/messages/1/recipient"),
        request_body={"data": {"attributes": {"messages": [{}, {"recipient": {}}]}}},
    ),
    "escaped pointer tokens": post_errors(field_error("/a~1b/~0c"), request_body={"a/b": {"~c": 1}}),
    "canned sandbox fault needs no body": errors_response(
        error(
            code="CM_DUPLICATE_REQUEST",
            status="422",
            source={"pointer": "/data/attributes/messageReference"},
        ),
        status=422,
        method="POST",
        path="",
        request_headers={"Prefer": "code=422_message"},
    ),
    "error meta": errors_response(error(meta={"duplicateTemplates": []})),
    "HEAD without body": response(method="HEAD", raw=b""),
    "204 without body": response(status=204, raw=b"", content_type=None),
    "CORS preflight is not a document": response(
        method="OPTIONS",
        raw=b"",
        content_type=None,
        request_headers={"Origin": "https://my.website", "Access-Control-Request-Method": "POST"},
    ),
    "ping is plain JSON": response({"version": "1", "commitId": "abc"}, path="/_ping"),
    "sandbox timeout answers {}": response({}, path="/_timeout"),
}


@pytest.mark.parametrize("exchange", CONFORMING.values(), ids=CONFORMING.keys())
def test_conforming_exchange_has_no_violations(exchange: Exchange) -> None:
    assert check_document(exchange) == []


# ------------------------------------------------------------------------------------------------------
# Non-conforming exchanges: exactly the named rules fire.

VIOLATING: dict[str, tuple[Exchange, list[str]]] = {
    "empty body": (response(raw=b""), ["JSONAPI-001"]),
    "html body": (response(raw=b"<html></html>", content_type="text/html"), ["JSONAPI-002", "JSONAPI-001"]),
    "json with text/plain": (response(content_type="text/plain"), ["JSONAPI-002"]),
    "json without content type": (response(content_type=None), ["JSONAPI-002"]),
    "HEAD with a body": (response(method="HEAD"), ["JSONAPI-003"]),
    "top-level array": (response([MESSAGE_DOC]), ["JSONAPI-004"]),
    "both data and errors": (response({"data": None, "errors": [error()]}, status=404), ["JSONAPI-005"]),
    "neither data nor errors": (response({"meta": {}}), ["JSONAPI-005"]),
    "unknown top-level member": (response(MESSAGE_DOC | {"message": "hi"}), ["JSONAPI-006"]),
    "errors on a success": (errors_response(error(status="200"), status=200), ["JSONAPI-007"]),
    "data on an error": (response(MESSAGE_DOC, status=404), ["JSONAPI-007"]),
    "data is a string": (response({"data": "x"}), ["JSONAPI-008"]),
    "included is not an array": (response(MESSAGE_DOC | {"included": {}}), ["JSONAPI-008"]),
    "unknown resource member": (response(with_data(status="ok")), ["JSONAPI-009"]),
    "type missing": (response(with_data(type=_OMIT)), ["JSONAPI-010"]),
    "type empty": (response(with_data(type="")), ["JSONAPI-010"]),
    "id is a number": (response(with_data(id=12)), ["JSONAPI-011"]),
    "id missing": (response(with_data(id=_OMIT)), ["JSONAPI-011"]),
    "message id too short": (response(with_data(id="2WL5qbEa7TzSWZXU2IAOCCrLXV")), ["JSONAPI-012"]),
    "message id with punctuation": (response(with_data(id="2WL5qbEa7TzSWZXU2IAOCCrLX-L")), ["JSONAPI-012"]),
    "batch id in relationship not a KSUID": (
        response(with_data(relationships={"messageBatch": {"data": {"type": "MessageBatch", "id": "b-1"}}})),
        ["JSONAPI-012"],
    ),
    "attributes is a list": (response(with_data(attributes=[])), ["JSONAPI-013"]),
    "links is a string": (response(with_data(links="self")), ["JSONAPI-014"]),
    "relative self link": (
        response(with_data(links={"self": f"/v1/messages/{MESSAGE_ID}"})),
        ["JSONAPI-015"],
    ),
    "null resource link": (response(with_data(links={"self": None})), ["JSONAPI-015"]),
    "relative top-level link": (
        response(ACCOUNTS_DOC | {"links": {"self": "/channels/nhsapp/accounts"}}),
        ["JSONAPI-015"],
    ),
    "relationships is a list": (response(with_data(relationships=[])), ["JSONAPI-016"]),
    "relationship without data, links or meta": (
        response(with_data(relationships={"messageBatch": {}})),
        ["JSONAPI-016"],
    ),
    "relationship linkage is a string": (
        response(with_data(relationships={"messageBatch": {"data": "x"}})),
        ["JSONAPI-016"],
    ),
    "top-level meta is a list": (response(MESSAGE_DOC | {"meta": []}), ["JSONAPI-017"]),
    "error meta is a string": (errors_response(error(meta="m")), ["JSONAPI-017"]),
    "errors is empty": (response({"errors": []}, status=404), ["JSONAPI-018"]),
    "errors is an object": (response({"errors": error()}, status=404), ["JSONAPI-018"]),
    "error is a string": (response({"errors": ["not found"]}, status=404), ["JSONAPI-019"]),
    "unknown error member": (errors_response(error(message="x")), ["JSONAPI-020"]),
    "error id without position": (errors_response(error(id="rrt-123")), ["JSONAPI-021"]),
    "error id missing": (errors_response(error(id=_OMIT)), ["JSONAPI-021"]),
    "error ids out of order": (
        post_errors(field_error("/data/type", 1), field_error("/data", 0)),
        ["JSONAPI-021", "JSONAPI-021"],
    ),
    "error code missing": (errors_response(error(code=_OMIT)), ["JSONAPI-022"]),
    "error code is a number": (errors_response(error(code=404)), ["JSONAPI-022"]),
    "about link missing": (errors_response(error(links={})), ["JSONAPI-023"]),
    "about link wrong": (errors_response(error(links={"about": "https://example.com"})), ["JSONAPI-023"]),
    "error links missing": (errors_response(error(links=_OMIT)), ["JSONAPI-023"]),
    "extra error link is relative": (
        errors_response(error(links={"about": ABOUT, "x": "/x"})),
        ["JSONAPI-015"],
    ),
    "status is a number": (errors_response(error(status=404)), ["JSONAPI-024"]),
    "status is not a code": (errors_response(error(status="Not Found")), ["JSONAPI-024"]),
    "first status differs from response": (errors_response(error(status="400")), ["JSONAPI-025"]),
    "title missing": (errors_response(error(title=_OMIT)), ["JSONAPI-026"]),
    "detail is null": (errors_response(error(detail=None)), ["JSONAPI-026"]),
    "source with both": (
        errors_response(error(source={"pointer": "/", "header": "Accept"})),
        ["JSONAPI-027"],
    ),
    "source with parameter": (errors_response(error(source={"parameter": "page"})), ["JSONAPI-027"]),
    "source is a string": (errors_response(error(source="Accept")), ["JSONAPI-027"]),
    "pointer without leading slash": (post_errors(field_error("data/type")), ["JSONAPI-028"]),
    "pointer with bad escape": (post_errors(field_error("/data/~2")), ["JSONAPI-028"]),
    "pointer is not a string": (post_errors(field_error(["data"])), ["JSONAPI-028"]),
    "pointer to nothing": (post_errors(field_error("/data/attributes/routingPlan")), ["JSONAPI-029"]),
    "pointer past the end of an array": (
        post_errors(
            field_error("/data/attributes/messages/2"),
            request_body={"data": {"attributes": {"messages": []}}},
        ),
        ["JSONAPI-029"],
    ),
    "leading-zero array index": (
        post_errors(field_error("/a/01"), request_body={"a": [0, 1]}),
        ["JSONAPI-029"],
    ),
    "missing value whose parent is missing": (
        post_errors(field_error("/data/originator/odsCode", code="CM_MISSING_VALUE")),
        ["JSONAPI-029"],
    ),
    "messages pointer whose parent is missing": (
        post_errors(
            field_error("/data/attributes/messages", code="CM_ODS_CODE_REQUIRED"), request_body={"data": {}}
        ),
        ["JSONAPI-029"],
    ),
    "field pointer for a body that is not JSON": (
        post_errors(field_error("/data"), request_body=None, request_raw=b"{}SF{}"),
        ["JSONAPI-029"],
    ),
    "header source with a space": (
        errors_response(error(status="406", source={"header": "Content Type"}), status=406),
        ["JSONAPI-030"],
    ),
    "header source is empty": (
        errors_response(error(status="406", source={"header": ""}), status=406),
        ["JSONAPI-030"],
    ),
    "plain JSON endpoint error must still be JSON:API": (
        response({"message": "denied"}, status=401, path="/_status"),
        ["JSONAPI-005", "JSONAPI-006"],
    ),
}


@pytest.mark.parametrize(("exchange", "expected"), VIOLATING.values(), ids=VIOLATING.keys())
def test_non_conforming_exchange_breaks_exactly_the_named_rules(
    exchange: Exchange, expected: list[str]
) -> None:
    assert codes(exchange) == expected


def test_every_jsonapi_rule_has_a_violating_case() -> None:
    covered = {code for _, expected in VIOLATING.values() for code in expected}
    assert covered == {code for code in RULES if code.startswith("JSONAPI-")}


def test_violations_say_where_and_what() -> None:
    [found] = check_document(errors_response(error(status="400")))
    assert found.title == RULES["JSONAPI-025"].title
    assert "404" in found.detail and "'400'" in found.detail


def test_every_bad_error_is_reported_not_just_the_first() -> None:
    exchange = errors_response(error(code=1), error(2, id="x.1", title=None))
    assert codes(exchange) == ["JSONAPI-022", "JSONAPI-026"]
