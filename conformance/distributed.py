"""A local run shared by pytest-xdist workers: what the command's process (xdist's controller) hands each
worker, what each worker hands back, and how the controller folds it into its own collectors.

The command starts the local servers once, before pytest, and its process, the controller, gives every
worker the same environment, seed and options over xdist's channel to its own child processes (secrets
included: never a command line or a file). Each worker runs its share of the tests against those
servers; its test reports reach the controller's plugins as usual (the terminal, JUnit, the readiness
counts, the outcome log), and its Allure results go to the same folder. What a worker learns from the
exchanges themselves (drift, the onboarding evidence, the known discrepancies, the run's traffic, why it
stopped) reaches the controller once, when the worker finishes (:class:`Handover`).

Tests that share something a concurrent test would disturb run in one worker, in order (see
:data:`SHARED_RESOURCES`); every other test goes wherever a worker is free (:class:`SuiteScheduling`).
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import sys
from collections import Counter
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from conformance.environments import (
    environment_from_data,
    environment_to_data,
    options_from_data,
    options_to_data,
)
from conformance.errors import ConformanceError, NotAssessable
from conformance.outcome import RunRecord
from conformance.reporting.changes import OutcomeLog
from conformance.reporting.drift import DriftCollector
from conformance.reporting.onboarding import OnboardingEvidence
from conformance.reporting.summary import SummaryCollector
from conformance.reporting.terminal import FailureDigest
from conformance.run_config import RunConfig

if TYPE_CHECKING:
    from xdist.workermanage import WorkerController

    from conformance.plugin import RunState
    from conformance.transport import Conduct

#: the key of our part of xdist's ``workerinput`` and ``workeroutput``
KEY = "notify_conformance"
#: the :class:`Controller`'s name among the session's plugins
CONTROLLER_NAME = "notify-conformance-controller"

#: test files (and single tests) that share something a concurrent test would disturb, by the group that
#: keeps them in one worker: the reference receiver and the callbacks it is sent (it throttles every Nth
#: delivery, and its checks read what it received), and the ``throttled`` client's quota and spike arrest
SHARED_RESOURCES: dict[str, str] = {
    "test_callbacks.py": "the reference receiver",
    "test_messages.py::test_quota_breach_is_rate_limited": "the throttled client",
    "test_messages.py::test_spike_arrest_breach_is_rate_limited": "the throttled client",
}


def is_worker(config: pytest.Config) -> bool:
    """This process is a pytest-xdist worker of a run the command distributed."""
    workerinput = getattr(config, "workerinput", None)
    return isinstance(workerinput, dict) and KEY in workerinput


def is_distributing(config: pytest.Config) -> bool:
    """This process is pytest-xdist's controller: it runs no test itself."""
    return getattr(config.option, "dist", "no") != "no" and not hasattr(config, "workerinput")


def resource_of(nodeid: str) -> str | None:
    """The shared resource a test uses, by its node id (``test_callbacks.py::test_x[integration]``)."""
    path, _, name = nodeid.partition("::")
    file = path.rsplit("/", 1)[-1]
    return SHARED_RESOURCES.get(f"{file}::{name.split('[', 1)[0]}") or SHARED_RESOURCES.get(file)


class SuiteScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
    """xdist's scope scheduling with a scope per test, except that the tests of one shared resource are
    one scope: a worker is given one test at a time, or a shared resource's tests together."""

    def _split_scope(self, nodeid: str) -> str:
        return resource_of(nodeid) or nodeid


