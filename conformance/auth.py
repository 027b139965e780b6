"""Signed-JWT OAuth2 client credentials (application-restricted access), as an httpx ``Auth`` flow.

The flow mints an RS512 client assertion (``kid`` header; ``iss`` = ``sub`` = API key; ``aud`` = token
URL; a fresh ``jti``; ``exp`` at most five minutes ahead), exchanges it for an access token, caches the
token, refreshes it shortly before expiry, and retries a request once after a 401 with a new token.
Requests go through the same client, so the safety guard and the exchange recorder see them too.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance import redaction
from conformance.errors import CredentialsError, TokenEndpointError

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME_S = 300


def load_private_key(path: Path, passphrase: str | None = None) -> rsa.RSAPrivateKey:
    """Read a PEM RSA private key (encrypted only with ``passphrase``), or raise a one-line
    :class:`CredentialsError`. Called before anything is sent, so a key that cannot sign stops the run
    at once instead of failing every test that needs a token."""
    try:
        stat = path.stat()
    except OSError as error:
        raise CredentialsError(f"cannot read the private key {path}: {error.strerror}") from None
    return _loaded_key(path, passphrase, stat.st_mtime_ns, stat.st_size)


# a run builds an auth flow per client and test; cryptography checks an RSA key each time it loads one
# (some 50 ms for 2048 bits, 300 ms for 4096), so a file is loaded once while it is unchanged (errors
# are never cached)
@functools.lru_cache(maxsize=16)
def _loaded_key(path: Path, passphrase: str | None, mtime_ns: int, size: int) -> rsa.RSAPrivateKey:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CredentialsError(f"cannot read the private key {path}: {error.strerror}") from None
    password = passphrase.encode() if passphrase else None
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError:
        if password is None:
            raise CredentialsError(
                f"the private key {path} is encrypted; set NOTIFY_PRIVATE_KEY_PASSPHRASE or supply an "
                "unencrypted PEM"
            ) from None
        raise CredentialsError(
            f"the private key {path} is not encrypted, but a passphrase was given"
        ) from None
    except ValueError as error:
        if password is not None and "password" in str(error).lower():
            raise CredentialsError(f"NOTIFY_PRIVATE_KEY_PASSPHRASE does not decrypt {path}") from None
        raise CredentialsError(f"the private key {path} is not a valid PEM private key") from None
    except Exception:  # cryptography raises UnsupportedAlgorithm and others for garbage
        raise CredentialsError(f"the private key {path} is not a valid PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialsError(f"the private key {path} is not an RSA key (RS512 needs RSA)")
    if key.key_size < 2048:
        raise CredentialsError(f"the private key {path} is too short ({key.key_size} bits; need 2048+)")
    return key


@dataclass
class _Token:
    value: str
    expires_at: float


class SignedJWTAuth(httpx.Auth):
    """httpx ``Auth`` that attaches a bearer token obtained with a signed client assertion."""

    requires_response_body = True

    def __init__(
        self,
        *,
        token_url: str,
        api_key: str,
        kid: str,
        private_key: rsa.RSAPrivateKey,
        assertion_lifetime_s: int = 180,
        refresh_margin_s: float = 15.0,
    ) -> None:
        if not 0 < assertion_lifetime_s <= MAX_ASSERTION_LIFETIME_S:
            raise CredentialsError("the client assertion lifetime must be between 1 and 300 seconds")
        self.token_url = token_url
        self.api_key = api_key
        self.kid = kid
        self._key = private_key
        self._assertion_lifetime_s = assertion_lifetime_s
        self._refresh_margin_s = refresh_margin_s
        self._token: _Token | None = None
        #: once the endpoint has refused this client, it is not asked again: another bad assertion
        #: from the supplier's own application would only add to the burst
        self._refused: TokenEndpointError | None = None
        self._lock = threading.RLock()
        self.tokens_fetched = 0
        redaction.register(api_key)

    @classmethod
    def from_key_file(
        cls, *, token_url: str, api_key: str, kid: str, key_path: Path, passphrase: str | None = None
    ) -> SignedJWTAuth:
        key = load_private_key(key_path, passphrase)
        return cls(token_url=token_url, api_key=api_key, kid=kid, private_key=key)

    def client_assertion(self) -> str:
        """A freshly signed RS512 assertion (unique ``jti``)."""
        now = int(time.time())
        claims = {
            "iss": self.api_key,
            "sub": self.api_key,
            "aud": self.token_url,
            "jti": str(uuid.uuid4()),
            "exp": now + self._assertion_lifetime_s,
        }
        assertion = jwt.encode(claims, self._key, algorithm="RS512", headers={"kid": self.kid, "typ": "JWT"})
        redaction.register(assertion)
        return assertion

    def token_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": self.client_assertion(),
            },
            headers={"Accept": "application/json"},
        )

    def _accept_token(self, response: httpx.Response) -> str:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code != 200 or not isinstance(payload, dict):
            self._refused = TokenEndpointError(_describe_refusal(response, payload))
            raise self._refused
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            self._refused = TokenEndpointError("the token endpoint answered 200 without an access_token")
            raise self._refused
        redaction.register(token)
        try:
            lifetime = float(payload.get("expires_in", 300))
        except (TypeError, ValueError):
            lifetime = 300.0
        self._token = _Token(token, time.monotonic() + lifetime)
        self.tokens_fetched += 1
        return token

    def _current(self) -> str | None:
        if self._refused is not None:
            raise self._refused
        token = self._token
        if token is None or time.monotonic() > token.expires_at - self._refresh_margin_s:
            return None
        return token.value

    def token(self, client: httpx.Client) -> str:
        """A valid access token, fetched through ``client`` when none is cached (for schemathesis auth)."""
        with self._lock:
            current = self._current()
            if current is None:
                current = self._accept_token(client.send(self.token_request(), auth=None))
            return current

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # httpx's sync_auth_flow wraps this and reads each response first (requires_response_body)
        with self._lock:
            token = self._current()
            if token is None:
                token = self._accept_token((yield self.token_request()))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            with self._lock:
                if self._current() == token:
                    token = self._accept_token((yield self.token_request()))
                else:
                    token = self._current() or self._accept_token((yield self.token_request()))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


def _describe_refusal(response: httpx.Response, payload: object) -> str:
    """One line naming the token endpoint's answer, with no secret in it."""
    detail = ""
    if isinstance(payload, dict):
        parts = [str(payload.get(k)) for k in ("error", "error_description", "message") if payload.get(k)]
        detail = ": " + " - ".join(parts) if parts else ""
    elif response.content:
        detail = ": the answer is not JSON"
    return redaction.redact(
        f"the token endpoint refused the client assertion (HTTP {response.status_code}){detail}"
    )
