"""Fixtures of the SQL suite: the e2e harness (tests/e2e/harness.py), with
no relay unless a test asks for one."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))

from harness import cluster, make_env  # noqa: E402,F401  (pytest fixtures)


@pytest.fixture
def env(make_env):
    return make_env(smtp=False)
