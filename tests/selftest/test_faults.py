"""Each deliberate fault changes the one behaviour it claims to break.

For every fault there is a probe: one request (or a short exchange) and the single fact it observes.
The probe must give the documented value on the clean reference and a different one with the fault;
expected values are typed out from api-behaviour.md, not imported from the reference.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from conformance.areas import AREAS
from conformance.reference.config import CallbackSettings, Mode, ReferenceConfig
from conformance.reference.faults import FAULTS, applicable, install
from conformance.reference.server import start
from conformance.reference.throttle import Limits
from tests.selftest.conftest import Client, batch, message, other_private_key
from tests.support.servers import LoopbackServer, drain

STORED_MESSAGE = "2WL3qFTEFM0qMY8xjRbt1LIKCzM"  # sandbox fixture: delivered over the NHS App
UNKNOWN_MESSAGE = "/v1/messages/NotifyConformanceUnknownId0"
ABOUT = "https://digital.nhs.uk/developer/api-catalogue/nhs-notify"
ORIGIN = "https://selftest.example.org"
CORRELATION_ID = "selftest-correlation-id"


@dataclass(frozen=True)
class Probe:
    mode: Mode
    observe: Callable[[Client], Any]
    #: what the clean reference gives (the documented behaviour)
    expected: Any


def status(method: str, path: str, **kwargs: Any) -> Callable[[Client], Any]:
    return lambda client: client.request(method, path, **kwargs).status_code


def header(name: str, method: str, path: str, **kwargs: Any) -> Callable[[Client], Any]:
    return lambda client: client.request(method, path, **kwargs).headers.get(name)


def body(method: str, path: str, pick: Callable[[Any], Any], **kwargs: Any) -> Callable[[Client], Any]:
    return lambda client: pick(client.request(method, path, **kwargs).json())


def _expired_token_status(client: Client) -> int:
    token = client.token_for(*client.register(token_lifetime_s=0))  # expired as soon as it is issued
    return client.request("GET", UNKNOWN_MESSAGE, headers={"Authorization": f"Bearer {token}"}).status_code


def _not_onboarded_status(client: Client) -> int:
    token = client.token_for(*client.register(onboarded=False))
    return client.request("GET", UNKNOWN_MESSAGE, headers={"Authorization": f"Bearer {token}"}).status_code


def _foreign_signature_status(client: Client) -> int:
    return client.token_request(client.assertion(*client.register(), key=other_private_key())).status_code


def _expired_assertion_status(client: Client) -> int:
    return client.token_request(client.assertion(*client.register(), exp=int(time.time()) - 60)).status_code


def _replayed_jti_status(client: Client) -> int:
    assertion = client.assertion(*client.register())
    first = client.token_request(assertion)
    assert first.status_code == 200, first.text
    return client.token_request(assertion).status_code


def _second_create_status(path: str, make: Callable[[str], dict[str, Any]]) -> Callable[[Client], int]:
    def observe(client: Client) -> int:
        document = make(f"selftest-{time.monotonic_ns()}")
        first = client.request("POST", path, json=document)
        assert first.status_code == 201, first.text
        return client.request("POST", path, json=document).status_code

    return observe


def _throttled_retry_after(client: Client) -> str | None:
    """A client whose own spike arrest allows one request a second: the second of two is the 429."""
    token = client.token_for(*client.register(limits=Limits(quota_per_minute=3, spike_arrest_per_minute=60)))
    auth = {"Authorization": f"Bearer {token}"}
    client.request("GET", UNKNOWN_MESSAGE, headers=auth)
    throttled = client.request("GET", UNKNOWN_MESSAGE, headers=auth)
    assert throttled.status_code == 429, throttled.text
    return throttled.headers.get("retry-after")


def _is_iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return "T" in value


def _error_pointers(document: Any) -> list[str]:
    return [error.get("source", {}).get("pointer") for error in document["errors"]]


def _callback_signed_over_sent_bytes(client: Client) -> bool:
    """Whether the first status callback a message causes is signed over the very bytes sent: a
    reference with ``client``'s faults sends it to a receiver that only records (no receiver checks)."""
    arrived: list[tuple[bytes, str]] = []

    async def record(scope: Scope, receive: Receive, send: Send) -> None:
        raw = await drain(receive)
        headers = dict(scope["headers"])
        arrived.append((raw, headers.get(b"x-hmac-sha256-signature", b"").decode()))
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    api_key, application_id = secrets.token_urlsafe(16), "selftest-application"
    with LoopbackServer(record, "recording-receiver").start() as receiver:
        settings = CallbackSettings(receiver.origin + "/message-status", None, api_key, application_id)
        config = ReferenceConfig(
            mode="integration", faults=client.server.config.faults, callbacks=settings, throttle=False
        )
        with start(config) as sending:
            sender = Client(sending)
            try:
                created = sender.request("POST", "/v1/messages", json=message())
                assert created.status_code == 201, created.text
                deadline = time.monotonic() + 30
                while not arrived and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                sender.close()
    assert arrived, "no callback arrived"
    raw, signature = arrived[0]
    key = f"{application_id}.{api_key}".encode()
    return hmac.compare_digest(signature, hmac.new(key, raw, hashlib.sha256).hexdigest())


