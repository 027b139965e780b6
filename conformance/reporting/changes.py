"""What changed since the last run: the nightly question.

Every run leaves ``outcomes.json`` in its report folder: each test's outcome by node id, the known
discrepancies the run saw (by id, with the tests that gave the evidence) and the drift it found
(:mod:`conformance.reporting.drift`). The next run into the same folder (the usual CI cache), or any run
given ``--baseline DIR``, reads that file before anything is sent or cleaned and compares: tests newly
failing, newly passing, newly skipped or no longer run; known discrepancies that appeared or are no
longer seen (the gateway starting to accept ``charset=utf-8`` means D3 is no longer seen: news, not a
failure); new drift and drift gone. The terminal, the top of ``readiness.md`` and the HTML's first page
say it in one line, with the details below it and in ``changes.json``.

:class:`OutcomeLog` is the pytest plugin that keeps the outcomes. It learns which discrepancies a test
gave evidence for from the Allure tags the suite sets (``known discrepancy D3``, see
``conformance.suite._expect.note_known_discrepancy``) and from the property tests' summaries
(``known discrepancy D28 (...): 3 case(s)``), through allure-commons' own hooks, so the suite needs no
second way of saying it. A tagged test gives evidence only when it passed: it asserts what the gateway
does, so a failure means the gateway changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import allure_commons
import pytest

from conformance.errors import UsageError
from conformance.outcome import is_not_assessed

OUTCOMES_FILE = "outcomes.json"
CHANGES_FILE = "changes.json"
#: The outcomes file's format; a file of another format is no baseline (said in one line, not an error).
OUTCOMES_FORMAT = "notify-conformance outcomes 1"
#: Tests named per change on the terminal and in the report's first panel (every one in the files).
SHOWN = 5

Outcome = Literal["passed", "failed", "skipped", "not assessed", "not run"]
#: outcomes that say something about the API (the others are "no verdict")
VERDICTS = frozenset({"passed", "failed"})
_TAG = re.compile(r"known discrepancy (D\d+)")
_COUNTED = re.compile(r"^known discrepancy (D\d+) ", re.MULTILINE)


# ------------------------------------------------------------------------------------------------------
# One run's outcomes


@dataclass
class RunOutcomes:
    """``outcomes.json``: what one run did, compactly, for the next run to compare with."""

    started_at: str
    finished_at: str
    environment: str
    headline: str
    #: node id -> outcome, in the order the tests were collected
    tests: dict[str, Outcome]
    #: discrepancy id -> the tests that gave evidence of it
    discrepancies: dict[str, list[str]] = field(default_factory=dict)
    #: drift keys (``POST /v1/messages 201: member data.attributes.priority``)
    drift: list[str] = field(default_factory=list)
    #: the contract's answers the run saw (``POST /v1/messages 201``): where drift could have been seen
    exercised: list[str] = field(default_factory=list)
    #: the -k and -m selection, and the reference faults of a self-test style run
    selection: dict[str, Any] = field(default_factory=dict)
    #: the run stopped early (its untouched tests are "not run")
    stopped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": OUTCOMES_FORMAT,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "environment": self.environment,
            "headline": self.headline,
            "stopped": self.stopped,
            "selection": self.selection,
            "counts": {name: list(self.tests.values()).count(name) for name in _ORDER},
            "tests": self.tests,
            "discrepancies": self.discrepancies,
            "drift": self.drift,
            "exercised": self.exercised,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RunOutcomes:
        if raw.get("format") != OUTCOMES_FORMAT:
            raise ValueError(f"not {OUTCOMES_FORMAT!r} (format {raw.get('format')!r})")
        tests = raw.get("tests")
        if not isinstance(tests, dict) or not all(value in _ORDER for value in tests.values()):
            raise ValueError("'tests' is not a map of node ids to outcomes")
        discrepancies = raw.get("discrepancies") or {}
        return cls(
            started_at=str(raw.get("started_at") or "an earlier run"),
            finished_at=str(raw.get("finished_at") or ""),
            environment=str(raw.get("environment") or "unknown"),
            headline=str(raw.get("headline") or ""),
            tests=cast(dict[str, Outcome], dict(tests)),
            discrepancies={str(k): [str(t) for t in v] for k, v in dict(discrepancies).items()},
            drift=[str(key) for key in raw.get("drift") or []],
            exercised=[str(key) for key in raw.get("exercised") or []],
            selection=dict(raw.get("selection") or {}),
            stopped=bool(raw.get("stopped", False)),
        )

    def write(self, reports: Path) -> Path:
        from conformance.reporting.scrubbing import redacted_json

        path = reports / OUTCOMES_FILE
        path.write_text(redacted_json(self.as_dict()) + "\n", encoding="utf-8")
        return path


_ORDER: tuple[Outcome, ...] = ("passed", "failed", "skipped", "not assessed", "not run")


@dataclass(eq=False)  # a plugin object: pluggy keeps plugins in sets (and allure-commons' manager too)
class OutcomeLog:
    """A pytest plugin (and allure-commons hook implementation) that keeps each test's outcome and the
    known discrepancies each test gave evidence of."""

    tests: dict[str, Outcome] = field(default_factory=dict)
    collected: list[str] = field(default_factory=list)
    discrepancies: dict[str, list[str]] = field(default_factory=dict)
    _current: str | None = None
    #: discrepancy ids tagged by the running test (evidence only if it passes) / counted by it (evidence)
    _tagged: set[str] = field(default_factory=set)
    _counted: set[str] = field(default_factory=set)
    _registered: bool = False

    # -- pytest hooks --------------------------------------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        if not self._registered:
            allure_commons.plugin_manager.register(self)
            self._registered = True

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._registered:
            allure_commons.plugin_manager.unregister(self)
            self._registered = False

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = [item.nodeid for item in session.items]

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self._current = nodeid
        self._tagged, self._counted = set(), set()

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        nodeid, before = report.nodeid, self.tests.get(report.nodeid)
        if report.failed:
            self.tests[nodeid] = "failed"
        elif before == "failed":
            return
        elif report.skipped:
            self.tests[nodeid] = "not assessed" if is_not_assessed(report) else "skipped"
        elif report.when == "call":
            self.tests[nodeid] = "passed"

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        evidence = set(self._counted)
        if self.tests.get(nodeid) == "passed":
            evidence |= self._tagged
        for discrepancy in sorted(evidence):
            self.discrepancies.setdefault(discrepancy, []).append(nodeid)
        self._current = None

    # -- allure-commons hooks (what the suite tells the report while a test runs) -------------------------
    @allure_commons.hookimpl  # type: ignore[untyped-decorator]
    def add_label(self, label_type: str, labels: Sequence[str]) -> None:
        if self._current is not None and str(label_type) == "tag":
            for label in labels:
                match = _TAG.fullmatch(str(label))
                if match:
                    self._tagged.add(match.group(1))

    @allure_commons.hookimpl  # type: ignore[untyped-decorator]
    def attach_data(self, body: object, name: str) -> None:
        if self._current is not None and isinstance(body, str):
            self._counted.update(_COUNTED.findall(body))

    # -- the result ----------------------------------------------------------------------------------------
    def outcomes(self) -> dict[str, Outcome]:
        """Every collected test's outcome, in collection order; a test the run never reached is "not run"."""
        found: dict[str, Outcome] = {nodeid: self.tests.get(nodeid, "not run") for nodeid in self.collected}
        found.update({nodeid: outcome for nodeid, outcome in self.tests.items() if nodeid not in found})
        return found

    def snapshot(
        self,
        *,
        started_at: str,
        finished_at: str,
        environment: str,
        headline: str,
        drift: Iterable[str] = (),
        exercised: Iterable[str] = (),
        selection: Mapping[str, Any] | None = None,
        stopped: bool = False,
    ) -> RunOutcomes:
        return RunOutcomes(
            started_at=started_at,
            finished_at=finished_at,
            environment=environment,
            headline=headline,
            tests=self.outcomes(),
            discrepancies={key: sorted(set(tests)) for key, tests in sorted(self.discrepancies.items())},
            drift=sorted(set(drift)),
            exercised=sorted(set(exercised)),
            selection={k: v for k, v in (selection or {}).items() if v not in (None, [], ())},
            stopped=stopped,
        )


