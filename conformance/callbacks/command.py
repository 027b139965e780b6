"""``notify-conformance callbacks``: act as NHS Notify towards a supplier's callback receiver.

Everything that can be checked before sending is checked first (the credentials in the environment, the
URLs, ``--rate-limit``, ``--max-callbacks``, ``--reports``): a problem is one line and exit 2, with nothing
sent. Then the plan is sent (:mod:`.runner`), the table and verdict printed, the reports written. Exit
codes are the CLI's: 0 passed, 1 the receiver deviates, 2 usage, 3 the receiver is unreachable (or the run
is inconclusive).

The credentials come only from the environment, never the command line (``ps`` and shell history show
it): ``NOTIFY_CALLBACK_API_KEY`` (the key agreed at onboarding) and ``NOTIFY_APPLICATION_ID`` (the
application id; the signing key is ``<application id>.<API key>``, behaviour §5).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from conformance import arguments, redaction
from conformance.errors import ConfigurationError, CredentialsError, ExitCode, TargetUnreachable, UsageError

API_KEY_VARIABLE = "NOTIFY_CALLBACK_API_KEY"
APPLICATION_ID_VARIABLE = "NOTIFY_APPLICATION_ID"
DEFAULT_RATE_LIMIT = "10/s"
DEFAULT_MAX_CALLBACKS = 300
#: the sender's request timeout (ops §1.3)
DEFAULT_TIMEOUT_S = 30.0
#: the shortest secret :mod:`conformance.redaction` can remove wherever it appears
_SHORTEST_SECRET = 6


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``callbacks`` (the parser is made by :mod:`conformance.cli`)."""
    parser.add_argument(
        "--receiver-url",
        required=True,
        metavar="URL",
        help="the receiver's message status callback URL (and the channel status one, unless given below)",
    )
    parser.add_argument(
        "--channel-receiver-url",
        metavar="URL",
        help="the channel status callback URL (default: --receiver-url)",
    )
    parser.add_argument(
        "--rate-limit",
        metavar="RATE",
        default=DEFAULT_RATE_LIMIT,
        help=f"pacing, e.g. 10/s or 5/s,240/min, or off (default: {DEFAULT_RATE_LIMIT}, the sender's own)",
    )
    parser.add_argument(
        "--max-callbacks",
        type=arguments.at_least_one,
        default=DEFAULT_MAX_CALLBACKS,
        metavar="N",
        help=f"the most callbacks sent, resends included; the generated checks get what the example checks "
        f"leave (default: {DEFAULT_MAX_CALLBACKS})",
    )
    parser.add_argument(
        "--timeout",
        type=arguments.seconds,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"how long an answer may take (default: {DEFAULT_TIMEOUT_S:g}, the sender's timeout)",
    )
    parser.add_argument(
        "--seed", type=arguments.non_negative, help="seed of the generated callbacks; replays an earlier run"
    )
    parser.add_argument(
        "--reports", type=Path, metavar="DIR", help="write callbacks.json and callbacks-junit.xml"
    )


def check_url(option: str, text: str) -> str:
    """``text`` when it is a URL a receiver can be sent to (a one-line UsageError otherwise)."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise UsageError(f"{option}: not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{option}: expected an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise UsageError(f"{option}: the URL must not hold credentials (user:password@)")
    if parts.fragment:
        raise UsageError(f"{option}: the URL must not have a #fragment")
    if port == 0:
        raise UsageError(f"{option}: port 0 is not a port a receiver listens on")
    return text


def credentials_from(environ: Mapping[str, str]) -> tuple[str, str]:
    """(application id, API key) from the environment, registered with :mod:`conformance.redaction`;
    a one-line error when one is missing or the key is too short to be an agreed key."""
    api_key = environ.get(API_KEY_VARIABLE, "").strip()
    application_id = environ.get(APPLICATION_ID_VARIABLE, "").strip()
    missing = [
        f"{name} ({what})"
        for name, value, what in (
            (API_KEY_VARIABLE, api_key, "the API key agreed for callbacks"),
            (APPLICATION_ID_VARIABLE, application_id, "the application id"),
        )
        if not value
    ]
    if missing:
        raise ConfigurationError(
            f"set {' and '.join(missing)} in the environment; they never go on the command line"
        )
    redaction.register(api_key, f"{application_id}.{api_key}")
    if len(api_key) < _SHORTEST_SECRET:
        raise CredentialsError(
            f"{API_KEY_VARIABLE} is shorter than {_SHORTEST_SECRET} characters: too short to be an agreed key"
        )
    return application_id, api_key


def callbacks_command(args: argparse.Namespace) -> ExitCode:
    from conformance.callbacks.delivery_run import run_plan
    from conformance.callbacks.plan import Credentials, build_plan
    from conformance.callbacks.report import check_writable, summary, verdict, write_reports
    from conformance.callbacks.schema import Kind
    from conformance.callbacks.sender import Sender
    from conformance.pacing import Pacer, RateLimit

    application_id, api_key = credentials_from(os.environ)
    message_url = check_url("--receiver-url", args.receiver_url)
    channel_url = check_url("--channel-receiver-url", args.channel_receiver_url or args.receiver_url)
    limit = RateLimit.parse(args.rate_limit)
    folder: Path | None = args.reports
    if folder is not None:
        try:
            check_writable(folder)
        except OSError as error:
            raise UsageError(f"--reports: cannot write to {folder}: {error.strerror or error}") from None
    run_seed = args.seed if args.seed is not None else secrets.randbelow(2**32)
    credentials = Credentials(application_id, api_key)
    plan = build_plan(credentials, args.max_callbacks, run_seed)

    urls = {Kind.MESSAGE_STATUS: message_url, Kind.CHANNEL_STATUS: channel_url}
    with Sender(urls, args.timeout) as sender:
        run = run_plan(plan, sender, pacer=Pacer(limit) if limit else None, rate_limit=str(limit or "off"))
    secret_values = [api_key, f"{application_id}.{api_key}"]
    written = write_reports(run, folder, secret_values) if folder is not None else []
    if run.stopped is not None and run.stopped_at_first:
        raise TargetUnreachable(run.stopped)
    text = summary(run)
    if written:
        text += "Reports: " + ", ".join(str(path) for path in written) + "\n"
    sys.stdout.write(redaction.redact(text))
    sys.stdout.flush()
    if run.stopped is not None:
        raise TargetUnreachable(run.stopped)
    return verdict(run).exit_code
