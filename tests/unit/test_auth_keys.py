"""Key loading and assertion minting (real keys, real signatures; the token exchange itself is tested
against the reference API in tests/suite)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conformance.auth import SignedJWTAuth, load_private_key
from conformance.errors import CredentialsError


def _write(
    path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, password: bytes | None = None
) -> Path:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return path


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_valid_key_loads(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    loaded = load_private_key(_write(tmp_path / "k.pem", rsa_key))
    assert loaded.key_size == 2048


def test_an_unchanged_key_file_is_loaded_once_and_a_changed_one_again(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    path = _write(tmp_path / "k.pem", rsa_key)
    first = load_private_key(path)
    assert load_private_key(path) is first  # not checked by cryptography a second time
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write(path, other)
    os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns + 1_000_000))
    assert load_private_key(path).public_key().public_numbers() == other.public_key().public_numbers()
    path.write_bytes(b"")  # a file spoilt after a good load is refused, not served from memory
    os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns + 2_000_000))
    with pytest.raises(CredentialsError, match="not a valid PEM"):
        load_private_key(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"", "not a valid PEM"),
        (b"-----BEGIN PRIVATE KEY-----\nxx", "not a valid PEM"),
    ],
    ids=["missing", "empty", "truncated"],
)
def test_bad_key_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "k.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CredentialsError, match=message) as info:
        load_private_key(path)
    assert "\n" not in str(info.value)


def test_encrypted_key(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(CredentialsError, match="encrypted"):
        load_private_key(_write(tmp_path / "k.pem", rsa_key, password=b"secret"))


def test_non_rsa_key(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="not an RSA key"):
        load_private_key(_write(tmp_path / "k.pem", ec.generate_private_key(ec.SECP256R1())))


def test_assertion_claims(rsa_key: rsa.RSAPrivateKey) -> None:
    auth = SignedJWTAuth(token_url="https://t/oauth2/token", api_key="KEY", kid="kid-1", private_key=rsa_key)
    first, second = auth.client_assertion(), auth.client_assertion()
    header = jwt.get_unverified_header(first)
    assert header["alg"] == "RS512" and header["kid"] == "kid-1"
    claims = jwt.decode(first, rsa_key.public_key(), algorithms=["RS512"], audience="https://t/oauth2/token")
    assert claims["iss"] == claims["sub"] == "KEY"
    assert 0 < claims["exp"] - time.time() <= 300
    assert claims["jti"] != jwt.decode(second, options={"verify_signature": False})["jti"]


def test_assertion_lifetime_is_capped(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(CredentialsError):
        SignedJWTAuth(token_url="t", api_key="k", kid="k", private_key=rsa_key, assertion_lifetime_s=301)