# ------------------------------------------------------------------------------------------------------
# The baseline


@dataclass(frozen=True)
class Baseline:
    """The earlier run a run is compared with, and where it came from."""

    outcomes: RunOutcomes
    #: "the last run" (the same folder) or "the baseline run" (``--baseline``)
    label: str
    source: str


def load_baseline(reports: Path, baseline: str | Path | None) -> tuple[Baseline | None, str | None]:
    """The run to compare with, read before the run touches its folder, and a note when there is none.

    ``--baseline DIR`` (a report folder, or its ``outcomes.json``) must hold a readable outcomes file,
    else the run stops with a usage error before anything is sent. Without it, the report folder's own
    ``outcomes.json`` is used when there is one; a missing or unreadable one is only a note.
    """
    if baseline is not None:
        given = Path(baseline)
        path = given / OUTCOMES_FILE if given.is_dir() else given
        try:
            return Baseline(_read(path), "the baseline run", str(given)), None
        except FileNotFoundError:
            raise UsageError(
                f"--baseline: no {OUTCOMES_FILE} in {given} (give the report folder of an earlier run)"
            ) from None
        except (OSError, ValueError) as error:
            raise UsageError(f"--baseline: cannot read {path}: {error}") from None
    path = reports / OUTCOMES_FILE
    if not path.is_file():
        return None, None
    try:
        return Baseline(_read(path), "the last run", str(reports)), None
    except (OSError, ValueError) as error:
        return None, f"the earlier run's {OUTCOMES_FILE} was not compared with: {error}"


