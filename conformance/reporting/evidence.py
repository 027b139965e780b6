"""Evidence in the Allure results while the suite runs: every HTTP exchange a test sends, attached to that
test as a step with a readable request and response, and test parameters shown as a person names them.

How much is attached depends on how the test ended, so a failure keeps its evidence and a passing run stays
small (the limits are in :mod:`conformance.limits`):

- a test that failed (or errored, or was skipped after sending) attaches its first
  :data:`~conformance.limits.FAILING_HEAD_EXCHANGES` exchanges and its last
  :data:`~conformance.limits.FAILING_TAIL_EXCHANGES` (where a failure usually is) in full, as a Request
  and a Response attachment each, with a note of how many came between;
- a test that passed lists its exchanges by title (method, path, status, time), up to
  :data:`~conformance.limits.PASSING_LISTED_EXCHANGES`; an exchange that is the run's first passing example
  of its kind of answer (method, path with its ids left out, status) is attached too, compactly (one
  attachment, short previews, no curl line), at most :data:`~conformance.limits.PASSING_ATTACHED_EXCHANGES`
  per test. So the report shows once what each kind of answer looked like without a file per passing
  exchange: those files were a fifth of a clean run on disk (see ``docs/report.md``);
- once the run has attached :data:`~conformance.limits.RUN_ATTACHMENT_CHARS` (passing tests at most
  :data:`~conformance.limits.RUN_PASSING_ATTACHMENT_CHARS` of it), later exchanges are titles only.

Inside a test the exchanges are held until its outcome is known (a setup's until the end of the call), then
written as steps in the order they were sent. An exchange outside any test phase is attached at once.

The results writer is the redacting one (:mod:`conformance.reporting.scrubbing`), told to leave out
fixtures that show nothing (no step, no attachment, no failure): allure-pytest writes one container file
per fixture and parameter of every test, which made up half the files of a run and shows nothing a reader
needs. It also bounds what a failure carries into the results (and so into the HTML, where Allure shows
each twice): the message to :data:`~conformance.limits.RESULT_MESSAGE_CHARS`, and the traceback, without
the lines that repeat the message, to :data:`~conformance.limits.RESULT_TRACE_CHARS`. JUnit keeps both
whole. And it leaves out the labels allure-pytest gives every result of a run alike (:data:`SAME_FOR_ALL`:
one host, one thread, pytest, CPython), which the HTML repeats for every test.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import threading
from collections.abc import Generator
from typing import Any
from urllib.parse import urlsplit

import allure
import pytest
from allure_commons import hookimpl

from conformance import limits
from conformance.environments import Target
from conformance.exchange import Exchange
from conformance.reporting.exchange_text import describe_compactly, describe_exchange, title_of
from conformance.reporting.scrubbing import RedactingFileLogger, install_redacting_writer
from conformance.transport import Recorder

ATTACHED_PER_TEST = limits.FAILING_HEAD_EXCHANGES
TAIL_PER_TEST = limits.FAILING_TAIL_EXCHANGES
RUN_BUDGET_CHARS = limits.RUN_ATTACHMENT_CHARS
PLUGIN_NAME = "notify-conformance-evidence"
#: Labels allure-pytest puts on every result with the same value for the whole run (the Timeline then
#: shows one lane, as it would anyway: the suite runs in one thread of one process).
SAME_FOR_ALL = frozenset({"host", "thread", "framework", "language"})


class ExchangeEvidence:
    """A :class:`Recorder` listener and pytest plugin that turns exchanges into Allure steps."""

    def __init__(
        self,
        *,
        per_test: int = ATTACHED_PER_TEST,
        tail: int = TAIL_PER_TEST,
        run_budget_chars: int = RUN_BUDGET_CHARS,
        passing_attached: int = limits.PASSING_ATTACHED_EXCHANGES,
        passing_listed: int = limits.PASSING_LISTED_EXCHANGES,
        passing_budget_chars: int = limits.RUN_PASSING_ATTACHMENT_CHARS,
    ) -> None:
        self.per_test = per_test
        self.run_budget_chars = run_budget_chars
        self.passing_attached = min(passing_attached, per_test)
        self.passing_listed = min(passing_listed, per_test)
        self.passing_budget_chars = passing_budget_chars
        self.attached_chars = 0
        self.passing_chars = 0
        #: the kinds of answer (see :func:`answer_kind`) a passing test has attached an example of
        self.examples: set[tuple[str, str, int]] = set()
        self._deferring = False
        self._attached_in_test = 0
        self._head: list[Exchange] = []
        self._held_back = 0
        self._tail: collections.deque[Exchange] = collections.deque(maxlen=tail)

    # -- the Recorder listener ---------------------------------------------------------------------------
    def __call__(self, exchange: Exchange) -> None:
        # Allure's bookkeeping of the current test is not thread-aware; the suite sends from the main thread
        if threading.current_thread() is not threading.main_thread():
            return
        if self._deferring:
            if len(self._head) < self.per_test:
                self._head.append(exchange)
            else:
                self._held_back += 1
                self._tail.append(exchange)
        elif self._attached_in_test < self.per_test:
            self._attached_in_test += 1
            self._attach_in_full(exchange)
        else:
            self._held_back += 1
            self._tail.append(exchange)

    def _attach_in_full(self, exchange: Exchange) -> None:
        text = describe_exchange(exchange)
        with allure.step(text.title):
            if self.attached_chars + text.size > self.run_budget_chars:
                return
            self.attached_chars += text.size
            allure.attach(text.request, name="Request", attachment_type=allure.attachment_type.TEXT)
            allure.attach(text.response, name="Response", attachment_type=allure.attachment_type.TEXT)

    def _attach_compactly(self, exchange: Exchange) -> None:
        text = describe_compactly(exchange)
        with allure.step(text.title):
            body = text.combined
            if (
                self.attached_chars + len(body) > self.run_budget_chars
                or self.passing_chars + len(body) > self.passing_budget_chars
            ):
                return
            self.attached_chars += len(body)
            self.passing_chars += len(body)
            allure.attach(body, name="Exchange", attachment_type=allure.attachment_type.TEXT)

    def _flush(self, failed: bool = True) -> None:
        """Write what is held: in full when the test ``failed``, else compactly (see the module)."""
        head, self._head = self._head, []
        tail = list(self._tail)
        self._tail.clear()
        held_back, self._held_back = self._held_back, 0
        if failed:
            for exchange in head:
                self._attach_in_full(exchange)
            left_out = held_back - len(tail)
            if left_out > 0:
                _note(f"\u2026 {left_out} more exchanges not attached (at most {self.per_test} per test)")
            for exchange in tail:
                self._attach_in_full(exchange)
            return
        listed = head[: self.passing_listed]
        attached = 0
        for exchange in listed:
            kind = answer_kind(exchange)
            if attached < self.passing_attached and kind not in self.examples:
                self.examples.add(kind)
                attached += 1
                self._attach_compactly(exchange)
            else:
                _note(title_of(exchange))
        unlisted = len(head) - len(listed) + held_back
        if unlisted > 0:
            _note(
                f"\u2026 {unlisted} more exchanges not listed "
                f"(the test passed: at most {self.passing_listed} are listed)"
            )

    def _start_test(self) -> None:
        self._head.clear()
        self._tail.clear()
        self._held_back = 0
        self._attached_in_test = 0
        self._deferring = True

    # -- pytest hooks --------------------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self._start_test()
        try:
            return (yield)
        except BaseException:
            self._flush(failed=True)  # the call will not run: the setup's evidence is all there is
            raise
        # a setup that went well is judged with its test: its exchanges wait for the end of the call

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        failed = True
        try:
            outcome = yield
            failed = False
            return outcome
        finally:
            self._flush(failed=failed)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        self._flush(failed=True)  # anything still held (a call that never ran) is shown in full
        failed = True
        try:
            outcome = yield
            failed = False
            return outcome
        finally:
            self._flush(failed=failed)
            self._deferring = False


def answer_kind(exchange: Exchange) -> tuple[str, str, int]:
    """What makes two passing exchanges the same example: method, path with its ids left out, status.

    A path segment that carries an id (one long enough, or one with digits that is not a version like
    ``v1``) reads ``{id}``; the query is left out."""
    segments = urlsplit(exchange.url).path.split("/")
    template = "/".join("{id}" if _is_id(segment) else segment for segment in segments)
    return exchange.method, template, exchange.status


def _is_id(segment: str) -> bool:
    return len(segment) >= 20 or (len(segment) >= 8 and any(char.isdigit() for char in segment))


def _note(title: str) -> None:
    """A step with nothing in it: a line in the test's execution."""
    with allure.step(title):
        pass


