"""GET /channels/nhsapp/accounts: a GP practice's NHS App accounts come back page by page with self,
last and next links, and a missing or malformed practice code or page is refused with the exact text.

Proves behaviour §1.5 (the 200 answer, links, errors), §3.9 rule 3 (backend errors become
CM_INVALID_REQUEST / CM_NOT_FOUND / CM_QUOTA with the backend's text) and §4.6 (sandbox data and the
T00xxx codes), and upstream §3.13. The sandbox's Prefer triggers on this operation are in
``test_sandbox_triggers.py``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from conformance._resources import fixtures_dir
from conformance.client import ApiClient
from conformance.suite import _expect
from conformance.suite._bodies import SANDBOX_SECTION

#: this module's labels: GET_NHSAPP_ACCOUNTS's area, feature and NHS documentation section
behaviour = _expect.operation_labels(_expect.GET_NHSAPP_ACCOUNTS)

PATH = "/channels/nhsapp/accounts"
ODS = "ods-organisation-code"

REPORT_NOT_FOUND_DISCREPANCY = (
    "the contract's 404 for this operation references the generic 'The resource at the requested URI "
    "was not found.'; the API answers 'Report not found', which this test asserts."
)
#: A practice every environment holds accounts for.
KNOWN_ODS = _expect.KNOWN_ODS_CODE
#: The sandbox's paginated practice and its page count (behaviour §4.6).
PAGINATED_ODS = "T00001"
PAGINATED_LAST_PAGE = 8
#: The two accounts the sandbox returns for every other valid practice code.
SANDBOX_SINGLE_PAGE_ACCOUNTS = [
    {"nhsNumber": "9074662803", "notificationsEnabled": True},
    {"nhsNumber": "9903002157", "notificationsEnabled": False},
]


def fetch(
    api: ApiClient, ods: str | None, page: str | None = None, *, judge: tuple[int, ...] = ()
) -> httpx.Response:
    """``judge``: the statuses a test provokes itself (a trigger's 429), returned rather than waited out."""
    params = {}
    if ods is not None:
        params[ODS] = ods
    if page is not None:
        params["page"] = page
    return api.get(PATH, params=params, judge=judge)


def page_link(api: ApiClient, ods: str, page: int) -> str:
    """The documented link form: the public base, the path, the practice code, then the page."""
    return f"{api.target.base_url}{PATH}?{ODS}={ods}&page={page}"


def assert_accounts_page(
    response: httpx.Response, api: ApiClient, ods: str, page: int, last_page: int | None = None
) -> dict[str, Any]:
    """The documented 200 answer for one page; returns the body.

    ``last_page`` None (live data) only asks that the last page is no earlier than this one.
    """
    body: dict[str, Any] = response.json() if response.status_code == 200 else {}
    data = _expect.success_data(response, 200)
    assert data.get("type") == "NhsAppAccounts", (
        f"data.type should be 'NhsAppAccounts', got {data.get('type')!r}"
    )
    assert data.get("id") == ods, f"data.id should be the practice code {ods!r}, got {data.get('id')!r}"
    accounts = data.get("attributes", {}).get("accounts")
    assert isinstance(accounts, list) and accounts, f"accounts should be a non-empty list, got {accounts!r}"
    for index, account in enumerate(accounts):
        nhs_number = account.get("nhsNumber") if isinstance(account, dict) else None
        assert isinstance(nhs_number, str) and len(nhs_number) == 10 and nhs_number.isdigit(), (
            f"accounts[{index}].nhsNumber should be 10 digits: {account!r}"
        )
        assert isinstance(account.get("notificationsEnabled"), bool), (
            f"accounts[{index}].notificationsEnabled should be true or false: {account!r}"
        )
    links = body.get("links")
    assert isinstance(links, dict), f"the top-level links are missing: {body!r}"
    assert links.get("self") == page_link(api, ods, page), (
        f"links.self {links.get('self')!r} is not page {page}"
    )
    if last_page is None:
        last = links.get("last")
        prefix = page_link(api, ods, 0)[:-1]
        assert isinstance(last, str) and last.startswith(prefix), f"links.last {last!r} is not a page link"
        last_page = int(last.removeprefix(prefix))
        assert last_page >= page, f"links.last names page {last_page}, before this page {page}"
    else:
        assert links.get("last") == page_link(api, ods, last_page), (
            f"links.last should be page {last_page}: {links!r}"
        )
    if page < last_page:
        assert links.get("next") == page_link(api, ods, page + 1), (
            f"links.next should be page {page + 1}: {links!r}"
        )
    else:
        assert links.get("next") is None, f"the last page should have no next link: {links!r}"
    return body


def published_page(page: int) -> list[dict[str, Any]]:
    path = fixtures_dir() / "sandbox" / "nhsapp-accounts" / f"{page}.json"
    accounts: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["data"]["attributes"][
        "accounts"
    ]
    return accounts


# ---- pages --------------------------------------------------------------------------------------------


@behaviour(severity="blocker", ref="behaviour §1.5; upstream §3.13 (single page)")
@pytest.mark.parametrize("page", [None, "1"], ids=["no-page", "page-1"])
def test_first_page_of_accounts(api: ApiClient, page: str | None) -> None:
    """A practice's first page of accounts comes back with self and last links (page 1 when none asked)."""
    assert_accounts_page(fetch(api, KNOWN_ODS, page), api, KNOWN_ODS, 1)


@behaviour(ref="behaviour §1.5 (case-insensitive), §4.6 (upper-cased first)")
def test_practice_code_is_case_insensitive(api: ApiClient) -> None:
    """The practice code is case-insensitive: written in lower case it gets the same accounts."""
    upper = _expect.success_data(fetch(api, KNOWN_ODS), 200)
    lower = _expect.success_data(fetch(api, KNOWN_ODS.lower()), 200)
    assert lower.get("attributes") == upper.get("attributes"), (
        f"{KNOWN_ODS.lower()!r} and {KNOWN_ODS!r} name the same practice but got different accounts"
    )


@behaviour(section=SANDBOX_SECTION, ref="behaviour §4.6 rule 7; upstream §3.13 (test_single_page)")
@pytest.mark.scenario
@pytest.mark.parametrize("ods", ["X26", "Y00001", "X12345"])
def test_sandbox_single_page_practices(api: ApiClient, ods: str) -> None:
    """The sandbox answers every other valid practice code with its two sample accounts on one page."""
    body = assert_accounts_page(fetch(api, ods), api, ods, 1, last_page=1)
    assert body["data"]["attributes"]["accounts"] == SANDBOX_SINGLE_PAGE_ACCOUNTS


@behaviour(section=SANDBOX_SECTION, ref="behaviour §4.6 rule 6; upstream §3.13 (test_multi_pages)")
@pytest.mark.scenario
@pytest.mark.parametrize("page", range(1, PAGINATED_LAST_PAGE + 1), ids=lambda page: f"page-{page}")
def test_sandbox_paginated_practice(api: ApiClient, page: int) -> None:
    """Each of the sandbox's eight pages for T00001 links to the last page and to the next one."""
    body = assert_accounts_page(
        fetch(api, PAGINATED_ODS, str(page)), api, PAGINATED_ODS, page, PAGINATED_LAST_PAGE
    )
    assert body["data"]["attributes"]["accounts"] == published_page(page), (
        f"page {page} differs from the sandbox data"
    )


@behaviour(section=SANDBOX_SECTION, ref="behaviour §1.5 (links), §4.6 rule 6")
@pytest.mark.scenario
def test_next_links_walk_every_page(api: ApiClient) -> None:
    """Following the next links from the first page visits every page once and stops at the last."""
    body = fetch(api, PAGINATED_ODS).json()
    visited = [body["links"]["self"]]
    while body["links"].get("next"):
        link = body["links"]["next"]
        assert link.startswith(api.target.base_url), f"next link {link!r} leaves the API"
        assert len(visited) <= PAGINATED_LAST_PAGE, f"more than {PAGINATED_LAST_PAGE} pages: {visited}"
        response = api.get(link.removeprefix(api.target.base_url))
        _expect.expect_status(response, 200)
        body = response.json()
        visited.append(body["links"]["self"])
    expected = [page_link(api, PAGINATED_ODS, page) for page in range(1, PAGINATED_LAST_PAGE + 1)]
    assert visited == expected, f"the next links visited {visited}"


# ---- refusals -----------------------------------------------------------------------------------------


@behaviour(severity="critical", ref="behaviour §1.5, §4.6 rule 2; upstream §3.13 (test_400_missing_ods_code)")
@pytest.mark.parametrize("page", [None, "1"], ids=["no-page", "page-1"])
def test_missing_practice_code_is_refused(api: ApiClient, page: str | None) -> None:
    """A request without a practice code is refused: 400 CM_INVALID_REQUEST 'Missing ODS Code'."""
    _expect.expect_error(fetch(api, None, page), 400, "nhsapp_missing_ods_code")


@behaviour(severity="minor", section=SANDBOX_SECTION, ref="behaviour §4.6 rule 2")
@pytest.mark.scenario
def test_sandbox_empty_practice_code_is_missing(api: ApiClient) -> None:
    """The sandbox treats an empty practice code as missing: 400 'Missing ODS Code'."""
    _expect.expect_error(fetch(api, ""), 400, "nhsapp_missing_ods_code")


@behaviour(severity="critical", ref="behaviour §1.5, §4.6 rule 4; upstream §3.13 (test_400_invalid_ods_code)")
@pytest.mark.parametrize("ods", ["NOT_A_VALID_CODE", "X25", "Y123456"])
def test_malformed_practice_code_is_refused(api: ApiClient, ods: str) -> None:
    """A malformed practice code is refused: 400 CM_INVALID_REQUEST 'Invalid ODS Code'."""
    _expect.expect_error(fetch(api, ods), 400, "nhsapp_invalid_ods_code")


@behaviour(ref="behaviour §1.5, §4.6 rule 5; upstream §3.13 (test_400_invalid_page)")
@pytest.mark.parametrize("page", ["page1", "0", "-1", "-20"])
def test_invalid_page_is_refused(api: ApiClient, page: str) -> None:
    """A page that is not a positive whole number is refused: 400 'page must be a positive non-zero
    integer'."""
    _expect.expect_error(fetch(api, KNOWN_ODS, page), 400, "nhsapp_invalid_page")


@behaviour(ref="behaviour §1.5; upstream §3.13 (page not found)")
def test_page_beyond_the_data_is_not_found(api: ApiClient) -> None:
    """A page beyond the practice's data is answered 404 'Report not found'."""
    _expect.note_known_discrepancy("D20", REPORT_NOT_FOUND_DISCREPANCY)
    _expect.expect_error(fetch(api, KNOWN_ODS, "1000"), 404, "nhsapp_report_not_found")


@behaviour(section=SANDBOX_SECTION, ref="behaviour §4.6 rules 6-7; upstream §3.13 (test_404_page_not_found)")
@pytest.mark.scenario
@pytest.mark.parametrize(
    ("ods", "page"), [("Y00001", "2"), (PAGINATED_ODS, "9")], ids=["single-page-2", "T00001-9"]
)
def test_sandbox_page_past_the_last_is_not_found(api: ApiClient, ods: str, page: str) -> None:
    """In the sandbox, a page past the last one is answered 404 'Report not found'."""
    _expect.expect_error(fetch(api, ods, page), 404, "nhsapp_report_not_found")


@behaviour(section=SANDBOX_SECTION, ref="behaviour §4.6 rule 3; upstream §3.13 (404 report / 429 / 502)")
@pytest.mark.scenario
@pytest.mark.parametrize(
    ("ods", "status", "error"),
    [
        ("T00404", 404, "nhsapp_report_not_found"),
        ("T00429", 429, "nhsapp_quota"),
        ("T00502", 502, "bad_gateway"),
    ],
    ids=["T00404", "T00429", "T00502"],
)
def test_sandbox_trigger_practices(api: ApiClient, ods: str, status: int, error: str) -> None:
    """The sandbox's trigger practices give the documented failures: T00404 not found, T00429 rate limited,
    T00502 bad gateway."""
    _expect.expect_error(fetch(api, ods, judge=(status,)), status, error)
