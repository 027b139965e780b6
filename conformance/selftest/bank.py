"""The faults the self-test proves are caught, in one list: the reference API's
(:mod:`conformance.reference.faults`, caught in the areas each names) and then the reference receiver's
(:mod:`conformance.reference.receiver_faults`, caught in the ``callbacks`` area, by one of the checks
each names). Both banks' names go to ``run --fault``; the local environment hands each to its server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

#: the area that must catch every receiver fault
RECEIVER_AREA = "callbacks"
#: how the kill matrix names the server a receiver fault runs on (an API fault names its modes)
RECEIVER_MODE = "receiver"


class BankFault(Protocol):
    """What the self-test needs of a fault: its name, where it must be caught, what it breaks."""

    @property
    def name(self) -> str: ...
    @property
    def areas(self) -> tuple[str, ...]: ...
    @property
    def modes(self) -> tuple[str, ...]: ...
    @property
    def breaks(self) -> str: ...
    @property
    def section(self) -> str: ...
    @property
    def strict_contract(self) -> bool: ...


@dataclass(frozen=True)
class ReceiverEntry:
    """A receiver fault as the self-test sees it."""

    name: str
    breaks: str
    section: str
    #: the checks of the callbacks area that must see it (the kill matrix counts the area's failures)
    caught_by: tuple[str, ...]
    areas: tuple[str, ...] = (RECEIVER_AREA,)
    modes: tuple[str, ...] = (RECEIVER_MODE,)
    strict_contract: bool = False


def every_fault() -> Mapping[str, BankFault]:
    """Every fault by name: the API's in bank order, then the receiver's."""
    from conformance.reference.faults import FAULTS
    from conformance.reference.receiver_faults import FAULTS as RECEIVER_FAULTS

    found: dict[str, BankFault] = dict(FAULTS)
    for name, fault in RECEIVER_FAULTS.items():
        found[name] = ReceiverEntry(name, fault.breaks, fault.section, fault.caught_by)
    return found


def check_known(names: Iterable[str]) -> None:
    """ValueError naming the first name that is no fault of either bank, in the wording every command
    shows (:func:`conformance.reference.faults.check_known`)."""
    from conformance.reference.faults import check_known as check_api_faults
    from conformance.reference.receiver_faults import FAULTS as RECEIVER_FAULTS

    check_api_faults(name for name in names if name not in RECEIVER_FAULTS)
