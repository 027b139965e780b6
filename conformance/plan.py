"""``run --plan``, and the budget check every production-smoke run makes first: rehearse the chosen run
against the embedded reference (in a child process, so the real run starts clean), then say how many
requests and message creations it makes and how long pacing makes it take. Nothing is sent to the
target. A production-smoke plan that does not fit its budgets is refused before the first request.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from conformance import environments
from conformance._resources import child_environment
from conformance.environments import Options
from conformance.errors import ConformanceError, ExitCode, UsageError

#: the live per-application quota the plan is compared with (requests a minute)
LIVE_QUOTA_PER_MINUTE = 1200
_REHEARSAL_TIMEOUT_S = 900


@dataclass(frozen=True)
class Plan:
    """What the chosen run will send."""

    tests: int
    requests: int
    token_requests: int
    #: create requests (message, batch), whatever the answer: what production's budget counts
    messages: int
    batches: int
    #: of those, answered 201: work the target's backend really does
    messages_created: int
    batches_created: int

    def seconds(self, options: Options) -> float:
        pacing = options.pacing
        return 0.0 if pacing is None else pacing.minimum_seconds(self.requests)

    def lines(self, options: Options) -> list[str]:
        pacing = options.pacing
        minutes, seconds = divmod(round(self.seconds(options)), 60)
        paced = (
            f"pacing at {pacing} makes it take at least {minutes} min {seconds:02d} s"
            if pacing is not None
            else "not paced (--rate-limit off)"
        )
        lines = [
            f"Plan for --env {options.env}: {self.tests} tests, about {self.requests} requests "
            f"({self.token_requests} to the token endpoint)",
            f"Creates: {self.messages + self.batches} create requests ({self.messages} single, "
            f"{self.batches} batch), of which {self.messages_created} messages and {self.batches_created} "
            "batches are accepted (201); the rest test refusals",
            f"Time: {paced}",
        ]
        per_minute = _per_minute(options)
        if per_minute is not None and options.env != "sandbox":
            fits = "inside" if per_minute <= LIVE_QUOTA_PER_MINUTE else "ABOVE"
            lines.append(
                f"Rate: at most {per_minute} requests a minute, {fits} the live quota of "
                f"{LIVE_QUOTA_PER_MINUTE} a minute per application"
            )
        budget = _budget(options)
        if budget is not None:
            requests, creates = budget
            lines.append(
                f"Budget: {self.requests} of {requests} requests, {self.messages} of {creates} "
                f"create-message request(s), {self.batches} of {creates} create-batch request(s)"
            )
        lines.append("Counted by rehearsing the run against the embedded reference; nothing was sent.")
        return lines

    def refusal(self, options: Options) -> str | None:
        """Why a production-smoke run with this plan must not start, or None."""
        budget = _budget(options)
        if budget is None:
            return None
        requests, creates = budget
        if self.requests > requests:
            return (
                f"the plan needs about {self.requests} requests, more than production-smoke's budget of "
                f"{requests}; lower --max-examples or narrow the run with -k"
            )
        if self.messages > creates or self.batches > creates:
            return (
                f"the plan creates {self.messages} message(s) and {self.batches} batch(es), more than "
                f"--max-creates {creates} allows; raise --max-creates or narrow the run with -k"
            )
        return None


def _per_minute(options: Options) -> int | None:
    pacing = options.pacing
    if pacing is None:
        return None
    candidates = [n for n in (pacing.per_minute, pacing.per_second and pacing.per_second * 60) if n]
    return min(candidates) if candidates else None


def _budget(options: Options) -> tuple[int, int] | None:
    if options.env != "production-smoke":
        return None
    requests = environments.budget_for(options).request_budget or 0
    return requests, 1 if options.max_creates is None else options.max_creates


def rehearse(options: Options, argv: list[str]) -> Plan:
    """Run ``argv`` (the run's pytest arguments) against the reference in a child process."""
    with tempfile.TemporaryDirectory(prefix="notify-conformance-plan-") as scratch:
        out = Path(scratch) / "traffic.json"
        child = [
            sys.executable,
            "-P",  # with child_environment: this installation, not the current folder's conformance/
            "-m",
            "pytest",
            *argv,  # the plugin among them (-p conformance.plugin)
            "--notify-rehearse",
            str(out),
            "--notify-local-in-process",  # as before: the rehearsal is already a child process
            "--notify-rate-limit",
            "off",
            "-q",
            "--tb=no",
            "--no-header",
        ]
        try:
            done = subprocess.run(
                child,
                capture_output=True,
                text=True,
                timeout=_REHEARSAL_TIMEOUT_S,
                check=False,
                env=child_environment(os.environ),
            )
        except subprocess.TimeoutExpired:
            raise ConformanceError("the plan's rehearsal took too long") from None
        if not out.is_file():
            last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
            raise UsageError(f"the plan could not be worked out: {last}")
        data = json.loads(out.read_text(encoding="utf-8"))
    probes = 1
    return Plan(
        tests=int(data["tests"]),
        requests=int(data["requests"]) + probes,
        token_requests=int(data["token_requests"]),
        messages=int(data["messages"]),
        batches=int(data["batches"]),
        messages_created=int(data["messages_created"]),
        batches_created=int(data["batches_created"]),
    )


def print_plan(options: Options, args: argparse.Namespace, argv: list[str]) -> ExitCode:
    """``run --plan``: the plan on stdout; exit 2 when production-smoke's budget cannot hold it."""
    plan = rehearse(options, argv)
    sys.stdout.write("\n".join(plan.lines(options)) + "\n")
    refusal = plan.refusal(options)
    if refusal is not None:
        raise UsageError(refusal)
    return ExitCode.OK


def check_budget(options: Options, argv: list[str]) -> Plan:
    """Before a production-smoke run: refuse a plan that does not fit (exit 2, nothing sent)."""
    plan = rehearse(options, argv)
    refusal = plan.refusal(options)
    if refusal is not None:
        raise UsageError(refusal)
    return plan
