from __future__ import annotations

from pathlib import Path

import pytest

from conformance import environments
from conformance.environments import Options
from conformance.errors import CredentialsError, UsageError


@pytest.fixture
def creds_env(tmp_path: Path) -> dict[str, str]:
    key = tmp_path / "key.pem"
    key.write_text("placeholder")
    return {"NOTIFY_API_KEY": "k" * 32, "NOTIFY_PRIVATE_KEY": str(key), "NOTIFY_KEY_ID": "local"}


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
