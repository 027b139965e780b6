"""Upstream sandbox suite, GET /v1/messages/{id} (upstream-tests.md §3.12), over the 29 stored messages.

Includes upstream's unmarked body-equality test (never run by its CI): each stored message comes back
exactly as its fixture, with `links.self` resolved to the URL that was asked for.

Not reproduced here (api suite only):
- test_200_get_message (create a message, then read it straight back): the sandbox is stateless.
- test_message_id_that_does_not_exist (`does-not-exist`): the sandbox variant with `blank` is below.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conformance.reference.server import RunningReference
from tests.reference import upstream_assertions as up

STORED_IDS = up.stored_message_ids()


def test_all_stored_messages_are_covered() -> None:
    """Guards the parametrisation below against a fixture folder that went missing or shrank."""
    assert len(STORED_IDS) == 29


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with up.open_client() as client:
        yield client


@pytest.fixture(scope="module")
def base(sandbox_server: RunningReference) -> str:
    return sandbox_server.base_url


@pytest.mark.parametrize("accept", ["*/*", up.VND_JSON])
@pytest.mark.parametrize("message_id", STORED_IDS)
def test_200_get_message_valid_accept_headers(
    http: httpx.Client, base: str, message_id: str, accept: str
) -> None:
    response = up.send(http, "GET", f"{base}/v1/messages/{message_id}", {"Accept": accept})
    up.assert_message_status(response, base)
    assert response.json()["data"]["id"] == message_id


@pytest.mark.parametrize("message_id", STORED_IDS)
def test_200_get_message_valid_response_bodies(http: httpx.Client, base: str, message_id: str) -> None:
    url = f"{base}/v1/messages/{message_id}"
    response = up.send(http, "GET", url)
    assert response.status_code == 200, up.describe(response)
    expected = up.stored_message(message_id)["data"]
    expected["links"]["self"] = url
    assert response.json()["data"] == expected


@pytest.mark.parametrize("correlation_id", up.CORRELATION_IDS, ids=up.correlation_label)
def test_404_message_id_not_found(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    response = up.send(http, "GET", f"{base}/v1/messages/blank", up.with_correlation(correlation_id))
    up.assert_error(response, 404, up.NOT_FOUND, correlation_id)
