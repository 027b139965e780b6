"""The embedded reference API: a local stand-in for the NHS Notify gateway (Apigee) and its backend.

It runs in two modes. ``sandbox`` mirrors the open, stateless, scenario-driven sandbox; ``integration``
mirrors the signed-JWT OAuth2, stateful integration environment. Start it with
:func:`conformance.reference.server.start` (background thread) or :func:`~conformance.reference.server.serve`
(foreground). The behaviour follows the gateway's processing order, documented module by module.
"""
