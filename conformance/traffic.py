"""What a run sends, counted where every request passes (the transport): for the run summary, the
report, and ``run --plan``, which rehearses a run against the embedded reference and reads these counts.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from conformance.errors import RunTimeUp
from conformance.safety import create_kind


@dataclass
class TestTraffic:
    """One test's share."""

    requests: int = 0
    messages: int = 0
    batches: int = 0


@dataclass
class Traffic:
    """Counts of requests actually sent (each retry counts again), per test and for the run."""

    token_url: str | None = None
    requests: int = 0
    token_requests: int = 0
    #: create requests sent (accepted or not)
    messages: int = 0
    batches: int = 0
    #: creates the target answered 201 (what really makes work in the target's backend)
    messages_created: int = 0
    batches_created: int = 0
    transport_failures: int = 0
    #: the test now running (set by the plugin), so counts can be kept per test
    current_test: str = ""
    per_test: dict[str, TestTraffic] = field(default_factory=dict)
    per_second: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def note_sent(self, method: str, url: str) -> None:
        kind = create_kind(method, url)
        with self._lock:
            self.requests += 1
            self.per_second[int(time.monotonic())] += 1
            if len(self.per_second) > 120:  # only the recent past matters for the peak
                del self.per_second[min(self.per_second)]
            test = self.per_test.setdefault(self.current_test, TestTraffic())
            test.requests += 1
            if self.token_url is not None and url.split("?")[0] == self.token_url:
                self.token_requests += 1
            elif kind == "message":
                self.messages += 1
                test.messages += 1
            elif kind == "batch":
                self.batches += 1
                test.batches += 1

    def note_answer(self, method: str, url: str, status: int) -> None:
        if status != 201:
            return
        kind = create_kind(method, url)
        with self._lock:
            if kind == "message":
                self.messages_created += 1
            elif kind == "batch":
                self.batches_created += 1

    def note_failure(self) -> None:
        with self._lock:
            self.transport_failures += 1

    def write(self, path: Path, *, tests: int) -> None:
        """The counts as JSON, for ``run --plan`` (see :mod:`conformance.plan`)."""
        data = {
            "tests": tests,
            "requests": self.requests,
            "token_requests": self.token_requests,
            "messages": self.messages,
            "batches": self.batches,
            "messages_created": self.messages_created,
            "batches_created": self.batches_created,
            "per_test": {name: dataclasses.asdict(t) for name, t in self.per_test.items() if name},
        }
        path.write_text(json.dumps(data), encoding="utf-8")

    def describe(self) -> str:
        return (
            f"{self.requests} request(s) sent ({self.token_requests} to the token endpoint), "
            f"{self.messages + self.batches} create request(s): {self.messages_created} message(s) and "
            f"{self.batches_created} batch(es) created"
        )


@dataclass
class RunClock:
    """``--max-duration``: the moment after which nothing more is sent."""

    max_duration_s: float | None = None
    started: float = field(default_factory=time.monotonic)

    def restart(self) -> None:
        """The clock runs from the first test, not from setting the run up."""
        self.started = time.monotonic()

    def check(self) -> None:
        if self.max_duration_s is not None and time.monotonic() - self.started > self.max_duration_s:
            raise RunTimeUp(f"the run reached its --max-duration of {self.max_duration_s:g} s")
