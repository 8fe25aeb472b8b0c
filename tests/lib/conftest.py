"""Fixtures of the lib suite, from the shared harness (tests/lib/harness)."""
from harness.fixtures import relay  # noqa: F401
