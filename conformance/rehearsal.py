"""A rehearsal: the chosen run, with its environment's selection, safety policy and budgets, played
against the embedded reference API instead of the target, so ``run --plan`` can say how many requests
and message creations the real run will make before a single one is sent to the target.

Like ``local_env``, this module starts the reference; the suite itself never imports it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import Iterator

from conformance.environments import Credentials, Environment, scratch_dir


@contextlib.contextmanager
def rehearsal_environment(environment: Environment) -> Iterator[Environment]:
    """``environment`` with each target replaced by a reference server of the same kind (throttling
    off, a freshly generated client), everything else (policy, budget, capabilities) unchanged."""
    from conformance.reference.oauth import generate_client
    from conformance.reference.server import ReferenceConfig, start

    keys = scratch_dir("notify-conformance-rehearsal-")
    try:
        with contextlib.ExitStack() as stack:
            targets = []
            for target in environment.targets:
                reference = stack.enter_context(start(ReferenceConfig(mode=target.kind)))
                credentials = None
                if target.credentials is not None:
                    generated = generate_client(reference.registry, keys)
                    credentials = Credentials(generated.api_key, generated.kid, generated.private_key_path)
                targets.append(
                    dataclasses.replace(
                        target,
                        base_url=reference.base_url,
                        token_url=reference.token_url if target.token_url else None,
                        credentials=credentials,
                    )
                )
            token_url = next((t.token_url for t in targets if t.token_url), None)
            safety = dataclasses.replace(environment.safety, token_url=token_url, refusals=[])
            yield dataclasses.replace(environment, targets=tuple(targets), safety=safety)
    finally:
        shutil.rmtree(keys, ignore_errors=True)
