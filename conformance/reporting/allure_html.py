"""The single-file HTML report (``reports/html/index.html``), built by the Allure 3 report CLI.

The CLI is an npm package pinned by the ``package.json`` and ``package-lock.json`` shipped beside this
module (``allure_cli/``). It is found there (after ``npm ci`` in a checkout) or in the user's cache, and
otherwise installed into the cache once with ``npm ci``. Without Node.js and npm the report step says so
in one line; the Allure results and JUnit are written regardless.

Privacy: the Allure templates can embed a Google Tag Manager script. We use the ``allure2`` plugin with
``ALLURE_NO_ANALYTICS=true``, strip any analytics script that still appears, add a Content-Security-Policy
that lets the page load nothing from outside, and refuse to leave a page that references an external URL.

Size and time: the CLI may take :data:`GENERATE_TIMEOUT_S` (then the run says so in one line and writes
everything else), and after each build ``history.jsonl`` is cut to the last :data:`HISTORY_RUNS` runs, each
line holding only what the trend and the per-test history read (see :func:`compact_history`). The page is
then made smaller without changing what it shows (:func:`compact_page`). The limits are in
:mod:`conformance.limits`.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import limits, redaction
from conformance.reporting.scrubbing import redacted_json

PINNED_DIR = Path(__file__).resolve().parent / "allure_cli"
CACHE_SUBDIR = "notify-conformance"
INSTALL_TIMEOUT_S = 900
GENERATE_TIMEOUT_S = limits.HTML_GENERATE_TIMEOUT_S
#: How many runs the trend keeps when a report folder is reused (nightly CI), this one included.
HISTORY_RUNS = limits.HISTORY_RUNS
HISTORY_NAME = "history.jsonl"
#: What each test's entry in a history line keeps: what the allure2 plugin's trend counts (status) and its
#: per-test history shows (id, status, times, url). The entry's history id is its key in the line.
_HISTORY_ITEM_KEYS = ("id", "status", "start", "stop", "duration", "url")

#: The page may run its own inline and embedded (data:) code and show embedded images; nothing else.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' data:; style-src 'unsafe-inline' data: blob:; "
    "img-src data: blob:; font-src data:; media-src data: blob:; frame-src data: blob:; "
    "connect-src data: blob:; form-action 'none'"
)

_ANALYTICS_MARKERS = ("googletagmanager.", "google-analytics.", "gtag(", "analytics.js")
#: The page's report data: ``d("<name>","<base64>")``, one per file of the report.
_EMBEDDED_DATA = re.compile(r'd\(("[^"\\]+"),"([A-Za-z0-9+/=]*)"\)')
#: An embedded file at least this long (base64) is packed; a shorter one gains too little.
_PACK_MIN_CHARS = 512
#: The app's code, embedded as a script loaded from a ``data:`` URL.
_DATA_SCRIPT = re.compile(r'<script\s+src="data:text/javascript;base64,([A-Za-z0-9+/=]+)"\s*>\s*</script>')
_SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
_EXTERNAL_REFERENCE = re.compile(
    r"<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?\b(?:src|href|data)\s*=\s*"
    r"[\"']?\s*((?:https?:)?//[^\"'\s>]+)",
    re.IGNORECASE,
)


class HtmlUnavailable(Exception):
    """The HTML report could not be built; the message says why in one line (never fatal to a run)."""


@dataclass(frozen=True)
class AllureCli:
    node: str
    script: Path
    version: str


def pinned_version(pinned_dir: Path = PINNED_DIR) -> str:
    """The exact Allure version ``package.json`` pins."""
    manifest = json.loads((pinned_dir / "package.json").read_text(encoding="utf-8"))
    return str(manifest["dependencies"]["allure"])


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where a pinned CLI is installed once per user (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(base) / CACHE_SUBDIR


def _installed(root: Path, version: str) -> Path | None:
    """The CLI script of an installation under ``root`` when it holds exactly ``version``."""
    package = root / "node_modules" / "allure" / "package.json"
    try:
        manifest = json.loads(package.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("version") != version:
        return None
    bin_entry = manifest.get("bin")
    relative = bin_entry.get("allure") if isinstance(bin_entry, dict) else bin_entry
    script = package.parent / str(relative or "cli.js")
    return script if script.is_file() else None


def find_or_install(
    environ: Mapping[str, str] | None = None,
    pinned_dir: Path = PINNED_DIR,
    announce: Callable[[str], None] | None = None,
) -> AllureCli:
    """The pinned CLI, installing it into the cache when neither the package folder nor the cache has it
    (``announce`` is told first, as the install takes a while)."""
    version = pinned_version(pinned_dir)
    env = os.environ if environ is None else environ
    node = shutil.which("node", path=env.get("PATH"))
    if node is None:
        raise HtmlUnavailable(
            "HTML report skipped: it needs Node.js and npm (install Node 20+ and run again)"
        )
    target = cache_dir(env) / f"allure-{version}"
    for root in (pinned_dir, target):
        script = _installed(root, version)
        if script is not None:
            return AllureCli(node, script, version)
    npm = shutil.which("npm", path=env.get("PATH"))
    if npm is None:
        raise HtmlUnavailable("HTML report skipped: it needs npm to install the Allure CLI (install npm)")
    if announce is not None:
        announce(f"installing the pinned Allure report CLI {version} into {target} (once)")
    _npm_ci(npm, pinned_dir, target, env)
    script = _installed(target, version)
    if script is None:
        raise HtmlUnavailable(f"HTML report skipped: npm ci finished but allure {version} is not in {target}")
    return AllureCli(node, script, version)


def _npm_ci(npm: str, pinned_dir: Path, target: Path, env: Mapping[str, str]) -> None:
    """``npm ci`` the pinned lockfile into a fresh folder, then move it into place in one step."""
    staging = target.with_name(f".{target.name}-{uuid.uuid4().hex[:8]}")
    staging.mkdir(parents=True)
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(pinned_dir / name, staging / name)
        try:
            done = subprocess.run(
                [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=staging,
                env=dict(env),
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise HtmlUnavailable(
                f"HTML report skipped: npm ci did not finish in {INSTALL_TIMEOUT_S} s"
            ) from None
        if done.returncode != 0:
            raise HtmlUnavailable(
                f"HTML report skipped: npm ci failed: {_last_line(done.stderr or done.stdout)}"
            )
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # another run won the race and installed the same lockfile: use that
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def allurerc(report_name: str) -> dict[str, object]:
    """The Allure 3 configuration of one run (paths relative to the report folder)."""
    return {
        "name": "NHS Notify conformance",
        "output": "html",
        "historyPath": HISTORY_NAME,
        "historyLimit": HISTORY_RUNS,
        "plugins": {
            "allure2": {"options": {"reportName": report_name, "singleFile": True, "reportLanguage": "en"}}
        },
    }


def build(cli: AllureCli, reports: Path, report_name: str, environ: Mapping[str, str] | None = None) -> Path:
    """Generate ``reports/html/index.html`` from ``reports/allure-results`` and make it private."""
    reports = reports.resolve()
    config = reports / "allurerc.json"
    config.write_text(json.dumps(allurerc(report_name), indent=2) + "\n", encoding="utf-8")
    html_dir = reports / "html"
    shutil.rmtree(html_dir, ignore_errors=True)
    env = {**(os.environ if environ is None else environ), "ALLURE_NO_ANALYTICS": "true", "NO_COLOR": "1"}
    try:
        done = generate(cli, config, reports / "allure-results", env)
    except subprocess.TimeoutExpired:
        raise HtmlUnavailable(
            f"HTML report skipped: Allure did not finish in {GENERATE_TIMEOUT_S} s "
            "(the results, JUnit and manifest are written)"
        ) from None
    finally:
        compact_history(reports / HISTORY_NAME)
    index = html_dir / "index.html"
    if done.returncode != 0 or not index.is_file():
        raise HtmlUnavailable(f"HTML report skipped: Allure failed: {_last_line(done.stderr or done.stdout)}")
    page = make_private(index.read_text(encoding="utf-8"))
    external = external_references(page)
    if external:
        index.unlink()
        raise HtmlUnavailable(f"HTML report withheld: the page would load {external[0]} from outside")
    index.write_text(compact_page(page), encoding="utf-8")
    return index


def generate(
    cli: AllureCli, config: Path, results: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run ``allure generate`` once, in the report folder, for at most :data:`GENERATE_TIMEOUT_S`.

    The Allure step alone, apart from our passes over its output: ``bench/report_size.py`` times it here.
    """
    command = [cli.node, str(cli.script), "generate", "--config", str(config), str(results)]
    return subprocess.run(
        command,
        cwd=config.parent,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=GENERATE_TIMEOUT_S,
        check=False,
    )


