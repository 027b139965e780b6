"""What a check reports: a broken rule, named by a stable code, and the failure that carries them.

Codes never change meaning and are never reused, so a report, a fault in the reference API and a
schemathesis check can all point at the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from conformance import limits
from conformance.exchange import Exchange

_ELLIPSIS = "\u2026"
#: Room kept for the last line of a long message ("  ... and 12 more rules broken").
_COUNT_LINE_CHARS = 40


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
    """Raised when an exchange breaks one or more rules.

    ``str()`` names each broken rule once, on one line: a rule broken once reads like the violation itself
    (``[HDR-004] title: detail``); one broken many times gives a count and a few examples
    (``[ERR-005] title (100 times): a; b; c; \u2026 and 97 more``). The limits are in
    :mod:`conformance.limits`; ``violations`` keeps every one for code that wants them all.
    """

    def __init__(self, violations: Sequence[Violation], context: str | None = None) -> None:
        self.violations: tuple[Violation, ...] = tuple(violations)
        self.context = context
        super().__init__(self._summary())

    def _summary(self) -> str:
        count = len(self.violations)
        noun = "violation" if count == 1 else "violations"
        heading = f"{count} conformance {noun}"
        if self.context:
            heading += f" in {_one_line(self.context, limits.FAILURE_HEADING_CHARS)}"
        lines = [heading + ":"]
        used = len(lines[0])
        rules = _by_rule(self.violations)
        # whole lines only, within the cap, leaving room for the line that counts the rest
        room = limits.FAILURE_MESSAGE_CHARS - _COUNT_LINE_CHARS
        for group in rules[: limits.FAILURE_RULES_SHOWN]:
            line = f"  {_rule_line(group)}"
            if len(lines) > 1 and used + 1 + len(line) > room:
                break
            lines.append(line)
            used += 1 + len(line)
        hidden = len(rules) - (len(lines) - 1)
        if hidden > 0:
            lines.append(f"  {_ELLIPSIS} and {hidden} more rule{'s' if hidden != 1 else ''} broken")
        text = "\n".join(lines)
        if len(text) <= limits.FAILURE_MESSAGE_CHARS:
            return text
        return text[: limits.FAILURE_MESSAGE_CHARS - 1] + _ELLIPSIS

    def __str__(self) -> str:
        return self._summary()


def _by_rule(violations: Iterable[Violation]) -> list[list[Violation]]:
    """The violations grouped by rule (code, title, severity), in the order each rule first appears."""
    groups: dict[tuple[str, str, Severity], list[Violation]] = {}
    for violation in violations:
        groups.setdefault((violation.code, violation.title, violation.severity), []).append(violation)
    return list(groups.values())


def _rule_line(group: Sequence[Violation]) -> str:
    """One rule on one line: its code and title, how often it was broken, and a few distinct examples."""
    first = group[0]
    note = " (informational)" if first.severity is Severity.INFO else ""
    times = f" ({len(group)} times)" if len(group) > 1 else ""
    details = list(dict.fromkeys(v.detail for v in group))  # distinct, in order
    each = limits.FAILURE_DETAIL_CHARS if len(details) == 1 else limits.FAILURE_EXAMPLE_CHARS
    shown = [_one_line(d, each) for d in details[: limits.FAILURE_EXAMPLES_PER_RULE]]
    more = len(details) - len(shown)
    examples = "; ".join(shown) + (f"; {_ELLIPSIS} and {more} more" if more > 0 else "")
    return f"[{first.code}] {first.title}{note}{times}: {examples}"


def _one_line(text: str, limit: int) -> str:
    """``text`` on one line (line breaks and tabs become spaces), cut to ``limit`` characters."""
    flat = text.translate(_FLATTEN).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + _ELLIPSIS


_FLATTEN = str.maketrans({"\r": " ", "\n": " ", "\t": " ", "\v": " ", "\f": " "})


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
