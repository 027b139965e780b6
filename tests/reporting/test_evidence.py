"""Exchanges become Allure steps with a request and a response attachment, within the per-test and run
limits; complex parameters are named the way a person would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import allure_commons
import pytest

from conformance.environments import Credentials, Target
from conformance.exchange import Exchange
from conformance.reporting.evidence import ExchangeEvidence, readable_parameter


class _AllureSpy:
    """Stands in for allure-pytest's listener: records the steps and attachments it is given."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    @allure_commons.hookimpl
    def start_step(self, uuid: Any, title: str, params: Any) -> None:
        self.events.append(("step", title))

    @allure_commons.hookimpl
    def stop_step(self, uuid: Any, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        self.events.append(("end", ""))

    @allure_commons.hookimpl
    def attach_data(self, body: str, name: str, attachment_type: Any, extension: Any) -> None:
        self.events.append(("attach", name))

    def steps(self) -> list[str]:
        return [title for kind, title in self.events if kind == "step"]

    def attachments(self) -> int:
        return sum(1 for kind, _ in self.events if kind == "attach")


@pytest.fixture
def spy() -> Iterator[_AllureSpy]:
    recorder = _AllureSpy()
    allure_commons.plugin_manager.register(recorder)
    yield recorder
    allure_commons.plugin_manager.unregister(recorder)


def _exchange(number: int) -> Exchange:
    return Exchange.build(method="GET", url=f"http://127.0.0.1:1/comms/v1/messages/{number}", status=404)


def test_each_exchange_is_a_step_with_request_and_response(spy: _AllureSpy) -> None:
    evidence = ExchangeEvidence()
    evidence(_exchange(1))
    assert spy.events == [
        ("step", "GET /comms/v1/messages/1 \u2192 404 Not Found"),
        ("attach", "Request"),
        ("attach", "Response"),
        ("end", ""),
    ]


def test_a_busy_test_keeps_its_first_and_last_exchanges(spy: _AllureSpy) -> None:
    evidence = ExchangeEvidence(per_test=3, tail=2)
    for number in range(10):
        evidence(_exchange(number))
    evidence._flush()
    steps = spy.steps()
    assert [s.split()[1] for s in steps[:3]] == [
        "/comms/v1/messages/0",
        "/comms/v1/messages/1",
        "/comms/v1/messages/2",
    ]
    assert steps[3] == "\u2026 5 more exchanges not attached (at most 3 per test)"
    assert [s.split()[1] for s in steps[4:]] == ["/comms/v1/messages/8", "/comms/v1/messages/9"]
    assert spy.attachments() == 2 * 5


def test_past_the_run_budget_exchanges_are_titles_only(spy: _AllureSpy) -> None:
    evidence = ExchangeEvidence(run_budget_chars=600)
    for number in range(4):
        evidence(_exchange(number))
    assert len(spy.steps()) == 4
    assert 0 < spy.attachments() < 8
    assert evidence.attached_chars <= 600


@dataclass(frozen=True)
class _Operation:
    label: str
    path: str


def test_parameters_are_named_as_a_person_would() -> None:
    target = Target(
        kind="integration",
        base_url="http://127.0.0.1:1/comms",
        credentials=Credentials(api_key="k" * 10, kid="kid", private_key_path=Path("/k.pem")),
    )
    assert readable_parameter(target) == "integration"
    assert (
        readable_parameter(_Operation(label="GET /v1/messages/{messageId}", path="/x"))
        == "GET /v1/messages/{messageId}"
    )
    assert readable_parameter("application/json") is None
    assert readable_parameter(3) is None
