"""Typed errors with stable codes and the exit codes they map to.

Every problem a user can cause (bad arguments, a missing key, a target that is down) is raised as one
of these and printed by the CLI as a single line, never as a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of ``notify-conformance`` (documented in the README)."""

    OK = 0
    FAILURES = 1
    USAGE = 2
    UNREACHABLE = 3


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


class TokenEndpointError(ConformanceError):
    """The OAuth2 token endpoint refused our client assertion, or answered nonsense."""

    code = "NC004"
    exit_code = ExitCode.FAILURES


class TargetUnreachable(ConformanceError):
    """The API under test could not be reached (refused, timed out, or not HTTP)."""

    code = "NC005"
    exit_code = ExitCode.UNREACHABLE


class SafetyRefusal(ConformanceError):
    """The transport refused to send a request the environment's safety policy forbids."""

    code = "NC006"
    exit_code = ExitCode.FAILURES
