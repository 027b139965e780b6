"""Every known discrepancy the package names exists in the contract (``x-known-discrepancies``).

The contract is the single source of discrepancy ids and of what each one says; the suite and the
property tests only name ids. This scans the package's source, so an id typed into a test module, a
story text or a rule is caught even before the test that uses it runs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conformance.properties.discrepancies import DISCREPANCY_SHAPES, ENVIRONMENT_FACTS
from conformance.spec import load_spec
from conformance.suite import _expect

PACKAGE = Path(__file__).resolve().parents[2] / "conformance"
#: a discrepancy id wherever it appears: in a call, a constant, a story or a comment
_ID = re.compile(r"(?<![\w-])D\d+(?![\w-])")


def _sources() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in sorted(PACKAGE.rglob("*.py"))}


def _contract_ids() -> set[str]:
    return {item.id for item in load_spec().known_discrepancies}


def _noted_ids(source: str) -> list[str]:
    """The ids given to ``note_known_discrepancy``, as a literal or as one of ``_expect``'s constants."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name != "note_known_discrepancy":
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.append(first.value)
        elif isinstance(first, ast.Name | ast.Attribute):
            constant = first.id if isinstance(first, ast.Name) else first.attr
            found.append(getattr(_expect, constant))
        else:
            raise AssertionError(f"note_known_discrepancy called with {ast.dump(first)}: name an id")
    return found


def test_every_id_the_package_mentions_is_in_the_contract() -> None:
    known = _contract_ids()
    unknown = {
        f"{path.relative_to(PACKAGE.parent)}:{source.count(chr(10), 0, match.start()) + 1}": match.group()
        for path, source in _sources().items()
        for match in _ID.finditer(source)
        if match.group() not in known
    }
    assert unknown == {}


def test_every_noted_discrepancy_is_in_the_contract() -> None:
    noted = [
        (str(path.relative_to(PACKAGE.parent)), ident)
        for path, source in _sources().items()
        for ident in _noted_ids(source)
    ]
    assert noted, "the scan found no note_known_discrepancy call: it has gone blind"
    known = _contract_ids()
    assert [(where, ident) for where, ident in noted if ident not in known] == []


def test_every_property_rule_names_a_contract_discrepancy() -> None:
    named = [discrepancy_id for discrepancy_id, _shape in DISCREPANCY_SHAPES]
    assert named and set(named) <= _contract_ids()
    assert all(not _ID.fullmatch(fact.id) for fact in ENVIRONMENT_FACTS)


def test_the_suites_discrepancy_constants_are_in_the_contract() -> None:
    constants = {name: value for name, value in vars(_expect).items() if name.startswith("DISCREPANCY_")}
    assert constants and set(constants.values()) <= _contract_ids()