# -- the worker's side ---------------------------------------------------------------------------------------
def worker_plugins(config: pytest.Config) -> list[object]:
    """The command's plugin objects, made again in a worker from what the controller handed over (the
    command registers its own in the controller)."""
    given: dict[str, Any] = getattr(config, "workerinput")[KEY]  # noqa: B009 - set by xdist
    options = options_from_data(given["options"])
    run_config = RunConfig(options, environment_from_data(given["environment"]))
    record = RunRecord(seed=given["seed"])
    plugins: list[object] = [run_config, record, SummaryCollector(), FailureDigest(), OutcomeLog()]
    plugins.append(DriftCollector(strict=options.strict_contract))
    if given["onboarding"]:
        plugins.append(OnboardingEvidence())
    # Ctrl-C at the terminal reaches every worker too: each stops as the command would, and says so
    signal.signal(signal.SIGINT, record.on_interrupt)
    return plugins


@dataclass
class Handover:
    """What one worker learnt that its test reports do not carry; plain data and our own dataclasses,
    pickled over xdist's channel between two processes of this installation."""

    stop: NotAssessable | ConformanceError | None = None
    collected: Counter[str] = field(default_factory=Counter)
    not_assessed: Counter[str] = field(default_factory=Counter)
    collected_ids: list[str] = field(default_factory=list)
    discrepancies: dict[str, list[str]] = field(default_factory=dict)
    drift: dict[str, Any] = field(default_factory=dict)
    onboarding: dict[str, Any] = field(default_factory=dict)
    traffic: dict[str, int] = field(default_factory=dict)
    retries: dict[str, Any] = field(default_factory=dict)
    used_properties: bool = False
    callbacks: str | None = None


#: the counts of a run's traffic and of its waits for throttling, added up over the workers
TRAFFIC_COUNTS = (
    "requests",
    "token_requests",
    "messages",
    "batches",
    "messages_created",
    "batches_created",
    "transport_failures",
)
RETRY_COUNTS = ("retried_requests", "waits", "waited_s", "gave_up")
DRIFT_FIELDS = ("entries", "exercised", "unjudged")
ONBOARDING_FIELDS = (
    "messages",
    "batches",
    "tokens",
    "messages_created",
    "batches_created",
    "tokens_obtained",
    "unread",
)


def hand_over(config: pytest.Config, state: RunState) -> None:
    """At the end of a worker's session: what the controller needs, into xdist's ``workeroutput``."""
    record = state.record
    handover = Handover(
        stop=record.stop,
        collected=record.collected,
        not_assessed=record.not_assessed,
        used_properties=bool(state._property_runners),
        callbacks=None if state._callback_area is None else state._callback_area.describe(),
    )
    for plugin in _plugins(config):
        if isinstance(plugin, OutcomeLog):
            handover.collected_ids, handover.discrepancies = plugin.collected, plugin.discrepancies
        elif isinstance(plugin, DriftCollector):
            handover.drift = {name: getattr(plugin, name) for name in DRIFT_FIELDS}
        elif isinstance(plugin, OnboardingEvidence):
            handover.onboarding = {name: getattr(plugin, name) for name in ONBOARDING_FIELDS}
    if state._conduct is not None:
        handover.traffic = {name: getattr(state.conduct.traffic, name) for name in TRAFFIC_COUNTS}
        retries = state.conduct.retries
        handover.retries = {name: getattr(retries, name) for name in RETRY_COUNTS}
        handover.retries["by_status"] = dict(retries.by_status)
    getattr(config, "workeroutput")[KEY] = pickle.dumps(handover)  # noqa: B009 - set by xdist


