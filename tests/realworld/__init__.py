"""Truthful verdicts against real environments: the command line, end to end, against loopback servers
that misbehave the way real gateways, proxies and networks do (see ``tests/support``)."""
