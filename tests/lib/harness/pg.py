"""A private PostgreSQL 15 cluster of the tests' own, run as the postgres
user (initdb -A trust --nosync, pg_ctl -w, its own socket directory and
port)."""
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile

import psycopg2

from .paths import PG_BIN
from .programs import free_port


class Cluster:
    """A private PostgreSQL 15 cluster, reached over a unix socket."""

    def __init__(self, durable=False, production=False):
        # DURABLE: commits survive a crash (pg_ctl restart -m immediate);
        # otherwise synchronous_commit is off, for speed.  Either way fsync
        # and full_page_writes are off: a test does not survive the machine.
        # PRODUCTION (the benchmarks): PostgreSQL's own defaults for fsync,
        # synchronous_commit and full_page_writes (all on), as a server in
        # production runs, and pg_stat_statements loaded (CREATE EXTENSION
        # is the caller's).
        self.durable = durable
        self.production = production
        self.dir = tempfile.mkdtemp(prefix='dunning-pg-')
        pw = pwd.getpwnam('postgres')
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, 'data')
        self.log = os.path.join(self.dir, 'server.log')
        self.port = free_port()
        self.host = self.dir
        self.started = False
        self._dbs = itertools.count(1)

    def _pg(self, *args, timeout=120):
        return subprocess.run(['runuser', '-u', 'postgres', '--'] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout, cwd=self.dir)

    def start(self):
        r = self._pg(os.path.join(PG_BIN, 'initdb'), '-D', self.data, '-A', 'trust',
                     *([] if self.production else ['--nosync']), '-U', 'postgres',
                     '-E', 'UTF8', '--locale=C.UTF-8')
        if r.returncode != 0:
            raise RuntimeError('initdb failed:\n' + r.stdout)
        if self.production:
            settings = '-c shared_preload_libraries=pg_stat_statements'
        else:
            settings = ('-c fsync=off -c synchronous_commit=%s -c full_page_writes=off'
                        % ('on' if self.durable else 'off'))
        self.opts = ("-k %s -p %d -c listen_addresses='' %s -c max_connections=100 "
                     "-c log_min_messages=warning" % (self.dir, self.port, settings))
        self._start()

    def _start(self):
        r = self._pg(os.path.join(PG_BIN, 'pg_ctl'), '-D', self.data, '-l', self.log, '-w',
                     '-t', '60', '-o', self.opts, 'start')
        if r.returncode != 0:
            log = open(self.log).read() if os.path.exists(self.log) else ''
            raise RuntimeError('pg_ctl start failed:\n' + r.stdout + log)
        self.started = True

    def stop(self):
        if self.started:
            self._pg(os.path.join(PG_BIN, 'pg_ctl'), '-D', self.data, '-m', 'immediate',
                     '-w', 'stop', timeout=60)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def halt(self):
        """pg_ctl stop -m immediate, the cluster kept: every session dies, and
        none is accepted until resume()."""
        r = self._pg(os.path.join(PG_BIN, 'pg_ctl'), '-D', self.data, '-m', 'immediate',
                     '-w', 'stop', timeout=60)
        if r.returncode != 0:
            raise RuntimeError('pg_ctl stop failed:\n' + r.stdout)

    def resume(self):
        """Start again after halt()."""
        self._start()

    def restart(self):
        """pg_ctl restart -m immediate: every session dies at once."""
        r = self._pg(os.path.join(PG_BIN, 'pg_ctl'), '-D', self.data, '-l', self.log,
                     '-m', 'immediate', '-w', '-t', '60', 'restart')
        if r.returncode != 0:
            raise RuntimeError('pg_ctl restart failed:\n' + r.stdout)

    def conninfo(self, dbname, user='postgres'):
        return 'host=%s port=%d dbname=%s user=%s' % (self.host, self.port, dbname, user)

    def connect(self, dbname='postgres', user='postgres', autocommit=True):
        conn = psycopg2.connect(host=self.host, port=self.port, dbname=dbname, user=user)
        conn.autocommit = autocommit
        return conn

    def admin(self, sql, params=None, dbname='postgres'):
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def ensure_role(self, name, member_of=None):
        """A LOGIN role (cluster-wide, so created once), member of MEMBER_OF."""
        rows = self.admin('SELECT 1 FROM pg_roles WHERE rolname = %s', (name,))
        if not rows:
            self.admin('CREATE ROLE %s LOGIN%s' % (
                name, ' IN ROLE %s' % member_of if member_of else ''))
        return name

    def new_db_name(self, prefix='t'):
        return '%s_%d_%d' % (prefix, os.getpid(), next(self._dbs))