CREATED = ("POST", "/v1/messages")
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
BAD_MEDIA = {"Content-Type": "text/plain"}
TOO_MANY: dict[str, Any] = batch(0)
TOO_MANY["data"]["attributes"]["messages"] = [{}] * 45_001

PROBES: dict[str, Probe] = {
    # negotiation
    "406-ignored": Probe("sandbox", status("GET", UNKNOWN_MESSAGE, headers={"Accept": "xyz/abc"}), 406),
    "406-as-400": Probe("sandbox", status("GET", UNKNOWN_MESSAGE, headers={"Accept": "xyz/abc"}), 406),
    "empty-accept-allowed": Probe("sandbox", status("GET", UNKNOWN_MESSAGE, headers={"Accept": ""}), 406),
    "json-accept-answered-as-vnd": Probe(
        "sandbox",
        header("content-type", "GET", UNKNOWN_MESSAGE, headers={"Accept": "application/json"}),
        "application/json",
    ),
    "content-type-with-charset": Probe(
        "sandbox", header("content-type", "GET", UNKNOWN_MESSAGE), "application/vnd.api+json"
    ),
    # media type
    "415-ignored": Probe("sandbox", status(*CREATED, json=message(), headers=BAD_MEDIA), 415),
    "415-as-400": Probe("sandbox", status(*CREATED, json=message(), headers=BAD_MEDIA), 415),
    "415-only-for-post": Probe(
        "sandbox", status("PATCH", "/v1/messages", content="{}", headers=BAD_MEDIA), 415
    ),
    "415-on-get": Probe("sandbox", status("GET", UNKNOWN_MESSAGE, headers=BAD_MEDIA), 404),
    "415-before-406": Probe(
        "sandbox", status(*CREATED, content="{}", headers={**BAD_MEDIA, "Accept": "xyz/abc"}), 406
    ),
    "415-after-routing": Probe("sandbox", status("POST", "/nowhere", content="{}", headers=BAD_MEDIA), 415),
    # auth
    "auth-not-enforced": Probe("integration", status("GET", UNKNOWN_MESSAGE, authenticated=False), 401),
    "expired-token-accepted": Probe("integration", _expired_token_status, 401),
    "401-as-403": Probe("integration", status("GET", UNKNOWN_MESSAGE, authenticated=False), 401),
    "not-onboarded-allowed": Probe("integration", _not_onboarded_status, 403),
    "auth-after-routing": Probe("integration", status("GET", "/nowhere", authenticated=False), 401),
    "token-accepts-foreign-signature": Probe("integration", _foreign_signature_status, 400),
    "token-accepts-expired-assertion": Probe("integration", _expired_assertion_status, 400),
    "token-accepts-replayed-jti": Probe("integration", _replayed_jti_status, 400),
    "mock-token-trigger-ignored": Probe(
        "sandbox", status("GET", UNKNOWN_MESSAGE, headers={"Authorization": "Bearer InvalidMockToken"}), 401
    ),
    "service-ban-as-forbidden": Probe(
        "sandbox",
        body("GET", UNKNOWN_MESSAGE, lambda doc: doc["errors"][0]["code"], headers={"Prefer": "code=403.1"}),
        "CM_SERVICE_BAN",
    ),
    # headers
    "correlation-id-not-echoed": Probe(
        "sandbox",
        header(
            "x-correlation-id", "GET", f"/v1/messages/{STORED_MESSAGE}", headers={"X-Correlation-Id": "c1"}
        ),
        "c1",
    ),
    "correlation-id-missing-on-errors": Probe(
        "sandbox",
        header("x-correlation-id", "GET", UNKNOWN_MESSAGE, headers={"X-Correlation-Id": "c2"}),
        "c2",
    ),
    "x-amz-header-leaked": Probe(
        "sandbox",
        lambda client: sorted(
            name for name in client.request("GET", UNKNOWN_MESSAGE).headers if name.startswith("x-amz")
        ),
        [],
    ),
    "cache-control-missing": Probe(
        "sandbox", header("cache-control", "GET", UNKNOWN_MESSAGE), "no-cache, no-store, must-revalidate"
    ),
    "nosniff-missing": Probe("sandbox", header("x-content-type-options", "GET", UNKNOWN_MESSAGE), "nosniff"),
    "cors-allow-origin-missing": Probe(
        "sandbox",
        header("access-control-allow-origin", "GET", UNKNOWN_MESSAGE, headers={"Origin": ORIGIN}),
        ORIGIN,
    ),
    "cors-preflight-allows-credentials": Probe(
        "sandbox",
        header("access-control-allow-credentials", "OPTIONS", "/v1/messages", headers=PREFLIGHT),
        None,
    ),
    "cors-preflight-needs-auth": Probe(
        "integration", status("OPTIONS", "/v1/messages", headers=PREFLIGHT, authenticated=False), 200
    ),
    "throttle-429-without-retry-after": Probe("integration", _throttled_retry_after, "1"),
    "throttle-429-malformed-retry-after": Probe("integration", _throttled_retry_after, "1"),
    "retry-after-missing": Probe(
        "sandbox", header("retry-after", "GET", "/", headers={"Prefer": "code=429"}), "5"
    ),
    # routing
    "405-as-404": Probe("sandbox", status("DELETE", "/v1/messages"), 405),
    "trailing-slash-routed": Probe("sandbox", status("POST", "/v1/message-batches/", json=batch()), 404),
    "double-slash-not-collapsed": Probe("sandbox", status("GET", f"//v1/messages/{STORED_MESSAGE}"), 200),
    "head-not-allowed": Probe("sandbox", status("HEAD", UNKNOWN_MESSAGE), 404),
    # messages and batches
    "invalid-nhs-number-accepted": Probe("sandbox", status(*CREATED, json=message("9990548600")), 400),
    "duplicate-message-accepted": Probe(
        "integration", _second_create_status("/v1/messages", lambda ref: message(reference=ref)), 422
    ),
    "duplicate-batch-accepted": Probe(
        "integration", _second_create_status("/v1/message-batches", lambda ref: batch(reference=ref)), 422
    ),
    "201-as-200": Probe("sandbox", status(*CREATED, json=message()), 201),
    "location-missing": Probe(
        "sandbox", lambda client: "location" in client.request(*CREATED, json=message()).headers, True
    ),
    "created-links-self-missing": Probe(
        "sandbox", body(*CREATED, lambda doc: "self" in doc["data"].get("links", {}), json=message()), True
    ),
    "created-status-undocumented": Probe(
        "sandbox",
        body(*CREATED, lambda doc: doc["data"]["attributes"]["messageStatus"], json=message()),
        "created",
    ),
    "created-timestamp-not-iso": Probe(
        "sandbox",
        body(
            *CREATED, lambda doc: _is_iso(doc["data"]["attributes"]["timestamps"]["created"]), json=message()
        ),
        True,
    ),
    "created-extra-attribute": Probe(
        "sandbox",
        body(*CREATED, lambda doc: sorted(doc["data"]["attributes"]), json=message()),
        ["messageReference", "messageStatus", "routingPlan", "timestamps"],
    ),
    "batch-message-missing": Probe(
        "sandbox",
        body(
            "POST",
            "/v1/message-batches",
            lambda doc: len(doc["data"]["attributes"]["messages"]),
            json=batch(3),
        ),
        3,
    ),
    "400-as-500": Probe("sandbox", status(*CREATED, json={"data": {}}), 400),
    "too-many-items-as-400": Probe("sandbox", status("POST", "/v1/message-batches", json=TOO_MANY), 413),
    "error-pointer-wrong": Probe(
        "sandbox", body(*CREATED, lambda doc: _error_pointers(doc)[0], json={"data": {}}), "/data/type"
    ),
    "error-source-missing": Probe(
        "sandbox", body(*CREATED, lambda doc: "source" in doc["errors"][0], json={"data": {}}), True
    ),
    "errors-out-of-order": Probe(
        "sandbox", body(*CREATED, _error_pointers, json={"data": {}}), ["/data/type", "/data/attributes"]
    ),
    "nhs-number-link-missing": Probe(
        "sandbox",
        body(*CREATED, lambda doc: sorted(doc["errors"][0]["links"]), json=message("9990548600")),
        ["about", "nhsNumbers"],
    ),
    # get message
    "message-id-format-checked": Probe("sandbox", status("GET", "/v1/messages/does-not-exist"), 404),
    "message-id-missing": Probe(
        "sandbox",
        body("GET", f"/v1/messages/{STORED_MESSAGE}", lambda doc: doc["data"].get("id")),
        STORED_MESSAGE,
    ),
    "message-links-self-missing": Probe(
        "sandbox",
        body("GET", f"/v1/messages/{STORED_MESSAGE}", lambda doc: "self" in doc["data"].get("links", {})),
        True,
    ),
    "channel-type-undocumented": Probe(
        "sandbox",
        body(
            "GET",
            f"/v1/messages/{STORED_MESSAGE}",
            lambda doc: doc["data"]["attributes"]["channels"][0]["type"],
        ),
        "nhsapp",
    ),
    # NHS App accounts
    "practice-code-case-sensitive": Probe(
        "sandbox", status("GET", "/channels/nhsapp/accounts", params={"ods-organisation-code": "x26"}), 200
    ),
    "invalid-page-accepted": Probe(
        "sandbox",
        status("GET", "/channels/nhsapp/accounts", params={"ods-organisation-code": "X26", "page": "0"}),
        400,
    ),
    "pagination-next-missing": Probe(
        "sandbox",
        body(
            "GET",
            "/channels/nhsapp/accounts",
            lambda doc: "next" in doc["links"],
            params={"ods-organisation-code": "T00001", "page": "1"},
        ),
        True,
    ),
    "accounts-type-missing": Probe(
        "sandbox",
        body(
            "GET",
            "/channels/nhsapp/accounts",
            lambda doc: doc["data"].get("type"),
            params={"ods-organisation-code": "X26"},
        ),
        "NhsAppAccounts",
    ),
    # JSON:API documents
    "error-status-number": Probe(
        "sandbox", body("GET", "/nowhere", lambda doc: doc["errors"][0]["status"]), "404"
    ),
    "data-and-errors-together": Probe("sandbox", body("GET", "/nowhere", sorted), ["errors"]),
    "unknown-top-level-member": Probe(
        "sandbox", body("GET", f"/v1/messages/{STORED_MESSAGE}", sorted), ["data"]
    ),
    "error-id-not-positional": Probe(
        "sandbox", body("GET", "/nowhere", lambda doc: doc["errors"][0]["id"].endswith(".0")), True
    ),
    "about-link-missing": Probe(
        "sandbox", body("GET", "/nowhere", lambda doc: doc["errors"][0].get("links", {}).get("about")), ABOUT
    ),
    "error-body-truncated": Probe(
        "sandbox", lambda client: client.request("GET", "/nowhere").content.endswith(b"}"), True
    ),
    # callbacks the reference API sends
    "callbacks-signed-reserialised": Probe("integration", _callback_signed_over_sent_bytes, True),
}


