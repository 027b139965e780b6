from __future__ import annotations

from conformance import redaction


def test_registered_secrets_are_replaced_everywhere() -> None:
    redaction.register("api-key-0123456789")
    text = "key=api-key-0123456789 and again api-key-0123456789"
    assert "api-key-0123456789" not in redaction.redact(text)
    assert redaction.MARKER in redaction.redact(text)


def test_structural_secrets_are_recognised_without_registration() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIabc\n-----END PRIVATE KEY-----"
    jwt = "eyJhbGciOiJSUzUxMiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl"
    text = f"{pem} Authorization: Bearer tok_abcdef client_assertion={jwt}&access_token=zzzzzzzz"
    out = redaction.redact(text)
    for secret in ("MIIabc", "tok_abcdef", "eyJhbGci", "zzzzzzzz"):
        assert secret not in out


def test_json_token_fields_are_masked() -> None:
    out = redaction.redact('{"access_token": "opaque-value-1", "expires_in": "599"}')
    assert "opaque-value-1" not in out and '"expires_in": "599"' in out


def test_sensitive_headers_are_masked_by_name() -> None:
    pairs = redaction.redact_headers({"Authorization": "Bearer x", "Accept": "*/*", "apikey": "k"})
    assert pairs == [("Authorization", redaction.MARKER), ("Accept", "*/*"), ("apikey", redaction.MARKER)]
