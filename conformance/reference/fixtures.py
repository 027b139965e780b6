"""The sandbox's canned data: stored messages (behaviour §4.5) and NHS App account pages (§4.6).

Loaded once per process from ``fixtures/sandbox``; callers get deep copies they may change.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance._resources import fixtures_dir

PATH_ROOT = "%PATH_ROOT%"


def _sandbox_dir() -> Path:
    return fixtures_dir() / "sandbox"


@lru_cache(maxsize=1)
def _stored_messages() -> dict[str, dict[str, Any]]:
    folder = _sandbox_dir() / "messages"
    return {path.stem: json.loads(path.read_text("utf-8")) for path in sorted(folder.glob("*.json"))}


@lru_cache(maxsize=1)
def _account_pages() -> dict[str, dict[str, Any]]:
    folder = _sandbox_dir() / "nhsapp-accounts"
    return {path.stem: json.loads(path.read_text("utf-8")) for path in sorted(folder.glob("*.json"))}


def stored_message_ids() -> tuple[str, ...]:
    return tuple(_stored_messages())


def stored_message(message_id: str) -> dict[str, Any] | None:
    """The stored GET body for ``message_id`` (``links.self`` still the ``%PATH_ROOT%`` placeholder)."""
    document = _stored_messages().get(message_id)
    return copy.deepcopy(document) if document is not None else None


def account_page(page: str) -> dict[str, Any] | None:
    """Page ``page`` (the raw query string, e.g. "1") of the paginated T00001 practice, or None."""
    document = _account_pages().get(page)
    return copy.deepcopy(document) if document is not None else None


def replace_path_root(value: Any, path_root: str) -> Any:
    """Every ``%PATH_ROOT%`` in the strings of ``value`` replaced, as the gateway rewrites backend links."""
    if isinstance(value, str):
        return value.replace(PATH_ROOT, path_root)
    if isinstance(value, dict):
        return {key: replace_path_root(item, path_root) for key, item in value.items()}
    if isinstance(value, list):
        return [replace_path_root(item, path_root) for item in value]
    return value


def preload() -> None:
    """Read the fixtures now, so the first request does not pay for it."""
    _stored_messages()
    _account_pages()
