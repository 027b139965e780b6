"""The nightly CI recipes (``recipes/``) run a command the CLI accepts, with secrets only from the
environment, keep the folder that command writes between runs, publish the JUnit file it writes, and judge
its exit code as ``recipes/README.md`` documents. A recipe that drifts from the CLI fails here, not in a
supplier's CI at two in the morning. Nothing here sends a request: the commands are parsed and validated,
and the shell steps that only move files and exit codes are run in a temporary folder."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import auth, environments, runner
from conformance.cli import build_parser
from conformance.errors import ExitCode
from conformance.reporting import changes
from conformance.reporting.allure_html import GENERATE_TIMEOUT_S
from conformance.run_config import RunConfig
from tests.support import keys

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
GITHUB = RECIPES / "github-actions" / "nightly-integration.yml"
AZURE = RECIPES / "azure-pipelines" / "nightly-integration.yml"
#: where the single-file HTML lands in the report folder (conformance.reporting.allure_html.build)
HTML_PAGE = "html/index.html"
#: the credentials the command reads from its environment
CREDENTIALS = (
    environments.ENV_API_KEY,
    environments.ENV_KEY_ID,
    environments.ENV_PRIVATE_KEY,
    environments.ENV_PASSPHRASE,
)
#: what a nightly job does with each exit code (recipes/README.md, "Exit codes: what fails the night")
POLICY = {
    ExitCode.OK: "pass",
    ExitCode.FAILURES: "fail",
    ExitCode.USAGE: "fail",
    ExitCode.UNREACHABLE: "warn",
    ExitCode.CLIENT_REFUSED: "fail",
    ExitCode.INTERRUPTED: "fail",
}
_SHELL_OPERATOR = re.compile(r"^[();<>|&]+$")
_SECRET_FLAG = re.compile(r"key|secret|passphrase|password|credential", re.IGNORECASE)
_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


@dataclass(frozen=True)
class Recipe:
    """One CI definition: its steps in order, and how that CI names scripts, secrets and markers."""

    name: str
    document: dict[Any, Any]
    steps: list[dict[str, Any]]
    #: a secret's value as the definition writes it (GitHub ``${{ secrets.X }}``, Azure ``$(X)``)
    secret_reference: re.Pattern[str]
    warning_marker: str
    error_marker: str

    def script(self, step: Mapping[str, Any]) -> str | None:
        for key in ("run", "script", "bash"):
            if isinstance(step.get(key), str):
                return str(step[key])
        return None

    def uses(self, action: str) -> list[dict[str, Any]]:
        """The steps that use ``action`` (GitHub ``owner/name``, Azure ``Task@N``), in order."""
        found = []
        for step in self.steps:
            used = str(step.get("uses") or step.get("task") or "")
            if used.split("@")[0] == action.split("@")[0]:
                found.append(step)
        return found

    def inputs(self, step: Mapping[str, Any]) -> dict[str, Any]:
        return dict(step.get("with") or step.get("inputs") or {})

    def named(self, title: str) -> dict[str, Any]:
        (step,) = [s for s in self.steps if s.get("name") == title or s.get("displayName") == title]
        return step

    def condition(self, step: Mapping[str, Any]) -> str:
        return str(step.get("if") or step.get("condition") or "")

    def index(self, step: Mapping[str, Any]) -> int:
        return next(at for at, candidate in enumerate(self.steps) if candidate is step)


def _github() -> Recipe:
    document = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    (job,) = document["jobs"].values()
    return Recipe(
        "github",
        document,
        job["steps"],
        re.compile(r"\$\{\{\s*secrets\.\w+\s*\}\}"),
        "::warning",
        "::error",
    )


def _azure() -> Recipe:
    document = yaml.safe_load(AZURE.read_text(encoding="utf-8"))
    (job,) = document["jobs"]
    return Recipe(
        "azure",
        document,
        job["steps"],
        re.compile(r"\$\(NOTIFY_\w+\)"),
        "##vso[task.logissue type=warning]",
        "##vso[task.logissue type=error]",
    )


@pytest.fixture(params=["github", "azure"])
def recipe(request: pytest.FixtureRequest) -> Recipe:
    return _github() if request.param == "github" else _azure()


@dataclass(frozen=True)
class Command:
    """One ``notify-conformance`` invocation in a recipe's script, and the step that runs it."""

    step: dict[str, Any]
    argv: list[str]


def _logical_lines(script: str) -> Iterator[str]:
    """The script's lines with backslash continuations joined."""
    yield from script.replace("\\\n", " ").splitlines()


