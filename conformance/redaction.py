"""One place that removes secrets from everything the suite writes: terminal output, logs, Allure
attachments and parameters, failure messages, JUnit.

Two layers: structural (the Authorization header, ``client_assertion``/``access_token`` fields, PEM
blocks, JWT-shaped strings) and literal (every secret value the run has seen is registered here and
replaced wherever it appears, byte for byte).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping

MARKER = "[REDACTED]"

_SENSITIVE_HEADERS = frozenset({"authorization", "apikey", "x-api-key", "proxy-authorization", "cookie"})
_SENSITIVE_FIELDS = ("client_assertion", "access_token", "refresh_token", "id_token", "api_key", "apikey")
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',]+")
_FIELD = re.compile(
    r"(?i)(\"?(?:" + "|".join(_SENSITIVE_FIELDS) + r")\"?\s*[=:]\s*\"?)([^\"&\s,}]+)",
)

_lock = threading.Lock()
_secrets: set[str] = set()


def register(*values: str | None) -> None:
    """Remember secret values (API keys, tokens, assertions) so they are replaced wherever they appear."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= 6)


def registered() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def redact(text: str) -> str:
    """Return ``text`` with every known and every recognisable secret replaced by the marker."""
    text = _PEM.sub(MARKER, text)
    text = _JWT.sub(MARKER, text)
    text = _BEARER.sub(lambda m: m.group(1) + MARKER, text)
    text = _FIELD.sub(lambda m: m.group(1) + MARKER, text)
    for secret in sorted(registered(), key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MARKER)
    return text


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Header pairs with sensitive values masked (names kept so a reader sees they were sent)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return [(name, MARKER if name.lower() in _SENSITIVE_HEADERS else redact(value)) for name, value in pairs]