def _read(path: Path) -> RunOutcomes:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    return RunOutcomes.from_dict(raw)


# ------------------------------------------------------------------------------------------------------
# The comparison


@dataclass(frozen=True)
class Changes:
    """How a run differs from its baseline. Every list is sorted; node ids as pytest names them."""

    baseline: Baseline
    newly_failing: tuple[str, ...] = ()
    newly_passing: tuple[str, ...] = ()
    #: tests that had a verdict and now have none: (node id, "skipped" / "not assessed" / "not run")
    newly_skipped: tuple[tuple[str, str], ...] = ()
    no_longer_run: tuple[str, ...] = ()
    #: tests the baseline did not have, with their outcome now
    new_tests: tuple[tuple[str, str], ...] = ()
    discrepancies_appeared: tuple[str, ...] = ()
    #: seen by the baseline, not seen now although the tests that showed them ran again
    discrepancies_gone: tuple[str, ...] = ()
    drift_appeared: tuple[str, ...] = ()
    #: drift the baseline saw, not seen now although the run saw the same answers of the operation
    drift_gone: tuple[str, ...] = ()
    #: facts that make the comparison less direct (another environment, another selection)
    caveats: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return any(
            (
                self.newly_failing,
                self.newly_passing,
                self.newly_skipped,
                self.no_longer_run,
                self.new_tests,
                self.discrepancies_appeared,
                self.discrepancies_gone,
                self.drift_appeared,
                self.drift_gone,
            )
        )

    @property
    def since(self) -> str:
        """``Since the last run (2025-06-01 02:00 UTC)``; ``Since the baseline run (DIR, ...)``."""
        base = self.baseline
        where = f"{base.source}, " if base.label == "the baseline run" else ""
        return f"Since {base.label} ({where}{_when(base.outcomes.started_at)})"

    def parts(self) -> list[str]:
        """The summary's pieces, most important first: ``2 newly failing``, ``D3 no longer seen``..."""
        parts = []
        if self.newly_failing:
            parts.append(f"{len(self.newly_failing)} newly failing")
        if self.newly_passing:
            parts.append(f"{len(self.newly_passing)} newly passing")
        if self.newly_skipped:
            parts.append(f"{len(self.newly_skipped)} newly skipped or not assessed")
        if self.no_longer_run:
            parts.append(f"{len(self.no_longer_run)} no longer run")
        if self.new_tests:
            failing = sum(1 for _, outcome in self.new_tests if outcome == "failed")
            extra = f" ({failing} failing)" if failing else ""
            parts.append(f"{len(self.new_tests)} new test{'s' if len(self.new_tests) != 1 else ''}{extra}")
        if self.discrepancies_gone:
            parts.append(f"known discrepancy {_and(self.discrepancies_gone)} no longer seen")
        if self.discrepancies_appeared:
            parts.append(f"known discrepancy {_and(self.discrepancies_appeared)} newly seen")
        if self.drift_appeared:
            parts.append(f"{len(self.drift_appeared)} new drift")
        if self.drift_gone:
            parts.append(f"{len(self.drift_gone)} drift gone")
        return parts

    def summary(self) -> str:
        """One line for the headline, the top of readiness.md and the HTML's first page."""
        caveat = f" [{'; '.join(self.caveats)}]" if self.caveats else ""
        if not self.any:
            count = len(self.baseline.outcomes.tests)
            return f"{self.since}: no change ({count} tests, same outcomes, discrepancies and drift){caveat}"
        return f"{self.since}: {', '.join(self.parts())}{caveat}"

    def sections(self) -> list[tuple[str, list[str]]]:
        """(title, items) for each kind of change that happened, in reading order."""
        found: list[tuple[str, list[str]]] = []
        for title, items in (
            ("Newly failing", list(self.newly_failing)),
            ("Newly passing", list(self.newly_passing)),
            ("Newly skipped or not assessed", [f"{nodeid} ({now})" for nodeid, now in self.newly_skipped]),
            ("No longer run", list(self.no_longer_run)),
            ("New tests", [f"{nodeid} ({now})" for nodeid, now in self.new_tests]),
            (
                "Known discrepancies no longer seen (the gateway may now do what the documentation says)",
                [_discrepancy_line(d) for d in self.discrepancies_gone],
            ),
            ("Known discrepancies newly seen", [_discrepancy_line(d) for d in self.discrepancies_appeared]),
            ("New drift", list(self.drift_appeared)),
            ("Drift gone", list(self.drift_gone)),
        ):
            if items:
                found.append((title, items))
        return found

    def terminal_lines(self, shown: int = SHOWN) -> list[str]:
        lines = [self.summary()]
        for title, items in self.sections():
            lines.append(f"  {title.split(' (')[0].lower()}: {len(items)}")
            lines += [f"    {item}" for item in items[:shown]]
            if len(items) > shown:
                lines.append(f"    ... and {len(items) - shown} more (see {CHANGES_FILE})")
        return lines

    def markdown(self) -> str:
        """``readiness.md``'s section with every change."""
        if not self.any:
            return ""
        lines = [f"## {self.since}", ""]
        for title, items in self.sections():
            lines += [f"### {title} ({len(items)})", "", *(f"- `{item}`" for item in items), ""]
        return "\n".join(lines)

    def panel_rows(self, shown: int = SHOWN) -> list[tuple[str, str]]:
        """The first rows of the report's first panel: the summary, then each kind of change."""
        rows = [("Changes", self.summary())]
        for title, items in self.sections():
            more = f" and {len(items) - shown} more" if len(items) > shown else ""
            rows.append((title.split(" (")[0], "; ".join(items[:shown]) + more))
        return rows

    def as_dict(self) -> dict[str, Any]:
        base = self.baseline
        return {
            "summary": self.summary(),
            "baseline": {
                "label": base.label,
                "source": base.source,
                "started_at": base.outcomes.started_at,
                "environment": base.outcomes.environment,
                "headline": base.outcomes.headline,
            },
            "newly_failing": list(self.newly_failing),
            "newly_passing": list(self.newly_passing),
            "newly_skipped": [{"test": nodeid, "now": now} for nodeid, now in self.newly_skipped],
            "no_longer_run": list(self.no_longer_run),
            "new_tests": [{"test": nodeid, "now": now} for nodeid, now in self.new_tests],
            "discrepancies_appeared": list(self.discrepancies_appeared),
            "discrepancies_no_longer_seen": list(self.discrepancies_gone),
            "drift_appeared": list(self.drift_appeared),
            "drift_gone": list(self.drift_gone),
            "caveats": list(self.caveats),
        }


