"""Reference servers for the fault tests: started for real on loopback, clean or with one fault, and a
small client that authenticates the way a supplier would (signed assertion, then a bearer token)."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance.reference.config import Mode
from conformance.reference.server import ReferenceConfig, RunningReference, start
from conformance.reference.throttle import Limits

JSONAPI = "application/vnd.api+json"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GLOBAL_NHSAPP_PLAN = "00000000-0000-0000-0000-000000000001"
VALID_NHS_NUMBER = "9990548609"

#: One key pair for every client these tests register (generating RSA keys is the slow part).
_PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_PRIVATE_PEM = _PRIVATE_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
_PUBLIC_PEM = _PRIVATE_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


class Client:
    """Requests to one running reference; in integration mode they carry a fresh client's token."""

    def __init__(self, server: RunningReference) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.origin, trust_env=False, timeout=30)
        self._token: str | None = None

    @property
    def mode(self) -> Mode:
        return self.server.config.mode

    def register(
        self, *, onboarded: bool = True, token_lifetime_s: int | None = None, limits: Limits | None = None
    ) -> tuple[str, str]:
        """A new client of this server (API key, kid), holding the shared test key pair."""
        api_key, kid = secrets.token_hex(16), f"selftest-{secrets.token_hex(4)}"
        self.server.registry.register(
            api_key, kid, _PUBLIC_PEM, onboarded=onboarded, token_lifetime_s=token_lifetime_s, limits=limits
        )
        return api_key, kid

    def assertion(self, api_key: str, kid: str, *, key: Any = None, **claims: Any) -> str:
        """A signed client assertion; ``claims`` bend single claims, ``key`` signs with another key."""
        body = {
            "iss": api_key,
            "sub": api_key,
            "aud": self.server.token_url,
            "jti": str(uuid.uuid4()),
            "exp": int(time.time()) + 180,
            **claims,
        }
        return jwt.encode(body, key or _PRIVATE_PEM, algorithm="RS512", headers={"kid": kid})

    def token_request(self, assertion: str) -> httpx.Response:
        form = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER}
        return self.http.post("/oauth2/token", data={**form, "client_assertion": assertion})

    def token_for(self, api_key: str, kid: str) -> str:
        response = self.token_request(self.assertion(api_key, kid))
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        assert isinstance(token, str)
        return token

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.token_for(*self.register())
        return self._token

    def request(
        self,
        method: str,
        path: str,
        *,
        authenticated: bool = True,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """``path`` is appended to ``/comms`` as given; a token is sent in integration mode by default."""
        sent = dict(headers or {})
        if authenticated and self.mode == "integration" and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {self.token}"
        if "json" in kwargs:
            sent.setdefault("Content-Type", JSONAPI)
        return self.http.request(method, "/comms" + path, headers=sent, **kwargs)

    def close(self) -> None:
        self.http.close()


def message(nhs_number: Any = VALID_NHS_NUMBER, reference: str | None = None) -> dict[str, Any]:
    attributes = {
        "routingPlanId": GLOBAL_NHSAPP_PLAN,
        "messageReference": reference or str(uuid.uuid4()),
        "recipient": {"nhsNumber": nhs_number},
    }
    return {"data": {"type": "Message", "attributes": attributes}}


def batch(count: int = 2, reference: str | None = None) -> dict[str, Any]:
    messages = [
        {"messageReference": f"message-{index}", "recipient": {"nhsNumber": VALID_NHS_NUMBER}}
        for index in range(count)
    ]
    attributes = {
        "routingPlanId": GLOBAL_NHSAPP_PLAN,
        "messageBatchReference": reference or str(uuid.uuid4()),
        "messages": messages,
    }
    return {"data": {"type": "MessageBatch", "attributes": attributes}}


def other_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def clean_servers() -> Iterator[dict[str, Client]]:
    """A clean reference in each mode, shared by every test of the session."""
    with (
        start(ReferenceConfig(mode="sandbox")) as sandbox,
        # in_flight_s=0: a repeated reference is a duplicate (422) at once, not "still in flight" (425)
        start(ReferenceConfig(mode="integration", in_flight_s=0.0)) as integration,
    ):
        clients = {"sandbox": Client(sandbox), "integration": Client(integration)}
        yield clients
        for client in clients.values():
            client.close()


@pytest.fixture
def faulty_server() -> Iterator[Any]:
    """A factory: ``faulty_server(mode, name)`` starts a reference with that one fault (stopped after)."""
    started: list[tuple[RunningReference, Client]] = []

    def make(mode: Mode, fault: str) -> Client:
        server = start(ReferenceConfig(mode=mode, faults=frozenset({fault}), in_flight_s=0.0))
        client = Client(server)
        started.append((server, client))
        return client

    yield make
    for server, client in started:
        client.close()
        server.stop()
