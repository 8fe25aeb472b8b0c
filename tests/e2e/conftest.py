"""Fixtures of the end-to-end suite: see harness.py."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import cluster, make_env, env, private_cluster, make_private_env  # noqa: E402,F401  (pytest fixtures)
