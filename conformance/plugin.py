"""The pytest plugin: options, the environment behind them, target parametrisation, fixtures, markers.

It is inert for test runs that request none of its fixtures: the environment is resolved (and, for
``local``, the reference API started) the first time a test asks for a target.
"""

from __future__ import annotations

import argparse
import contextlib
import random
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from conformance import environments, redaction, settings
from conformance.client import ApiClient
from conformance.environments import Environment, Options, Target
from conformance.errors import ConformanceError, NotAssessable
from conformance.outcome import RunRecord, area_of
from conformance.pacing import Pacer
from conformance.probe import probe_api
from conformance.retries import RetryPolicy
from conformance.run_config import RunConfig, options_from
from conformance.traffic import RunClock, Traffic
from conformance.transport import DEFAULT_TIMEOUT_S, Conduct, Recorder, auth_for, build_client

if TYPE_CHECKING:
    from types import ModuleType

    from conformance.callbacks.area import CallbackArea
    from conformance.distributed import Controller
    from conformance.properties.engine import PropertyRunner

MARKERS = {
    "area(name)": "the requirement area a test belongs to (auth, negotiation, ...)",
    "scenario": "uses sandbox scenario triggers; runs only where the target offers them",
    "stateful": "needs a target that keeps state (create then get, duplicates)",
    "needs_auth": "needs a target that enforces signed-JWT auth",
    "writes": "creates messages; in production only for the named test patient",
    "undeclared_method": "sends methods the API does not declare; never run against production",
    "extra_client(name)": "needs a special-purpose client that only the local reference offers",
    "smoke": "the one create of its kind a production-smoke run makes by default",
    "notify_suite": "a test outside conformance.suite that wants the environment's targets",
}

SUITE_PACKAGE = "conformance.suite."


def _is_suite_test(metafunc: pytest.Metafunc) -> bool:
    """Only the shipped suite (or a test that opts in) is parametrised over targets, so the plugin,
    loaded in every pytest session of an environment that has it installed, leaves other tests alone."""
    module = getattr(metafunc.module, "__name__", "")
    opted_in = metafunc.definition.get_closest_marker("notify_suite") is not None
    return module.startswith(SUITE_PACKAGE) or opted_in


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("notify-conformance", "NHS Notify conformance")
    group.addoption("--notify-env", default=None, choices=environments.ENVIRONMENTS, help="default: local")
    group.addoption("--notify-base-url", default=None, help="override the environment's API base URL")
    group.addoption("--notify-token-url", default=None, help="override the environment's token URL")
    group.addoption("--notify-max-examples", type=int, default=None, help="property-test examples")
    group.addoption("--notify-test-patient", default=None, help="production test patient NHS number")
    group.addoption("--notify-routing-plan", default=None, help="routing plan id for created messages")
    # the self-test's deliberate reference faults (local only); hidden: not for suppliers
    group.addoption("--notify-fault", action="append", default=[], help=argparse.SUPPRESS)
    group.addoption("--notify-seed", type=int, default=None, help="seed for property tests (replays a run)")
    group.addoption("--notify-rate-limit", default=None, help="client-side pacing, e.g. 10/s,900/min or off")
    group.addoption("--notify-timeout", type=float, default=None, help="seconds to wait for each answer")
    group.addoption("--notify-max-duration", type=float, default=None, help="seconds the whole run may take")
    group.addoption("--notify-max-creates", type=int, default=None, help="production-smoke: creates allowed")
    group.addoption(
        "--notify-strict-contract",
        action="store_true",
        default=None,
        help="fail on contract drift (undocumented members, headers, values, statuses), not just report it",
    )
    group.addoption("--notify-callback-receiver-url", default=None, help="the callback receiver to check")
    group.addoption(
        "--notify-channel-callback-receiver-url", default=None, help="its channel status URL, if another"
    )
    # run --plan: play the run against the embedded reference and write what it sent to this file
    group.addoption("--notify-rehearse", default=None, help=argparse.SUPPRESS)
    # the self-test's workers and the plan's rehearsal: the local servers in this process, not a child
    group.addoption("--notify-local-in-process", action="store_true", default=False, help=argparse.SUPPRESS)


