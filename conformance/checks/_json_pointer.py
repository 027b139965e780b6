"""RFC 6901 JSON pointers: is a string one, and does it lead somewhere in a document."""

from __future__ import annotations

import re
from typing import Any

# "~" may only be followed by "0" or "1"; "" (the whole document) or tokens each introduced by "/".
_POINTER = re.compile(r"^(/([^~/]|~[01])*)*$")
_ARRAY_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


def is_valid_pointer(pointer: str) -> bool:
    return _POINTER.fullmatch(pointer) is not None


def tokens(pointer: str) -> list[str]:
    """The unescaped reference tokens of a valid pointer ("" gives none)."""
    if pointer == "":
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def parent(pointer: str) -> str:
    """The pointer one level up ("/a/b" -> "/a", "/a" -> "")."""
    return pointer[: pointer.rfind("/")] if pointer else ""


def resolves(document: Any, pointer: str) -> bool:
    """Whether ``pointer`` names a value inside ``document`` (the NHS Notify "/" means the whole body)."""
    if pointer == "/":
        return True
    node = document
    for token in tokens(pointer):
        if isinstance(node, dict):
            if token not in node:
                return False
            node = node[token]
        elif isinstance(node, list):
            if _ARRAY_INDEX.fullmatch(token) is None or int(token) >= len(node):
                return False
            node = node[int(token)]
        else:
            return False
    return True
