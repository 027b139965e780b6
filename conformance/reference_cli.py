"""``notify-conformance serve``: start the embedded reference API in the foreground.

Kept apart from :mod:`conformance.cli` so that the suite's command line never imports the reference
unless asked to serve it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.errors import CredentialsError, ExitCode, UsageError


def _read_public_key(spec: str) -> tuple[str, str, bytes]:
    parts = spec.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise UsageError(f"--register-client expects API_KEY:KID:PUBLIC_KEY_PEM, got {spec!r}")
    api_key, kid, path = parts
    try:
        pem = Path(path).expanduser().read_bytes()
    except OSError as error:
        raise CredentialsError(f"cannot read the public key {path}: {error.strerror}") from None
    if b"PUBLIC KEY" not in pem:
        raise CredentialsError(f"{path} is not a PEM public key")
    return api_key, kid, pem


def _check_faults(names: list[str], mode: str) -> None:
    from conformance.reference.faults import FAULTS, unknown

    if missing := unknown(names):
        raise UsageError(f"unknown fault {missing[0]!r} (see '--list-faults')")
    for name in names:
        if mode not in FAULTS[name].modes:
            raise UsageError(f"fault {name!r} applies only to --mode {FAULTS[name].modes[0]}")


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


def serve_command(args: argparse.Namespace) -> ExitCode:
    from conformance.reference.oauth import generate_client, write_credentials_file
    from conformance.reference.server import ReferenceConfig, RunningReference, serve

    if args.list_faults:
        sys.stdout.write(list_faults())
        return ExitCode.OK
    _check_faults(args.fault, args.mode)
    if args.mode != "integration" and (args.credentials_out or args.register_client):
        raise UsageError("--credentials-out and --register-client apply only to --mode integration")
    clients = [_read_public_key(spec) for spec in args.register_client]
    config = ReferenceConfig(mode=args.mode, host=args.host, port=args.port, faults=frozenset(args.fault))
    out: Path | None = args.credentials_out
    if out is not None and not out.parent.is_dir():
        raise UsageError(f"--credentials-out: folder {out.parent} does not exist")

    def on_ready(server: RunningReference) -> None:
        for api_key, kid, pem in clients:
            try:
                server.registry.register(api_key, kid, pem)
            except ValueError as error:
                raise CredentialsError(f"cannot register client {kid!r}: {error}") from None
        lines = [f"reference API ({config.mode}) listening on {server.base_url}"]
        if config.faults:
            lines.append(f"deliberate faults: {', '.join(sorted(config.faults))}")
        if config.mode == "integration":
            lines.append(f"token endpoint: {server.token_url}")
        if out is not None:
            keys = out.parent / f"{out.stem}-keys"
            keys.mkdir(mode=0o700, exist_ok=True)
            main = generate_client(server.registry, keys)
            extra = {
                "short_lived": generate_client(server.registry, keys, token_lifetime_s=2),
                "not_onboarded": generate_client(server.registry, keys, onboarded=False),
            }
            write_credentials_file(out, main, server.base_url, server.token_url, extra)
            lines.append(f"client credentials written to {out}")
        lines.append("press Ctrl-C to stop")
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()

    try:
        serve(config, on_ready)
    except OSError as error:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
    return ExitCode.OK