def compare(baseline: Baseline, now: RunOutcomes) -> Changes:
    """What ``now`` says differently from ``baseline``."""
    before = baseline.outcomes
    failing: list[str] = []
    passing: list[str] = []
    skipped: list[tuple[str, str]] = []
    new: list[tuple[str, str]] = []
    for nodeid, outcome in now.tests.items():
        earlier = before.tests.get(nodeid)
        if earlier is None:
            new.append((nodeid, outcome))
        elif outcome == "failed" and earlier != "failed":
            failing.append(nodeid)
        elif outcome == "passed" and earlier != "passed":
            passing.append(nodeid)
        elif outcome not in VERDICTS and earlier in VERDICTS:
            skipped.append((nodeid, outcome))
    gone = [nodeid for nodeid in before.tests if nodeid not in now.tests]

    ran_now = {nodeid for nodeid, outcome in now.tests.items() if outcome in VERDICTS}
    ran_before = {nodeid for nodeid, outcome in before.tests.items() if outcome in VERDICTS}
    # news only where the tests that show it now also ran then (else it was merely not selected)
    appeared = [
        d
        for d, tests in now.discrepancies.items()
        if d not in before.discrepancies and set(tests) & ran_before
    ]
    no_longer = [
        d for d, tests in before.discrepancies.items() if d not in now.discrepancies and set(tests) & ran_now
    ]
    exercised = set(now.exercised)
    drift_new = [key for key in now.drift if key not in set(before.drift)]
    drift_gone = [key for key in before.drift if key not in set(now.drift) and _answer_of(key) in exercised]

    caveats = []
    if before.environment != now.environment:
        caveats.append(f"that run was against --env {before.environment}")
    caveats += _selection_caveats(before.selection, now.selection)
    if before.stopped:
        caveats.append("that run stopped early")
    return Changes(
        baseline=baseline,
        newly_failing=tuple(sorted(failing)),
        newly_passing=tuple(sorted(passing)),
        newly_skipped=tuple(sorted(skipped)),
        no_longer_run=tuple(sorted(gone)),
        new_tests=tuple(sorted(new)),
        discrepancies_appeared=tuple(sorted(appeared, key=_discrepancy_order)),
        discrepancies_gone=tuple(sorted(no_longer, key=_discrepancy_order)),
        drift_appeared=tuple(sorted(drift_new)),
        drift_gone=tuple(sorted(drift_gone)),
        caveats=tuple(caveats),
    )


