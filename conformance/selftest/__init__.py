"""``notify-conformance selftest``: prove the suite can fail.

The suite runs against the clean reference API and once per deliberate fault of
:mod:`conformance.reference.faults`; the kill matrix says which tests caught which fault. A fault no
test notices means a check has gone blind, so any score under 100% fails the command.

``jobs`` is the data model, ``worker`` what runs inside one worker process, ``pool`` the processes,
``matrix`` the verdicts and their renderings, ``command`` the command itself.
"""

from conformance.selftest.command import selftest_command

__all__ = ["selftest_command"]
