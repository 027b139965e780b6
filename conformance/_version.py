"""The suite's version, shown in reports and the evidence manifest."""

__version__ = "0.1.0"