def _simple_commands(line: str) -> Iterator[list[str]]:
    """A shell line's simple commands as words, split at its operators (``||``, ``;``, ``>``...),
    comments dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words: list[str] = []
    for word in lexer:
        if _SHELL_OPERATOR.match(word):
            yield words
            words = []
        else:
            words.append(word)
    yield words


def commands(recipe: Recipe) -> list[Command]:
    """Every ``notify-conformance`` command the recipe's scripts run. The console script must be the
    command's first word: ``python -m conformance``, ``env X=1 notify-conformance`` or ``X=1
    notify-conformance`` would slip past the checks below, so they fail here."""
    found = []
    for step in recipe.steps:
        for line in _logical_lines(recipe.script(step) or ""):
            for words in _simple_commands(line):
                if words[:1] == ["notify-conformance"]:
                    found.append(Command(step, words))
                assert "notify-conformance" not in words[1:], f"not the command's first word: {line}"
                after_m = words[words.index("-m") + 1 :] if "-m" in words else []
                assert after_m[:1] != ["conformance"], f"run the console script instead: {line}"
    return found


def _suite_run(recipe: Recipe) -> Command:
    (command,) = commands(recipe)
    return command


def _parsed(argv: list[str]) -> argparse.Namespace:
    try:
        return build_parser().parse_args(argv[1:])
    except SystemExit as refused:
        pytest.fail(f"the CLI refuses {shlex.join(argv)} (exit {refused.code})")


def _under_env(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string in the document with the keys that lead to it."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _under_env(value, (*path, str(key)))
    elif isinstance(tree, list):
        for value in tree:
            yield from _under_env(value, path)
    elif isinstance(tree, str):
        yield path, tree


def _relative(path: str) -> str:
    """A path as the job's working folder sees it (Azure writes the folder out in full)."""
    return path.removeprefix("$(System.DefaultWorkingDirectory)/").rstrip("/")


# ------------------------------------------------------------------------------------------------------
# The command


def test_each_recipe_runs_the_suite_once_against_integration(recipe: Recipe) -> None:
    args = _parsed(_suite_run(recipe).argv)
    assert args.command == "run"
    assert args.env == "integration"
    assert not args.plan, "a nightly run that only plans measures nothing"


