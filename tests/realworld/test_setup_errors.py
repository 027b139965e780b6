"""Issue §1: a setup problem of the user's own is exit 2 and one line, found before the first byte
leaves: the target server receives nothing at all."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realworld.conftest import StartTarget
from tests.support import keys
from tests.support.cli import run_cli
from tests.support.runs import (
    FAST,
    assert_names_the_problem,
    assert_no_traceback,
    assert_one_line,
    authenticated_run,
    sandbox_run,
)

USAGE = 2


def _stranger_env(key_path: Path) -> dict[str, str]:
    return {
        "NOTIFY_API_KEY": "unregistered-" + uuid.uuid4().hex,
        "NOTIFY_KEY_ID": "kid-" + uuid.uuid4().hex[:8],
        "NOTIFY_PRIVATE_KEY": str(key_path),
    }


@pytest.mark.parametrize("kind", sorted(keys.BAD_KEYS))
def test_an_unusable_private_key_is_refused_before_any_request(
    kind: str, start_target: StartTarget, tmp_path: Path, reports: Path
) -> None:
    """Garbage, EC, Ed25519, encrypted without a passphrase, 1024-bit RSA: exit 2, one line, and the
    target (API and token endpoint alike) receives zero requests."""
    target = start_target("integration")
    key_path = keys.BAD_KEYS[kind](tmp_path / f"{kind}.pem")
    outcome = run_cli(*authenticated_run(target, reports), env=_stranger_env(key_path), timeout=120)
    assert outcome.returncode == USAGE, outcome.tail()
    line = assert_one_line(outcome)
    assert_names_the_problem(line)
    assert "NOTIFY_PRIVATE_KEY" in line or "key" in line.lower(), line
    assert_no_traceback(outcome)
    assert target.traffic.count == 0, target.traffic.summary()


@pytest.mark.slow
def test_an_encrypted_key_with_its_passphrase_is_used(
    start_target: StartTarget, tmp_path: Path, reports: Path
) -> None:
    """The positive control of the key checks: the same encrypted key, with NOTIFY_PRIVATE_KEY_PASSPHRASE,
    signs assertions the token endpoint accepts."""
    target = start_target("integration")
    key = keys.rsa_key()
    path = keys.write_rsa(tmp_path / "encrypted.pem", key, keys.PASSPHRASE)
    env = _stranger_env(path) | {"NOTIFY_PRIVATE_KEY_PASSPHRASE": keys.PASSPHRASE}
    target.register(key, env["NOTIFY_API_KEY"], env["NOTIFY_KEY_ID"])
    outcome = run_cli(*authenticated_run(target, reports, *FAST, "-k", "test_missing_accept"), env=env)
    assert outcome.returncode == 0, outcome.tail()
    assert target.traffic.token_requests >= 1, target.traffic.summary()
    assert keys.PASSPHRASE not in outcome.output


@pytest.mark.slow  # resolving a selection means collecting the suite
@pytest.mark.parametrize(
    "selection",
    [
        pytest.param(("-k", "no_test_is_called_like_this"), id="k-matches-nothing"),
        pytest.param(("-k", "negotiation and (or"), id="k-does-not-parse"),
        pytest.param(("-m", "scenario and"), id="m-does-not-parse"),
    ],
)
def test_a_selection_that_selects_nothing_is_refused_before_any_request(
    selection: tuple[str, str], start_target: StartTarget, reports: Path
) -> None:
    target = start_target("sandbox")
    outcome = run_cli(*sandbox_run(target, reports, *selection), timeout=180)
    assert outcome.returncode == USAGE, outcome.tail()
    assert_names_the_problem(assert_one_line(outcome))
    assert_no_traceback(outcome)
    assert target.traffic.count == 0, target.traffic.summary()


def _writable(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return False
    probe.unlink()
    return True


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """An existing folder nobody can write: mode 0555, and for root (which ignores modes) immutable."""
    folder = tmp_path / "read-only-reports"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    chattr = shutil.which("chattr") or next(
        (p for p in ("/usr/bin/chattr", "/bin/chattr", "/sbin/chattr") if Path(p).is_file()), None
    )
    if _writable(folder) and chattr is not None:
        immutable = subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode == 0
    if _writable(folder):
        folder.chmod(0o755)
        pytest.skip("cannot make a folder read-only here (root without chattr +i)")
    yield folder
    if immutable and chattr is not None:
        subprocess.run([chattr, "-i", str(folder)], capture_output=True)
    folder.chmod(0o755)


def test_a_read_only_reports_folder_is_refused_before_any_request(
    read_only_folder: Path, start_target: StartTarget
) -> None:
    target = start_target("sandbox")
    outcome = run_cli(*sandbox_run(target, read_only_folder), timeout=120)
    assert outcome.returncode == USAGE, outcome.tail()
    line = assert_one_line(outcome)
    assert_names_the_problem(line)
    assert "--reports" in line or str(read_only_folder) in line, line
    assert target.traffic.count == 0, target.traffic.summary()


def test_a_reports_path_that_cannot_be_created_is_refused_before_any_request(
    tmp_path: Path, start_target: StartTarget
) -> None:
    """A report folder under a regular file cannot be created."""
    target = start_target("sandbox")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    outcome = run_cli(*sandbox_run(target, blocker / "reports"), timeout=120)
    assert outcome.returncode == USAGE, outcome.tail()
    assert_names_the_problem(assert_one_line(outcome))
    assert target.traffic.count == 0, target.traffic.summary()


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:99999/comms",
        "http://127.0.0.1:port/comms",
        "ftp://127.0.0.1/comms",
    ],
)
def test_an_impossible_base_url_is_a_usage_error(base_url: str, reports: Path) -> None:
    outcome = run_cli(*sandbox_run(base_url, reports), timeout=120)
    assert outcome.returncode == USAGE, outcome.tail()
    assert_names_the_problem(assert_one_line(outcome))
    assert_no_traceback(outcome)


def test_serve_on_an_impossible_port_is_a_usage_error() -> None:
    """``serve --port 70000``: one line, exit 2, nothing listening."""
    outcome = run_cli("serve", "--port", "70000", timeout=60)
    assert outcome.returncode == USAGE, outcome.tail()
    assert_one_line(outcome)
    assert_no_traceback(outcome)