def write_changes(reports: Path, changes: Changes | None, note: str | None = None) -> Path:
    """``changes.json``: the comparison, or ``{"baseline": null}`` with why there was none."""
    from conformance.reporting.scrubbing import redacted_json

    document: dict[str, Any] = (
        changes.as_dict()
        if changes is not None
        else {
            "summary": None,
            "baseline": None,
            "note": note or "no earlier run in this folder to compare with",
        }
    )
    path = reports / CHANGES_FILE
    path.write_text(redacted_json(document) + "\n", encoding="utf-8")
    return path


def _selection_caveats(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """How the earlier run's choices differed: its -k/-m selection, reference faults, strictness."""
    found = []
    for key, flag in (("keyword", "-k"), ("markers", "-m")):
        if before.get(key) != now.get(key):
            found.append(f"that run had {f'{flag} {before[key]!r}' if before.get(key) else f'no {flag}'}")
    if sorted(before.get("faults") or []) != sorted(now.get("faults") or []):
        faults = ", ".join(before.get("faults") or []) or "none"
        found.append(f"that run's reference faults: {faults}")
    if bool(before.get("strict_contract")) != bool(now.get("strict_contract")):
        found.append(f"that run was {'' if before.get('strict_contract') else 'not '}--strict-contract")
    return found


def _when(moment: str) -> str:
    """``2025-06-01T02:00:00Z`` as ``2025-06-01 02:00 UTC`` (anything else as it is)."""
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}):\d{2}Z", moment)
    return f"{match.group(1)} {match.group(2)} UTC" if match else moment


def _answer_of(drift_key: str) -> str:
    """``POST /v1/messages 201`` of ``POST /v1/messages 201: member ...``."""
    return drift_key.split(": ", 1)[0]


def _discrepancy_order(discrepancy_id: str) -> tuple[int, str]:
    digits = discrepancy_id.lstrip("D")
    return (int(digits) if digits.isdigit() else 10**6, discrepancy_id)


def _discrepancy_line(discrepancy_id: str) -> str:
    """``D3: charset parameters ...`` with the contract's title, when the contract still lists it."""
    from conformance.spec import SpecError, load_spec

    try:
        return f"{discrepancy_id}: {load_spec().discrepancy(discrepancy_id).title}"
    except SpecError:
        return discrepancy_id


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