# tryfirst: before allure-pytest's pytest_configure, which creates the results writer _wire_reporting swaps
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for marker, help_text in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {help_text}")
    distributed = _distributed(config)
    if distributed is not None and distributed.is_worker(config):  # a worker of the command's run
        for worker_plugin in distributed.worker_plugins(config):
            config.pluginmanager.register(worker_plugin)
    plugins = [p for _, p in config.pluginmanager.list_name_plugin()]  # get_plugins() hashes them
    record = next((p for p in plugins if isinstance(p, RunRecord)), None)
    if record is None:  # plain pytest: the command passes its own
        record = RunRecord(owned_by_command=False)
        config.pluginmanager.register(record, "notify-run-record")
    given = next((p for p in plugins if isinstance(p, RunConfig)), None)
    state = config.stash[_STATE] = RunState(config, record, given)
    if distributed is not None and distributed.is_distributing(config) and record.owned_by_command:
        config.pluginmanager.register(distributed.Controller(state), distributed.CONTROLLER_NAME)
    _wire_reporting(config, state)


def _distributed(config: pytest.Config) -> ModuleType | None:
    """:mod:`conformance.distributed` when pytest-xdist shares this session out (imported only then)."""
    if getattr(config.option, "dist", "no") == "no" and not hasattr(config, "workerinput"):
        return None
    from conformance import distributed

    return distributed


