"""One run's configuration, resolved once: the options (from flags, the environment and the config
file, see :mod:`conformance.settings`), validated, and for a remote environment its targets, safety
policy and budgets (nothing is sent to resolve them). The command builds it and hands it to pytest as
a plugin object; under plain pytest the plugin builds the same from the ``--notify-*`` options.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance import environments, settings
from conformance.environments import Environment, Options


@dataclass(eq=False)  # a plugin object: pluggy keeps plugins in sets
class RunConfig:
    options: Options
    #: the resolved environment: a remote one, or the local servers the command started; None when the
    #: plugin is to start the local servers (plain pytest, the plan's rehearsal, a self-test worker)
    environment: Environment | None = None
    #: ``run --plan``: play the run against the reference and write what it sent to this file
    rehearsal_file: str | None = None
    #: ``local``: run the reference servers in the test process rather than in a child process of their
    #: own (the self-test's workers and the plan's rehearsal, each already a process of its own)
    local_in_process: bool = False

    @classmethod
    def build(
        cls,
        options: Options,
        environ: Mapping[str, str] | None = None,
        rehearsal_file: str | None = None,
        local_in_process: bool = False,
    ) -> RunConfig:
        """Validate ``options`` and resolve a remote environment: the one place both happen."""
        environ = os.environ if environ is None else environ
        options = environments.validate(options, environ)
        remote = None if options.env == "local" else environments.remote_environment(options, environ)
        return cls(options, remote, rehearsal_file, local_in_process)


def options_from(
    flags: Mapping[str, Any], faults: tuple[str, ...] = (), environ: Mapping[str, str] | None = None
) -> tuple[Options, str]:
    """``Options`` and the reports folder from flags (attribute names; None when not given), the
    environment and the config file, in that order of precedence."""
    values = settings.resolve(flags, os.environ if environ is None else environ)
    options = Options(
        env=values.get("env", "local"),
        base_url=values.get("base_url"),
        token_url=values.get("token_url"),
        max_examples=values.get("max_examples"),
        test_patient=values.get("test_patient"),
        routing_plan_id=values.get("routing_plan"),
        faults=faults,
        rate_limit=values.get("rate_limit"),
        timeout_s=values.get("timeout"),
        max_duration_s=values.get("max_duration"),
        max_creates=values.get("max_creates"),
        seed=values.get("seed"),
        strict_contract=bool(values.get("strict_contract", False)),
        callback_receiver_url=values.get("callback_receiver_url"),
        channel_callback_receiver_url=values.get("channel_callback_receiver_url"),
        workers=_workers(values.get("workers")),
    )
    return options, str(values.get("reports", "reports"))


def _workers(value: int | str | None) -> int | None:
    """A count of test processes, or None for ``auto``."""
    return value if isinstance(value, int) else None
