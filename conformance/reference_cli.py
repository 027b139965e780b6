"""``notify-conformance serve``: start the embedded reference API in the foreground.

Kept apart from :mod:`conformance.cli` so that the suite's command line never imports the reference
unless asked to serve it (the argument types below import nothing of it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from conformance import redaction
from conformance.errors import CredentialsError, ExitCode, UsageError

if TYPE_CHECKING:
    from conformance.reference.config import CallbackSettings, ReferenceConfig
    from conformance.reference.server import RunningReference

#: where ``--register-client`` reads the client's API key: never the command line, which ``ps`` and
#: shell history show to anyone
API_KEY_VARIABLE = "NOTIFY_API_KEY"
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")
#: where ``--callback-url`` reads the callback API key and application id (the ``callbacks`` command's
#: and the reference receiver's names), never the command line
CALLBACK_API_KEY_VARIABLE = "NOTIFY_CALLBACK_API_KEY"
APPLICATION_ID_VARIABLE = "NOTIFY_APPLICATION_ID"


def _read_public_key(spec: str) -> tuple[str, bytes]:
    """``KID:PUBLIC_KEY_PEM_PATH`` -> (kid, PEM). Never echoes ``spec``: an old-style one holds a key."""
    kid, _, path = spec.partition(":")
    if not kid or not path:
        raise UsageError("--register-client expects KID:PUBLIC_KEY_PEM_PATH")
    try:
        pem = Path(path).expanduser().read_bytes()
    except OSError as error:
        hint = ""
        if ":" in path:  # API_KEY:KID:PATH, the form this option took before
            hint = f" (the API key no longer goes on the command line: set {API_KEY_VARIABLE})"
        raise CredentialsError(
            f"--register-client: cannot read the public key file: {error.strerror}{hint}"
        ) from None
    if b"PUBLIC KEY" not in pem:
        raise CredentialsError(f"--register-client: {path} is not a PEM public key")
    return kid, pem


def _client_api_key(specs: list[str]) -> str:
    """The API key the ``--register-client`` keys belong to ("" when there are none)."""
    if not specs:
        return ""
    api_key = os.environ.get(API_KEY_VARIABLE, "").strip()
    if not api_key:
        raise UsageError(f"--register-client needs the client's API key in the {API_KEY_VARIABLE} variable")
    return api_key


def _check_faults(names: list[str], mode: str) -> None:
    from conformance.reference.faults import FAULTS, check_known

    try:
        check_known(names)
    except ValueError as error:
        raise UsageError(str(error)) from None
    for name in names:
        if mode not in FAULTS[name].modes:
            raise UsageError(f"fault {name!r} applies only to --mode {FAULTS[name].modes[0]}")


def _check_integration_only(args: argparse.Namespace) -> None:
    if args.mode == "integration":
        return
    given = [
        option
        for option, value in (
            ("--credentials-out", args.credentials_out),
            ("--register-client", args.register_client),
            ("--quota", args.quota),
            ("--spike-arrest", args.spike_arrest),
            ("--no-throttle", args.no_throttle),
        )
        if value
    ]
    if given:
        raise UsageError(f"{given[0]} applies only to --mode integration")


def _callback_url(option: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{option} expects an http:// or https:// URL")
    return value


def _callback_credentials(out: Path | None) -> tuple[str, str]:
    """(API key, application id) from the environment, or fresh ones when ``out`` will hold them."""
    api_key = os.environ.get(CALLBACK_API_KEY_VARIABLE, "").strip()
    application_id = os.environ.get(APPLICATION_ID_VARIABLE, "").strip()
    if api_key and application_id:
        return api_key, application_id
    if api_key or application_id:
        missing = APPLICATION_ID_VARIABLE if api_key else CALLBACK_API_KEY_VARIABLE
        raise UsageError(
            f"set {missing} as well, or neither (with --credentials-out, to have both generated)"
        )
    if out is None:
        raise UsageError(
            f"--callback-url: set {CALLBACK_API_KEY_VARIABLE} and {APPLICATION_ID_VARIABLE}, or give "
            "--credentials-out FILE to have them generated and written there"
        )
    return secrets.token_urlsafe(24), f"app-{secrets.token_hex(8)}"


def _callback_settings(args: argparse.Namespace) -> CallbackSettings | None:
    """The callbacks ``--callback-url`` and ``--channel-callback-url`` ask for; None without them."""
    from conformance.reference.config import CallbackSettings

    message_url = getattr(args, "callback_url", None)
    channel_url = getattr(args, "channel_callback_url", None)
    if not message_url and not channel_url:
        return None
    api_key, application_id = _callback_credentials(args.credentials_out)
    redaction.register(api_key, f"{application_id}.{api_key}")
    return CallbackSettings(
        message_status_url=_callback_url("--callback-url", message_url) if message_url else None,
        channel_status_url=_callback_url("--channel-callback-url", channel_url) if channel_url else None,
        api_key=api_key,
        application_id=application_id,
    )


def _add_callback_credentials(path: Path, server: RunningReference) -> None:
    """Add the callbacks' key, application id and URLs to the credentials file (still 0600)."""
    settings = server.config.callbacks
    assert settings is not None
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    document["callbacks"] = {
        "api_key": settings.api_key,
        "application_id": settings.application_id,
        "message_status_url": settings.message_status_url,
        "channel_status_url": settings.channel_status_url,
        "deliveries_url": server.callbacks_url,
        "environment": {
            CALLBACK_API_KEY_VARIABLE: settings.api_key,
            APPLICATION_ID_VARIABLE: settings.application_id,
        },
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")


def _callback_lines(server: RunningReference, out: Path | None) -> list[str]:
    settings, step = server.config.callbacks, server.config.timeline_step_s
    assert settings is not None
    lines = [
        f"message status callbacks to {settings.message_status_url or '(none)'}; channel status callbacks "
        f"to {settings.channel_status_url or '(none)'}",
        f"statuses move every {step} s; failed callbacks retried for {settings.retry_window_s:g} s; what "
        f"was sent: GET {server.callbacks_url}",
    ]
    if out is None:
        lines.append(
            f"callback API key and application id: from ${CALLBACK_API_KEY_VARIABLE} and "
            f"${APPLICATION_ID_VARIABLE}"
        )
    return lines


def list_faults() -> str:
    """One line per fault: name, modes, expected areas, the behaviour it breaks and where it is documented."""
    from conformance.reference.faults import FAULTS

    width = max(len(name) for name in FAULTS)
    lines = []
    for fault in FAULTS.values():
        modes = "both" if len(fault.modes) > 1 else fault.modes[0]
        areas = ", ".join(fault.areas)
        lines.append(f"{fault.name:<{width}}  {modes:<11} [{areas}] {fault.breaks} ({fault.section})")
    return "\n".join(lines) + "\n"


def listening_line(mode: str, host: str, bound_address: str, base_url: str) -> str:
    """The banner's first line. A wildcard bind names the address really bound, then a URL that works."""
    if host in _WILDCARD_HOSTS:
        return f"reference API ({mode}) listening on {bound_address}; base URL {base_url}"
    return f"reference API ({mode}) listening on {base_url}"


def _config(args: argparse.Namespace, callbacks: CallbackSettings | None = None) -> ReferenceConfig:
    from conformance.reference.config import ReferenceConfig

    config = ReferenceConfig(
        mode=args.mode,
        host=args.host,
        port=args.port,
        faults=frozenset(args.fault),
        throttle=args.mode == "integration" and not args.no_throttle,
        callbacks=callbacks,
    )
    if args.quota is not None:
        config = dataclasses.replace(config, quota_per_minute=args.quota)
    if args.spike_arrest is not None:
        config = dataclasses.replace(config, spike_arrest_per_minute=args.spike_arrest)
    return config


def serve_command(args: argparse.Namespace) -> ExitCode:
    from conformance.reference.oauth import generate_client, generate_special_clients, write_credentials_file
    from conformance.reference.server import serve

    if args.mode != "integration":
        for option, value in (
            ("--callback-url", getattr(args, "callback_url", None)),
            ("--channel-callback-url", getattr(args, "channel_callback_url", None)),
        ):
            if value:
                raise UsageError(f"{option} applies only to --mode integration")
    if args.mode == "receiver":
        from conformance.reference.receiver import serve_command as serve_receiver

        return serve_receiver(args)
    if args.list_faults:
        sys.stdout.write(list_faults())
        return ExitCode.OK
    _check_faults(args.fault, args.mode)
    _check_integration_only(args)
    api_key = _client_api_key(args.register_client)
    clients = [_read_public_key(spec) for spec in args.register_client]
    out: Path | None = args.credentials_out
    if out is not None and not out.parent.is_dir():
        raise UsageError(f"--credentials-out: folder {out.parent} does not exist")
    config = _config(args, _callback_settings(args))

    def on_ready(server: RunningReference) -> None:
        for kid, pem in clients:
            try:
                server.registry.register(api_key, kid, pem)
            except ValueError as error:
                raise CredentialsError(f"cannot register client {kid!r}: {error}") from None
        lines = [listening_line(config.mode, config.host, server.bound_address, server.base_url)]
        if config.faults:
            lines.append(f"deliberate faults: {', '.join(sorted(config.faults))}")
        if config.mode == "integration":
            lines.append(f"token endpoint: {server.token_url}")
            if config.throttle:
                lines.append(
                    f"rate limits per application: quota {config.quota_per_minute}/min, spike arrest "
                    f"{config.spike_arrest_per_minute}/min; traffic counters at {server.traffic_url}"
                )
            else:
                lines.append(f"rate limits off; traffic counters at {server.traffic_url}")
            if config.callbacks is not None:
                lines += _callback_lines(server, out)
        if out is not None:
            keys = out.parent / f"{out.stem}-keys"
            keys.mkdir(mode=0o700, exist_ok=True)
            main = generate_client(server.registry, keys)
            extra = generate_special_clients(server.registry, keys)
            write_credentials_file(out, main, server.base_url, server.token_url, extra)
            if config.callbacks is not None:
                _add_callback_credentials(out, server)
                lines.append(f"client credentials, callback API key and application id written to {out}")
            else:
                lines.append(f"client credentials written to {out}")
        lines.append("press Ctrl-C to stop")
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()

    def on_stop(server: RunningReference) -> None:
        sys.stdout.write(server.traffic.summary() + "\n")
        if server.callbacks is not None:
            sys.stdout.write(server.callbacks.summary() + "\n")
        sys.stdout.flush()

    try:
        serve(config, on_ready, on_stop)
    except OSError as error:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
    return ExitCode.OK
