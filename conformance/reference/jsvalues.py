"""JavaScript value semantics the upstream gateway and sandbox rely on, for parsed JSON and query strings.

Kept in one place so Python's different ideas of truthiness, whitespace and number parsing never leak
into behaviour that must match the JavaScript originals.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

#: String.prototype.trim() whitespace (WhiteSpace + LineTerminator). Python's str.isspace differs: it
#: lacks U+FEFF and adds U+001C..U+001F and U+0085.
JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PREFIXED = re.compile(r"0([xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_LEADING_INTEGER = re.compile(r"[+-]?[0-9]+")
_RADIX = {"x": 16, "o": 8, "b": 2}


def js_falsy(value: Any) -> bool:
    """Falsiness of a parsed JSON value: null, false, 0 and "" (objects and arrays are truthy)."""
    if value is None or value is False:
        return True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == 0
    return isinstance(value, str) and value == ""


def js_blank(text: str) -> bool:
    """True when ``text.trim()`` is empty."""
    return not text.strip(JS_WHITESPACE)


def js_number(text: str) -> float:
    """``Number(text)``: decimal, 0x/0o/0b integers or Infinity after trimming; "" is 0; else NaN."""
    stripped = text.strip(JS_WHITESPACE)
    if stripped == "":
        return 0.0
    if _DECIMAL.fullmatch(stripped):
        return float(stripped)
    if prefixed := _PREFIXED.fullmatch(stripped):
        digits = prefixed.group(1)
        return float(int(digits[1:], _RADIX[digits[0].lower()]))
    if stripped.lstrip("+-") == "Infinity" and len(stripped) - len(stripped.lstrip("+-")) <= 1:
        return -math.inf if stripped.startswith("-") else math.inf
    return math.nan


def js_parse_int(text: str) -> int | None:
    """``parseInt(text, 10)``: the leading integer after whitespace, or None where JavaScript gives NaN."""
    match = _LEADING_INTEGER.match(text.lstrip(JS_WHITESPACE))
    return int(match.group(0)) if match else None