def _wire_reporting(config: pytest.Config, state: RunState) -> None:
    """Redacted Allure results, each exchange attached to its test, readable parameters (issue 5); the
    contract drift of every answer, failed only under --strict-contract; the onboarding evidence, when
    the command collects it (issue 12)."""
    from conformance.reporting import drift, evidence, locations, onboarding, terminal

    locations.install(config)  # file paths in reports relative to the package, not to the current folder
    evidence.install(config, state.recorder)
    terminal.install(config, state.recorder)
    drift.install(config, state.recorder, strict=lambda: state.options().strict_contract)
    onboarding.install(config, state.recorder, environment=lambda: state.record.environment)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remove secrets from failure reports before any writer (terminal, JUnit) sees them."""
    report = yield
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason), a shape JUnit and Allure rely on
        report.longrepr = (longrepr[0], longrepr[1], redaction.redact(longrepr[2]))
    elif longrepr is not None:
        text = str(longrepr)
        cleaned = redaction.redact(text)
        if cleaned != text:
            report.longrepr = cleaned
    _redact_sections(report)
    return report


def _redact_sections(report: pytest.TestReport) -> None:
    """Captured stdout, stderr and log output travel with the report to the terminal and JUnit too."""
    report.sections = [(title, redaction.redact(content)) for title, content in report.sections]


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.close()


@dataclass
class RunState:
    """The resolved environment and the per-target HTTP clients of one pytest session."""

    config: pytest.Config
    record: RunRecord
    #: the command's resolved configuration; under plain pytest built from --notify-* when first needed
    _run_config: RunConfig | None = None
    _environment: Environment | None = None
    #: why the environment could not be started, once it could not
    _start_failure: ConformanceError | None = None
    _conduct: Conduct | None = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _clients: dict[str, httpx.Client] = field(default_factory=dict)
    recorder: Recorder = field(default_factory=Recorder)
    _property_runners: dict[str, PropertyRunner] = field(default_factory=dict)
    _callback_area: CallbackArea | None = None

    @property
    def run_config(self) -> RunConfig:
        if self._run_config is None:
            get = self.config.getoption
            # every setting but the command's own (plain pytest writes no report of ours and has ``-n``)
            command_only = settings.COMMAND_ONLY
            flags = {
                s.attribute: get(f"--notify-{s.name}")
                for s in settings.SETTINGS
                if s.name not in command_only
            }
            options, _ = options_from(flags, faults=tuple(get("--notify-fault")))
            try:
                self._run_config = RunConfig.build(
                    options,
                    rehearsal_file=get("--notify-rehearse"),
                    local_in_process=bool(get("--notify-local-in-process")),
                )
            except ConformanceError as error:
                raise pytest.UsageError(str(error)) from None
        return self._run_config

    def options(self) -> Options:
        return self.run_config.options

    @property
    def seed(self) -> int:
        """The property-test seed: the user's ``--seed`` or one drawn for this run (reported)."""
        if self.record.seed is None:
            chosen = self.options().seed
            self.record.seed = chosen if chosen is not None else random.randrange(2**32)
        return self.record.seed

    def property_runner(self, target: Target) -> PropertyRunner:
        if target.kind not in self._property_runners:
            from conformance.properties.engine import PropertyRunner
            from conformance.spec import load_spec

            env = self.environment
            self._property_runners[target.kind] = PropertyRunner(
                load_spec(),
                target,
                env.budget,
                self.http(target),
                self.seed,
                production=env.name == "production-smoke",
            )
        return self._property_runners[target.kind]

    @property
    def environment(self) -> Environment:
        if self._start_failure is not None:  # nothing tries to start them again
            pytest.exit(str(self._start_failure), returncode=self._start_failure.exit_code)
        if self._environment is None:
            try:
                self._environment = self._start()
            except ConformanceError as error:
                # the local servers (or the rehearsal's) did not start: the session ends with the error's
                # one line and exit code
                self._start_failure = self.record.stop = error
                pytest.exit(str(error), returncode=error.exit_code)
            self.record.environment = self._environment
        return self._environment

    def _start(self) -> Environment:
        """The resolved environment; ``local`` (and a rehearsal) start the reference servers here.
        Nothing is sent: the target is probed only once the selection is known."""
        run_config = self.run_config
        if run_config.environment is None:
            from conformance.local_env import local_environment

            local = local_environment(run_config.options, in_process=run_config.local_in_process)
            return self._stack.enter_context(local)
        if run_config.rehearsal_file is not None:
            from conformance.rehearsal import rehearsal_environment

            return self._stack.enter_context(rehearsal_environment(run_config.environment))
        return run_config.environment

    @property
    def controller(self) -> Controller | None:
        """pytest-xdist's controller of the command's run, when the run is shared out."""
        distributed = _distributed(self.config)
        return None if distributed is None else distributed.controller_of(self.config)

    @property
    def rehearsal_file(self) -> str | None:
        return self.run_config.rehearsal_file

    @property
    def conduct(self) -> Conduct:
        """Pacing, retries, timeouts and counts, shared by every client of the run."""
        if self._conduct is None:
            options = self.options()
            pacing = options.pacing if self.rehearsal_file is None else None
            environment = self.environment
            self._conduct = Conduct(
                pacer=Pacer(pacing) if pacing is not None else None,
                retry=RetryPolicy(),
                timeout_s=options.timeout_s or DEFAULT_TIMEOUT_S,
                clock=RunClock(options.max_duration_s),
                traffic=Traffic(
                    token_url=next((t.token_url for t in environment.targets if t.token_url), None)
                ),
            )
        return self._conduct

    def client_for(self, target: Target) -> httpx.Client:
        """A new client for ``target`` (closed with the session) with the run's conduct."""
        client = build_client(
            policy=self.environment.safety,
            target=target,
            conduct=self.conduct,
            recorder=self.recorder,
            auth=auth_for(target),
        )
        return self._stack.enter_context(client)

    def http(self, target: Target) -> httpx.Client:
        if target.kind not in self._clients:
            self._clients[target.kind] = self.client_for(target)
        return self._clients[target.kind]

    def callback_area(self, items: list[pytest.Item]) -> CallbackArea:
        """The session's callbacks, sent to the environment's receiver; the area's tests are skipped
        (not failed, not unassessed) when there is none, and in a rehearsal, which sends no callbacks."""
        if self._callback_area is None:
            from conformance.areas import OPTIONAL
            from conformance.callbacks.area import CallbackArea
            from conformance.reporting.evidence import ExchangeEvidence
            from conformance.reporting.terminal import FailureDigest

            receiver = self.environment.callbacks
            if self.rehearsal_file is not None:
                pytest.skip("a rehearsal (run --plan) sends no callbacks")
            if receiver is None:
                pytest.skip(f"needs a callback receiver: {OPTIONAL['callbacks']}")
            callspecs = (getattr(item, "callspec", None) for item in items if area_of(item) == "callbacks")
            selected = {callspec.id for callspec in callspecs if callspec is not None}
            # callback answers are attached to their tests and shown in the failure digest; the listeners
            # that read API answers (contract drift, the onboarding evidence) hear none of them
            told = (ExchangeEvidence, FailureDigest)
            listeners = [x for x in self.recorder.listeners if isinstance(x, told)]
            self._callback_area = CallbackArea(receiver, self.seed, selected, listeners)
            self._stack.callback(self._callback_area.close)
        return self._callback_area

    def close(self) -> None:
        self._stack.close()