def test_the_command_passes_the_settings_validation_with_the_recipes_environment(
    recipe: Recipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings the step gives (flags, then its literal NOTIFY_* variables), with stand-in
    credentials where the recipe takes them from the secret store, resolve and validate as a real run's
    do: the key is loaded, nothing is sent."""
    command = _suite_run(recipe)
    monkeypatch.chdir(tmp_path)  # no settings file of this checkout takes part
    for name in list(os.environ):
        if name.startswith("NOTIFY_"):
            monkeypatch.delenv(name)
    stand_ins = {
        environments.ENV_API_KEY: "stand-in-api-key",
        environments.ENV_KEY_ID: "stand-in-kid",
        environments.ENV_PRIVATE_KEY: str(keys.write_rsa(tmp_path / "key.pem", keys.rsa_key())),
    }
    for name, value in dict(command.step.get("env") or {}).items():
        if str(value) and "$" not in str(value):  # a literal setting, not a secret or a CI variable
            monkeypatch.setenv(name, str(value))
    for name, value in stand_ins.items():
        monkeypatch.setenv(name, value)
    args = _parsed(command.argv)
    options, reports = runner.options_from_args(args)
    config = RunConfig.build(options)
    assert config.options.env == "integration"
    assert config.environment is not None
    (target,) = config.environment.targets
    assert target.base_url == environments.INTEGRATION_URL, "a nightly run of integration runs integration"
    assert str(reports) == _reports(recipe)


def test_the_job_outlasts_the_runs_own_time_limit(recipe: Recipe) -> None:
    args = _parsed(_suite_run(recipe).argv)
    assert args.max_duration is not None, "an unbounded run ends at the CI's timeout, with no report"
    (job,) = recipe.document["jobs"].values() if recipe.name == "github" else recipe.document["jobs"]
    minutes = job["timeout-minutes"] if recipe.name == "github" else job["timeoutInMinutes"]
    assert minutes * 60 >= args.max_duration + GENERATE_TIMEOUT_S


def test_no_secret_is_on_a_command_line(recipe: Recipe) -> None:
    for command in commands(recipe):
        for word in command.argv:
            assert "$" not in word, f"{word!r}: a command's words are literal, so none can carry a secret"
            if word.startswith("-"):
                assert not _SECRET_FLAG.search(word.split("=")[0]), f"{word}: credentials come from NOTIFY_*"


def test_secrets_enter_only_through_a_steps_environment(recipe: Recipe) -> None:
    """A secret written into a script ends up in the script file on the runner, and on GitHub it is
    also a script injection; mapped into ``env`` it reaches only the process that needs it."""
    seen = 0
    for path, text in _under_env(recipe.document):
        if recipe.secret_reference.search(text):
            seen += 1
            assert "env" in path, f"{'.'.join(path)}: a secret outside an env mapping"
    assert seen >= 3  # API key, key id, private key (and the passphrase)
    for step in recipe.steps:
        script = recipe.script(step) or ""
        assert "${{" not in script, "GitHub expressions go through env, never into a script"
        assert not re.search(r"\$\(NOTIFY_\w+\)", script), "Azure secrets go through env"


def test_the_run_step_is_given_every_credential_variable(recipe: Recipe) -> None:
    step = _suite_run(recipe).step
    given = set(step.get("env") or {})
    if recipe.name == "github":  # the key file's path comes from the step that writes it
        writer = recipe.named("Write the private key to a file only this user can read")
        assert recipe.index(writer) < recipe.index(step)
        assert f"{environments.ENV_PRIVATE_KEY}=" in (recipe.script(writer) or "")
        given.add(environments.ENV_PRIVATE_KEY)
    assert set(CREDENTIALS) <= given


def test_the_recipes_install_from_the_checkout_with_python_3_11_and_node_20(recipe: Recipe) -> None:
    installs = [s for s in recipe.steps if (recipe.script(s) or "").strip() == "pip install ."]
    assert len(installs) == 1
    if recipe.name == "github":
        (python,) = recipe.uses("actions/setup-python")
        (node,) = recipe.uses("actions/setup-node")
        assert (recipe.inputs(python)["python-version"], recipe.inputs(node)["node-version"]) == (
            "3.11",
            "20",
        )
    else:
        (python,) = recipe.uses("UsePythonVersion@0")
        (node,) = recipe.uses("NodeTool@0")
        assert (recipe.inputs(python)["versionSpec"], recipe.inputs(node)["versionSpec"]) == ("3.11", "20.x")
    assert recipe.index(python) < recipe.index(installs[0]) < recipe.index(_suite_run(recipe).step)


def test_a_schedule_runs_it_every_night(recipe: Recipe) -> None:
    if recipe.name == "github":
        on = recipe.document.get("on", recipe.document.get(True))  # YAML 1.1 reads a bare `on` as True
        schedules = on["schedule"]
    else:
        schedules = recipe.document["schedules"]
        assert all(s.get("always") is True for s in schedules), (
            "without always: true Azure skips the night when the repository has not changed"
        )
        assert recipe.document.get("trigger") == "none" and recipe.document.get("pr") == "none"
    assert schedules
    for schedule in schedules:
        fields = schedule["cron"].split()
        assert len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields), schedule["cron"]
        assert fields[2:] == ["*", "*", "*"], "every day of every month, every weekday"


# ------------------------------------------------------------------------------------------------------
# What is kept and published


def _reports(recipe: Recipe) -> str:
    """The report folder the recipe's command writes to, relative to the job's working folder. It is on
    the command line, where a flag beats NOTIFY_REPORTS and any settings file in the user's checkout."""
    command = _suite_run(recipe)
    assert "working-directory" not in command.step and "workingDirectory" not in command.step
    reports = _parsed(command.argv).reports
    assert reports is not None, "--reports on the command line, so nothing else moves the folder"
    return str(reports)


def test_the_github_cache_keeps_the_folder_the_command_writes() -> None:
    recipe = _github()
    reports = _reports(recipe)
    run = _suite_run(recipe).step
    (restore,) = recipe.uses("actions/cache/restore")
    (save,) = recipe.uses("actions/cache/save")
    restored, saved = recipe.inputs(restore), recipe.inputs(save)
    assert restored["path"] == saved["path"] == reports
    assert restored["key"] == saved["key"]
    assert "github.run_id" in saved["key"], "a cache cannot be overwritten: each run saves under a new key"
    (prefix,) = restored["restore-keys"].split()
    assert saved["key"].startswith(prefix) and "${{" not in prefix, "the prefix finds the newest earlier run"
    assert recipe.index(restore) < recipe.index(run) < recipe.index(save)
    assert "always()" in recipe.condition(save), "a failing night must become the next baseline too"
    assert f"'{reports}/{changes.OUTCOMES_FILE}'" in recipe.condition(save), "saved when there is a baseline"


def test_the_azure_artifact_keeps_the_folder_the_command_writes() -> None:
    recipe = _azure()
    reports = _reports(recipe)
    run = _suite_run(recipe).step
    (download,) = recipe.uses("DownloadPipelineArtifact@2")
    (kept,) = [
        s
        for s in recipe.uses("PublishPipelineArtifact@1")
        if _relative(recipe.inputs(s)["targetPath"]) == reports
    ]
    fetched, published = recipe.inputs(download), recipe.inputs(kept)
    assert _relative(fetched["path"]) == reports
    assert fetched["artifact"] == published["artifact"]
    # the latest earlier run of this same pipeline and branch, whatever its outcome
    assert (fetched["source"], fetched["pipeline"], fetched["runVersion"]) == (
        "specific",
        "$(System.DefinitionId)",
        "latestFromBranch",
    )
    assert fetched["runBranch"] == "$(Build.SourceBranch)"
    assert fetched["allowFailedBuilds"] is True and fetched["allowPartiallySucceededBuilds"] is True
    assert download.get("continueOnError") is True, "the first night has nothing to download"
    assert recipe.index(download) < recipe.index(run) < recipe.index(kept)
    assert "always()" in recipe.condition(kept)
    assert not recipe.uses("Cache@2") or all(
        _relative(recipe.inputs(s)["path"]) != reports for s in recipe.uses("Cache@2")
    ), "Cache@2 saves only after a successful job"


def _junit(recipe: Recipe) -> str:
    """The JUnit file the command writes, as the runner tells pytest."""
    args = _parsed(_suite_run(recipe).argv)
    argv = runner.pytest_args(args, Path(_reports(recipe)))
    return argv[argv.index("--junitxml") + 1]


def test_junit_publishing_reads_the_file_the_command_writes(recipe: Recipe) -> None:
    if recipe.name == "github":
        (publisher,) = recipe.uses("mikepenz/action-junit-report")
        assert recipe.inputs(publisher)["report_paths"] == _junit(recipe)
        assert str(recipe.inputs(publisher)["fail_on_failure"]).lower() == "false", "the verdict step decides"
    else:
        (publisher,) = recipe.uses("PublishTestResults@2")
        inputs = recipe.inputs(publisher)
        assert inputs["testResultsFormat"] == "JUnit"
        assert inputs["testResultsFiles"] == _junit(recipe)
        assert inputs["searchFolder"] == "$(System.DefaultWorkingDirectory)"
        assert inputs["failTaskOnFailedTests"] is False
    assert "always()" in recipe.condition(publisher)
    assert recipe.index(_suite_run(recipe).step) < recipe.index(publisher)


def test_the_html_report_is_published(recipe: Recipe) -> None:
    page = f"{_reports(recipe)}/{HTML_PAGE}"
    if recipe.name == "github":
        uploads = recipe.uses("actions/upload-artifact")
        paths = [recipe.inputs(s)["path"] for s in uploads]
    else:
        uploads = recipe.uses("PublishPipelineArtifact@1")
        paths = [_relative(recipe.inputs(s)["targetPath"]) for s in uploads]
    assert page in paths
    assert all("always()" in recipe.condition(s) for s in uploads)


# ------------------------------------------------------------------------------------------------------
# Shell steps, run for real in a temporary folder


def _bash(script: str, env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    if bash is None:  # pragma: no cover - every CI image the recipes target has bash
        pytest.skip("bash is not installed")
    return subprocess.run(
        [bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", script],  # as GitHub runs a step
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_exit_codes_decide_the_night_as_documented(recipe: Recipe, tmp_path: Path) -> None:
    assert set(POLICY) == set(ExitCode), "a new exit code needs a decision in the recipes and their README"
    verdict = recipe.named("Verdict")
    assert recipe.steps[-1] is verdict and "always()" in recipe.condition(verdict)
    reads = dict(verdict.get("env") or {})["CONFORMANCE_EXIT"]
    script = recipe.script(verdict) or ""
    base = {"PATH": os.environ.get("PATH", "")}
    for code, decision in [*((str(int(c)), d) for c, d in POLICY.items()), ("", "fail"), (reads, "fail")]:
        done = _bash(script, {**base, "CONFORMANCE_EXIT": code}, tmp_path)
        said = done.stdout + done.stderr
        if decision == "fail":
            assert done.returncode != 0 and recipe.error_marker in said, (code, said)
        else:
            assert done.returncode == 0, (code, said)
            assert (recipe.warning_marker in said) == (decision == "warn"), (code, said)


def test_the_run_step_hands_the_real_exit_code_to_the_verdict(recipe: Recipe, tmp_path: Path) -> None:
    """The run step's script with the real console script, which stops before sending anything when a
    credential is missing (exit 2): the step itself succeeds and records the 2 where the verdict reads it.
    On Azure an undefined secret variable arrives as its own text, ``$(NOTIFY_API_KEY)``; the step must
    treat that as unset, so the CLI names the missing variable instead of presenting it as a key."""
    command = _suite_run(recipe)
    console = shutil.which("notify-conformance", path=str(Path(sys.executable).parent))
    assert console is not None, "the console script is installed beside this interpreter"
    key = keys.write_rsa(tmp_path / "key.pem", keys.rsa_key())
    output = tmp_path / "github-output"
    env = {
        "PATH": f"{Path(console).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        environments.ENV_PRIVATE_KEY: str(key),
        "GITHUB_OUTPUT": str(output),
        # should the step ever pass the credentials check, the run goes nowhere: nothing listens on port 9
        "NOTIFY_BASE_URL": "http://127.0.0.1:9/comms",
        "NOTIFY_TOKEN_URL": "http://127.0.0.1:9/oauth2/token",
    }
    if recipe.name == "azure":  # what Azure passes for variables the group does not define
        env |= {name: f"$({name})" for name in (environments.ENV_API_KEY, environments.ENV_KEY_ID)}
    done = _bash(recipe.script(command.step) or "", env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (
        f"missing environment variable(s): {environments.ENV_API_KEY}, {environments.ENV_KEY_ID}"
        in done.stderr
    )
    verdict_reads = dict(recipe.named("Verdict").get("env") or {})["CONFORMANCE_EXIT"]
    if recipe.name == "github":
        assert verdict_reads == f"${{{{ steps.{command.step['id']}.outputs.exit-code }}}}"
        assert output.read_text(encoding="utf-8").splitlines() == [f"exit-code={int(ExitCode.USAGE)}"]
    else:
        assert verdict_reads == "$(CONFORMANCE_EXIT)"
        assert f"##vso[task.setvariable variable=CONFORMANCE_EXIT]{int(ExitCode.USAGE)}" in done.stdout
    assert not (tmp_path / "reports").exists(), "a usage error writes nothing"


def test_the_github_private_key_file_is_readable_only_by_its_owner(tmp_path: Path) -> None:
    recipe = _github()
    writer = recipe.named("Write the private key to a file only this user can read")
    (secret_variable,) = writer["env"]
    pem = (keys.write_rsa(tmp_path / "source.pem", keys.rsa_key())).read_text(encoding="ascii").strip()
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    github_env = tmp_path / "github-env"
    done = _bash(
        recipe.script(writer) or "",
        {
            "PATH": os.environ.get("PATH", ""),
            secret_variable: pem,
            "RUNNER_TEMP": str(runner_temp),
            "GITHUB_ENV": str(github_env),
        },
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert pem not in done.stdout + done.stderr
    (line,) = github_env.read_text(encoding="utf-8").splitlines()
    name, _, path = line.partition("=")
    assert name == environments.ENV_PRIVATE_KEY and Path(path).parent == runner_temp
    assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
    auth.load_private_key(Path(path))  # the key as written is one the run can sign with
    cleanup = recipe.named("Remove the private key file")
    assert "always()" in recipe.condition(cleanup) and recipe.index(cleanup) > recipe.index(
        _suite_run(recipe).step
    )
    cleanup_env = {"PATH": os.environ.get("PATH", ""), "RUNNER_TEMP": str(runner_temp)}
    assert _bash(recipe.script(cleanup) or "", cleanup_env, tmp_path).returncode == 0
    assert not Path(path).exists()


def test_the_azure_private_key_comes_from_a_secure_file_made_private(tmp_path: Path) -> None:
    recipe = _azure()
    (download,) = recipe.uses("DownloadSecureFile@1")
    secure_path = f"$({download['name']}.secureFilePath)"
    assert dict(_suite_run(recipe).step["env"])[environments.ENV_PRIVATE_KEY] == secure_path
    (restrict,) = [
        s
        for s in recipe.steps
        if secure_path in (recipe.script(s) or "") and "chmod" in (recipe.script(s) or "")
    ]
    assert recipe.index(download) < recipe.index(restrict) < recipe.index(_suite_run(recipe).step)
    key = keys.write_rsa(tmp_path / "downloaded.pem", keys.rsa_key())
    key.chmod(0o644)  # as a download might leave it
    script = (recipe.script(restrict) or "").replace(secure_path, str(key))  # Azure expands the macro
    assert _bash(script, {"PATH": os.environ.get("PATH", "")}, tmp_path).returncode == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
