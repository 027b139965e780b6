"""Where a run's settings come from. A flag beats an environment variable, which beats the config file,
which beats the default. The file is ``notify-conformance.toml`` (top-level keys) or the
``[tool.notify-conformance]`` table of ``pyproject.toml``, found in the working folder or the nearest
folder above it that has one, as ``schemathesis.toml`` is, so a supplier's CI does not repeat its flags.

Secrets (the API key, the private key and its passphrase) come only from the environment: a file that
names one is refused, because files get committed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import UsageError

FILE_NAME = "notify-conformance.toml"
PYPROJECT_TABLE = "notify-conformance"
_SECRETS = frozenset(
    {"api-key", "private-key", "key-id", "passphrase", "private-key-passphrase", "client-secret"}
)


def parse_seconds(text: str | float) -> float:
    """``90``, ``"90s"``, ``"15m"``, ``"2h"`` as seconds (more than 0)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        units = {"s": 1, "m": 60, "h": 3600}
        raw = str(text).strip()
        number, unit = (raw[:-1], units[raw[-1]]) if raw and raw[-1] in units else (raw, 1)
        try:
            value = float(number) * unit
        except ValueError:
            raise ValueError(f"expected seconds like 90, 90s, 15m or 2h, got {text!r}") from None
    if not value > 0:
        raise ValueError(f"expected more than 0 seconds, got {text!r}")
    return value


def _whole(text: str | int) -> int:
    if isinstance(text, bool):
        raise ValueError(f"expected a whole number, got {text!r}")
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise ValueError(f"expected a number of at least 0, got {text!r}")
    return value


#: ``--workers auto``: the default, one test process per CPU core (see ``Options.test_processes``)
AUTO_WORKERS = "auto"


def parse_workers(text: str | int) -> int | str:
    """``auto`` or a count of at least 1."""
    if isinstance(text, str) and text.strip().lower() == AUTO_WORKERS:
        return AUTO_WORKERS
    try:
        value = _whole(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"expected {AUTO_WORKERS} or a number of at least 1, got {text!r}")
    return value


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _boolean(text: str | bool) -> bool:
    """``true``/``false`` in a file; ``1``, ``true``, ``yes``, ``on`` (or the opposites) in a variable."""
    if isinstance(text, bool):
        return text
    word = str(text).strip().lower()
    if word in _TRUE | _FALSE:
        return word in _TRUE
    raise ValueError(f"expected true or false, got {text!r}")


@dataclass(frozen=True)
class Setting:
    """One setting: its name in the file (and, with dashes as underscores, in ``Options``), its
    environment variable, and how a text or file value becomes its value."""

    name: str
    variable: str
    parse: Callable[[Any], Any] = str

    @property
    def attribute(self) -> str:
        return self.name.replace("-", "_")


SETTINGS: tuple[Setting, ...] = (
    Setting("env", "NOTIFY_ENV"),
    Setting("base-url", "NOTIFY_BASE_URL"),
    Setting("token-url", "NOTIFY_TOKEN_URL"),
    Setting("reports", "NOTIFY_REPORTS"),
    Setting("max-examples", "NOTIFY_MAX_EXAMPLES", _whole),
    Setting("seed", "NOTIFY_SEED", _whole),
    Setting("test-patient", "NOTIFY_TEST_PATIENT"),
    Setting("routing-plan", "NOTIFY_ROUTING_PLAN"),
    Setting("rate-limit", "NOTIFY_RATE_LIMIT"),
    Setting("timeout", "NOTIFY_TIMEOUT", parse_seconds),
    Setting("max-duration", "NOTIFY_MAX_DURATION", parse_seconds),
    Setting("max-creates", "NOTIFY_MAX_CREATES", _whole),
    # undocumented members, headers, values and statuses fail the run instead of being reported as drift
    Setting("strict-contract", "NOTIFY_STRICT_CONTRACT", _boolean),
    # a remote run's callbacks area: the supplier's receiver (its credentials come from the environment)
    Setting("callback-receiver-url", "NOTIFY_CALLBACK_RECEIVER_URL"),
    Setting("channel-callback-receiver-url", "NOTIFY_CHANNEL_CALLBACK_RECEIVER_URL"),
    # local: how many test processes share the run (pytest-xdist workers)
    Setting("workers", "NOTIFY_WORKERS", parse_workers),
)
#: settings only the command has: plain pytest has no report folder of ours, and its own ``-n``
COMMAND_ONLY = frozenset({"reports", "workers"})
_BY_NAME = {setting.name: setting for setting in SETTINGS}


def find_file(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest config file at or above ``start``, with its settings (None when there is none)."""
    for folder in (start, *start.parents):
        own = folder / FILE_NAME
        if own.is_file():
            return own, _read(own)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = _read(pyproject).get("tool", {}).get(PYPROJECT_TABLE)
            if isinstance(table, dict):
                return pyproject, table
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"{path}: cannot read the settings: {error}") from None


def resolve(
    flags: Mapping[str, Any], environ: Mapping[str, str], start: Path | None = None
) -> dict[str, Any]:
    """Each setting's value from the first source that has it: ``flags`` (attribute names, None when
    not given), then ``environ``, then the config file; absent settings are left out."""
    found = find_file(start or Path.cwd())
    from_file: dict[str, Any] = {}
    if found is not None:
        path, table = found
        for key, value in table.items():
            if key in _SECRETS:
                raise UsageError(
                    f"{path}: {key!r} is a secret and is never read from a file; set it in the environment"
                )
            if key not in _BY_NAME:
                known = ", ".join(_BY_NAME)
                raise UsageError(f"{path}: unknown setting {key!r} (known: {known})")
            from_file[key] = _parsed(_BY_NAME[key], value, f"{path}: {key}")
    resolved: dict[str, Any] = {}
    for setting in SETTINGS:
        if flags.get(setting.attribute) is not None:
            resolved[setting.attribute] = flags[setting.attribute]
        elif environ.get(setting.variable):
            resolved[setting.attribute] = _parsed(setting, environ[setting.variable], setting.variable)
        elif setting.name in from_file:
            resolved[setting.attribute] = from_file[setting.name]
    return resolved


def _parsed(setting: Setting, value: Any, where: str) -> Any:
    try:
        return setting.parse(value)
    except ValueError as error:
        raise UsageError(f"{where}: {error}") from None
