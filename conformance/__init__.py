"""notify-conformance: the contract and conformance test suite for the NHS Notify API.

The public API is what is listed in ``__all__``; every other module is an implementation detail.
"""

from conformance._version import __version__
from conformance.auth import SignedJWTAuth, load_private_key
from conformance.environments import Credentials, Environment, Options, Target
from conformance.errors import (
    ConfigurationError,
    ConformanceError,
    CredentialsError,
    ExitCode,
    SafetyRefusal,
    TargetUnreachable,
    TokenEndpointError,
    UsageError,
)
from conformance.exchange import Exchange
from conformance.safety import SafetyPolicy

__all__ = [
    "ConfigurationError",
    "ConformanceError",
    "Credentials",
    "CredentialsError",
    "Environment",
    "Exchange",
    "ExitCode",
    "Options",
    "SafetyPolicy",
    "SafetyRefusal",
    "SignedJWTAuth",
    "Target",
    "TargetUnreachable",
    "TokenEndpointError",
    "UsageError",
    "__version__",
    "load_private_key",
]
