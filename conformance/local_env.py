"""The ``local`` environment: the embedded reference API on loopback, in both modes, with freshly
generated clients. This is the one place outside the CLI's ``serve`` that starts the reference; the
suite itself never imports it.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

from conformance.environments import (
    Credentials,
    Environment,
    Options,
    Target,
    budget_for,
    scratch_dir,
    validate,
)
from conformance.safety import SafetyPolicy

if TYPE_CHECKING:
    from conformance.reference.oauth import ClientCredentials


def _credentials(generated: ClientCredentials) -> Credentials:
    """The suite's view of a client the reference generated (the two sides share no types)."""
    return Credentials(
        api_key=generated.api_key, kid=generated.kid, private_key_path=generated.private_key_path
    )


@contextlib.contextmanager
def local_environment(options: Options) -> Iterator[Environment]:
    """Start the reference API (sandbox and integration modes) and yield the environment using it."""
    from conformance.reference.oauth import generate_client, generate_special_clients
    from conformance.reference.server import ReferenceConfig, start

    options = validate(options, {})
    faults = frozenset(options.faults)  # the self-test's deliberate faults; none in a normal run
    keys = scratch_dir("notify-conformance-keys-")
    try:
        with (
            start(ReferenceConfig(mode="sandbox", upstream_timeout_s=4.0, faults=faults)) as sandbox,
            # throttling off: the suite sends far faster over loopback than live's limits allow; the
            # ``throttled`` client carries limits of its own for the rate-limit tests
            start(ReferenceConfig(mode="integration", faults=faults, throttle=False)) as integration,
        ):
            registry = integration.registry
            main = _credentials(generate_client(registry, keys))
            extra = {
                name: _credentials(generated)
                for name, generated in generate_special_clients(registry, keys).items()
            }
            targets = (
                Target(kind="sandbox", base_url=sandbox.base_url, scenarios=True),
                Target(
                    kind="integration",
                    base_url=integration.base_url,
                    token_url=integration.token_url,
                    credentials=main,
                    extra_clients=extra,
                    auth_required=True,
                    stateful=True,
                ),
            )
            yield Environment("local", targets, SafetyPolicy.open(), budget_for(options))
    finally:
        shutil.rmtree(keys, ignore_errors=True)
