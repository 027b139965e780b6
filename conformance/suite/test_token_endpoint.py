"""The OAuth2 token endpoint: your signed client assertion gets an access token, and bad ones do not.

Proves behaviour §6 (signed-JWT client credentials: RS512, registered ``kid``, ``iss`` = ``sub``
= API key, ``aud`` = token URL, unique ``jti``, ``exp`` at most five minutes ahead) and the token
endpoint checks listed in tools-and-peers.md §3.3 item 8. Refusals are judged only as "a 4xx and no
access token": the platform's exact OAuth error texts are not part of the documents this suite proves.

Assertions are signed with the key named by the target's credentials; neither the key nor the API key
ever appears in a failure message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance import redaction
from conformance.auth import JWT_BEARER, SignedJWTAuth, load_private_key
from conformance.client import ApiClient
from conformance.environments import Credentials, Target
from conformance.suite._expect import GET_MESSAGE, expect_error
from conformance.suite._labels import for_module

AREA = "auth"
FEATURE = "POST /oauth2/token"
#: this module's labels: the token endpoint, in the auth area
behaviour = for_module(area=AREA, feature=FEATURE)

GRANT_TYPE = "client_credentials"
#: The longest client assertion lifetime the platform accepts.
MAX_LIFETIME_S = 300

#: Each way an assertion or token request can be wrong, refused by a conforming token endpoint.
REFUSED_ASSERTIONS = {
    "unknown-kid": "the kid header names no registered key",
    "wrong-audience": "aud is not the token endpoint URL",
    "expired": "exp is already in the past",
    "exp-beyond-5-minutes": "exp is more than five minutes ahead",
    "issuer-not-api-key": "iss and sub are not the client's API key",
    "no-jti": "the jti claim is missing",
    "signed-with-other-key": "the signature is by a key that is not the registered one",
    "alg-none": "the assertion is unsigned (alg none)",
    "alg-hs256": "HMAC-signed with the public key as secret (algorithm confusion)",
    "alg-rs256": "signed RS256 instead of RS512",
    "wrong-grant-type": "grant_type is not client_credentials",
    "wrong-assertion-type": "client_assertion_type is not the JWT bearer type",
}


def _credentials(target: Target) -> tuple[Credentials, str]:
    assert target.credentials is not None and target.token_url is not None, "target has no OAuth client"
    return target.credentials, target.token_url


def _claims(target: Target, **overrides: Any) -> dict[str, Any]:
    """The claims a well-behaved client signs, with ``overrides`` bending single ones (None removes)."""
    creds, token_url = _credentials(target)
    claims: dict[str, Any] = {
        "iss": creds.api_key,
        "sub": creds.api_key,
        "aud": token_url,
        "jti": str(uuid.uuid4()),
        "exp": int(time.time()) + 180,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(claims: dict[str, Any], kid: str, private_key: rsa.RSAPrivateKey) -> str:
    """An HS256 token whose HMAC secret is the client's public key PEM (PyJWT refuses to make one)."""
    secret = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _assertion(target: Target, case: str) -> str:
    """A client assertion that is wrong in exactly the way ``case`` names (or right, for other cases)."""
    creds, _ = _credentials(target)
    key = load_private_key(creds.private_key_path)
    kid = creds.kid
    now = int(time.time())
    claims = _claims(target)
    algorithm = "RS512"
    signing_key: Any = key
    if case == "unknown-kid":
        kid = f"unknown-{uuid.uuid4()}"
    elif case == "wrong-audience":
        claims = _claims(target, aud="https://conformance.example.org/oauth2/token")
    elif case == "expired":
        claims = _claims(target, exp=now - 60)
    elif case == "exp-beyond-5-minutes":
        claims = _claims(target, exp=now + MAX_LIFETIME_S + 300)
    elif case == "issuer-not-api-key":
        claims = _claims(target, iss="notify-conformance-stranger", sub="notify-conformance-stranger")
    elif case == "no-jti":
        claims = _claims(target, jti=None)
    elif case == "signed-with-other-key":
        signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif case == "alg-none":
        algorithm, signing_key = "none", None
    elif case == "alg-hs256":
        return _hs256_with_public_key(claims, kid, key)
    elif case == "alg-rs256":
        algorithm = "RS256"
    assertion = jwt.encode(claims, signing_key, algorithm=algorithm, headers={"kid": kid, "typ": "JWT"})
    redaction.register(assertion)
    return assertion


