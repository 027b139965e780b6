"""The child process that runs the local environment's servers (``python -m conformance.local_servers``),
so that they answer from a core of their own instead of contending for the test process's GIL.

The protocol, driven by :func:`conformance.local_env.servers_in_child`: one JSON line on stdin (the
options and the scratch key folder), one JSON line back on stdout (the environment as plain data, or the
error that kept the servers from starting), then the servers run until stdin closes (the parent is done,
or died) or SIGTERM arrives. Secrets travel only over these pipes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from conformance.environments import environment_to_data, options_from_data
from conformance.errors import ConformanceError
from conformance.local_env import servers_in_process


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # out of the wait on stdin, through the servers' context managers


def main() -> int:
    """Start the servers as the parent asks, answer with their environment, run until told to stop."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us in order
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints must never corrupt the answer
    request = sys.stdin.readline()
    if not request:
        return 0  # the parent went away before asking
    with contextlib.ExitStack() as stack:
        try:
            asked = json.loads(request)
            options, keys = options_from_data(asked["options"]), Path(asked["keys"])
            environment = stack.enter_context(servers_in_process(options, keys))
        except Exception as error:  # whatever it is, the parent shows it as one line
            why = str(error) if isinstance(error, ConformanceError) else f"{type(error).__name__}: {error}"
            answers.write(json.dumps({"error": why}) + "\n")
            return 1
        answers.write(json.dumps({"environment": environment_to_data(environment)}) + "\n")
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