def _shows_something(fixture: Any) -> bool:
    """A fixture's before/after is worth a file when it has steps or attachments, or went wrong."""
    details = getattr(fixture, "statusDetails", None)
    return bool(
        fixture.steps
        or fixture.attachments
        or fixture.status in ("failed", "broken")
        or (details is not None and getattr(details, "message", None))
    )


def bounded_message(message: str, limit: int = limits.RESULT_MESSAGE_CHARS) -> str:
    """``message`` cut to ``limit`` characters, the cut said in its last line."""
    if len(message) <= limit:
        return message
    note = f"\n\u2026 [{len(message) - limit:,} more characters cut for the report; junit.xml has them]"
    return message[:limit] + note


def bounded_trace(trace: str, message: str = "", limit: int = limits.RESULT_TRACE_CHARS) -> str:
    """A pytest traceback without the ``E`` lines that repeat ``message`` (Allure shows it just above),
    then cut in the middle to ``limit`` characters: its start names the test's failing line, its end the
    frame that raised."""
    lines = trace.splitlines()
    kept = [line for line in lines if not (line.startswith("E ") and line[1:].strip() in message)]
    text = "\n".join(kept) if len(kept) < len(lines) else trace
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    note = f"\u2026 [{len(text) - limit:,} characters of the traceback cut for the report; junit.xml has it]"
    return f"{text[:head]}\n{note}\n{text[-tail:]}"


