"""Typed errors with stable codes and the exit codes they map to.

Two families, kept apart so that a verdict only ever speaks about the API:

* :class:`ConformanceError`: a problem the user can fix before anything is sent (bad arguments, a key
  that cannot sign, a base URL that is not the API). The CLI prints it as one line and exits.
* :class:`NotAssessable`: raised *while* testing when an answer says nothing about the contract (the
  token endpoint refused the client, the target stopped answering, a rate limit outlasted the retry
  budget, the production budget is spent). The test that meets it is reported as inconclusive, never
  as failed; the kinds that make every later test meaningless stop the run. It derives from
  ``BaseException`` on purpose: hypothesis and schemathesis treat an ``Exception`` in a test as a
  failure to shrink and replay, which would turn one refused token into a burst of them.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of ``notify-conformance`` (documented in the README)."""

    OK = 0
    #: the target deviates from the documented contract
    FAILURES = 1
    #: usage or configuration error, found before any request was sent
    USAGE = 2
    #: the target is unavailable, or the run is inconclusive (stopped, rate limited, budget spent)
    UNREACHABLE = 3
    #: the token endpoint refused the supplier's client (key id, key, API key or product not set up)
    CLIENT_REFUSED = 4
    #: interrupted (Ctrl-C)
    INTERRUPTED = 130


class ConformanceError(Exception):
    """Base class: a problem the suite reports in one line, with a stable code."""

    code = "NC000"
    exit_code = ExitCode.USAGE

    def __str__(self) -> str:
        return f"{self.code}: {super().__str__()}"


class UsageError(ConformanceError):
    """Wrong or conflicting command-line arguments."""

    code = "NC001"


class ConfigurationError(ConformanceError):
    """The environment's configuration is incomplete or invalid (URLs, environment variables)."""

    code = "NC002"


class CredentialsError(ConformanceError):
    """A private key, API key or key id is missing, unreadable or malformed."""

    code = "NC003"


class NotTheApi(ConformanceError):
    """The base URL answers HTTP, but not like the NHS Notify API (wrong path, a redirect, a web page)."""

    code = "NC011"


class NotAssessable(BaseException):
    """An answer that says nothing about the API; see the module docstring for why BaseException."""

    code = "NC100"
    exit_code = ExitCode.UNREACHABLE
    #: True when no later test could be assessed either, so the run stops here
    stops_run = False
    #: how the readiness names the outcome ("inconclusive: ...", "not assessed: ...")
    label = "inconclusive"

    def __str__(self) -> str:
        return f"{self.code}: {super().__str__()}"

    @property
    def detail(self) -> str:
        """The message without the code, for sentences like "not assessed: ..."."""
        return super().__str__()


class TokenEndpointError(NotAssessable):
    """The OAuth2 token endpoint refused our client assertion, or answered something that is no token."""

    code = "NC004"
    exit_code = ExitCode.CLIENT_REFUSED
    stops_run = True
    label = "not assessed"


class TargetUnreachable(NotAssessable):
    """The API under test could not be reached, or stopped answering (refused, timed out, not HTTP)."""

    code = "NC005"
    stops_run = True
    label = "not assessed"


class SafetyRefusal(NotAssessable):
    """The transport refused to send a request the environment's safety policy forbids."""

    code = "NC006"


class RateLimited(NotAssessable):
    """The target kept answering 429/425/503 beyond the retry budget (or asked for a longer wait)."""

    code = "NC007"


class BudgetSpent(NotAssessable):
    """The environment's request or message-creation budget is spent (production-smoke)."""

    code = "NC008"


class RequestNotAnswered(NotAssessable):
    """One request got no HTTP answer in time, while the target otherwise still answers."""

    code = "NC009"


class RunTimeUp(NotAssessable):
    """``--max-duration`` has passed: the tests not yet run are not run."""

    code = "NC010"
    stops_run = True
    label = "not run"


class Interrupted(NotAssessable):
    """The user pressed Ctrl-C."""

    code = "NC012"
    exit_code = ExitCode.INTERRUPTED
    stops_run = True
    label = "not run"
