"""pytest-xdist's worker program, after the suite's libraries are imported.

xdist sends a worker the source of this module (``pytest_xdist_getremotemodule``, see
:mod:`conformance.distributed`). It calls :func:`conformance.runner.import_ahead`, as the command does
before its pytest starts, for the same reason: pytest rewrites the asserts of every module of a
plugin's distribution it imports itself, from source wherever no bytecode is written, and that is most of
a process's start-up. Then it runs xdist's own worker program, unchanged, in this namespace (which holds
the channel to the controller).

First it takes the controller's ``sys.path`` (handed over in :data:`SYS_PATH_VARIABLE`), which xdist
would restore only after these imports. Until then the path starts with the current folder (the worker
is ``python -c``), so in a checkout's root its ``conformance/`` would shadow the installed package the
controller collects the suite from, and every module would be collected as a file of another name.
"""

#: the environment variable in which the controller hands its ``sys.path`` (JSON) to its workers
SYS_PATH_VARIABLE = "_NOTIFY_CONFORMANCE_WORKER_SYS_PATH"

if __name__ == "__channelexec__":
    import json
    import os
    import sys

    if SYS_PATH_VARIABLE in os.environ:
        sys.path[:] = json.loads(os.environ[SYS_PATH_VARIABLE])

    import inspect

    import xdist.remote

    from conformance.environments import Options
    from conformance.runner import import_ahead

    import_ahead(Options(env="local"))  # the very modules the command imported: the same generation
    # xdist's own program, as xdist would run it
    exec(compile(inspect.getsource(xdist.remote), xdist.remote.__file__, "exec"))