_STATE = pytest.StashKey[RunState]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """Probe a remote target once the selection is known and before the first test; a URL that is not
    the API, or a target that does not answer, ends the session before any test is sent."""
    state = session.config.stash.get(_STATE, None)
    if state is None or state._environment is None or not session.items:
        return None
    if state.record.stop is not None:  # stopped (Ctrl-C) before the first test
        return True
    state.conduct.clock.restart()
    if state.environment.name == "local":
        return None
    try:
        for target in state.environment.targets:
            probe_api(target.base_url)
    except (ConformanceError, NotAssessable) as error:
        state.record.probe_failed(error)
        return True
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Requests are counted per test (``run --plan`` reads them), and ``--max-duration`` is checked
    between tests too, not only when a request is sent."""
    state = item.config.stash.get(_STATE, None)
    if state is not None and state._environment is not None:
        state.conduct.traffic.current_test = item.nodeid
        state.conduct.clock.check()


def _applicable(item_markers: set[str], extra_clients: list[str], target: Target, env: Environment) -> str:
    """Why a test does not apply to a target ('' when it does)."""
    if "scenario" in item_markers and not target.scenarios:
        return "needs sandbox scenario triggers"
    if "stateful" in item_markers and not target.stateful:
        return "needs a target that keeps state"
    if "needs_auth" in item_markers and not target.auth_required:
        return "needs a target that enforces auth"
    if "undeclared_method" in item_markers and env.name == "production-smoke":
        return "undeclared methods are never sent to production"
    if "writes" in item_markers and env.name == "production-smoke":
        if env.safety.test_patient is None:
            return "no production test patient named (--test-patient)"
        if "smoke" not in item_markers and (env.safety.max_creates or 0) <= 1:
            return "production-smoke creates only what proves the connection (raise it with --max-creates)"
    missing = [name for name in extra_clients if name not in target.extra_clients]
    if missing:
        return f"needs the {', '.join(missing)} client, which only the local reference offers"
    return ""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every suite test runs against every target of the environment; whether a case applies is
    decided per collected item (see :func:`pytest_collection_modifyitems`), from its own marks."""
    if "target" not in metafunc.fixturenames or not _is_suite_test(metafunc):
        return
    targets = metafunc.config.stash[_STATE].environment.targets
    metafunc.parametrize("target", [pytest.param(t, id=t.kind) for t in targets], scope="function")


def pytest_itemcollected(item: pytest.Item) -> None:
    """Each case of the shipped suite filed in the report under its area and operation (suite._labels)."""
    if getattr(getattr(item, "module", None), "__name__", "").startswith(SUITE_PACKAGE):
        from conformance.suite import _labels

        _labels.file_under(item)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the cases a target cannot serve. A case (one test, one set of its other parameters) that no
    target can serve stays once, skipped with the reasons, so a report still says why it did not run;
    the marks read are the item's own, so a parameter can carry ``writes`` or ``scenario``."""
    state = config.stash.get(_STATE, None)
    if state is None or state._environment is None:
        return
    env = state.environment
    cases: dict[tuple[object, ...], list[tuple[pytest.Item, str]]] = {}
    for item in items:
        target = target_of(item)
        if target is None:
            continue
        names = {m.name for m in item.iter_markers()}
        extra = [str(m.args[0]) for m in item.iter_markers("extra_client")]
        reason = _applicable(names, extra, target, env)
        cases.setdefault(_case_key(item), []).append((item, f"{target.kind}: {reason}" if reason else ""))
    dropped: set[int] = set()
    for members in cases.values():
        refused = [(item, reason) for item, reason in members if reason]
        if not refused:
            continue
        if len(refused) == len(members):  # no target serves this case: keep one, saying why
            keep, _ = refused.pop(0)
            keep.add_marker(pytest.mark.skip(reason="; ".join(r for _, r in [(keep, ""), *members] if r)))
        dropped.update(id(item) for item, _ in refused)
    if dropped:
        config.hook.pytest_deselected(items=[item for item in items if id(item) in dropped])
        items[:] = [item for item in items if id(item) not in dropped]


