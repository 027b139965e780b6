"""Signed-JWT OAuth2 client credentials (behaviour §6) for integration mode.

The token endpoint (``POST /oauth2/token``, form-encoded) checks the client assertion the way the NHS
API platform describes it: a ``kid`` that is registered, ``alg`` RS512 only, a signature by that key,
``iss`` == ``sub`` == the registered API key, ``aud`` == the token URL the client called, an ``exp``
in the future and at most five minutes ahead, and a ``jti`` never seen before.

What the registry remembers is bounded (a reference may run for days): a ``jti`` only until its
assertion's ``exp`` (after that the assertion is refused as expired anyway), at most ``max_jtis`` of
them; an access token until ``expired_token_memory_s`` after it expires (refused from its expiry on),
at most ``max_tokens`` of them. Either cap forgets the oldest first. Defaults are in :mod:`.config`.

Error scheme (one, used throughout): HTTP 400 with ``{"error", "error_description", "message_id"}``.
``error`` is ``unsupported_grant_type`` for a wrong grant type, ``invalid_client`` when the assertion
cannot be tied to a registered client (unknown ``kid``, bad signature, ``iss``/``sub`` not that
client's API key), and ``invalid_request`` for everything else. RFC 6749 §5.2 allows 400 for all of
these when the client did not authenticate with an Authorization header.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance.reference.config import (
    DEFAULT_EXPIRED_TOKEN_MEMORY_S,
    DEFAULT_MAX_ISSUED_TOKENS,
    DEFAULT_MAX_REMEMBERED_JTIS,
    ReferenceConfig,
)
from conformance.reference.context import RequestContext
from conformance.reference.responses import Reply
from conformance.reference.throttle import Limits

GRANT_TYPE = "client_credentials"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHM = "RS512"
MAX_ASSERTION_LIFETIME_S = 300
TOKEN_PATH = "/oauth2/token"
_FORM = "application/x-www-form-urlencoded"
_MAX_FORM_BYTES = 64 * 1024
_KEY_BITS = 2048
_ALPHANUMERIC = string.ascii_letters + string.digits
#: the ``throttled`` special client's own limits: low enough that a test provokes both 429s in seconds
THROTTLED_CLIENT_LIMITS = Limits(quota_per_minute=3, spike_arrest_per_minute=60)
#: the ``short_lived`` special client's token lifetime
SHORT_LIVED_TOKEN_S = 2


@dataclass(frozen=True)
class ClientCredentials:
    """What a client holds: its API key, the key id of its public key, and where its private key is."""

    api_key: str
    kid: str
    private_key_path: Path
    #: the application name the gateway reports (rate-limit details, traffic counters)
    app_name: str = ""

    def __repr__(self) -> str:  # keep API keys out of logs and assertion messages
        return f"ClientCredentials(kid={self.kid!r}, private_key_path={str(self.private_key_path)!r})"


@dataclass(frozen=True)
class ClientRecord:
    """What the server knows about a registered client."""

    api_key: str
    kid: str
    public_key: rsa.RSAPublicKey
    onboarded: bool
    token_lifetime_s: int
    #: the application's name, as rate-limit errors and the traffic counters name it
    app_name: str = ""
    #: rate limits of this application's own, applied even when the server's throttling is off
    limits: Limits | None = None

    def __repr__(self) -> str:
        return f"ClientRecord(kid={self.kid!r}, app_name={self.app_name!r}, onboarded={self.onboarded})"


@dataclass(frozen=True)
class _IssuedToken:
    api_key: str
    expires_at: float


class ClientRegistry:
    """Registered clients (by ``kid``), issued access tokens and used ``jti`` values. Thread-safe."""

    def __init__(
        self,
        default_token_lifetime_s: int = 600,
        *,
        max_tokens: int = DEFAULT_MAX_ISSUED_TOKENS,
        expired_token_memory_s: float = DEFAULT_EXPIRED_TOKEN_MEMORY_S,
        max_jtis: int = DEFAULT_MAX_REMEMBERED_JTIS,
    ) -> None:
        if max_tokens < 1 or max_jtis < 1 or expired_token_memory_s < 0:
            raise ValueError(
                "the token and jti caps must be at least 1, the expired-token memory not negative"
            )
        self.default_token_lifetime_s = default_token_lifetime_s
        self.max_tokens = max_tokens
        self.expired_token_memory_s = expired_token_memory_s
        self.max_jtis = max_jtis
        self._lock = threading.Lock()
        self._by_kid: dict[str, ClientRecord] = {}
        self._by_api_key: dict[str, ClientRecord] = {}
        #: in the order they were issued
        self._tokens: OrderedDict[str, _IssuedToken] = OrderedDict()
        #: (API key, jti) -> the ``exp`` of the assertion that used it, in the order they were used
        self._used_jtis: OrderedDict[tuple[str, str], float] = OrderedDict()

    @property
    def client_count(self) -> int:
        """How many clients are registered."""
        with self._lock:
            return len(self._by_kid)

    @classmethod
    def for_config(cls, config: ReferenceConfig) -> ClientRegistry:
        return cls(
            config.token_lifetime_s,
            max_tokens=config.max_issued_tokens,
            expired_token_memory_s=config.expired_token_memory_s,
            max_jtis=config.max_remembered_jtis,
        )

    def register(
        self,
        api_key: str,
        kid: str,
        public_key_pem: bytes,
        *,
        onboarded: bool = True,
        token_lifetime_s: int | None = None,
        app_name: str | None = None,
        limits: Limits | None = None,
    ) -> ClientRecord:
        """Register (or replace) a client's RSA public key under ``kid``.

        ``app_name`` defaults to one derived from the kid (never from the API key, which is secret).
        """
        public_key = serialization.load_pem_public_key(public_key_pem)
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise ValueError("only RSA public keys can verify RS512 client assertions")
        record = ClientRecord(
            api_key=api_key,
            kid=kid,
            public_key=public_key,
            onboarded=onboarded,
            token_lifetime_s=self.default_token_lifetime_s if token_lifetime_s is None else token_lifetime_s,
            app_name=app_name or f"notify-conformance-{kid}",
            limits=limits,
        )
        with self._lock:
            self._by_kid[kid] = record
            self._by_api_key[api_key] = record
        return record

    def client_for_kid(self, kid: str) -> ClientRecord | None:
        with self._lock:
            return self._by_kid.get(kid)

    def use_jti(self, api_key: str, jti: str, valid_until: float, now: float | None = None) -> bool:
        """Record ``jti`` for this client until ``valid_until`` (its assertion's ``exp``); False when
        it was used before and is still remembered."""
        moment = time.time() if now is None else now
        with self._lock:
            used = self._used_jtis
            # front first: entries whose assertion has expired (a few may wait behind a later ``exp``,
            # at most MAX_ASSERTION_LIFETIME_S)
            while used and next(iter(used.values())) <= moment:
                used.popitem(last=False)
            key = (api_key, jti)
            if key in used:
                return False
            used[key] = valid_until
            while len(used) > self.max_jtis:
                used.popitem(last=False)
            return True

    def issue_token(self, client: ClientRecord, now: float | None = None) -> str:
        token = secrets.token_urlsafe(24)
        issued = time.time() if now is None else now
        with self._lock:
            tokens = self._tokens
            # tokens of one lifetime expire in the order issued; a shorter one behind a longer one waits
            while tokens and next(iter(tokens.values())).expires_at + self.expired_token_memory_s <= issued:
                tokens.popitem(last=False)
            tokens[token] = _IssuedToken(client.api_key, issued + client.token_lifetime_s)
            while len(tokens) > self.max_tokens:
                tokens.popitem(last=False)
        return token

    def client_for_token(self, token: str, now: float | None = None) -> ClientRecord | None:
        """The client an unexpired access token belongs to; None for unknown or expired tokens."""
        moment = time.time() if now is None else now
        with self._lock:
            issued = self._tokens.get(token)
            if issued is None:
                return None
            if moment >= issued.expires_at:
                del self._tokens[token]
                return None
            return self._by_api_key.get(issued.api_key)


class _KeyStock:
    """The RSA key pairs this process has made, handed out again by position: a registry's n-th client
    gets the process's n-th key. Making a 2048-bit key costs about 40 ms, and a self-test worker starts
    new registries (six clients) for every fault it runs. Within one registry each client still has a key
    of its own; no key outlives the process."""

    def __init__(self) -> None:
        self._keys: list[rsa.RSAPrivateKey] = []
        self._lock = threading.Lock()

    def key(self, index: int) -> rsa.RSAPrivateKey:
        with self._lock:
            while len(self._keys) <= index:
                self._keys.append(rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS))
            return self._keys[index]


_KEYS = _KeyStock()


def _random_api_key() -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))


def generate_client(
    registry: ClientRegistry,
    directory: Path,
    *,
    onboarded: bool = True,
    token_lifetime_s: int | None = None,
    app_name: str | None = None,
    limits: Limits | None = None,
) -> ClientCredentials:
    """Give the registry's next client an RSA key pair of its own (see :class:`_KeyStock`), write the
    private key (PEM, mode 0600) into ``directory``, register the public key under a random API key and
    kid, and return the credentials a client needs. A registry's clients are made one at a time."""
    private_key = _KEYS.key(registry.client_count)
    api_key = _random_api_key()
    kid = f"ref-{secrets.token_hex(6)}"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{kid}.pem"
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = registry.register(
        api_key,
        kid,
        public_pem,
        onboarded=onboarded,
        token_lifetime_s=token_lifetime_s,
        app_name=app_name,
        limits=limits,
    )
    return ClientCredentials(api_key=api_key, kid=kid, private_key_path=path, app_name=record.app_name)


def generate_special_clients(
    registry: ClientRegistry,
    directory: Path,
    *,
    throttled_limits: Limits = THROTTLED_CLIENT_LIMITS,
    short_lived_token_s: int = SHORT_LIVED_TOKEN_S,
) -> dict[str, ClientCredentials]:
    """The special-purpose clients the suite's ``extra_client`` tests need, by name.

    ``short_lived``: its tokens expire after ``short_lived_token_s`` (2 s by default). ``not_onboarded``:
    gets tokens but 403 everywhere. ``throttled``: limits of its own (by default 3 requests a minute, one
    a second), so both rate-limit 429s can be provoked in seconds whatever the server's throttling. The
    ``local`` environment (with shorter timings, which it tells the suite) and ``serve
    --credentials-out`` both make them here, so the two never drift apart.
    """
    return {
        "short_lived": generate_client(registry, directory, token_lifetime_s=short_lived_token_s),
        "not_onboarded": generate_client(registry, directory, onboarded=False),
        "throttled": generate_client(registry, directory, limits=throttled_limits),
    }


def _credentials_json(credentials: ClientCredentials) -> dict[str, str]:
    document = {
        "api_key": credentials.api_key,
        "kid": credentials.kid,
        "private_key_path": str(credentials.private_key_path),
    }
    if credentials.app_name:
        document["app_name"] = credentials.app_name
    return document


def write_credentials_file(
    path: Path,
    main: ClientCredentials,
    base_url: str,
    token_url: str,
    extra: dict[str, ClientCredentials] | None = None,
) -> None:
    """Write the main client, the URLs and any named extra clients as JSON (mode 0600)."""
    document: dict[str, Any] = {
        **_credentials_json(main),
        "base_url": base_url,
        "token_url": token_url,
        "clients": {name: _credentials_json(credentials) for name, credentials in (extra or {}).items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")


class AssertionRejected(Exception):
    """The token request is refused; ``error`` is the OAuth2 error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _invalid_request(description: str) -> AssertionRejected:
    return AssertionRejected("invalid_request", description)


def _invalid_client(description: str) -> AssertionRejected:
    return AssertionRejected("invalid_client", description)


def _form_fields(content_type: str | None, body: bytes) -> dict[str, str]:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != _FORM:
        raise _invalid_request(f"the token request body must be {_FORM}")
    if len(body) > _MAX_FORM_BYTES:
        raise _invalid_request("the token request body is too large")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _invalid_request("the token request body is not a valid form") from exc
    return {name: values[0] for name, values in parsed.items()}


def _checked_form(fields: dict[str, str]) -> str:
    """The client assertion, once grant type and assertion type are right."""
    grant_type = fields.get("grant_type")
    if not grant_type:
        raise _invalid_request("grant_type is missing")
    if grant_type != GRANT_TYPE:
        raise AssertionRejected("unsupported_grant_type", f"grant_type must be '{GRANT_TYPE}'")
    if fields.get("client_assertion_type") != JWT_BEARER:
        raise _invalid_request(f"client_assertion_type is missing or is not '{JWT_BEARER}'")
    assertion = fields.get("client_assertion")
    if not assertion:
        raise _invalid_request("client_assertion is missing")
    return assertion


def _client_for_header(registry: ClientRegistry, assertion: str) -> ClientRecord:
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise _invalid_request("client_assertion is not a well-formed JWT") from exc
    if header.get("alg") != ALGORITHM:
        raise _invalid_request(f"client_assertion must be signed with {ALGORITHM}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _invalid_request("client_assertion header has no 'kid'")
    client = registry.client_for_kid(kid)
    if client is None:
        raise _invalid_client("no public key is registered under this 'kid'")
    return client


def _verified_claims(client: ClientRecord, assertion: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            key=client.public_key,
            algorithms=[ALGORITHM],
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_iss": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise _invalid_client("client_assertion signature does not verify with the registered key") from exc
    except jwt.ImmatureSignatureError as exc:
        raise _invalid_request("client_assertion is not valid yet ('nbf' is in the future)") from exc
    except jwt.PyJWTError as exc:
        raise _invalid_request("client_assertion could not be decoded") from exc
    return claims


def _check_claims(client: ClientRecord, claims: dict[str, Any], token_url: str, now: float) -> str:
    """Validate the claims; return the ``jti`` to consume."""
    if claims.get("iss") != client.api_key or claims.get("sub") != client.api_key:
        raise _invalid_client("'iss' and 'sub' must both be the API key registered with this 'kid'")
    if claims.get("aud") != token_url:
        raise _invalid_request("'aud' must be the URL of this token endpoint")
    expiry = claims.get("exp")
    if isinstance(expiry, bool) or not isinstance(expiry, int | float):
        raise _invalid_request("'exp' is missing or is not a number")
    if expiry <= now:
        raise _invalid_request("client_assertion has expired")
    if expiry > now + MAX_ASSERTION_LIFETIME_S:
        raise _invalid_request("'exp' is more than 5 minutes in the future")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise _invalid_request("'jti' is missing")
    return jti


def _error_reply(ctx: RequestContext, rejection: AssertionRejected) -> Reply:
    body = {
        "error": rejection.error,
        "error_description": rejection.description,
        "message_id": ctx.message_id,
    }
    return Reply(status=400, body=body, content_type="application/json")


async def token_reply(ctx: RequestContext, registry: ClientRegistry) -> Reply:
    """Answer one request to the token endpoint."""
    if ctx.method != "POST":
        rejection = _invalid_request("the token endpoint only accepts POST")
        reply = _error_reply(ctx, rejection)
        reply.status = 405
        reply.headers["Allow"] = "POST"
        return reply
    now = time.time()
    try:
        fields = _form_fields(ctx.header("content-type"), await ctx.request.body())
        assertion = _checked_form(fields)
        client = _client_for_header(registry, assertion)
        claims = _verified_claims(client, assertion)
        jti = _check_claims(client, claims, ctx.origin_url + TOKEN_PATH, now)
        if not registry.use_jti(client.api_key, jti, float(claims["exp"]), now):
            raise _invalid_request("'jti' has already been used")
    except AssertionRejected as rejection:
        return _error_reply(ctx, rejection)
    token = registry.issue_token(client, now)
    body = {
        "access_token": token,
        "expires_in": str(client.token_lifetime_s),
        "token_type": "Bearer",
        "issued_at": str(int(now * 1000)),
    }
    return Reply(status=200, body=body, content_type="application/json")


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
