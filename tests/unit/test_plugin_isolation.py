"""The plugin is loaded in every pytest session once the package is installed; a test of someone else's
that happens to use a ``target`` argument must be left alone (found on a clean clone under tox)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_foreign_target_parameter_is_not_touched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("target", ["a", "b"])
        def test_mine(target):
            assert target in ("a", "b")
        """
    )
    result = pytester.runpytest("-p", "conformance.plugin", "-p", "no:notify_conformance")
    result.assert_outcomes(passed=2)
