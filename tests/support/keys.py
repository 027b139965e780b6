"""Private-key files a supplier might point NOTIFY_PRIVATE_KEY at by mistake (and two good ones)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

PASSPHRASE = "correct horse battery staple"


def _write(path: Path, data: bytes) -> Path:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return path


def _pkcs8(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def write_rsa(path: Path, key: rsa.RSAPrivateKey, passphrase: str | None = None) -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase is not None
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    return _write(path, pem)


def garbage(path: Path) -> Path:
    """A file that is no key at all (a certificate request pasted wrongly, a README...)."""
    return _write(path, b"this is not a private key\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n")


def truncated_pem(path: Path) -> Path:
    """A PEM armour around nonsense."""
    return _write(path, b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")


def ec_p256(path: Path) -> Path:
    return _write(path, _pkcs8(ec.generate_private_key(ec.SECP256R1())))


def ed25519_key(path: Path) -> Path:
    return _write(path, _pkcs8(ed25519.Ed25519PrivateKey.generate()))


def encrypted_rsa(path: Path) -> Path:
    """A 2048-bit RSA key encrypted with :data:`PASSPHRASE` (unusable without it)."""
    return write_rsa(path, rsa_key(), PASSPHRASE)


def rsa_1024(path: Path) -> Path:
    return write_rsa(path, rsa_key(1024))


#: every unusable key, by a readable name (``encrypted`` is unusable only without the passphrase)
BAD_KEYS: dict[str, Callable[[Path], Path]] = {
    "garbage": garbage,
    "truncated-pem": truncated_pem,
    "ec-p256": ec_p256,
    "ed25519": ed25519_key,
    "encrypted-without-passphrase": encrypted_rsa,
    "rsa-1024": rsa_1024,
}
