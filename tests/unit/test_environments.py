from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from conformance import environments
from conformance.environments import Options
from conformance.errors import CredentialsError, UsageError


def _write_key(path: Path, key: PrivateKeyTypes, passphrase: bytes | None = None) -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return path


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def creds_env(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> dict[str, str]:
    key = _write_key(tmp_path / "key.pem", rsa_key)
    return {"NOTIFY_API_KEY": "k" * 32, "NOTIFY_PRIVATE_KEY": str(key), "NOTIFY_KEY_ID": "local"}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: path.write_text("garbage") and path, "not a valid PEM private key"),
        (lambda path: _write_key(path, ec.generate_private_key(ec.SECP256R1())), "not an RSA key"),
        (lambda path: _write_key(path, ed25519.Ed25519PrivateKey.generate()), "not an RSA key"),
        (
            lambda path: _write_key(path, rsa.generate_private_key(public_exponent=65537, key_size=1024)),
            "too short",
        ),
        (
            lambda path: _write_key(
                path, rsa.generate_private_key(public_exponent=65537, key_size=2048), b"pw"
            ),
            "encrypted",
        ),
    ],
    ids=["garbage", "ec", "ed25519", "rsa-1024", "encrypted"],
)
def test_unusable_private_keys_are_refused_before_anything_is_sent(
    make: object, message: str, creds_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.pem"
    make(path)  # type: ignore[operator]
    creds_env["NOTIFY_PRIVATE_KEY"] = str(path)
    with pytest.raises(CredentialsError, match=message):
        environments.validate(Options(env="integration"), creds_env)


def test_an_encrypted_key_is_read_with_the_passphrase_from_the_environment(
    creds_env: dict[str, str], tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    creds_env["NOTIFY_PRIVATE_KEY"] = str(_write_key(tmp_path / "enc.pem", rsa_key, b"secret-words"))
    creds_env["NOTIFY_PRIVATE_KEY_PASSPHRASE"] = "wrong"
    with pytest.raises(CredentialsError, match="does not decrypt"):
        environments.validate(Options(env="integration"), creds_env)
    creds_env["NOTIFY_PRIVATE_KEY_PASSPHRASE"] = "secret-words"
    (target,) = environments.resolve_remote(Options(env="integration"), creds_env).targets
    assert target.credentials is not None and target.credentials.passphrase == "secret-words"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:99999/comms", "invalid port"),
        ("http://127.0.0.1:-1/comms", "invalid port"),
        ("http://127.0.0.1:8000/comms?x=1", "query"),
    ],
)
def test_base_url_ports_and_shape_are_checked(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        environments.validate(Options(env="sandbox", base_url=url), {})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (Options(env="sandbox", rate_limit="fast"), "--rate-limit"),
        (Options(env="sandbox", rate_limit="0/s"), "--rate-limit"),
        (Options(env="sandbox", timeout_s=0), "--timeout"),
        (Options(env="sandbox", max_duration_s=-1), "--max-duration"),
        (Options(env="integration", max_creates=2), "only to --env production-smoke"),
    ],
)
def test_run_limits_are_checked(options: Options, message: str, creds_env: dict[str, str]) -> None:
    with pytest.raises(UsageError, match=message):
        environments.validate(options, creds_env)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (Options(env="local", base_url="http://127.0.0.1:1/comms"), "do not apply to --env local"),
        (Options(env="sandbox", base_url="ftp://x"), "absolute http"),
        (Options(env="sandbox", base_url="not a url"), "absolute http"),
        (Options(env="sandbox", token_url="https://x/oauth2/token"), "does not apply to --env sandbox"),
        (Options(env="sandbox", max_examples=0), "positive"),
        (Options(env="integration", test_patient="9990548609"), "only to --env production-smoke"),
        (Options(env="production-smoke", test_patient="1234567890"), "not a valid NHS number"),
    ],
)
def test_usage_errors(options: Options, message: str, creds_env: dict[str, str]) -> None:
    with pytest.raises(UsageError, match=message):
        environments.validate(options, creds_env)


def test_remote_environments_need_all_three_credential_variables(creds_env: dict[str, str]) -> None:
    del creds_env["NOTIFY_KEY_ID"]
    with pytest.raises(CredentialsError, match="NOTIFY_KEY_ID"):
        environments.validate(Options(env="integration"), creds_env)


def test_private_key_path_must_exist(creds_env: dict[str, str], tmp_path: Path) -> None:
    creds_env["NOTIFY_PRIVATE_KEY"] = str(tmp_path / "missing.pem")
    with pytest.raises(CredentialsError, match="readable file"):
        environments.validate(Options(env="production-smoke"), creds_env)


def test_seed_addresses_and_overrides(creds_env: dict[str, str]) -> None:
    sandbox = environments.resolve_remote(Options(env="sandbox"), {})
    assert sandbox.targets[0].base_url == "https://sandbox.api.service.nhs.uk/comms"
    assert sandbox.targets[0].scenarios and not sandbox.targets[0].auth_required
    integration = environments.resolve_remote(Options(env="integration"), creds_env)
    (target,) = integration.targets
    assert target.base_url == "https://int.api.service.nhs.uk/comms"
    assert target.token_url == "https://int.api.service.nhs.uk/oauth2/token"
    assert target.stateful and target.auth_required
    override = environments.resolve_remote(
        Options(env="integration", base_url="http://127.0.0.1:9/comms/", token_url="http://127.0.0.1:9/t"),
        creds_env,
    )
    assert override.targets[0].base_url == "http://127.0.0.1:9/comms"


def test_production_smoke_is_read_mostly(creds_env: dict[str, str]) -> None:
    env = environments.resolve_remote(Options(env="production-smoke"), creds_env)
    assert env.targets[0].base_url == "https://api.service.nhs.uk/comms"
    assert env.targets[0].token_url == "https://api.service.nhs.uk/oauth2/token"
    assert not env.budget.negative and not env.budget.coverage_phase and not env.budget.undeclared_methods
    assert env.budget.request_budget is not None
    assert not env.safety.allow_writes and env.safety.test_patient is None


def test_credentials_repr_hides_the_api_key(creds_env: dict[str, str]) -> None:
    creds = environments.credentials_from_env(creds_env)
    assert "k" * 32 not in repr(creds)
