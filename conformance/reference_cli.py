"""``notify-conformance serve``: start the embedded reference API in the foreground.

Kept apart from :mod:`conformance.cli` so that the suite's command line never imports the reference
unless asked to serve it (the argument types below import nothing of it).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.errors import CredentialsError, ExitCode, UsageError

if TYPE_CHECKING:
    from conformance.reference.config import ReferenceConfig

#: where ``--register-client`` reads the client's API key: never the command line, which ``ps`` and
#: shell history show to anyone
API_KEY_VARIABLE = "NOTIFY_API_KEY"
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")


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


def _config(args: argparse.Namespace) -> ReferenceConfig:
    from conformance.reference.config import ReferenceConfig

    config = ReferenceConfig(
        mode=args.mode,
        host=args.host,
        port=args.port,
        faults=frozenset(args.fault),
        throttle=args.mode == "integration" and not args.no_throttle,
    )
    if args.quota is not None:
        config = dataclasses.replace(config, quota_per_minute=args.quota)
    if args.spike_arrest is not None:
        config = dataclasses.replace(config, spike_arrest_per_minute=args.spike_arrest)
    return config


def serve_command(args: argparse.Namespace) -> ExitCode:
    from conformance.reference.oauth import generate_client, generate_special_clients, write_credentials_file
    from conformance.reference.server import RunningReference, serve

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
    config = _config(args)
    out: Path | None = args.credentials_out
    if out is not None and not out.parent.is_dir():
        raise UsageError(f"--credentials-out: folder {out.parent} does not exist")

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
        if out is not None:
            keys = out.parent / f"{out.stem}-keys"
            keys.mkdir(mode=0o700, exist_ok=True)
            main = generate_client(server.registry, keys)
            extra = generate_special_clients(server.registry, keys)
            write_credentials_file(out, main, server.base_url, server.token_url, extra)
            lines.append(f"client credentials written to {out}")
        lines.append("press Ctrl-C to stop")
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()

    def on_stop(server: RunningReference) -> None:
        sys.stdout.write(server.traffic.summary() + "\n")
        sys.stdout.flush()

    try:
        serve(config, on_ready, on_stop)
    except OSError as error:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
    return ExitCode.OK
