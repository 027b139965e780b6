"""An environment survives its plain-data form (the local servers' child process hands its environment
over as JSON; pytest-xdist workers will receive theirs the same way): every field, nothing dropped."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from conformance.environments import (
    Budget,
    CallbackReceiver,
    ClientLimits,
    Credentials,
    Environment,
    Options,
    Target,
    environment_from_data,
    environment_to_data,
    options_from_data,
    options_to_data,
)
from conformance.pacing import RateLimit
from conformance.safety import SafetyPolicy


def _credentials(name: str) -> Credentials:
    return Credentials(
        api_key=f"api-key-{name}",
        kid=f"kid-{name}",
        private_key_path=Path(f"/keys/{name}.pem"),
        passphrase=f"passphrase-{name}",
        limits=ClientLimits(quota_per_minute=3, spike_interval_s=0.25),
        token_lifetime_s=1.5,
    )


def _target(kind: Any, port: int) -> Target:
    return Target(
        kind=kind,
        base_url=f"http://127.0.0.1:{port}/comms",
        token_url=f"http://127.0.0.1:{port}/oauth2/token",
        credentials=_credentials(f"main-{port}"),
        extra_clients={"throttled": _credentials("throttled"), "short_lived": _credentials("short")},
        auth_required=True,
        stateful=True,
        scenarios=True,
        routing_plan_id="plan-1",
    )


def _everything() -> Environment:
    """An environment with every field (and every field of every field) away from its default."""
    safety = SafetyPolicy(
        name="production-smoke",
        allow_writes=False,
        test_patient="9990548609",
        token_url="https://example.test/oauth2/token",
        request_budget=200,
        max_creates=2,
        refusals=["DELETE /comms/v1/messages/1: refused"],
        _sent=7,
        _created={"message": 1, "batch": 1},
    )
    receiver = CallbackReceiver(
        message_status_url="http://127.0.0.1:3/message",
        channel_status_url="http://127.0.0.1:3/channel",
        application_id="app-1",
        api_key="callback-key",
        timeout_s=10.0,
        rate_limit=RateLimit(per_second=5, per_minute=60),
        max_callbacks=150,
        owner="the reference receiver",
        sending_api=_target("integration", 4),
        received_url="http://127.0.0.1:3/received",
        sent_url="http://127.0.0.1:4/_reference/callbacks",
    )
    budget = Budget(
        max_examples=3, negative=False, coverage_phase=False, undeclared_methods=False, request_budget=9
    )
    targets = (_target("sandbox", 1), _target("integration", 2))
    return Environment("production-smoke", targets, safety, budget, receiver)


def _defaulted_fields(value: object, where: str = "environment") -> list[str]:
    """Fields of ``value`` (recursively) still at their default: a field added later must be filled in
    :func:`_everything` too, or a dropped field could come back equal by default and go unnoticed."""
    found: list[str] = []
    if isinstance(value, tuple | list):
        for i, item in enumerate(value):
            found += _defaulted_fields(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            found += _defaulted_fields(item, f"{where}[{key!r}]")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name == "_lock":
                continue
            item = getattr(value, f.name)
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                if item == default:
                    found.append(f"{where}.{f.name}")
            found += _defaulted_fields(item, f"{where}.{f.name}")
    return found


def test_the_example_sets_every_field() -> None:
    assert _defaulted_fields(_everything()) == []


def test_an_environment_round_trips_through_json() -> None:
    env = _everything()
    data = json.loads(json.dumps(environment_to_data(env)))  # JSON-able, and nothing lost on the way
    back = environment_from_data(data)
    assert back == env
    assert back.safety.sent == env.safety.sent and back.safety.created == env.safety.created
    assert back.callbacks is not None and env.callbacks is not None
    assert (back.callbacks.api_key, back.callbacks.application_id) == ("callback-key", "app-1")
    assert isinstance(back.targets, tuple) and isinstance(back.targets[0].credentials, Credentials)
    assert environment_to_data(back) == data


def test_options_round_trip_through_json() -> None:
    options = Options(env="local", max_examples=3, faults=("406-ignored", "slow-receiver"), seed=7)
    assert options_from_data(json.loads(json.dumps(options_to_data(options)))) == options
