"""GET /channels/nhsapp/accounts: the backend's rules and data (behaviour §4.6), both modes.

Checks run in the backend's order: service ban (sandbox trigger, decided by the caller), missing ODS
code, the T00502/T00404/T00429 scenario codes, ODS format, page, then data. Errors carry no source.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from conformance.reference.catalogue import (
    BAD_GATEWAY,
    INVALID_REQUEST,
    NHSAPP_QUOTA,
    REPORT_NOT_FOUND,
    Problem,
)
from conformance.reference.fixtures import account_page, replace_path_root
from conformance.reference.jsvalues import js_number

PAGINATED_PRACTICE = "T00001"
BAD_GATEWAY_PRACTICE = "T00502"
NOT_FOUND_PRACTICE = "T00404"
THROTTLED_PRACTICE = "T00429"
_ODS_FORMAT = re.compile(r"[A-Za-z][0-9]{5}|[A-Za-z][0-9][A-Za-z][0-9][A-Za-z]")
_DEFAULT_ACCOUNTS = (("9074662803", True), ("9903002157", False))


def _invalid_request(detail: str) -> Problem:
    return Problem(INVALID_REQUEST, detail=detail)


def accounts(query: Mapping[str, str], accounts_url: str) -> dict[str, Any] | Problem:
    """The 200 body for the query, or the problem to report. ``accounts_url`` replaces ``%PATH_ROOT%``."""
    raw_code = query.get("ods-organisation-code")
    if not raw_code:
        return _invalid_request("Missing ODS Code")
    code = raw_code.upper()
    if code == BAD_GATEWAY_PRACTICE:
        return Problem(BAD_GATEWAY)
    if code == NOT_FOUND_PRACTICE:
        return Problem(REPORT_NOT_FOUND)
    if code == THROTTLED_PRACTICE:
        return Problem(NHSAPP_QUOTA)
    if not _ODS_FORMAT.fullmatch(code) and code != "X26":
        return _invalid_request("Invalid ODS Code")
    page = "1"
    raw_page = query.get("page")
    if raw_page:
        number = js_number(raw_page)
        if math.isnan(number) or number <= 0:
            return _invalid_request("page must be a positive non-zero integer")
        page = raw_page
    if code == PAGINATED_PRACTICE:
        document = account_page(page)
        if document is None:
            return Problem(REPORT_NOT_FOUND)
        return replace_path_root(document, accounts_url)  # type: ignore[no-any-return]
    if page != "1":
        return Problem(REPORT_NOT_FOUND)
    link = f"{accounts_url}?ods-organisation-code={code}&page=1"
    return {
        "data": {
            "id": code,
            "type": "NhsAppAccounts",
            "attributes": {
                "accounts": [
                    {"nhsNumber": number, "notificationsEnabled": enabled}
                    for number, enabled in _DEFAULT_ACCOUNTS
                ]
            },
        },
        "links": {"last": link, "self": link},
    }