def target_of(item: pytest.Item) -> Target | None:
    """The target a collected test is parametrised with; None for a test of no target (the callbacks
    area's, which talk to the receiver)."""
    callspec = getattr(item, "callspec", None)
    value = callspec.params.get("target") if callspec is not None else None
    return value if isinstance(value, Target) else None


def _case_key(item: pytest.Item) -> tuple[object, ...]:
    callspec = getattr(item, "callspec")  # noqa: B009 - only items with a target reach here
    # the same parameter objects give the same repr; callspec.indices count across the whole function
    others = tuple(sorted((k, repr(v)) for k, v in callspec.params.items() if k != "target"))
    return (item.path, getattr(item, "originalname", item.name), others)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    controller = state.controller
    if state._property_runners or (controller is not None and controller.used_properties):
        terminalreporter.write_line(
            f"notify-conformance: property-test seed {state.seed} (replay with --seed {state.seed})"
        )
    if state._conduct is not None and state.environment.name != "local":
        for name, value in state.conduct.summary():
            terminalreporter.write_line(f"notify-conformance: {name.lower()}: {value}")
    callbacks = [] if state._callback_area is None else [state._callback_area.describe()]
    for line in callbacks + ([] if controller is None else controller.callbacks):
        terminalreporter.write_line(f"notify-conformance: callbacks: {line}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under plain pytest, a stopped run ends with the command's exit code for the same stop."""
    state = session.config.stash.get(_STATE, None)
    if state is None:
        return
    if state._conduct is not None:
        state.record.conduct = state.conduct.summary()
        if state.rehearsal_file is not None:
            state.conduct.traffic.write(Path(state.rehearsal_file), tests=len(session.items))
    distributed = _distributed(session.config)
    if distributed is not None and distributed.is_worker(session.config):
        distributed.hand_over(session.config, state)
    stop = state.record.stop
    if stop is not None and not state.record.owned_by_command:
        session.exitstatus = int(stop.exit_code)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"notify-conformance: {stop.label if isinstance(stop, NotAssessable) else 'error'}: {stop}"
            )


@pytest.fixture(scope="session")
def callback_area(request: pytest.FixtureRequest) -> CallbackArea:
    """The run's callbacks area: the callbacks command's checks against the environment's receiver."""
    return request.config.stash[_STATE].callback_area(request.session.items)


@pytest.fixture
def callback_sending_api(request: pytest.FixtureRequest) -> ApiClient:
    """A client of the local reference API that sends its status callbacks to the run's receiver."""
    state = request.config.stash[_STATE]
    receiver = state.environment.callbacks
    if receiver is None or receiver.sending_api is None:
        pytest.skip("needs the local reference API sending callbacks to the reference receiver (--env local)")
    return ApiClient(receiver.sending_api, state.client_for(receiver.sending_api))


@pytest.fixture
def property_runner(request: pytest.FixtureRequest, target: Target) -> PropertyRunner:
    """Property-based testing for the test's target (schemathesis + hypothesis, httpx transport)."""
    return request.config.stash[_STATE].property_runner(target)


@pytest.fixture(scope="session")
def notify_environment(request: pytest.FixtureRequest) -> Environment:
    """The resolved environment of this run."""
    return request.config.stash[_STATE].environment


@pytest.fixture
def api(request: pytest.FixtureRequest, target: Target) -> Iterator[ApiClient]:
    """A client for the test's target (parametrised over the environment's targets)."""
    state = request.config.stash[_STATE]
    yield ApiClient(target, state.http(target))


@pytest.fixture
def extra_api(request: pytest.FixtureRequest, target: Target) -> Iterator[Any]:
    """A factory for clients authenticated as a special-purpose local client (``short_lived``...)."""
    state = request.config.stash[_STATE]

    def make(name: str) -> ApiClient:
        creds = target.extra_clients[name]
        special = Target(
            kind=target.kind,
            base_url=target.base_url,
            token_url=target.token_url,
            credentials=creds,
            auth_required=True,
        )
        return ApiClient(special, state.client_for(special))

    yield make
