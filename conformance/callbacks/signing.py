"""The callback signature, as NHS Notify computes it (behaviour §5, ops §1.1).

HMAC-SHA256 over the exact bytes of the body, keyed with ``<application id>.<API key>`` (a literal dot),
written as 64 lowercase hex characters in ``x-hmac-sha256-signature``; the key itself travels in
``x-api-key``. The signing key and the API key are registered with :mod:`conformance.redaction` by
:func:`signing_key`, so neither can reach anything written.
"""

from __future__ import annotations

import hashlib
import hmac

from conformance import redaction

API_KEY_HEADER = "x-api-key"
SIGNATURE_HEADER = "x-hmac-sha256-signature"


def signing_key(application_id: str, api_key: str) -> bytes:
    """``<application id>.<API key>`` as bytes; both it and the API key become secrets to redact."""
    secret = f"{application_id}.{api_key}"
    redaction.register(api_key, secret)
    return secret.encode("utf-8")


def sign(body: bytes, key: bytes) -> str:
    """The signature NHS Notify puts on ``body``: lowercase hex HMAC-SHA256."""
    return hmac.new(key, body, hashlib.sha256).hexdigest()
