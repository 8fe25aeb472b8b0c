"""The pytest fixtures of every suite; each conftest.py imports those it
uses.  Every server started here is stopped by a fixture finalizer, even
when the test fails."""
import os

import pytest

from .env import Env, migrate_template
from .paths import DUNNINGCTL, DUNNINGD
from .pg import Cluster
from .relay import Relay


def _started_cluster(tmp_path_factory, durable=False):
    """A cluster started and migrated once; stopped when the generator ends."""
    c = Cluster(durable=durable)
    try:
        c.start()
        c.template = migrate_template(c, str(tmp_path_factory.mktemp('tpl')))
        yield c
    finally:
        c.stop()


def _env_factory(cluster, tmp_path, prefix):
    """A function making Envs on CLUSTER, each closed when the generator ends."""
    envs = []

    def make(**kw):
        wd = tmp_path / ('%s%d' % (prefix, len(envs)))
        wd.mkdir()
        e = Env(cluster, cluster.template, str(wd), **kw)
        envs.append(e)
        return e

    yield make
    for e in envs:
        e.close()


@pytest.fixture(scope='session')
def cluster(tmp_path_factory):
    for p in (DUNNINGD, DUNNINGCTL):
        if not os.access(p, os.X_OK):
            pytest.exit('program not built: %s' % p, returncode=2)
    yield from _started_cluster(tmp_path_factory)


@pytest.fixture(scope='module')
def private_cluster(tmp_path_factory):
    """A cluster of the module's own, for tests that restart PostgreSQL."""
    yield from _started_cluster(tmp_path_factory, durable=True)


@pytest.fixture
def make_private_env(private_cluster, tmp_path):
    yield from _env_factory(private_cluster, tmp_path, 'penv')


@pytest.fixture
def make_env(cluster, tmp_path):
    yield from _env_factory(cluster, tmp_path, 'env')


@pytest.fixture
def env(make_env):
    return make_env()


@pytest.fixture
def relay(tmp_path):
    """A private Postfix relay (harness.relay), stopped even when the test
    fails; its log and Maildir are kept in tmp_path/relay."""
    r = Relay(tmp_path).start()
    try:
        yield r
    finally:
        r.stop()