def _form(assertion: str, case: str = "") -> dict[str, str]:
    return {
        "grant_type": "authorization_code" if case == "wrong-grant-type" else GRANT_TYPE,
        "client_assertion_type": (
            "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
            if case == "wrong-assertion-type"
            else JWT_BEARER
        ),
        "client_assertion": assertion,
    }


def post_token_request(api: ApiClient, form: dict[str, str]) -> httpx.Response:
    """POST a token request through the suite's guarded, recorded client, without a bearer token."""
    _, token_url = _credentials(api.target)
    request = api.http.build_request("POST", token_url, data=form, headers={"Accept": "application/json"})
    return api.http.send(request, auth=None)


def _outline(response: httpx.Response) -> str:
    """Status and the OAuth error fields only: a token endpoint answer may hold secrets."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        shown = {k: payload.get(k) for k in ("error", "error_description") if k in payload}
        return redaction.redact(f"HTTP {response.status_code} {shown}")
    return f"HTTP {response.status_code} (body is not a JSON object)"


def issued_token(response: httpx.Response) -> str | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    token = payload.get("access_token") if isinstance(payload, dict) else None
    return token if isinstance(token, str) and token else None


def assert_refused(response: httpx.Response, why: str) -> None:
    assert 400 <= response.status_code < 500, (
        f"a token request where {why} should get a 4xx: {_outline(response)}"
    )
    assert issued_token(response) is None, f"an access token was issued although {why}"


@behaviour(severity="blocker", ref="behaviour §6")
@pytest.mark.needs_auth
def test_client_assertion_accepted(api: ApiClient) -> None:
    """Your credentials work: the token endpoint accepts your signed client assertion, and the access token it
    issues opens the API."""
    creds, token_url = _credentials(api.target)
    auth = SignedJWTAuth.from_key_file(
        token_url=token_url, api_key=creds.api_key, kid=creds.kid, key_path=creds.private_key_path
    )
    response = api.http.send(auth.token_request(), auth=None)
    assert response.status_code == 200, (
        f"the token endpoint refused your client assertion: {_outline(response)}"
    )
    token = issued_token(response)
    assert token is not None, f"the token endpoint answered 200 without an access_token: {_outline(response)}"
    redaction.register(token)
    opened = api.get(GET_MESSAGE.path, authenticated=False, headers={"Authorization": f"Bearer {token}"})
    expect_error(opened, 404, "not_found")  # past auth: the message simply does not exist


@behaviour(severity="critical", ref="behaviour §6")
@pytest.mark.needs_auth
@pytest.mark.parametrize("case", list(REFUSED_ASSERTIONS))
def test_bad_assertion_refused(api: ApiClient, case: str) -> None:
    """The token endpoint refuses a client assertion or token request that breaks the signed-JWT rules."""
    response = post_token_request(api, _form(_assertion(api.target, case), case))
    assert_refused(response, REFUSED_ASSERTIONS[case])


@behaviour(severity="critical", ref="behaviour §6")
@pytest.mark.needs_auth
def test_reused_jti_refused(api: ApiClient) -> None:
    """A client assertion can be used once: replaying it (same jti) is refused."""
    form = _form(_assertion(api.target, "valid"))
    first = post_token_request(api, form)
    assert first.status_code == 200 and issued_token(first), f"the first use was refused: {_outline(first)}"
    assert_refused(post_token_request(api, form), "the assertion's jti was already used")
