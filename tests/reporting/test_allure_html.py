"""The HTML builder's own logic: finding or installing the pinned CLI, and keeping the page private."""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from conformance.reporting import allure_html
from conformance.reporting.allure_html import HtmlUnavailable

GTAG_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>r</title></head><body>
<script src="data:text/javascript;base64,Z3RhZ0dndGFn"></script>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-XXXX"></script>
<script>
    window.dataLayer = window.dataLayer || [];
    function gtag(){dataLayer.push(arguments);}
    gtag('js', new Date());
</script>
<script>d("data/x.json","eyJhIjoxfQ==")</script>
</body></html>"""


def test_analytics_scripts_are_stripped_and_a_policy_added() -> None:
    page = allure_html.make_private(GTAG_PAGE)
    assert "googletagmanager" not in page and "gtag(" not in page
    assert 'src="data:text/javascript;base64,Z3RhZ0dndGFn"' in page  # base64 that merely spells gtag stays
    assert 'd("data/x.json","eyJhIjoxfQ==")' in page
    assert f'content="{allure_html.CONTENT_SECURITY_POLICY}"' in page
    assert page.index("Content-Security-Policy") < page.index("<title>")


def test_external_references_are_found_in_loading_tags_only() -> None:
    page = (
        '<link rel="stylesheet" href="https://fonts.example/a.css"><img src=//cdn.example/x.png>'
        '<a href="https://digital.nhs.uk/developer">docs</a>'
        '<script src="data:text/javascript;base64,AA=="></script>'
    )
    assert allure_html.external_references(page) == ["https://fonts.example/a.css", "//cdn.example/x.png"]


def test_the_pinned_version_and_lockfile_ship_with_the_package() -> None:
    version = allure_html.pinned_version()
    lock = json.loads((allure_html.PINNED_DIR / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/allure"]["version"] == version
    assert lock["packages"][""]["dependencies"]["allure"] == version  # exact pin, no range


def test_the_cache_honours_xdg_cache_home(tmp_path: Path) -> None:
    assert allure_html.cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "notify-conformance"
    assert allure_html.cache_dir({"HOME": str(tmp_path)}) == tmp_path / ".cache" / "notify-conformance"


def test_without_node_the_reason_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(HtmlUnavailable) as caught:
        allure_html.find_or_install({"PATH": str(tmp_path), "HOME": str(tmp_path)})
    assert "Node.js" in str(caught.value) and "\n" not in str(caught.value)


def _fake_install(root: Path, version: str) -> Path:
    package = root / "node_modules" / "allure"
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"version": version, "bin": "./cli.js"}))
    (package / "cli.js").write_text("// the CLI")
    return package / "cli.js"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node on PATH")
def test_a_cached_install_of_the_pinned_version_is_used(tmp_path: Path) -> None:
    version = allure_html.pinned_version()
    pinned = tmp_path / "pinned"
    pinned.mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy(allure_html.PINNED_DIR / name, pinned / name)
    environ = {"PATH": os.environ["PATH"], "XDG_CACHE_HOME": str(tmp_path / "cache")}
    script = _fake_install(tmp_path / "cache" / "notify-conformance" / f"allure-{version}", version)
    assert allure_html.find_or_install(environ, pinned_dir=pinned).script == script


def _fake_npm(bin_dir: Path, body: str) -> None:
    """A stand-in ``npm`` (a Python script, beside a link to the real node) running ``body`` where it runs."""
    bin_dir.mkdir()
    (bin_dir / "node").symlink_to(str(shutil.which("node")))
    npm = bin_dir / "npm"
    header = f"#!{sys.executable}\nimport json, pathlib, sys\n"
    record = f"pathlib.Path({str(bin_dir / 'npm-args')!r}).write_text(' '.join(sys.argv[1:]))\n"
    npm.write_text(header + record + textwrap.dedent(body))
    npm.chmod(0o755)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node on PATH")
def test_another_version_in_the_cache_is_replaced_by_npm_ci(tmp_path: Path) -> None:
    version = allure_html.pinned_version()
    cache = tmp_path / "cache" / "notify-conformance"
    _fake_install(cache / f"allure-{version}", "3.0.0")
    _fake_npm(
        tmp_path / "bin",
        f"""
        package = pathlib.Path("node_modules/allure")
        package.mkdir(parents=True)
        (package / "package.json").write_text(json.dumps({{"version": "{version}", "bin": "./cli.js"}}))
        (package / "cli.js").write_text("// the CLI")
        """,
    )
    environ = {"PATH": str(tmp_path / "bin"), "XDG_CACHE_HOME": str(tmp_path / "cache")}

    cli = allure_html.find_or_install(environ)

    assert cli.script == cache / f"allure-{version}" / "node_modules" / "allure" / "cli.js"
    assert (tmp_path / "bin" / "npm-args").read_text().split()[:2] == ["ci", "--ignore-scripts"]
    assert (cache / f"allure-{version}" / "package-lock.json").read_bytes() == (
        allure_html.PINNED_DIR / "package-lock.json"
    ).read_bytes()
    assert [p.name for p in cache.iterdir()] == [f"allure-{version}"]  # no staging folder left behind


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node on PATH")
def test_a_failed_npm_ci_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    _fake_npm(tmp_path / "bin", "sys.stderr.write('npm ERR! network unreachable\\n')\nsys.exit(1)\n")
    environ = {"PATH": str(tmp_path / "bin"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with pytest.raises(HtmlUnavailable, match="npm ci failed: npm ERR! network unreachable"):
        allure_html.find_or_install(environ)
    assert list((tmp_path / "cache" / "notify-conformance").iterdir()) == []