def test_every_fault_has_a_probe() -> None:
    assert sorted(PROBES) == sorted(FAULTS)


def test_the_bank_is_big_and_covers_every_area() -> None:
    assert len(FAULTS) >= 40
    declared = {area for fault in FAULTS.values() for area in fault.areas}
    assert declared == set(AREAS)
    for fault in FAULTS.values():
        assert fault.modes and fault.breaks and fault.section.strip(), fault.name
        assert fault.name == fault.name.lower() and " " not in fault.name, fault.name
        hooks = [
            bool(fault.stages),
            fault.patch is not None,
            fault.token is not None,
            fault.rewrite is not None,
        ]
        assert sum(hooks) == 1, f"{fault.name} should be hooked in exactly one way"


@pytest.mark.parametrize("name", list(PROBES))
def test_fault_breaks_what_it_claims(
    name: str, clean_servers: dict[str, Client], faulty_server: Callable[[Mode, str], Client]
) -> None:
    probe = PROBES[name]
    assert probe.mode in FAULTS[name].modes
    assert probe.observe(clean_servers[probe.mode]) == probe.expected, "the clean reference is off"
    broken = probe.observe(faulty_server(probe.mode, name))
    assert broken != probe.expected, f"{name} did not change what its probe observes"


def test_unknown_fault_names_are_refused() -> None:
    with pytest.raises(ValueError, match="no-such-fault"):
        applicable(["406-ignored", "no-such-fault"], "sandbox")


def test_faults_of_the_other_mode_are_left_out() -> None:
    assert [fault.name for fault in applicable(["auth-not-enforced", "406-ignored"], "sandbox")] == [
        "406-ignored"
    ]


def test_install_leaves_a_clean_gateway_untouched() -> None:
    from conformance.reference.config import ReferenceConfig
    from conformance.reference.gateway import Gateway
    from conformance.reference.integration import IntegrationBackend
    from conformance.reference.oauth import ClientRegistry
    from conformance.reference.store import MessageStore

    config = ReferenceConfig(mode="integration")
    gateway = Gateway(config, IntegrationBackend(MessageStore()), ClientRegistry(), "key")
    stages = list(gateway.stages)
    injected = install(config, gateway)
    assert gateway.stages == stages
    assert injected.rewrite is None and injected.token_wrappers == ()
