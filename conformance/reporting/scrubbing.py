"""Keep secrets out of the files a run leaves behind, using the one redaction layer
(:mod:`conformance.redaction`) in two places:

- while the run writes: :class:`RedactingFileLogger` takes the place of allure-pytest's file writer, so
  every result, container and attachment (captured logs included) is redacted before it reaches disk;
- after the run: :func:`scrub_tree` passes every text file of the report folder through the same layer,
  in case anything slipped past (a writer we do not control, a secret registered late).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from allure_commons import hookimpl
from allure_commons.logger import AllureFileLogger

from conformance import redaction


def redact_tree(value: Any) -> Any:
    """A copy of a JSON-like value with every string (keys included) redacted."""
    if isinstance(value, str):
        return redaction.redact(value)
    if isinstance(value, dict):
        return {redact_tree(key): redact_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(item) for item in value]
    return value


def redacted_json(document: Any) -> str:
    """``document`` serialised with no secret in it, and still valid JSON.

    Most documents hold none, so one pass over the serialised text decides; otherwise every string is
    redacted, then the text once more for what spans several strings (a token under an ``access_token``
    key), unless that pass would break the JSON.
    """
    text = json.dumps(document, ensure_ascii=False)
    if redaction.redact(text) == text:
        return text
    text = json.dumps(redact_tree(document), ensure_ascii=False)
    cleaned = redaction.redact(text)
    if cleaned != text:
        try:
            json.loads(cleaned)
        except ValueError:
            return text
    return cleaned


def _redacted_bytes(data: bytes) -> bytes:
    """Text is redacted; anything that is not UTF-8 (an image, an archive) is left as it is."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    cleaned = redaction.redact(text)
    return data if cleaned == text else cleaned.encode("utf-8")


def allure_item_document(value: Any) -> Any:
    """An allure-commons result, container or globals item as the JSON-ready value allure's own writer
    stores: what ``attr.asdict(item, filter=lambda _, v: v or v is False)`` gives, without importing
    attrs (it reaches us only through allure). allure's model classes are attrs classes, and
    ``__attrs_attrs__`` (attrs' public protocol) lists their fields in declaration order; a field whose
    value is empty (None, "", 0, an empty list) is left out, False is kept, collections become lists."""
    fields = getattr(type(value), "__attrs_attrs__", None)
    if fields is not None:
        document: dict[str, Any] = {}
        for item_field in fields:
            item = getattr(value, item_field.name)
            if item or item is False:
                document[item_field.name] = allure_item_document(item)
        return document
    if isinstance(value, list | tuple | set | frozenset):
        return [allure_item_document(item) for item in value]
    if isinstance(value, dict):
        return {key: allure_item_document(item) for key, item in value.items()}
    return value


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class RedactingFileLogger(AllureFileLogger):  # type: ignore[misc]
    """allure-pytest's results writer, with every item and attachment redacted on the way to disk."""

    def _write_item(self, item: Any) -> None:
        text = redacted_json(allure_item_document(item))
        name = item.file_pattern.format(prefix=uuid.uuid4())
        _write_atomically(self._report_dir / name, text.encode("utf-8"))

    @hookimpl  # type: ignore[untyped-decorator]
    def report_result(self, result: Any) -> None:
        self._write_item(result)

    @hookimpl  # type: ignore[untyped-decorator]
    def report_container(self, container: Any) -> None:
        self._write_item(container)

    @hookimpl  # type: ignore[untyped-decorator]
    def report_globals(self, globals_item: Any) -> None:
        self._write_item(globals_item)

    @hookimpl  # type: ignore[untyped-decorator]
    def report_attached_data(self, body: str | bytes, file_name: str) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        _write_atomically(self._report_dir / file_name, _redacted_bytes(data))

    @hookimpl  # type: ignore[untyped-decorator]
    def report_attached_file(self, source: str | os.PathLike[str], file_name: str) -> None:
        _write_atomically(self._report_dir / file_name, _redacted_bytes(Path(source).read_bytes()))


def install_redacting_writer() -> None:
    """Make allure-pytest build :class:`RedactingFileLogger` as its results writer.

    allure-pytest offers no hook to change what its writer receives (pluggy passes the same immutable
    arguments to every implementation) and its clean-up step unregisters the very object it created, so
    the writer class is swapped before allure-pytest's ``pytest_configure`` instantiates it.
    """
    import allure_pytest.plugin

    allure_pytest.plugin.AllureFileLogger = RedactingFileLogger


def scrub_tree(root: Path, skip: tuple[str, ...] = ()) -> list[Path]:
    """Redact every text file under ``root`` in place (JSON stays valid); return the files changed.

    ``skip`` names top-level entries to leave alone (the HTML, which is regenerated from scrubbed input).
    """
    changed = []
    for path in _files(root, skip):
        data = path.read_bytes()
        cleaned = _scrubbed(path, data)
        if cleaned != data:
            _write_atomically(path, cleaned)
            changed.append(path)
    return changed


def _files(root: Path, skip: tuple[str, ...]) -> Iterator[Path]:
    for entry in sorted(root.iterdir()) if root.is_dir() else ():
        if entry.name in skip or entry.is_symlink():
            continue
        if entry.is_dir():
            yield from _files(entry, ())
        elif entry.is_file() and not entry.name.endswith(".tmp"):
            yield entry


def _scrubbed(path: Path, data: bytes) -> bytes:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    if redaction.redact(text) == text:
        return data
    if path.suffix == ".json":
        try:
            return redacted_json(json.loads(text)).encode("utf-8")
        except ValueError:
            pass
    elif path.suffix == ".jsonl":
        return "".join(_scrubbed_line(line) for line in text.splitlines(keepends=True)).encode("utf-8")
    return redaction.redact(text).encode("utf-8")


def _scrubbed_line(line: str) -> str:
    """One JSON Lines record, redacted so the line stays valid JSON."""
    body = line.rstrip("\n")
    try:
        record = json.loads(body)
    except ValueError:
        return redaction.redact(line)
    return redacted_json(record) + line[len(body) :]
