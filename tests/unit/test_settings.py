"""Where settings come from: flags beat NOTIFY_* variables, which beat the config file, which beats the
defaults; secrets never come from a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import settings
from conformance.errors import UsageError
from conformance.run_config import options_from


def test_flags_beat_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    (tmp_path / "notify-conformance.toml").write_text(
        'env = "sandbox"\nmax-examples = 3\nrate-limit = "2/s"\ntimeout = "1m"\n', encoding="utf-8"
    )
    environ = {"NOTIFY_MAX_EXAMPLES": "7", "NOTIFY_RATE_LIMIT": "4/s"}
    values = settings.resolve({"rate_limit": "8/s", "max_examples": None}, environ, tmp_path)
    assert values == {"env": "sandbox", "max_examples": 7, "rate_limit": "8/s", "timeout": 60.0}


def test_the_nearest_pyproject_table_is_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.notify-conformance]\nenv = "integration"\nreports = "out"\n',
        encoding="utf-8",
    )
    below = tmp_path / "a" / "b"
    below.mkdir(parents=True)
    assert settings.resolve({}, {}, below) == {"env": "integration", "reports": "out"}


@pytest.mark.parametrize("secret", ["api-key", "private-key", "passphrase"])
def test_a_secret_in_the_file_is_refused(tmp_path: Path, secret: str) -> None:
    (tmp_path / "notify-conformance.toml").write_text(f'{secret} = "value"\n', encoding="utf-8")
    with pytest.raises(UsageError, match="secret") as raised:
        settings.resolve({}, {}, tmp_path)
    assert "value" not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('colour = "blue"\n', "unknown setting 'colour'"),
        ("max-examples = -1\n", "at least 0"),
        ("env = [\n", "cannot read"),
    ],
)
def test_a_bad_file_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "notify-conformance.toml").write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        settings.resolve({}, {}, tmp_path)


def test_a_bad_environment_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="NOTIFY_TIMEOUT"):
        settings.resolve({}, {"NOTIFY_TIMEOUT": "soon"}, tmp_path)


def test_options_get_the_defaults_where_nothing_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    options, reports = options_from({}, environ={})
    assert options.env == "local" and options.seed is None and reports == "reports"
