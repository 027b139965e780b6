"""Drift across a run: everything the answers carried that the contract does not document
(:mod:`conformance.checks.drift`), each thing once with one example exchange, for the terminal,
``readiness.md`` and ``drift.json``.

Drift is seen, not failed: an undocumented member, header, enum value or status fails a test only with
``--strict-contract``, and then every test whose answers showed some fails with one line per thing.
:class:`DriftCollector` is both a :class:`~conformance.transport.Recorder` listener (it sees every
answer, the property tests' included) and a pytest plugin; :func:`install` connects it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conformance import redaction
from conformance.checks.drift import ContractDrift, Drift, find_drift, operation_of
from conformance.exchange import Exchange
from conformance.spec import Spec, SpecError, load_spec
from conformance.transport import Recorder

DRIFT_FILE = "drift.json"
#: Things the terminal lists; the rest are counted (readiness.md and drift.json have every one).
TERMINAL_ITEMS = 10
PLUGIN_NAME = "notify-conformance-drift"


@dataclass
class DriftEntry:
    """One undocumented thing, how often the run saw it, and the first exchange that showed it."""

    drift: Drift
    #: the first exchange that showed it (redacted): the test, the request line, status, correlation id
    example: dict[str, Any]
    answers: int = 1
    tests: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        item = self.drift
        return {
            "key": item.key,
            "kind": item.kind,
            "operation": f"{item.method} {item.path}",
            "status": item.status,
            "where": item.where or None,
            "value": item.value or None,
            "answers": self.answers,
            "tests": len(self.tests),
            "example": self.example,
        }

    def line(self) -> str:
        """``POST /v1/messages 201: member data.attributes.x (here: 'a'; 3 answers, first in test_y)``."""
        test = self.example.get("test")
        where = f", first in {test}" if test else ""
        answers = f"{self.answers} answer{'s' if self.answers != 1 else ''}"
        sample = self.drift.shown_sample.strip().removeprefix("(").removesuffix(")")
        inside = "; ".join(part for part in (sample, answers + where) if part)
        return redaction.redact(f"{self.drift.key} ({inside})")


@dataclass(eq=False)  # a plugin object: pluggy keeps plugins in sets
class DriftCollector:
    """Collects drift from every answer of the run; under ``--strict-contract`` fails the tests that saw
    some. ``strict`` may be a callable, asked only when a test has seen drift (the run's options are
    resolved lazily under plain pytest). ``terminal``: print the drift section at the end of the pytest
    session (plain pytest; the command prints it in its own summary instead)."""

    strict: bool | Callable[[], bool] = False
    terminal: bool = False
    spec: Spec | None = None
    entries: dict[str, DriftEntry] = field(default_factory=dict)
    #: the contract's answers the run saw, as ``METHOD /path/{template} STATUS`` (what a comparison
    #: between runs may say is gone)
    exercised: set[str] = field(default_factory=set)
    #: answers drift collection could not judge (a bug of ours, never the API's: counted, not raised)
    unjudged: int = 0
    _current: str | None = None
    _in_test: dict[str, Drift] = field(default_factory=dict)

    # -- the Recorder listener ---------------------------------------------------------------------------
    def __call__(self, exchange: Exchange) -> None:
        try:
            spec = self.spec or load_spec()
            operation = operation_of(exchange, spec)
            if operation is None:
                return
            self.exercised.add(f"{operation.label} {exchange.status}")
            found = find_drift(exchange, spec)
        except (SpecError, ValueError, TypeError, KeyError, AttributeError):
            self.unjudged += 1
            return
        for item in found:
            self._note(item, exchange)

    def _note(self, item: Drift, exchange: Exchange) -> None:
        entry = self.entries.get(item.key)
        if entry is None:
            entry = self.entries[item.key] = DriftEntry(item, _example(item, exchange, self._current))
        else:
            entry.answers += 1
        if self._current is not None:
            entry.tests.add(self._current)
            self._in_test.setdefault(item.key, item)

    # -- pytest hooks --------------------------------------------------------------------------------------
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self._current = nodeid
        self._in_test = {}

    def pytest_runtest_logfinish(self) -> None:
        self._current = None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        """Under ``--strict-contract`` a test whose answers showed drift fails, one line per thing."""
        __tracebackhide__ = True  # the failure is the drift, not this hook
        result = yield  # a test that failed on its own keeps its own failure
        if self._in_test and self.is_strict():
            raise ContractDrift(list(self._in_test.values()))
        return result

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.terminal and self.entries:
            title, *lines = self.terminal_lines()
            terminalreporter.write_sep("=", title, yellow=not self.is_strict(), red=self.is_strict())
            for line in lines:
                terminalreporter.write_line(line)

    def merge(
        self,
        entries: dict[str, DriftEntry],
        exercised: set[str],
        unjudged: int,
        collected: Sequence[str] = (),
    ) -> None:
        """Add what another process of the same run collected (a pytest-xdist worker's share). Each
        thing's example is the one from the test first in ``collected`` (the run's tests in order), as a
        run in one process would show it."""
        position = {nodeid: index for index, nodeid in enumerate(collected)}

        def rank(entry: DriftEntry) -> int:
            return position.get(entry.example.get("test") or "", len(position))

        for key, other in entries.items():
            entry = self.entries.get(key)
            if entry is None:
                self.entries[key] = other
                continue
            entry.answers += other.answers
            entry.tests |= other.tests
            if rank(other) < rank(entry):
                entry.drift, entry.example = other.drift, other.example
        self.exercised |= exercised
        self.unjudged += unjudged

    # -- what was found ------------------------------------------------------------------------------------
    def is_strict(self) -> bool:
        return bool(self.strict() if callable(self.strict) else self.strict)

    def ordered(self) -> list[DriftEntry]:
        return [self.entries[key] for key in sorted(self.entries)]

    def keys(self) -> list[str]:
        return sorted(self.entries)

    def count(self) -> str:
        """``2 undocumented things in the answers``."""
        count = len(self.entries)
        return f"{count} undocumented {'thing' if count == 1 else 'things'} in the answers"

    def describe(self) -> str:
        """``2 undocumented things in the answers (not failures; --strict-contract fails them)``."""
        if self.is_strict():
            return f"{self.count()} (failures under --strict-contract)"
        return f"{self.count()} (not failures; --strict-contract fails them)"

    def title(self) -> str:
        return f"contract drift: {self.describe()}"

    def terminal_lines(self, limit: int = TERMINAL_ITEMS) -> list[str]:
        """The title, then one line per thing (at most ``limit``); [] when there is none."""
        if not self.entries:
            return []
        entries = self.ordered()
        lines = [self.title(), *(f"  {entry.line()}" for entry in entries[:limit])]
        if len(entries) > limit:
            lines.append(f"  ... and {len(entries) - limit} more (see readiness.md and {DRIFT_FILE})")
        return lines

    def markdown(self) -> str:
        """The ``readiness.md`` section (every thing); '' when there is none."""
        if not self.entries:
            return ""
        policy = (
            "Each one failed the tests that saw it (`--strict-contract`)."
            if self.is_strict()
            else "Reported, not failed: the API may add fields without notice (behaviour ops §1.2); "
            "`--strict-contract` fails them."
        )
        lines = [
            "## Contract drift",
            "",
            f"{self.count()}. {policy} One example exchange each is in `{DRIFT_FILE}`.",
            "",
        ]
        lines += [f"- `{entry.drift.key}`: {_example_text(entry)}" for entry in self.ordered()]
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict[str, Any]:
        return {
            "strict_contract": self.is_strict(),
            "count": len(self.entries),
            "items": [entry.as_dict() for entry in self.ordered()],
            "exercised": sorted(self.exercised),
            "unjudged_answers": self.unjudged,
        }

    def write(self, reports: Path) -> Path:
        from conformance.reporting.scrubbing import redacted_json

        path = reports / DRIFT_FILE
        path.write_text(redacted_json(self.as_dict()) + "\n", encoding="utf-8")
        return path


def _example(item: Drift, exchange: Exchange, test: str | None) -> dict[str, Any]:
    parts = urlsplit(exchange.url)
    example: dict[str, Any] = {
        "test": test,
        "request": redaction.redact(f"{exchange.method} {parts.path or '/'}"),
        "status": exchange.status,
        "correlation_id": exchange.response_headers.get("x-correlation-id"),
    }
    if item.sample:
        example["sample"] = redaction.redact(item.sample)
    return example


def _example_text(entry: DriftEntry) -> str:
    example = entry.example
    text = f"e.g. `{example['request']}` -> {example['status']}"
    if example.get("sample") and entry.drift.kind in ("member", "header"):
        text += f" with `{example['sample']}`"
    if example.get("test"):
        text += f" in `{example['test']}`"
    answers = entry.answers
    return text + f" ({answers} answer{'s' if answers != 1 else ''}, {len(entry.tests)} test(s))"


def install(config: pytest.Config, recorder: Recorder, strict: Callable[[], bool]) -> DriftCollector | None:
    """Connect the session's :class:`DriftCollector` (the command's, or a new one under plain pytest)
    to the session's recorder; its strictness comes from the run's options. ``-p no:`` and
    :data:`PLUGIN_NAME` leave drift out of a session that no one reads it from (a self-test job that is
    not strict): walking every answer is not free."""
    found = [p for _, p in config.pluginmanager.list_name_plugin() if isinstance(p, DriftCollector)]
    if not found and config.pluginmanager.is_blocked(PLUGIN_NAME):
        return None
    collector = found[0] if found else DriftCollector(terminal=True)
    if not found:
        config.pluginmanager.register(collector, PLUGIN_NAME)
    collector.strict = strict
    if all(listener is not collector for listener in recorder.listeners):
        recorder.listeners.append(collector)
    return collector
