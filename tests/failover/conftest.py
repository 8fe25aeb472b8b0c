"""Fixtures of the failover suite: a pg_auto_failover formation of each
test's own (tests/failover/formation.py), stopped and removed in a
finally even when the test fails, and the dunning database made on it by
the shared harness (tests/lib/harness/), as on a single server."""
import os

import pytest

from harness import DUNNINGCTL, DUNNINGD, Env, migrate_template

from formation import Formation


@pytest.fixture
def formation(tmp_path):
    for p in (DUNNINGD, DUNNINGCTL):
        if not os.access(p, os.X_OK):
            pytest.exit('program not built: %s' % p, returncode=2)
    f = Formation()
    try:
        f.start()
        f.template = migrate_template(f, str(tmp_path))
        yield f
    except BaseException:
        print(f.logs())
        raise
    finally:
        f.stop()


@pytest.fixture
def make_ha_env(formation, tmp_path):
    """Envs whose database is on FORMATION, reached through a conninfo
    naming both nodes with target_session_attrs=read-write."""
    envs = []

    def make(**kw):
        wd = tmp_path / ('ha%d' % len(envs))
        wd.mkdir()
        e = Env(formation, formation.template, str(wd), **kw)
        envs.append(e)
        return e

    try:
        yield make
    finally:
        for e in envs:
            e.close()
