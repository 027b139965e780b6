"""Evidence in the Allure results while the suite runs: every HTTP exchange a test sends, attached to that
test as a step with a readable request and response, and test parameters shown as a person names them.

Limits keep the single-file HTML small enough to open: a test attaches its first
:data:`ATTACHED_PER_TEST` exchanges and its last :data:`TAIL_PER_TEST` (where a failure usually is), with
a note of how many were left out between; once the run has attached :data:`RUN_BUDGET_CHARS`, later
exchanges appear as step titles only.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Generator
from typing import Any

import allure
import pytest

from conformance.environments import Target
from conformance.exchange import Exchange
from conformance.reporting.exchange_text import describe_exchange
from conformance.reporting.scrubbing import install_redacting_writer
from conformance.transport import Recorder

ATTACHED_PER_TEST = 20
TAIL_PER_TEST = 5
RUN_BUDGET_CHARS = 32 * 1024 * 1024
PLUGIN_NAME = "notify-conformance-evidence"


class ExchangeEvidence:
    """A :class:`Recorder` listener and pytest plugin that turns exchanges into Allure steps."""

    def __init__(
        self,
        *,
        per_test: int = ATTACHED_PER_TEST,
        tail: int = TAIL_PER_TEST,
        run_budget_chars: int = RUN_BUDGET_CHARS,
    ) -> None:
        self.per_test = per_test
        self.run_budget_chars = run_budget_chars
        self.attached_chars = 0
        self._attached_in_test = 0
        self._held_back = 0
        self._tail: collections.deque[Exchange] = collections.deque(maxlen=tail)

    # -- the Recorder listener ---------------------------------------------------------------------------
    def __call__(self, exchange: Exchange) -> None:
        # Allure's bookkeeping of the current test is not thread-aware; the suite sends from the main thread
        if threading.current_thread() is not threading.main_thread():
            return
        if self._attached_in_test < self.per_test:
            self._attached_in_test += 1
            self._attach(exchange)
        else:
            self._held_back += 1
            self._tail.append(exchange)

    def _attach(self, exchange: Exchange) -> None:
        text = describe_exchange(exchange)
        with allure.step(text.title):
            if self.attached_chars + text.size > self.run_budget_chars:
                return
            self.attached_chars += text.size
            allure.attach(text.request, name="Request", attachment_type=allure.attachment_type.TEXT)
            allure.attach(text.response, name="Response", attachment_type=allure.attachment_type.TEXT)

    def _flush(self) -> None:
        """Attach the held-back tail, after a note of how many exchanges in between are not shown."""
        left_out = self._held_back - len(self._tail)
        if left_out > 0:
            with allure.step(
                f"\u2026 {left_out} more exchanges not attached (at most {self.per_test} per test)"
            ):
                pass
        while self._tail:
            self._attach(self._tail.popleft())
        self._held_back = 0

    # -- pytest hooks --------------------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self._attached_in_test = 0
        self._held_back = 0
        self._tail.clear()
        try:
            return (yield)
        finally:
            self._flush()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            return (yield)
        finally:
            self._flush()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            return (yield)
        finally:
            self._flush()


def readable_parameter(value: Any) -> str | None:
    """How the report should name a test parameter, or None to keep Allure's own rendering.

    A target is named by its kind (its repr lists key paths and URLs nobody needs per test); an object
    with a ``label`` (the suite's operations) by that label.
    """
    if isinstance(value, Target):
        return value.kind
    label = getattr(value, "label", None)
    if isinstance(label, str) and not isinstance(value, str | bytes | int | float | bool):
        return label
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
    if not config.getoption("allure_report_dir", None) or config.pluginmanager.has_plugin(PLUGIN_NAME):
        return
    evidence = ExchangeEvidence()
    recorder.listeners.append(evidence)
    config.pluginmanager.register(evidence, PLUGIN_NAME)
    config.pluginmanager.register(ReadableParameters(), PLUGIN_NAME + "-parameters")
