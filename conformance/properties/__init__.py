"""Property-based conformance: schemathesis generates requests from ``specs/``, httpx sends them through
the suite's guarded transport, and schemathesis's checks plus ours judge every response."""
