"""Fixtures of the end-to-end suite, from the shared harness (tests/lib/harness)."""
from harness.fixtures import (cluster, env, make_env, make_private_env,  # noqa: F401
                              private_cluster, relay)
