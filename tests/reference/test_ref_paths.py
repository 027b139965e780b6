"""Paths that Starlette's own router would not match (a decoded newline) still get the gateway's
answer, with its headers and a JSON:API body. Found by the property tests at 500 examples."""

from __future__ import annotations

import httpx
import pytest

from conformance.reference.server import RunningReference


@pytest.mark.parametrize("suffix", ["/v1/messages/%0A%60", "/v1/messages/a%0Ab", "/%0A", "/v1/%7F%0D"])
def test_control_characters_in_the_path(sandbox_server: RunningReference, suffix: str) -> None:
    response = httpx.get(sandbox_server.base_url + suffix)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/vnd.api+json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-correlation-id"].startswith("rrt-")
    assert response.json()["errors"][0]["code"] == "CM_NOT_FOUND"


def test_outside_the_base_path_too(sandbox_server: RunningReference) -> None:
    response = httpx.get(sandbox_server.origin + "/x%0Ay")
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "CM_NOT_FOUND"
