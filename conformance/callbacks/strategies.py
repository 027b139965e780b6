"""Hypothesis strategies for callback bodies, generated from the contract's callback schemas.

The schemas use a small part of JSON Schema (objects, arrays, strings with enums, patterns and formats,
integers), so the strategies are built here from the schema itself rather than through a general
converter. Anything outside that part raises :class:`UnsupportedSchema`, so a contract change that needs
a new rule is noticed, never silently generated wrong.

* Every optional member is independently present or absent; ``data`` holds one to four items.
* No member the schema does not define is generated (those are an example check's business).
* Three values are domain values rather than any string of the type: ``links.message`` is the URL of
  the item's own message, ``meta.idempotencyKey`` is the hash of the item's content (ops §1.2), and
  integers stay in 0..2^31-1, what the sender produces.
* ``type``, ``attributes`` and ``links`` are generated on every message status item: the contract's item
  schema lists no required members, but behaviour §5 says an item has them (as channel status items must).
* Strings are printable Unicode: control characters never appear in what the sender serialises.

:func:`draw` collects examples with hypothesis' own engine (seeded, no database, no shrinking); the
examples are sent afterwards, so generating them sends nothing.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from conformance.callbacks.payloads import MESSAGE_URL, Document, idempotency_key, timestamp
from conformance.callbacks.schema import Kind, callback_schema

T = TypeVar("T")

#: most items generated into one ``data`` array (the contract sets no maximum)
MAX_ITEMS = 4
#: most entries generated into other arrays
_MAX_ENTRIES = 3
_MAX_TEXT = 40
_INT_MAX = 2**31 - 1
_EARLIEST = datetime(2020, 1, 1)
#: a pattern that is one character class repeated: ``^[a-zA-Z0-9]{27}$``, ``^[0-9a-f]{2,5}$``
_CLASS_REPEAT = re.compile(r"\^\[((?:\w-\w|\w)+)\]\{(\d+)(?:,(\d+))?\}\$")
_LATEST = datetime(2035, 12, 31)
_HANDLED = frozenset(
    {
        "type",
        "properties",
        "required",
        "items",
        "minItems",
        "maxItems",
        "enum",
        "pattern",
        "format",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "description",
        "example",
        "additionalProperties",
    }
)
#: members behaviour §5 says every message status item has, though the item schema does not require them
_ALWAYS = {Kind.MESSAGE_STATUS: ("type", "attributes", "links"), Kind.CHANNEL_STATUS: ()}


class UnsupportedSchema(ValueError):
    """The contract uses a JSON Schema feature the strategies do not know."""


def _date_times() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=_EARLIEST, max_value=_LATEST, timezones=st.just(UTC))
    whole_seconds = moments.map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return st.one_of(moments.map(timestamp), whole_seconds)


def _simple_pattern(pattern: str) -> st.SearchStrategy[str] | None:
    """``^[a-zA-Z0-9]{27}$`` and the like as plain text of that alphabet and length (``st.from_regex`` is
    about ten times slower on them); None for any other pattern."""
    match = _CLASS_REPEAT.fullmatch(pattern)
    if match is None:
        return None
    members, low, high = match.group(1), int(match.group(2)), match.group(3)
    alphabet = ""
    for start, end, single in re.findall(r"(\w)-(\w)|(\w)", members):
        alphabet += "".join(chr(c) for c in range(ord(start), ord(end) + 1)) if start else single
    if not alphabet or len(alphabet) != len(set(alphabet)):
        return None
    return st.text(alphabet=alphabet, min_size=low, max_size=int(high) if high is not None else low)


def _string(schema: Mapping[str, Any], where: str) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    form = schema.get("format")
    if form == "date-time":
        return _date_times()
    if form == "uuid":
        return st.uuids().map(str)
    if form == "uri":
        host = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=10)
        path = st.text(alphabet=string.ascii_lowercase + string.digits, max_size=10)
        return st.builds("https://{}.example/{}".format, host, path)
    if form is not None:
        raise UnsupportedSchema(f"{where}: string format {form!r}")
    if "pattern" in schema:
        simple = _simple_pattern(schema["pattern"])
        return simple if simple is not None else st.from_regex(schema["pattern"], fullmatch=True)
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    # no surrogates (Cs), so every character is valid UTF-8 without ``codec="utf-8"``, which yields the
    # same characters but costs hypothesis some 2 s per process to work out
    return st.text(
        st.characters(exclude_categories=("Cs", "Cc")),
        min_size=low,
        max_size=int(high) if high is not None else max(low, _MAX_TEXT),
    )


def from_schema(
    schema: Mapping[str, Any], where: str = "#", always: tuple[str, ...] = ()
) -> st.SearchStrategy[Any]:
    """Values valid against ``schema`` (already free of ``$ref``); ``always`` lists optional members of an
    object that are generated every time."""
    unknown = set(schema) - _HANDLED
    if unknown:
        raise UnsupportedSchema(f"{where}: {', '.join(sorted(unknown))}")
    kind = schema.get("type")
    if kind == "object":
        properties: Mapping[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ())) | set(always)
        fixed = {
            name: from_schema(sub, f"{where}/{name}") for name, sub in properties.items() if name in required
        }
        optional = {
            name: from_schema(sub, f"{where}/{name}")
            for name, sub in properties.items()
            if name not in required
        }
        return st.fixed_dictionaries(fixed, optional=optional)
    if kind == "array":
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", low + _MAX_ENTRIES))
        return st.lists(from_schema(schema["items"], f"{where}/items"), min_size=low, max_size=high)
    if kind == "string":
        return _string(schema, where)
    if kind == "integer":
        return st.integers(int(schema.get("minimum", 0)), int(schema.get("maximum", _INT_MAX)))
    if kind == "boolean":
        return st.booleans()
    raise UnsupportedSchema(f"{where}: type {kind!r}")


def _finish(item: Document) -> Document:
    """Domain values: the message's own URL, the content hash as idempotency key."""
    attributes = item.get("attributes")
    if isinstance(attributes, dict) and "links" in item:
        item["links"] = {"message": MESSAGE_URL + str(attributes.get("messageId", ""))}
    meta = item.get("meta")
    if isinstance(meta, dict) and "idempotencyKey" in meta:
        meta["idempotencyKey"] = idempotency_key(item)
    return item


def items(kind: Kind) -> st.SearchStrategy[Document]:
    """One generated item of ``data``."""
    item = callback_schema(kind)["properties"]["data"]["items"]
    return from_schema(item, f"{kind.component}/data/items", _ALWAYS[kind]).map(_finish)


def documents(kind: Kind) -> st.SearchStrategy[Document]:
    """A whole generated callback body: ``{"data": [one to four items]}``."""
    schema = callback_schema(kind)
    unknown = set(schema) - _HANDLED
    if unknown or set(schema.get("properties", {})) != {"data"}:
        raise UnsupportedSchema(f"{kind.component}: a callback body with more than data")
    low = int(schema["properties"]["data"].get("minItems", 1))
    return st.lists(items(kind), min_size=low, max_size=MAX_ITEMS).map(lambda data: {"data": data})


def draw(strategy: st.SearchStrategy[T], count: int, run_seed: int) -> list[T]:
    """``count`` examples of ``strategy`` (fewer if it has fewer), reproducibly for ``run_seed``."""
    if count <= 0:
        return []
    found: list[T] = []

    @seed(run_seed)
    @settings(
        max_examples=count,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: T) -> None:
        found.append(value)

    collect()
    return found[:count]
