"""pytest-xdist's worker program, after the suite's libraries are imported.

xdist sends a worker the source of this module (``pytest_xdist_getremotemodule``, see
:mod:`conformance.distributed`). It imports what :func:`conformance.runner.import_ahead` imports before
the command's pytest starts, for the same reason: pytest rewrites the asserts of every module of a
plugin's distribution it imports itself, from source wherever no bytecode is written, and that is most of
a process's start-up. Then it runs xdist's own worker program, unchanged, in this namespace (which holds
the channel to the controller).
"""

if __name__ == "__channelexec__":
    import importlib
    import inspect

    import xdist.remote

    from conformance.runner import SUITE_IMPORTS

    for name in SUITE_IMPORTS:
        importlib.import_module(name)
    # xdist's own program, as xdist would run it
    exec(compile(inspect.getsource(xdist.remote), xdist.remote.__file__, "exec"))