# -- the controller's side -----------------------------------------------------------------------------------
@dataclass(eq=False)  # a plugin object: pluggy keeps plugins in sets
class Controller:
    """The controller's pytest-xdist hooks: each worker's input and program, the scheduling, what each
    worker hands back merged into the command's collectors, and the test of a worker that died."""

    state: RunState
    #: what the workers said that the plugin's terminal lines and the reports use
    used_properties: bool = False
    callbacks: list[str] = field(default_factory=list)
    _merged: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.state.record.stop_workers = self.stop_workers

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: WorkerController) -> None:
        state = self.state
        node.workerinput[KEY] = {
            "options": options_to_data(state.options()),
            "environment": environment_to_data(state.environment),
            "seed": state.seed,
            "onboarding": any(isinstance(p, OnboardingEvidence) for p in _plugins(state.config)),
        }

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_setupnodes(self) -> None:
        # before the workers start: they inherit the variable, and import from where this process does
        from conformance._xdist_worker import SYS_PATH_VARIABLE

        os.environ[SYS_PATH_VARIABLE] = json.dumps(sys.path)

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_xdist_getremotemodule(self) -> ModuleType:
        from conformance import _xdist_worker

        return _xdist_worker

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> SuiteScheduling:
        return SuiteScheduling(config, log)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: WorkerController, error: object | None) -> None:
        data = getattr(node, "workeroutput", {}).get(KEY)
        worker = str(node.gateway.id)
        if not isinstance(data, bytes) or worker in self._merged:
            return
        self._merged.add(worker)
        self.merge(pickle.loads(data))  # from our own worker, over xdist's channel

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        crashed(report, self.state.record)

    def merge(self, handover: Handover) -> None:
        record = self.state.record
        if record.stop is None and handover.stop is not None:
            record.stop = handover.stop
        record.collected = record.collected or handover.collected
        record.not_assessed.update(handover.not_assessed)
        self.used_properties |= handover.used_properties
        if handover.callbacks is not None:
            self.callbacks.append(handover.callbacks)
        if handover.traffic:
            _add_conduct(self.state.conduct, handover)
        for plugin in _plugins(self.state.config):
            if isinstance(plugin, OutcomeLog):
                plugin.collected = plugin.collected or handover.collected_ids
                for key, tests in handover.discrepancies.items():
                    plugin.discrepancies.setdefault(key, []).extend(tests)
            elif isinstance(plugin, FailureDigest):
                plugin.collected = plugin.collected or handover.collected_ids
            elif isinstance(plugin, DriftCollector) and handover.drift:
                plugin.merge(**handover.drift, collected=handover.collected_ids)
            elif isinstance(plugin, OnboardingEvidence) and handover.onboarding:
                plugin.merge(**handover.onboarding)

    def stop_workers(self, reason: str) -> None:
        """The controller's run stopped (Ctrl-C): xdist gives out no more tests and shuts its workers
        down once the tests they hold are done."""
        dsession = self.state.config.pluginmanager.get_plugin("dsession")
        if dsession is not None and not getattr(dsession, "shouldstop", False):
            dsession.shouldstop = reason


def crashed(report: pytest.TestReport, record: RunRecord) -> None:
    """A worker that died took its test with it: that says nothing about the API, so the test is not
    assessed (never failed), and the run, a worker fewer (xdist replaces none), ends inconclusive."""
    reason = f"not assessed: the test process running it stopped ({report.longrepr})"
    report.outcome = "skipped"
    report.when = "call"
    report.longrepr = (report.nodeid.split("::")[0], 0, reason)
    record.not_assessed[reason] += 1


def _add_conduct(conduct: Conduct, handover: Handover) -> None:
    """A worker's traffic and waits added to the run's."""
    traffic, retries = conduct.traffic, conduct.retries
    for name in TRAFFIC_COUNTS:
        setattr(traffic, name, getattr(traffic, name) + handover.traffic.get(name, 0))
    for name in RETRY_COUNTS:
        setattr(retries, name, getattr(retries, name) + handover.retries.get(name, 0))
    for status, count in handover.retries.get("by_status", {}).items():
        retries.by_status[status] = retries.by_status.get(status, 0) + count


def _plugins(config: pytest.Config) -> list[object]:
    # list_name_plugin, not get_plugins: that builds a set, which fails on any unhashable plugin object
    return [plugin for _, plugin in config.pluginmanager.list_name_plugin()]


def controller_of(config: pytest.Config) -> Controller | None:
    plugin = config.pluginmanager.get_plugin(CONTROLLER_NAME)
    return plugin if isinstance(plugin, Controller) else None
