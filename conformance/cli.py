"""The ``notify-conformance`` command: ``run`` the suite, ``serve`` the reference API, ``selftest``.

Every problem the user can cause ends in one line on stderr and a documented exit code (see
:class:`conformance.errors.ExitCode`), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from conformance import arguments, environments
from conformance._version import __version__
from conformance.errors import ConformanceError, ExitCode, NotAssessable

PROG = "notify-conformance"


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in our one-line form with exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{PROG}: error: {message} (see '{PROG} {self._sub_name()}--help')\n")
        raise SystemExit(int(ExitCode.USAGE))

    def _sub_name(self) -> str:
        name = self.prog.removeprefix(PROG).strip()
        return f"{name} " if name else ""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Conformance suite for the NHS Notify API.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="run the conformance suite against an environment")
    run.add_argument("--env", choices=environments.ENVIRONMENTS, help="default: local")
    run.add_argument("--base-url", help="override the environment's API base URL (…/comms)")
    run.add_argument("--token-url", help="override the environment's OAuth2 token URL")
    run.add_argument("--reports", help="report folder (default: reports/)")
    run.add_argument("-k", dest="keyword", help="only tests matching this pytest -k expression")
    run.add_argument("-m", dest="markers", help="only tests matching this pytest -m expression")
    run.add_argument("--max-examples", type=arguments.non_negative, help="examples per property-based test")
    run.add_argument("--seed", type=arguments.non_negative, help="property-test seed; replays an earlier run")
    run.add_argument("--test-patient", help="production-smoke: the NHS number messages may be sent to")
    run.add_argument("--routing-plan", help="routing plan id for created messages (integration/production)")
    run.add_argument(
        "--rate-limit",
        metavar="RATE",
        help="client-side pacing, e.g. 10/s,900/min, or off "
        "(default: integration and sandbox 10/s,900/min; production-smoke 2/s,60/min; local off)",
    )
    run.add_argument(
        "--timeout", type=arguments.seconds, help="seconds to wait for each answer (default: 35)"
    )
    run.add_argument("--max-duration", type=arguments.seconds, help="time the whole run may take, e.g. 30m")
    run.add_argument(
        "--max-creates",
        type=arguments.non_negative,
        help="production-smoke: messages (and batches of one) the run may create (default: 1)",
    )
    run.add_argument(
        "--plan",
        action="store_true",
        help="print the requests, message creations and time the run would take; send nothing to the target",
    )
    run.add_argument(
        "--baseline",
        metavar="DIR",
        help="compare with the run whose reports are in DIR (default: the earlier run in --reports, if any)",
    )
    run.add_argument(
        "--strict-contract",
        action="store_true",
        default=None,
        help="fail on contract drift (undocumented members, headers, enum values, statuses) "
        "instead of only reporting it",
    )
    run.add_argument(
        "--callback-receiver-url",
        metavar="URL",
        help="remote environments: also check your callback receiver at this message status URL (the "
        "callbacks area; NOTIFY_CALLBACK_API_KEY and NOTIFY_APPLICATION_ID from the environment)",
    )
    run.add_argument(
        "--channel-callback-receiver-url",
        metavar="URL",
        help="your channel status callback URL (default: --callback-receiver-url)",
    )
    run.add_argument(
        "--workers",
        type=arguments.workers,
        metavar="N",
        help="local: test processes sharing the run (default: auto, one per CPU core, at most "
        f"{environments.MAX_AUTO_WORKERS}; 1 runs the suite in this process)",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="less pytest output")
    # local only: start the reference with deliberate faults (the self-test's building block)
    run.add_argument("--fault", action="append", default=[], help=argparse.SUPPRESS)

    from conformance.reference_cli import API_KEY_VARIABLE

    serve = commands.add_parser("serve", help="start the embedded reference API on loopback")
    serve.add_argument("--mode", choices=("sandbox", "integration", "receiver"), default="sandbox")
    serve.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (0.0.0.0: every interface)")
    serve.add_argument(
        "--port", type=arguments.port_number, default=0, help="0-65535; 0 picks a free port (default)"
    )
    serve.add_argument("--credentials-out", type=Path, help="integration: write a fresh client's credentials")
    serve.add_argument(
        "--register-client",
        action="append",
        default=[],
        metavar="KID:PUBLIC_KEY_PEM_PATH",
        help="integration: register your client's RSA public key under KID; its API key is read from "
        f"${API_KEY_VARIABLE}, never the command line (repeatable: several keys of one application)",
    )
    serve.add_argument(
        "--quota",
        type=arguments.requests_per_minute,
        metavar="N",
        help="integration: requests per minute per application (default: live's 1200)",
    )
    serve.add_argument(
        "--spike-arrest",
        type=arguments.requests_per_minute,
        metavar="N",
        help="integration: spike arrest per minute per application, smoothed: 6000 allows one request "
        "per 10 ms (default: live's 6000)",
    )
    serve.add_argument(
        "--no-throttle",
        action="store_true",
        help="integration: no rate limits (they are on by default; the special 'throttled' client keeps "
        "its own)",
    )
    serve.add_argument(
        "--callback-url",
        metavar="URL",
        help="integration: send each message status change, signed, to this receiver URL (key and "
        "application id from NOTIFY_CALLBACK_API_KEY and NOTIFY_APPLICATION_ID, else generated into "
        "--credentials-out)",
    )
    serve.add_argument(
        "--channel-callback-url",
        metavar="URL",
        help="integration: send each channel status change to this receiver URL",
    )
    serve.add_argument(
        "--fault", action="append", default=[], metavar="NAME", help="start with this deliberate fault"
    )
    serve.add_argument("--list-faults", action="store_true", help="list the deliberate faults and exit")

    from conformance.callbacks.command import add_arguments as add_callbacks_arguments

    add_callbacks_arguments(
        commands.add_parser("callbacks", help="act as NHS Notify towards your callback receiver and check it")
    )

    selftest = commands.add_parser(
        "selftest", help="prove the suite catches every deliberate fault of the reference API"
    )
    selftest.add_argument(
        "--quick", action="store_true", help="run only the tests of each fault's areas (faster, no document)"
    )
    selftest.add_argument(
        "--fault", action="append", default=[], metavar="NAME", help="only this fault (repeatable)"
    )
    selftest.add_argument(
        "--max-examples",
        type=arguments.at_least_one,
        default=5,
        help="examples per property-based test (default: 5)",
    )
    selftest.add_argument(
        "--jobs",
        type=arguments.at_least_one,
        # each job also waits on timers (a throttled client's pace, a token's expiry), so two more
        # workers than cores keep the cores busy: 433 s against 482 s with one more (2 cores, full mode)
        default=(os.cpu_count() or 1) + 2,
        help="worker processes (default: CPUs + 2)",
    )
    selftest.add_argument("--seed", type=arguments.non_negative, help="property-test seed (default: random)")
    selftest.add_argument("--reports", default="reports", type=Path, help="report folder (default: reports/)")
    selftest.add_argument(
        "--doc",
        default="docs/kill-matrix.md",
        type=Path,
        help="the checked-in kill matrix, rewritten by a full run (default: docs/kill-matrix.md)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            from conformance.runner import run

            return int(run(args))
        if args.command == "callbacks":
            from conformance.callbacks.command import callbacks_command

            return int(callbacks_command(args))
        if args.command == "selftest":
            from conformance.selftest import selftest_command

            return int(selftest_command(args))
        return int(_serve(args))
    except ConformanceError as error:
        sys.stderr.write(f"{PROG}: error: {error}\n")
        return int(error.exit_code)
    except NotAssessable as error:
        sys.stderr.write(f"{PROG}: {error.label}: {error}\n")
        return int(error.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130


def _serve(args: argparse.Namespace) -> ExitCode:
    from conformance.reference_cli import serve_command

    return serve_command(args)


def entry() -> NoReturn:
    raise SystemExit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