def compact_history(
    path: Path, runs: int = HISTORY_RUNS, message_chars: int = limits.HISTORY_MESSAGE_CHARS
) -> None:
    """Keep the last ``runs`` lines of ``history.jsonl``, each test's entry cut to what Allure reads back.

    Allure appends one line per build holding every test's name, labels, message and stack trace (about
    1 MB for a full run, several for a failing one); the allure2 plugin's trend needs each test's status
    and its per-test history the status, times and id, under the test's history id. A line that is not
    JSON would stop every later build, so it goes. Lines are written through the redaction layer like
    every other file.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    points = []
    for line in text.splitlines():
        try:
            point = json.loads(line)
        except ValueError:
            continue
        if isinstance(point, dict):
            points.append(_compact_point(point, message_chars))
    kept = "".join(_history_line(point) + "\n" for point in points[-runs:] if runs > 0)
    if kept != text:
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(kept, encoding="utf-8")
        os.replace(temporary, path)


def _history_line(point: dict[str, Any]) -> str:
    """One history line without spaces, through the redaction layer (which keeps it valid JSON)."""
    text = json.dumps(point, ensure_ascii=False, separators=(",", ":"))
    return text if redaction.redact(text) == text else redacted_json(point)


def _compact_point(point: dict[str, Any], message_chars: int) -> dict[str, Any]:
    results = point.get("testResults")
    compact: dict[str, Any] = {}
    for history_id, item in results.items() if isinstance(results, dict) else ():
        if not isinstance(item, dict):
            continue
        entry = {key: item[key] for key in _HISTORY_ITEM_KEYS if item.get(key) not in (None, "")}
        message = item.get("message")
        if isinstance(message, str) and message:
            cut = len(message) > message_chars
            entry["message"] = message[: message_chars - 1] + "\u2026" if cut else message
        compact[history_id] = entry
    return {**point, "testResults": compact}


def compact_page(page: str) -> str:
    """The same page in fewer bytes (a clean full run's: 8.6 MB to 3.7 MB), for readers who open it and
    the evidence bundle that carries it.

    The report data is embedded packed (:func:`_pack_data`): the JSON of a full run's trees and test cases
    is repetitive, and gzip makes it a fifth of its size or less. A file repeated byte for byte (the
    allure2 plugin writes the same list of every test as three widgets) is embedded once. And the app's
    script, embedded base64 in a ``data:`` URL, is put inline as it is (a third smaller) when the HTML
    parser is sure to end it at its own closing tag (:func:`_inlinable`); the policy allows inline scripts
    either way. :func:`embedded_files` reads the data back, packed or not.
    """
    return _inline_app_script(_pack_data(page))


#: The page's own ``d(name, base64)`` stores one file; these two, defined before the data script, store a
#: packed file (gzip, unpacked by the browser's DecompressionStream into the same base64) and a repeat
#: of an earlier file. Both return promises, which the data script's ``Promise.allSettled`` awaits before
#: the app reads anything.
_UNPACKING_SCRIPT = """<script>
      window.__packedFiles = {};
      function z(name, packed) {
        var raw = atob(packed), bytes = new Uint8Array(raw.length);
        for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
        var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
        var stored = new Response(stream).arrayBuffer().then(function (buffer) {
          var plain = new Uint8Array(buffer), text = "";
          for (var at = 0; at < plain.length; at += 32768) {
            text += String.fromCharCode.apply(null, plain.subarray(at, at + 32768));
          }
          return d(name, btoa(text));
        });
        window.__packedFiles[name] = stored;
        return stored;
      }
      function s(name, earlier) {
        return Promise.resolve(window.__packedFiles[earlier]).then(function () {
          return d(name, window.reportData[earlier]);
        });
      }
    </script>
    """
#: ``z("<name>","<gzip, base64>")`` and ``s("<name>","<earlier name>")`` as :func:`_pack_data` writes them.
_PACKED_DATA = re.compile(r'(?<![\w$.])z\("([^"\\]+)","([A-Za-z0-9+/=]*)"\)')
_REPEATED_DATA = re.compile(r'(?<![\w$.])s\("([^"\\]+)","([^"\\]+)"\)')
_DATA_SCRIPT_START = "Promise.allSettled(["


def _pack_data(page: str) -> str:
    """Each embedded file of at least :data:`_PACK_MIN_CHARS` gzipped (``z``), or, when an earlier one
    holds the same bytes, a reference to it (``s``); smaller files, and a page whose data script is not
    where Allure puts it, stay as they are (and a page with nothing packed gets no unpacking code)."""
    start = page.find(_DATA_SCRIPT_START)
    script = page.rfind("<script", 0, start)
    if start < 0 or script < 0:
        return page
    first: dict[str, str] = {}

    def pack(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if len(value) < _PACK_MIN_CHARS:
            return match.group(0)
        earlier = first.setdefault(value, name)
        if earlier != name:
            return f"s({name},{earlier})"
        packed = base64.b64encode(gzip.compress(base64.b64decode(value), compresslevel=9, mtime=0))
        return f'z({name},"{packed.decode("ascii")}")' if len(packed) < len(value) else match.group(0)

    data = _EMBEDDED_DATA.sub(pack, page[script:])
    packed_any = data != page[script:]
    return page[:script] + _UNPACKING_SCRIPT + data if packed_any else page


def embedded_files(page: str) -> dict[str, bytes]:
    """Every file the page's report data holds, by name, decoded (and unpacked where :func:`compact_page`
    packed it): what tests and audits read, whatever the page's encoding."""
    files = {name.strip('"'): base64.b64decode(value) for name, value in _EMBEDDED_DATA.findall(page)}
    files.update(
        (name, gzip.decompress(base64.b64decode(value))) for name, value in _PACKED_DATA.findall(page)
    )
    for name, earlier in _REPEATED_DATA.findall(page):
        if earlier in files:
            files[name] = files[earlier]
    return files


