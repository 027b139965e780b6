"""Where Ctrl-C may raise: only inside a test's body, never in a fixture or another plugin's hook."""

from __future__ import annotations

import signal

import pytest

from conformance.errors import Interrupted
from conformance.outcome import RunRecord


@pytest.fixture(autouse=True)
def _sigint_restored() -> object:
    # the handler puts the default one back for a second Ctrl-C; leave the process as it was
    previous = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, previous)


def test_outside_a_body_ctrl_c_only_stops_the_run() -> None:
    record = RunRecord()
    record.on_interrupt(signal.SIGINT, None)  # e.g. while Allure's setup hook runs: nothing is raised there
    assert isinstance(record.stop, Interrupted)


def test_inside_a_body_ctrl_c_aborts_it() -> None:
    record = RunRecord()
    body = record.pytest_pyfunc_call()
    next(body)  # the test function runs from here
    with pytest.raises(Interrupted):
        record.on_interrupt(signal.SIGINT, None)
    body.close()
    assert not record.in_test


def test_a_body_after_ctrl_c_in_its_setup_is_not_run() -> None:
    record = RunRecord()
    record.on_interrupt(signal.SIGINT, None)
    with pytest.raises(Interrupted):
        next(record.pytest_pyfunc_call())
    assert not record.in_test


def test_a_second_ctrl_c_is_the_usual_keyboard_interrupt() -> None:
    record = RunRecord()
    record.on_interrupt(signal.SIGINT, None)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
