"""argparse types shared by every sub-command, so a bad value reads the same everywhere: one line,
exit 2 (see ``cli._Parser``)."""

from __future__ import annotations

import argparse

from conformance import settings


def _int(text: str, what: str = "a whole number") -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def non_negative(text: str) -> int:
    """0 or more (a seed, a budget)."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}")
    return value


def at_least_one(text: str) -> int:
    """1 or more (a count of workers, examples, callbacks)."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {text!r}")
    return value


def workers(text: str) -> int | str:
    """``auto`` or a count of at least 1."""
    try:
        return settings.parse_workers(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def port_number(text: str) -> int:
    """A TCP port, 0-65535 (0 picks a free one)."""
    value = _int(text, "a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return value


def requests_per_minute(text: str) -> int:
    """A rate limit in requests per minute, at least 1."""
    value = _int(text, "a whole number of requests")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 request per minute, got {text!r}")
    return value


def seconds(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``2h``."""
    try:
        return settings.parse_seconds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
