"""The suite's signed-JWT auth flow against the integration reference, through a client with nothing
else attached (no recorder): it must read the token response itself. A regression test: the flow once
relied on the report's recorder having read every response."""

from __future__ import annotations

from conformance.auth import SignedJWTAuth
from conformance.environments import Target
from conformance.reference.oauth import ClientCredentials
from conformance.reference.server import RunningReference
from conformance.safety import SafetyPolicy
from conformance.transport import build_client


def test_token_fetched_and_used_without_a_recorder(
    integration_server: RunningReference, integration_credentials: ClientCredentials
) -> None:
    auth = SignedJWTAuth.from_key_file(
        token_url=integration_server.token_url,
        api_key=integration_credentials.api_key,
        kid=integration_credentials.kid,
        key_path=integration_credentials.private_key_path,
    )
    target = Target(kind="integration", base_url=integration_server.base_url)
    with build_client(policy=SafetyPolicy.open(), target=target, auth=auth) as http:
        first = http.get(integration_server.base_url + "/v1/messages/NotifyConformanceUnknownId00")
        second = http.get(integration_server.base_url + "/v1/messages/NotifyConformanceUnknownId00")
    assert first.status_code == second.status_code == 404  # authenticated: not 401
    assert auth.tokens_fetched == 1  # cached between requests
