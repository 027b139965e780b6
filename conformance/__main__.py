"""``python -m conformance`` is the same as ``notify-conformance``."""

from conformance.cli import entry

entry()
