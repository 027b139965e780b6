"""Integration-mode OAuth2 (api-behaviour.md §6, §3.4): the token endpoint's accept and reject paths, and
access tokens on API calls (missing, invalid, expired, not onboarded)."""

from __future__ import annotations

import json
import stat
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conformance.reference.oauth import (
    ClientCredentials,
    ClientRegistry,
    generate_client,
    write_credentials_file,
)
from conformance.reference.server import RunningReference
from tests.reference.conftest import (
    EXPECTED_ERRORS,
    JWT_BEARER,
    assert_error,
    assert_standard_headers,
    client_assertion,
    fetch_token,
)

ACCOUNTS = "/channels/nhsapp/accounts?ods-organisation-code=X26"


def token_request(server: RunningReference, **fields: str | None) -> httpx.Response:
    """POST the token form; a field given as None is left out."""
    form = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER, **fields}
    return httpx.post(
        server.token_url, data={name: value for name, value in form.items() if value is not None}
    )


def assert_token_error(response: httpx.Response, error: str, reason: str) -> None:
    """A 400 OAuth2 error whose description mentions ``reason`` (so the refusal is for the right cause)."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == error
    assert reason in body["error_description"]
    assert "access_token" not in body
    assert_standard_headers(response)


@pytest.fixture(scope="module")
def other_credentials(integration_server: RunningReference, key_dir: Path) -> ClientCredentials:
    return generate_client(integration_server.registry, key_dir)


# ---- token endpoint: accepted


def test_a_well_formed_assertion_gets_a_bearer_token(
    integration_server: RunningReference, integration_credentials: ClientCredentials
) -> None:
    response = token_request(
        integration_server,
        client_assertion=client_assertion(integration_credentials, integration_server.token_url),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert int(body["expires_in"]) == integration_server.config.token_lifetime_s
    assert int(body["issued_at"]) > 0
    api = httpx.get(
        integration_server.base_url + ACCOUNTS, headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert api.status_code == 200, api.text


def test_each_token_is_new(
    integration_server: RunningReference, integration_credentials: ClientCredentials
) -> None:
    assert fetch_token(integration_server, integration_credentials) != fetch_token(
        integration_server, integration_credentials
    )


# ---- token endpoint: rejected


def test_unknown_kid(
    integration_server: RunningReference, integration_credentials: ClientCredentials
) -> None:
    key = integration_credentials.private_key_path.read_bytes()
    claims = {"iss": integration_credentials.api_key, "sub": integration_credentials.api_key}
    assertion = jwt.encode(
        {
            **claims,
            "aud": integration_server.token_url,
            "jti": str(uuid.uuid4()),
            "exp": int(time.time()) + 60,
        },
        key,
        algorithm="RS512",
        headers={"kid": "not-registered"},
    )
    assert_token_error(token_request(integration_server, client_assertion=assertion), "invalid_client", "kid")


def test_missing_kid(
    integration_server: RunningReference, integration_credentials: ClientCredentials
) -> None:
    key = integration_credentials.private_key_path.read_bytes()
    assertion = jwt.encode({"iss": integration_credentials.api_key}, key, algorithm="RS512")
    assert_token_error(
        token_request(integration_server, client_assertion=assertion), "invalid_request", "kid"
    )


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": "https://int.api.service.nhs.uk/oauth2/token"}, "'aud'"),
        ({"aud": None}, "'aud'"),
        ({"lifetime_s": -10}, "expired"),
        ({"lifetime_s": 400}, "more than 5 minutes"),
        ({"exp": None}, "'exp'"),
        ({"exp": "soon"}, "'exp'"),
        ({"jti": ""}, "'jti'"),
        ({"nbf": 9_999_999_999}, "nbf"),
    ],
    ids=[
        "wrong-aud",
        "no-aud",
        "expired",
        "exp-over-5-minutes",
        "no-exp",
        "exp-not-number",
        "empty-jti",
        "nbf",
    ],
)
def test_bad_claims_are_invalid_requests(
    integration_server: RunningReference,
    integration_credentials: ClientCredentials,
    overrides: dict[str, object],
    reason: str,
) -> None:
    lifetime = overrides.pop("lifetime_s", 180)
    assert isinstance(lifetime, int)
    assertion = client_assertion(integration_credentials, integration_server.token_url, lifetime_s=lifetime)
    if overrides:
        claims = jwt.decode(assertion, options={"verify_signature": False})
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        key = integration_credentials.private_key_path.read_bytes()
        assertion = jwt.encode(claims, key, algorithm="RS512", headers={"kid": integration_credentials.kid})
    assert_token_error(
        token_request(integration_server, client_assertion=assertion), "invalid_request", reason
    )


def test_missing_jti(
    integration_server: RunningReference, integration_credentials: ClientCredentials
) -> None:
    key = integration_credentials.private_key_path.read_bytes()
    claims = {
        "iss": integration_credentials.api_key,
        "sub": integration_credentials.api_key,
        "aud": integration_server.token_url,
        "exp": int(time.time()) + 60,
    }
    assertion = jwt.encode(claims, key, algorithm="RS512", headers={"kid": integration_credentials.kid})
    assert_token_error(
        token_request(integration_server, client_assertion=assertion), "invalid_request", "jti"
    )


def test_a_jti_works_once(
    integration_server: RunningReference, integration_credentials: ClientCredentials
) -> None:
    jti = str(uuid.uuid4())
    first = client_assertion(integration_credentials, integration_server.token_url, jti=jti)
    assert token_request(integration_server, client_assertion=first).status_code == 200
    again = client_assertion(integration_credentials, integration_server.token_url, jti=jti, lifetime_s=170)
    assert_token_error(
        token_request(integration_server, client_assertion=again), "invalid_request", "already been used"
    )
    replay = token_request(integration_server, client_assertion=first)
    assert_token_error(replay, "invalid_request", "already been used")


def test_signed_by_another_key(
    integration_server: RunningReference,
    integration_credentials: ClientCredentials,
    other_credentials: ClientCredentials,
) -> None:
    impostor = ClientCredentials(
        integration_credentials.api_key, integration_credentials.kid, other_credentials.private_key_path
    )
    assertion = client_assertion(impostor, integration_server.token_url)
    assert_token_error(
        token_request(integration_server, client_assertion=assertion), "invalid_client", "signature"
    )


@pytest.mark.parametrize("claim", ["iss", "sub"])
def test_iss_and_sub_must_be_the_registered_api_key(
    integration_server: RunningReference,
    integration_credentials: ClientCredentials,
    other_credentials: ClientCredentials,
    claim: str,
) -> None:
    url, wrong = integration_server.token_url, other_credentials.api_key
    assertion = (
        client_assertion(integration_credentials, url, iss=wrong)
        if claim == "iss"
        else client_assertion(integration_credentials, url, sub=wrong)
    )
    assert_token_error(
        token_request(integration_server, client_assertion=assertion), "invalid_client", "'iss' and 'sub'"
    )


def _claims(creds: ClientCredentials, server: RunningReference) -> dict[str, object]:
    return {
        "iss": creds.api_key,
        "sub": creds.api_key,
        "aud": server.token_url,
        "jti": str(uuid.uuid4()),
        "exp": int(time.time()) + 60,
    }


def test_alg_none_is_refused(
    integration_server: RunningReference, integration_credentials: ClientCredentials
) -> None:
    assertion = jwt.encode(
        _claims(integration_credentials, integration_server),
        "",
        algorithm="none",
        headers={"kid": integration_credentials.kid},
    )
    assert_token_error(
        token_request(integration_server, client_assertion=assertion), "invalid_request", "RS512"
    )


def test_alg_hs256_is_refused(
    integration_server: RunningReference, integration_credentials: ClientCredentials
) -> None:
    assertion = jwt.encode(
        _claims(integration_credentials, integration_server),
        "a-shared-secret-of-thirty-two-bytes!",
        algorithm="HS256",
        headers={"kid": integration_credentials.kid},
    )
    assert_token_error(
        token_request(integration_server, client_assertion=assertion), "invalid_request", "RS512"
    )


def test_alg_rs256_is_refused(
    integration_server: RunningReference, integration_credentials: ClientCredentials
) -> None:
    assertion = jwt.encode(
        _claims(integration_credentials, integration_server),
        integration_credentials.private_key_path.read_bytes(),
        algorithm="RS256",
        headers={"kid": integration_credentials.kid},
    )
    assert_token_error(
        token_request(integration_server, client_assertion=assertion), "invalid_request", "RS512"
    )


@pytest.mark.parametrize(
    ("fields", "error", "reason"),
    [
        ({"grant_type": None}, "invalid_request", "grant_type"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type", "grant_type"),
        ({"client_assertion_type": None}, "invalid_request", "client_assertion_type"),
        (
            {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"},
            "invalid_request",
            "client_assertion_type",
        ),
        ({"client_assertion": None}, "invalid_request", "client_assertion is missing"),
        ({"client_assertion": "not.a.jwt"}, "invalid_request", "well-formed"),
    ],
)
def test_form_problems(
    integration_server: RunningReference,
    integration_credentials: ClientCredentials,
    fields: dict[str, str | None],
    error: str,
    reason: str,
) -> None:
    form: dict[str, str | None] = {
        "client_assertion": client_assertion(integration_credentials, integration_server.token_url),
        **fields,
    }
    assert_token_error(token_request(integration_server, **form), error, reason)


def test_a_json_body_is_not_a_form(
    integration_server: RunningReference, integration_credentials: ClientCredentials
) -> None:
    response = httpx.post(
        integration_server.token_url,
        json={
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": client_assertion(integration_credentials, integration_server.token_url),
        },
    )
    assert_token_error(response, "invalid_request", "x-www-form-urlencoded")


def test_token_endpoint_only_accepts_post(integration_server: RunningReference) -> None:
    response = httpx.get(integration_server.token_url)
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"


# ---- access tokens on API calls


@pytest.mark.parametrize(
    "authorization",
    [None, "", "invalid", "Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer InvalidMockToken"],
)
def test_missing_or_invalid_tokens_are_401(
    integration_server: RunningReference, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = httpx.get(integration_server.base_url + ACCOUNTS, headers=headers)
    assert_error(response, 401, EXPECTED_ERRORS["denied"])


def test_the_bearer_scheme_is_case_insensitive(
    integration_server: RunningReference, access_token: str
) -> None:
    response = httpx.get(
        integration_server.base_url + ACCOUNTS, headers={"Authorization": f"bearer {access_token}"}
    )
    assert response.status_code == 200


def test_expired_tokens_are_401(integration_server: RunningReference, key_dir: Path) -> None:
    short_lived = generate_client(integration_server.registry, key_dir, token_lifetime_s=1)
    token = fetch_token(integration_server, short_lived)
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(integration_server.base_url + ACCOUNTS, headers=headers).status_code == 200
    time.sleep(1.1)
    assert_error(
        httpx.get(integration_server.base_url + ACCOUNTS, headers=headers), 401, EXPECTED_ERRORS["denied"]
    )


def test_a_client_not_onboarded_gets_a_token_but_403_everywhere(
    integration_server: RunningReference, key_dir: Path
) -> None:
    client = generate_client(integration_server.registry, key_dir, onboarded=False)
    headers = {"Authorization": f"Bearer {fetch_token(integration_server, client)}"}
    for method, path, extra in [
        ("GET", ACCOUNTS, {}),
        ("POST", "/v1/messages", {"Accept": "text/html"}),  # 403 comes before 406
        ("DELETE", "/no/such/path", {}),
    ]:
        response = httpx.request(method, integration_server.base_url + path, headers={**headers, **extra})
        assert_error(response, 403, EXPECTED_ERRORS["forbidden"])


# ---- registry, key generation and the credentials file


def test_tokens_expire_at_their_lifetime(tmp_path: Path) -> None:
    registry = ClientRegistry(default_token_lifetime_s=100)
    generate_client(registry, tmp_path)
    (record,) = [registry.client_for_kid(path.stem) for path in tmp_path.glob("*.pem")]
    assert record is not None and record.token_lifetime_s == 100
    token = registry.issue_token(record, now=1000.0)
    assert registry.client_for_token(token, now=1099.9) == record
    assert registry.client_for_token(token, now=1100.0) is None
    assert registry.client_for_token(token, now=1000.0) is None, "an expired token stays dead"


def test_only_rsa_keys_can_be_registered() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="RSA"):
        ClientRegistry().register("key", "kid", pem)


def test_generated_private_keys_are_private(tmp_path: Path) -> None:
    creds = generate_client(ClientRegistry(), tmp_path / "keys")
    assert stat.S_IMODE(creds.private_key_path.stat().st_mode) == 0o600
    serialization.load_pem_private_key(creds.private_key_path.read_bytes(), password=None)
    assert creds.api_key not in repr(creds)


def test_credentials_file_layout(tmp_path: Path) -> None:
    registry = ClientRegistry()
    main = generate_client(registry, tmp_path)
    short = generate_client(registry, tmp_path, token_lifetime_s=2)
    target = tmp_path / "out" / "credentials.json"
    write_credentials_file(target, main, "http://h/comms", "http://h/oauth2/token", {"short_lived": short})
    document = json.loads(target.read_text())
    assert document == {
        "api_key": main.api_key,
        "kid": main.kid,
        "private_key_path": str(main.private_key_path),
        "app_name": f"notify-conformance-{main.kid}",
        "base_url": "http://h/comms",
        "token_url": "http://h/oauth2/token",
        "clients": {
            "short_lived": {
                "api_key": short.api_key,
                "kid": short.kid,
                "private_key_path": str(short.private_key_path),
                "app_name": f"notify-conformance-{short.kid}",
            }
        },
    }
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_each_client_of_a_registry_has_a_key_of_its_own(tmp_path: Path) -> None:
    """A registry's clients never share a key; a later registry is handed the process's keys again, by
    position (a self-test worker starts six clients per fault)."""
    registry = ClientRegistry()
    first = [generate_client(registry, tmp_path / "first").private_key_path.read_bytes() for _ in range(3)]
    assert len(set(first)) == 3 and registry.client_count == 3
    later = ClientRegistry()
    again = [generate_client(later, tmp_path / "later").private_key_path.read_bytes() for _ in range(2)]
    assert again == first[:2]
