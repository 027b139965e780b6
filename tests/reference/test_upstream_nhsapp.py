"""Upstream sandbox suite, GET /channels/nhsapp/accounts (upstream-tests.md §3.13).

Not reproduced here (api suite only, live data):
- single page / multi pages against X26, missing/invalid ODS without correlation ids, invalid page and the
  1000/2000/3000 page-not-found cases.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conformance.reference.server import RunningReference
from tests.reference import upstream_assertions as up

SINGLE_PAGE_CODES = ("X26", "Y00001", "X12345")
PAGINATED_CODE = "T00001"
PAGINATED_LAST_PAGE = 8


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with up.open_client() as client:
        yield client


@pytest.fixture(scope="module")
def base(sandbox_server: RunningReference) -> str:
    return sandbox_server.base_url


by_correlation = pytest.mark.parametrize("correlation_id", up.CORRELATION_IDS, ids=up.correlation_label)


def get_accounts(
    http: httpx.Client, base: str, correlation_id: str | None, ods_code: str | None, page: object = None
) -> httpx.Response:
    params = {
        name: str(value)
        for name, value in (("ods-organisation-code", ods_code), ("page", page))
        if value is not None
    }
    headers = up.with_correlation(correlation_id, Accept=up.VND_JSON)
    return up.send(http, "GET", f"{base}/channels/nhsapp/accounts", headers, params=params)


@pytest.mark.parametrize("page", [None, 1], ids=["no-page", "page-1"])
@pytest.mark.parametrize("ods_code", SINGLE_PAGE_CODES)
@by_correlation
def test_single_page(
    http: httpx.Client, base: str, ods_code: str, page: int | None, correlation_id: str | None
) -> None:
    response = get_accounts(http, base, correlation_id, ods_code, page)
    up.assert_nhsapp_accounts(response, base, ods_code, page=1, last_page=1)
    up.assert_correlation_id(response, correlation_id)


@pytest.mark.parametrize("page", [None, *range(1, PAGINATED_LAST_PAGE + 1)], ids=lambda p: f"page-{p}")
@by_correlation
def test_multi_pages(http: httpx.Client, base: str, page: int | None, correlation_id: str | None) -> None:
    response = get_accounts(http, base, correlation_id, PAGINATED_CODE, page)
    up.assert_nhsapp_accounts(response, base, PAGINATED_CODE, page=page or 1, last_page=PAGINATED_LAST_PAGE)
    up.assert_correlation_id(response, correlation_id)


@pytest.mark.parametrize("page", [None, *range(1, PAGINATED_LAST_PAGE + 1)], ids=lambda p: f"page-{p}")
@by_correlation
def test_400_missing_ods_code(
    http: httpx.Client, base: str, page: int | None, correlation_id: str | None
) -> None:
    response = get_accounts(http, base, correlation_id, None, page)
    up.assert_error(response, 400, up.NHSAPP_MISSING_ODS, correlation_id)


@pytest.mark.parametrize("ods_code", ["NOT_A_VALID_CODE", "X25", "Y123456"])
@by_correlation
def test_400_invalid_ods_code(
    http: httpx.Client, base: str, ods_code: str, correlation_id: str | None
) -> None:
    response = get_accounts(http, base, correlation_id, ods_code)
    up.assert_error(response, 400, up.NHSAPP_INVALID_ODS, correlation_id)


@pytest.mark.parametrize("page", ["page1", 0, -1, -20], ids=str)
@by_correlation
def test_400_invalid_page(http: httpx.Client, base: str, page: object, correlation_id: str | None) -> None:
    response = get_accounts(http, base, correlation_id, PAGINATED_CODE, page)
    up.assert_error(response, 400, up.NHSAPP_INVALID_PAGE, correlation_id)


@pytest.mark.parametrize("page", range(2, 7), ids=lambda p: f"page-{p}")
@pytest.mark.parametrize("ods_code", SINGLE_PAGE_CODES)
@by_correlation
def test_404_page_not_found(
    http: httpx.Client, base: str, ods_code: str, page: int, correlation_id: str | None
) -> None:
    response = get_accounts(http, base, correlation_id, ods_code, page)
    up.assert_error(response, 404, up.NHSAPP_REPORT_NOT_FOUND, correlation_id)


@by_correlation
def test_404_report_not_found(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    response = get_accounts(http, base, correlation_id, "T00404")
    up.assert_error(response, 404, up.NHSAPP_REPORT_NOT_FOUND, correlation_id)


@by_correlation
def test_429_too_many_requests(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    response = get_accounts(http, base, correlation_id, "T00429")
    up.assert_error(response, 429, up.NHSAPP_QUOTA, correlation_id)


@by_correlation
def test_502_bad_gateway(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    response = get_accounts(http, base, correlation_id, "T00502")
    up.assert_error(response, 502, up.BAD_GATEWAY, correlation_id)