def _bounded(item: Any) -> Any:
    """``item`` (a result, or a fixture's before/after) with its failure's message and trace bounded; the
    item itself when there is nothing to cut (allure's own objects are never changed)."""
    details = getattr(item, "statusDetails", None)
    if details is None:
        return item
    message = details.message or ""
    trace = details.trace or ""
    shorter_message, shorter_trace = bounded_message(message), bounded_trace(trace, message)
    if shorter_message == message and shorter_trace == trace:
        return item
    bounded_details = copy.copy(details)
    bounded_details.message = shorter_message or details.message
    bounded_details.trace = shorter_trace or details.trace
    bounded_item = copy.copy(item)
    bounded_item.statusDetails = bounded_details
    return bounded_item


class EvidenceWriter(RedactingFileLogger):
    """The redacting results writer, leaving out the fixtures that show nothing and bounding what a
    failure carries (see the module)."""

    @hookimpl  # type: ignore[untyped-decorator]
    def report_result(self, result: Any) -> None:
        kept = copy.copy(_bounded(result))
        kept.labels = [label for label in result.labels if label.name not in SAME_FOR_ALL]
        super().report_result(kept)

    @hookimpl  # type: ignore[untyped-decorator]
    def report_container(self, container: Any) -> None:
        befores = [_bounded(fixture) for fixture in container.befores if _shows_something(fixture)]
        afters = [_bounded(fixture) for fixture in container.afters if _shows_something(fixture)]
        if not befores and not afters:
            return
        kept = copy.copy(container)
        kept.befores, kept.afters = befores, afters
        super().report_container(kept)


def readable_parameter(value: Any) -> str | None:
    """How the report should name a test parameter, or None to keep Allure's own rendering.

    A target is named by its kind (its repr lists key paths and URLs nobody needs per test); an object
    with a ``label`` (the suite's operations) by that label; a dataclass with a ``name`` (the suite's
    creates, whose repr spells out the whole operation) by its name.
    """
    if isinstance(value, Target):
        return value.kind
    if isinstance(value, str | bytes | int | float | bool):
        return None
    label = getattr(value, "label", None)
    if isinstance(label, str):
        return label
    name = getattr(value, "name", None)
    if dataclasses.is_dataclass(value) and isinstance(name, str):
        return name
    return None


class _Shown:
    """A value whose repr is the given text (allure-pytest renders parameters with repr)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class ReadableParameters:
    """Replaces Allure's repr of complex test parameters with a short name, before the test runs."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        params = getattr(getattr(item, "callspec", None), "params", {})
        for name, value in params.items():
            shown = readable_parameter(value)
            if shown is not None:
                allure.dynamic.parameter(name, _Shown(shown))


def install(config: pytest.Config, recorder: Recorder) -> None:
    """Wire the evidence into a pytest session. Results are redacted by the writer whenever Allure writes;
    exchanges and parameters are only prepared when it does (``--alluredir``)."""
    install_redacting_writer()
    import allure_pytest.plugin

    allure_pytest.plugin.AllureFileLogger = EvidenceWriter  # still the redacting writer, with fewer files
    if not config.getoption("allure_report_dir", None) or config.pluginmanager.has_plugin(PLUGIN_NAME):
        return
    evidence = ExchangeEvidence()
    recorder.listeners.append(evidence)
    config.pluginmanager.register(evidence, PLUGIN_NAME)
    config.pluginmanager.register(ReadableParameters(), PLUGIN_NAME + "-parameters")
