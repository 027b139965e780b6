"""The self-test's data model: a job (the clean run, or a run against faults) and what it did.

Both cross a pipe between the conductor and a worker process, so each has its JSON form here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

#: the name of the job that runs the suite against the reference without faults
CLEAN = "clean reference"


@dataclass(frozen=True)
class Job:
    """One suite run: the faults the reference starts with and the areas whose tests run (all if empty)."""

    name: str
    faults: tuple[str, ...]
    areas: tuple[str, ...]
    max_examples: int
    seed: int
    #: where the run's pytest output goes
    log: str
    #: stop at the first failing test (quick mode: whether a fault is caught, not by how many tests)
    first_failure_only: bool = False
    #: seconds earlier runs took per slow test; with ``first_failure_only`` they run last
    slow: dict[str, float] = field(default_factory=dict)
    #: run with ``--strict-contract``: for a drift entry of the bank, which only a strict run fails
    strict_contract: bool = False
    #: the servers (reference modes, or ``receiver``) that carry the job's faults; a test of a target
    #: of another mode meets no fault, so it is left to the clean run (empty: every test runs)
    servers: tuple[str, ...] = ()

    def to_json(self) -> str:
        return _json_line(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> Job:
        raw = json.loads(line)
        tuples = {key: tuple(raw[key]) for key in ("faults", "areas", "servers")}
        return cls(**{**raw, **tuples})


@dataclass
class Failure:
    """A failing test and the requirement area it belongs to."""

    nodeid: str
    area: str


@dataclass
class JobResult:
    """What one run did: outcome counts, every failing test with its area, and any breakdown."""

    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    #: pytest's exit code (1 = tests failed); None when the run never finished
    exit_code: int | None = None
    #: why the run broke down (timeout, crash, usage error), if it did
    error: str | None = None
    #: tests that took a while, by node id (a hint for ordering later quick runs)
    durations: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        return _json_line(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> JobResult:
        raw: dict[str, Any] = json.loads(line)
        failures = [Failure(**failure) for failure in raw.pop("failures", [])]
        return cls(failures=failures, **raw)


def _json_line(data: dict[str, Any]) -> str:
    """One message on the pipe: JSON on a single line, newline-terminated."""
    return json.dumps(data) + "\n"
