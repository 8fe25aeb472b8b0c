"""Fixtures of the SQL suite, from the shared harness (tests/lib/harness),
with no relay unless a test asks for one."""
import pytest

from harness.fixtures import cluster, make_env  # noqa: F401  (pytest fixtures)


@pytest.fixture
def env(make_env):
    return make_env(smtp=False)
