"""What a check reports: a broken rule, named by a stable code, and the failure that carries them.

Codes never change meaning and are never reused, so a report, a fault in the reference API and a
schemathesis check can all point at the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from conformance.exchange import Exchange


class Severity(Enum):
    """How much a broken rule matters: ERROR fails a test, INFO is only worth telling someone."""

    ERROR = "error"
    INFO = "info"


@dataclass(frozen=True)
class Violation:
    """One broken rule in one exchange.

    ``title`` says which rule (the same words for every exchange); ``detail`` says what this exchange
    did wrong, in words a reader who does not know the code can follow.
    """

    code: str
    title: str
    detail: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        note = " (informational)" if self.severity is Severity.INFO else ""
        return f"[{self.code}] {self.title}{note}: {self.detail}"


def describe_exchange(exchange: Exchange) -> str:
    """One line naming the request and its status, to head a failure message."""
    return f"{exchange.method} {exchange.url} -> {exchange.status}"


class ConformanceViolation(AssertionError):
    """Raised when an exchange breaks one or more rules; ``str()`` lists them one per line."""

    def __init__(self, violations: Sequence[Violation], context: str | None = None) -> None:
        self.violations: tuple[Violation, ...] = tuple(violations)
        self.context = context
        super().__init__(self._summary())

    def _summary(self) -> str:
        count = len(self.violations)
        noun = "violation" if count == 1 else "violations"
        heading = f"{count} conformance {noun}"
        if self.context:
            heading += f" in {self.context}"
        return "\n".join([heading + ":", *(f"  {violation}" for violation in self.violations)])

    def __str__(self) -> str:
        return self._summary()


def assert_no_violations(
    violations: Iterable[Violation],
    exchange: Exchange | None = None,
    *,
    fail_on_info: bool = False,
) -> None:
    """Raise :class:`ConformanceViolation` if any rule that matters was broken.

    Informational violations fail only with ``fail_on_info``; when something else fails they are still
    listed, because they often explain it.
    """
    found = list(violations)
    failing = [v for v in found if fail_on_info or v.severity is Severity.ERROR]
    if failing:
        raise ConformanceViolation(found, describe_exchange(exchange) if exchange is not None else None)