def _inline_app_script(page: str) -> str:
    scripts = list(_DATA_SCRIPT.finditer(page))
    if len(scripts) != 1:
        return page
    try:
        code = base64.b64decode(scripts[0].group(1), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return page
    if not _inlinable(code):
        return page
    return page[: scripts[0].start()] + f"<script>{code}</script>" + page[scripts[0].end() :]


def _inlinable(code: str) -> bool:
    """Whether ``code`` inside ``<script>...</script>`` ends exactly at that closing tag: it holds no
    ``</script``, and every ``<!--`` in it is closed by ``-->`` before any ``<script`` (which would
    otherwise make the parser skip the next closing tag)."""
    lower = code.lower()
    if "</script" in lower:
        return False
    position = 0
    while (start := lower.find("<!--", position)) >= 0:
        end = lower.find("-->", start + 4)
        if end < 0 or "<script" in lower[start:end]:
            return False
        position = end + 3
    return True


def make_private(page: str) -> str:
    """Strip analytics scripts and add a Content-Security-Policy that blocks every outside load."""
    page = _strip_analytics(page)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
    head = re.search(r"<head\b[^>]*>", page, re.IGNORECASE)
    if head is None:
        return meta + page
    return page[: head.end()] + "\n    " + meta + page[head.end() :]


def _strip_analytics(page: str) -> str:
    """Remove each ``<script>`` element whose tag or (short) inline code mentions an analytics service.

    The markers contain characters base64 lacks, so the embedded report data can never match them.
    """
    kept = []
    position = 0
    for tag in _SCRIPT_TAG.finditer(page):
        if tag.start() < position:
            continue
        close = page.find("</script>", tag.end())
        inline_end = len(page) if close < 0 else close
        inline = page[tag.end() : inline_end] if inline_end - tag.end() < 20_000 else ""
        if any(marker in tag.group(0) or marker in inline for marker in _ANALYTICS_MARKERS):
            kept.append(page[position : tag.start()])
            position = inline_end + len("</script>") if close >= 0 else len(page)
    kept.append(page[position:])
    return "".join(kept)


def external_references(page: str) -> list[str]:
    """URLs outside the page that a ``script``/``link``/``img``/frame/media tag would load."""
    return [match.group(1) for match in _EXTERNAL_REFERENCE.finditer(page)]
