"""Before any test: is the base URL the NHS Notify API? One ``GET {base}/_ping``, which the gateway
answers with 200 and its version as JSON, without auth, in every environment and PR proxy.

Anything else is named as the likely mistake, because a wrong URL otherwise shows up as thousands of
failures that blame the API: a redirect, a web page, a path without ``/comms``, a server error.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from conformance.errors import NotTheApi, TargetUnreachable

PROBE_TIMEOUT_S = 10.0


def probe_api(base_url: str, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Return when ``base_url`` answers like the API; raise :class:`NotTheApi` (a setup mistake) or
    :class:`TargetUnreachable` otherwise."""
    url = base_url + "/_ping"
    try:
        response = httpx.get(
            url, timeout=timeout_s, trust_env=False, follow_redirects=False, headers={"Accept": "*/*"}
        )
    except httpx.TimeoutException:
        raise TargetUnreachable(f"{base_url} did not answer within {timeout_s:g} s") from None
    except httpx.HTTPError as error:
        raise TargetUnreachable(f"cannot reach {base_url}: {type(error).__name__}: {error}") from None
    problem = _problem(base_url, response)
    if problem is not None:
        raise problem


def _problem(base_url: str, response: httpx.Response) -> NotTheApi | TargetUnreachable | None:
    status = response.status_code
    content_type = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    said = f"GET {base_url}/_ping answered {status} ({content_type})"
    if 300 <= status < 400:
        location = response.headers.get("location", "nowhere")
        return NotTheApi(f"the target redirected to {location}; give the final address as --base-url")
    if status >= 500:
        return TargetUnreachable(f"{said}: the API is unavailable")
    if status == 200 and _is_json_object(response):
        return None
    if "html" in content_type:
        hint = "a web page, not the NHS Notify API"
    else:
        hint = "not the NHS Notify API, which answers 200 with its version"
    if not urlsplit(base_url).path.rstrip("/").endswith("/comms"):
        return NotTheApi(f"{said}: {hint}; does the base URL end in /comms?")
    return NotTheApi(f"{said}: {hint}; is the base URL right?")


def _is_json_object(response: httpx.Response) -> bool:
    try:
        return isinstance(response.json(), dict)
    except ValueError:
        return False
