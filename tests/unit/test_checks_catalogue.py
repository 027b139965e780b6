"""The expected-error table, ``expected_error`` and the upstream common assertion contract."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.checks import (
    ABOUT_LINK,
    CONTACT_DETAIL_PROBLEMS,
    ERRORS,
    RATE_LIMIT_DETAILS,
    RULES,
    ConformanceViolation,
    Violation,
    assert_no_violations,
    check_document,
    check_error_response,
    expected_error,
)
from conformance.checks._rules import violation
from conformance.exchange import Exchange

BASE = "http://127.0.0.1:9000"


def answer(
    *errors: dict[str, Any],
    status: int = 400,
    method: str = "POST",
    request_body: Any = None,
    raw: bytes | None = None,
    ids: list[str] | None = None,
) -> Exchange:
    """A response carrying ``errors``, given gateway-style ids ``<message id>.<position>`` unless ``ids``."""
    numbered = [{"id": (ids[i] if ids else f"rrt-42.{i}"), **e} for i, e in enumerate(errors)]
    return Exchange.build(
        method=method,
        url=f"{BASE}/v1/messages",
        status=status,
        request_body=json.dumps(request_body).encode() if request_body is not None else b"",
        response_headers={"Content-Type": "application/vnd.api+json"},
        response_body=raw if raw is not None else json.dumps({"errors": numbered}).encode(),
    )


def codes(found: list[Violation]) -> list[str]:
    return [v.code for v in found]


# ------------------------------------------------------------------------------------------------------
# The table itself


def test_expected_error_builds_the_exact_gateway_object() -> None:
    assert expected_error("not_acceptable") == {
        "code": "CM_NOT_ACCEPTABLE",
        "links": {"about": "https://digital.nhs.uk/developer/api-catalogue/nhs-notify"},
        "status": "406",
        "title": "Not acceptable",
        "detail": "This service can only generate application/vnd.api+json or application/json.",
        "source": {"header": "Accept"},
    }


def test_field_errors_take_the_pointer_given() -> None:
    assert expected_error("missing_value", pointer="/data/type") == {
        "code": "CM_MISSING_VALUE",
        "links": {"about": ABOUT_LINK},
        "status": "400",
        "title": "Missing property",
        "detail": "The property at the specified location is required, but was not present in the request.",
        "source": {"pointer": "/data/type"},
    }


def test_nhs_number_error_carries_the_data_dictionary_link() -> None:
    found = expected_error("invalid_nhs_number", pointer="/data/attributes/recipient/nhsNumber")
    assert found["links"] == {
        "about": ABOUT_LINK,
        "nhsNumbers": "https://www.datadictionary.nhs.uk/attributes/nhs_number.html",
    }
    assert "nhsNumbers" not in expected_error("invalid_value", pointer="/data")["links"]


def test_usual_pointers_can_be_overridden() -> None:
    assert expected_error("too_few_items")["source"] == {"pointer": "/data/attributes/messages"}
    moved = expected_error(
        "cannot_set_contact_details", pointer="/data/attributes/messages/0/recipient/contactDetails"
    )
    assert moved["source"] == {"pointer": "/data/attributes/messages/0/recipient/contactDetails"}


def test_backend_details_replace_the_default() -> None:
    found = expected_error(
        "invalid_value",
        pointer="/data/attributes/recipient/contactDetails/sms",
        detail=CONTACT_DETAIL_PROBLEMS["sms_not_string"],
    )
    assert found["detail"] == "'sms' is not a string"
    limited = expected_error("rate_limited", detail=RATE_LIMIT_DETAILS["proxy"])
    assert (
        limited["detail"]
        == "This API is currently receiving a high volume of requests and is being rate limited."
    )


def test_meta_is_added_as_given() -> None:
    templates = [{"name": "EMAIL_TEMPLATE", "type": "EMAIL"}]
    found = expected_error("routing_plan_duplicate_templates", meta={"duplicateTemplates": templates})
    assert found["meta"] == {"duplicateTemplates": templates}
    assert found["source"] == {"pointer": "/data/attributes/routingPlanId"}


@pytest.mark.parametrize(
    ("name", "kwargs", "complaint"),
    [
        ("no_such_error", {}, "no expected error named"),
        ("missing_value", {}, "say which with pointer="),
        ("not_found", {"pointer": "/data"}, "takes no pointer"),
        ("not_acceptable", {"pointer": "/data"}, "takes no pointer"),
        ("rate_limited", {}, "say which with detail="),
    ],
)
def test_misuse_is_refused_with_a_reason(name: str, kwargs: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        expected_error(name, **kwargs)


def _request_reaching(pointer: str) -> Any:
    """A request body in which ``pointer`` (numeric tokens as list indexes) leads somewhere."""
    body: Any = "leaf"
    for token in reversed(pointer.strip("/").split("/") if pointer not in ("", "/") else []):
        body = [body] if token == "0" else {token: body}
    return body


def _filled(name: str) -> dict[str, Any]:
    template = ERRORS[name]
    pointer = "/data/attributes/messages/0/recipient" if template.source_kind == "pointer" else None
    return expected_error(
        name,
        pointer=pointer if template.source_value is None else None,
        detail=None if template.detail is not None else "some detail",
    )


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_every_catalogue_error_is_a_valid_notify_error(name: str) -> None:
    error = _filled(name)
    pointer = error.get("source", {}).get("pointer", "/")
    exchange = answer(error, status=int(error["status"]), request_body=_request_reaching(pointer))
    assert check_document(exchange) == []
    assert error["code"].startswith("CM_") and error["title"] and error["detail"]
    assert 400 <= int(error["status"]) <= 599


def test_catalogue_names_are_distinct_errors() -> None:
    seen = {json.dumps(_filled(name), sort_keys=True) for name in ERRORS}
    assert len(seen) == len(ERRORS)


# ------------------------------------------------------------------------------------------------------
# check_error_response: the upstream common assertion contract

NOT_FOUND = expected_error("not_found")
MISSING_DATA = expected_error("missing_value", pointer="/data")
MISSING_TYPE = expected_error("missing_value", pointer="/data/type")


@pytest.mark.parametrize(
    ("exchange", "status", "expected"),
    [
        (answer(NOT_FOUND, status=404, method="GET"), 404, NOT_FOUND),
        (answer(NOT_FOUND, status=404, method="GET"), 404, [NOT_FOUND]),
        (answer(MISSING_DATA, MISSING_TYPE), 400, MISSING_TYPE),
        (answer(MISSING_DATA, MISSING_TYPE), 400, [MISSING_TYPE, MISSING_DATA]),
        (answer(status=404, method="HEAD", raw=b""), 404, NOT_FOUND),
        (answer(status=405, method="OPTIONS", raw=b""), 405, expected_error("not_allowed")),
    ],
    ids=[
        "single",
        "single in a list",
        "one of several",
        "all of several",
        "HEAD has no body",
        "OPTIONS no body",
    ],
)
def test_matching_error_response(exchange: Exchange, status: int, expected: Any) -> None:
    assert check_error_response(exchange, status, expected) == []


ERROR_VIOLATING: dict[str, tuple[Exchange, int, Any, list[str]]] = {
    "wrong status": (answer(NOT_FOUND, status=400), 404, NOT_FOUND, ["ERR-001"]),
    "wrong status on HEAD": (answer(status=200, method="HEAD", raw=b""), 404, NOT_FOUND, ["ERR-001"]),
    "body is not JSON": (answer(status=404, raw=b"Not Found"), 404, NOT_FOUND, ["ERR-002"]),
    "backend shape leaked": (
        answer(status=400, raw=b'{"message":"Missing messageReferences"}'),
        400,
        NOT_FOUND,
        ["ERR-002"],
    ),
    "empty errors": (answer(status=404), 404, NOT_FOUND, ["ERR-002"]),
    "id without position": (answer(NOT_FOUND, status=404, ids=["rrt-42"]), 404, NOT_FOUND, ["ERR-003"]),
    "ids counted from one": (
        answer(MISSING_DATA, MISSING_TYPE, ids=["m.1", "m.2"]),
        400,
        MISSING_DATA,
        ["ERR-003", "ERR-003"],
    ),
    "extra key on a single error": (
        answer(NOT_FOUND | {"meta": {}}, status=404),
        404,
        NOT_FOUND,
        ["ERR-004"],
    ),
    "status as a number": (answer(NOT_FOUND | {"status": 404}, status=404), 404, NOT_FOUND, ["ERR-004"]),
    "detail differs by a full stop": (
        answer(NOT_FOUND | {"detail": "The resource at the requested URI was not found"}, status=404),
        404,
        NOT_FOUND,
        ["ERR-004"],
    ),
    "single error, several expected": (answer(MISSING_DATA), 400, [MISSING_DATA, MISSING_TYPE], ["ERR-005"]),
    "expected one not among several": (
        answer(MISSING_DATA, MISSING_TYPE),
        400,
        expected_error("missing_value", pointer="/data/attributes"),
        ["ERR-005"],
    ),
    "wrong status and wrong error": (answer(MISSING_DATA), 404, NOT_FOUND, ["ERR-001", "ERR-004"]),
}


@pytest.mark.parametrize(
    ("exchange", "status", "expected", "found"), ERROR_VIOLATING.values(), ids=ERROR_VIOLATING.keys()
)
def test_mismatching_error_response(exchange: Exchange, status: int, expected: Any, found: list[str]) -> None:
    assert codes(check_error_response(exchange, status, expected)) == found


def test_every_error_contract_rule_has_a_violating_case() -> None:
    covered = {code for *_, found in ERROR_VIOLATING.values() for code in found}
    assert covered == {code for code in RULES if code.startswith("ERR-")}


def test_a_mismatch_names_the_differing_members() -> None:
    wrong = NOT_FOUND | {"title": "Not Found", "meta": {}}
    [found] = check_error_response(answer(wrong, status=404), 404, NOT_FOUND)
    assert '\'title\' is "Not Found", expected "Resource not found"' in found.detail
    assert "'meta' should not be there" in found.detail


# ------------------------------------------------------------------------------------------------------
# Reporting: ConformanceViolation and assert_no_violations


def test_assert_no_violations_is_quiet_when_nothing_is_wrong() -> None:
    assert_no_violations([])
    assert_no_violations([violation("HDR-003", "the generated id is 'abc'")])


def test_assert_no_violations_lists_every_violation_readably() -> None:
    found = [
        violation("HDR-004", "Cache-Control is absent"),
        violation("HDR-003", "the generated id is 'abc'"),
    ]
    exchange = answer(NOT_FOUND, status=404, method="GET")
    with pytest.raises(ConformanceViolation) as raised:
        assert_no_violations(found, exchange)
    assert raised.value.violations == tuple(found)
    assert str(raised.value).splitlines() == [
        f"2 conformance violations in GET {BASE}/v1/messages -> 404:",
        "  [HDR-004] Cache-Control should be 'no-cache, no-store, must-revalidate': Cache-Control is absent",
        "  [HDR-003] A generated X-Correlation-Id should look like a gateway id ('rrt-...') (informational): "
        "the generated id is 'abc'",
    ]
    assert isinstance(raised.value, AssertionError)


def test_informational_violations_fail_only_when_asked() -> None:
    with pytest.raises(ConformanceViolation, match="1 conformance violation:"):
        assert_no_violations([violation("HDR-003", "x")], fail_on_info=True)


def test_rule_codes_are_well_formed_and_titled() -> None:
    for code, rule in RULES.items():
        assert rule.code == code
        prefix, _, number = code.partition("-")
        assert prefix in {"JSONAPI", "HDR", "CORS", "CT", "ERR"} and len(number) == 3 and number.isdigit()
        assert rule.title
    assert len({rule.title for rule in RULES.values()}) == len(RULES)
