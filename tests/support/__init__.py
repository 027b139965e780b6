"""Real loopback servers that misbehave the way real environments do, shared by ``tests/realworld`` and
``bench/realworld.py``: a recording wrapper that counts and timestamps every request server-side, the
reference API wrapped in deliberate misbehaviours (429s, hangs, slowness, a refusing token endpoint),
small servers that are not the API at all, bad private keys, and helpers to drive the CLI as a user.

Nothing here mocks the network: every server listens on 127.0.0.1 and every request crosses a socket.
"""
