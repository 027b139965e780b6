"""The pieces of a local run shared by pytest-xdist workers (``conformance.distributed``): which tests
stay together, what a worker hands over (it must survive the trip), how the controller adds it up, and a
worker that dies."""

from __future__ import annotations

import inspect
import pickle
from collections import Counter
from types import ModuleType

import pytest

from conformance import distributed
from conformance.checks.drift import Drift
from conformance.errors import TargetUnreachable
from conformance.outcome import RunRecord, is_not_assessed
from conformance.reporting.drift import DriftCollector, DriftEntry
from conformance.reporting.onboarding import CreatedMessage, ObtainedToken, OnboardingEvidence
from conformance.suite import test_callbacks, test_messages
from conformance.transport import Conduct

_SUITE = "conformance/suite"


def _tests_using(module: ModuleType, mark: str, argument: str | None = None) -> list[str]:
    """The test functions of ``module`` carrying ``mark`` (with ``argument``, when given)."""
    found = []
    for name, function in inspect.getmembers(module, inspect.isfunction):
        marks = getattr(function, "pytestmark", [])
        if name.startswith("test_") and any(
            m.name == mark and (argument is None or argument in m.args) for m in marks
        ):
            found.append(name)
    return found


def test_the_throttled_clients_tests_and_the_callbacks_area_each_stay_in_one_worker() -> None:
    throttled = _tests_using(test_messages, "extra_client", "throttled")
    assert len(throttled) >= 2
    scopes = {distributed.resource_of(f"test_messages.py::{name}[integration]") for name in throttled}
    assert scopes == {"the throttled client"}
    callbacks = [
        name for name, _ in inspect.getmembers(test_callbacks, inspect.isfunction) if name.startswith("test_")
    ]
    assert {distributed.resource_of(f"test_callbacks.py::{name}[x]") for name in callbacks} == {
        "the reference receiver"
    }
    # anything else is a scope of its own: a worker takes it whenever it is free
    for other in ("test_messages.py::test_valid_message_is_created[sandbox-jsonapi]", "test_auth.py::test_x"):
        assert distributed.resource_of(other) is None


def test_a_suite_scheduling_scope_is_a_test_or_its_shared_resource() -> None:
    split = distributed.SuiteScheduling._split_scope
    assert (
        split(None, "test_callbacks.py::test_a[integration]")
        == split(None, "test_callbacks.py::test_b")
        != split(None, "test_auth.py::test_a[sandbox]")
    )
    assert split(None, "test_auth.py::test_a[sandbox]") != split(None, "test_auth.py::test_a[integration]")


def _drift(sample: str) -> Drift:
    return Drift("member", "POST", "/v1/messages", 201, "data.attributes.priority", sample=sample)


def _entry(test: str, sample: str, answers: int) -> DriftEntry:
    return DriftEntry(_drift(sample), {"test": test, "request": "POST /v1/messages"}, answers, {test})


def test_drift_from_two_workers_adds_up_and_shows_the_first_test_of_the_run() -> None:
    collected = ["t.py::a", "t.py::b", "t.py::c"]
    controller = DriftCollector()
    key = _drift("x").key
    controller.merge({key: _entry("t.py::c", "'late'", 2)}, {"POST /v1/messages 201"}, 1, collected)
    controller.merge(pickle.loads(pickle.dumps({key: _entry("t.py::b", "'early'", 3)})), set(), 2, collected)
    (entry,) = controller.ordered()
    assert (entry.answers, entry.tests, entry.example["test"]) == (5, {"t.py::b", "t.py::c"}, "t.py::b")
    assert "'early'" in entry.line()
    assert (controller.exercised, controller.unjudged) == ({"POST /v1/messages 201"}, 3)


def _message(time: str) -> CreatedMessage:
    return CreatedMessage(time, "integration", None, f"ref-{time}", f"id-{time}", None, None)


def test_onboarding_evidence_from_two_workers_keeps_time_order_and_its_limits() -> None:
    controller = OnboardingEvidence(messages_listed=3, tokens_listed=1)
    first = [_message("2026-12-03T10:00:00.001Z"), _message("2026-12-03T10:00:00.004Z")]
    second = [_message("2026-12-03T10:00:00.002Z"), _message("2026-12-03T10:00:00.003Z")]
    token = ObtainedToken("2026-12-03T10:00:00.000Z", "integration", "kid-1", "599")
    controller.merge(first, [], [], 2, 0, 0, 0)
    controller.merge(*pickle.loads(pickle.dumps((second, [], [token, token], 40, 1, 2, 1))))
    assert [m.time[-4:] for m in controller.messages] == ["001Z", "002Z", "003Z"]
    assert (controller.messages_created, controller.batches_created, controller.tokens_obtained) == (42, 1, 2)
    assert (len(controller.tokens), controller.unread) == (1, 1)


def test_a_handover_survives_the_trip_and_its_traffic_adds_up() -> None:
    handover = distributed.Handover(
        stop=TargetUnreachable("the target stopped answering"),
        collected=Counter({"auth": 2}),
        not_assessed=Counter({"inconclusive: x": 1}),
        traffic={name: 2 for name in distributed.TRAFFIC_COUNTS},
        retries={"retried_requests": 1, "waits": 2, "waited_s": 1.5, "gave_up": 0, "by_status": {429: 2}},
    )
    arrived = pickle.loads(pickle.dumps(handover))
    assert isinstance(arrived.stop, TargetUnreachable) and str(arrived.stop) == str(handover.stop)
    conduct = Conduct()
    distributed._add_conduct(conduct, arrived)
    distributed._add_conduct(conduct, arrived)
    assert conduct.traffic.requests == 4 and conduct.traffic.messages_created == 4
    assert (conduct.retries.waits, conduct.retries.waited_s, conduct.retries.by_status) == (4, 3.0, {429: 4})


def test_a_test_whose_worker_died_is_not_assessed_not_failed() -> None:
    report = pytest.TestReport(
        "test_auth.py::test_a[sandbox]", ("test_auth.py", None, "x"), {}, "failed",
        "worker 'gw0' crashed while running 'test_auth.py::test_a[sandbox]'", "???",  # type: ignore[arg-type]
    )  # fmt: skip
    record = RunRecord()
    distributed.crashed(report, record)
    assert report.skipped and not report.failed and is_not_assessed(report)
    assert list(record.not_assessed) == [
        "not assessed: the test process running it stopped "
        "(worker 'gw0' crashed while running 'test_auth.py::test_a[sandbox]')"
    ]
