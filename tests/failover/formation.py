"""A pg_auto_failover formation of the test's own (Debian 12:
postgresql-15-auto-failover): the monitor, a primary and one secondary,
each a `pg_autoctl ... --run` process of the postgres user on 127.0.0.1,
its own port and directories (XDG_CONFIG_HOME and XDG_DATA_HOME inside the
formation's directory: nothing of the host's pg_autoctl setup is read or
written).  With one standby pg_auto_failover makes replication
synchronous (number_sync_standbys 0, the standby in the quorum:
synchronous_standby_names = 'ANY 1 (...)').

Formation duck-types harness.Cluster (conninfo, connect, admin,
ensure_role, new_db_name), so that harness.Env and migrate_template set up
the dunning database on it as on a single server: every conninfo it gives
names both nodes, `target_session_attrs=read-write`.

Every wait polls with a deadline; stop() ends every process the
formation started (SIGTERM to each pg_autoctl's process group, SIGKILL
after a while, then pg_ctl stop -m immediate on any data directory left
running) and removes its directory."""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import psycopg2

from harness import PG_BIN, free_port, wait_until

PG_AUTOCTL = '/usr/bin/pg_autoctl'
PG_CTL = os.path.join(PG_BIN, 'pg_ctl')


class Node:
    """One `pg_autoctl ... --run` process and its data directory."""

    def __init__(self, formation, name, port):
        self.formation = formation
        self.name = name
        self.port = port
        self.pgdata = os.path.join(formation.dir, name)
        self.logpath = os.path.join(formation.dir, name + '.log')
        self.proc = None

    def start(self, argv):
        f = self.formation
        env = ['env', 'HOME=' + f.dir, 'XDG_CONFIG_HOME=' + os.path.join(f.dir, 'config'),
               'XDG_DATA_HOME=' + os.path.join(f.dir, 'share'),
               'XDG_RUNTIME_DIR=' + os.path.join(f.dir, 'run'),
               'PGHOST=127.0.0.1', 'PG_REGRESS_SOCK_DIR=']
        with open(self.logpath, 'ab') as log:
            # Its own session: the whole tree (pg_autoctl's services and
            # Postgres under them) is one process group.
            self.proc = subprocess.Popen(['runuser', '-u', 'postgres', '--'] + env +
                                         [PG_AUTOCTL] + argv, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=f.dir,
                                         start_new_session=True)
        return self

    def log(self):
        try:
            with open(self.logpath, errors='replace') as fh:
                return fh.read()
        except FileNotFoundError:
            return ''

    def postmaster_pid(self):
        """The postmaster's pid (postmaster.pid's first line), or None."""
        try:
            with open(os.path.join(self.pgdata, 'postmaster.pid')) as fh:
                return int(fh.readline())
        except (FileNotFoundError, ValueError):
            return None

    def answers(self, read_write=None):
        """Does Postgres accept a connection (and, READ_WRITE true/false,
        is it a primary / a standby)?"""
        try:
            c = psycopg2.connect(host='127.0.0.1', port=self.port, dbname='postgres',
                                 user='postgres', connect_timeout=2)
        except psycopg2.Error:
            return False
        try:
            c.autocommit = True
            with c.cursor() as cur:
                # What libpq's target_session_attrs=read-write asks: not in
                # recovery, and not read-only (pg_autoctl keeps a promoted
                # standby read-only until it may take writes).
                cur.execute("SELECT pg_is_in_recovery() "
                            "OR current_setting('transaction_read_only')::bool")
                read_only = cur.fetchone()[0]
            return read_write is None or read_write != read_only
        except psycopg2.Error:
            return False
        finally:
            c.close()

    def sql(self, query, params=None, dbname='postgres'):
        c = psycopg2.connect(host='127.0.0.1', port=self.port, dbname=dbname, user='postgres',
                             connect_timeout=5)
        try:
            c.autocommit = True
            with c.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description else None
        finally:
            c.close()

    def kill(self):
        """The machine dies: SIGKILL to pg_autoctl's process group (its
        keeper would restart Postgres, and no failover would happen), then
        to the postmaster itself (if pg_autoctl had started it apart).
        Returns the instant (time.monotonic()) of the kill."""
        pid = self.postmaster_pid()
        t = time.monotonic()
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            self.proc.wait(30)
        return t

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
            except ProcessLookupError:
                pass
        if self.postmaster_pid() is not None and os.path.isdir(self.pgdata):
            subprocess.run(['runuser', '-u', 'postgres', '--', PG_CTL, '-D', self.pgdata,
                            '-m', 'immediate', '-w', '-t', '30', 'stop'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


class Formation:
    """The monitor, node1 (the first primary) and node2 (its synchronous
    standby), on 127.0.0.1."""

    def __init__(self, deadline=180):
        self.deadline = deadline
        self.dir = tempfile.mkdtemp(prefix='dunning-ha-')
        pw = pwd.getpwnam('postgres')
        for d in (self.dir, os.path.join(self.dir, 'run')):
            os.makedirs(d, exist_ok=True)
            os.chown(d, pw.pw_uid, pw.pw_gid)
            os.chmod(d, 0o700 if d != self.dir else 0o755)
        self.monitor = Node(self, 'monitor', free_port())
        self.nodes = [Node(self, 'node1', free_port()), Node(self, 'node2', free_port())]
        self._dbs = 0
        self.template = None

    # the formation --------------------------------------------------------
    def start(self):
        common = ['--pgctl', PG_CTL, '--hostname', '127.0.0.1', '--auth', 'trust', '--no-ssl']
        m = self.monitor
        m.start(['create', 'monitor', '--pgdata', m.pgdata, '--pgport', str(m.port)] + common +
                ['--run'])
        wait_until('the monitor', lambda: self._alive(m) and m.answers(True),
                   deadline=self.deadline, interval=0.2)
        for i, n in enumerate(self.nodes):
            n.start(['create', 'postgres', '--pgdata', n.pgdata, '--pgport', str(n.port),
                     '--name', n.name, '--listen', '127.0.0.1', '--monitor', self.monitor_uri()] + common + ['--run'])
            # One at a time: the first is the primary, the second its standby.
            want = ['single'] if i == 0 else ['primary', 'secondary']
            wait_until('%s %s' % (n.name, ' and '.join(want)),
                       lambda: self._alive(n) and self._states_are(want),
                       deadline=self.deadline, interval=0.2)
        for n in self.nodes:
            wait_until('%s answers' % n.name, lambda: n.answers(), deadline=60, interval=0.2)
        return self

    def _alive(self, node):
        if node.proc.poll() is not None:
            raise AssertionError('%s exited %s:\n%s' % (node.name, node.proc.returncode,
                                                          node.log()[-4000:]))
        return True

    def monitor_uri(self):
        return ('postgres://autoctl_node@127.0.0.1:%d/pg_auto_failover?sslmode=disable'
                % self.monitor.port)

    def states(self):
        """{node name: (reported state, goal state)} as the monitor has them."""
        try:
            rows = self.monitor.sql('SELECT nodename, reportedstate, goalstate '
                                    'FROM pgautofailover.node', dbname='pg_auto_failover')
        except psycopg2.Error:
            return {}
        return {r[0]: (r[1], r[2]) for r in rows}

    def _states_are(self, want):
        st = self.states()
        got = sorted(r for r, g in st.values() if r == g)
        return len(got) == len(st) == len(want) and got == sorted(want)

    def primary(self):
        """The node Postgres says is read-write (None if none is)."""
        for n in self.nodes:
            if n.answers(read_write=True):
                return n
        return None

    def standby(self):
        return next(n for n in self.nodes if n is not self.primary())

    def autoctl(self, *args, node=None):
        """pg_autoctl ARGS against the monitor (perform failover ...), or
        as NODE (set node ...)."""
        where = ['--pgdata', node.pgdata] if node else ['--monitor', self.monitor_uri()]
        r = subprocess.run(['runuser', '-u', 'postgres', '--', 'env',
                            'XDG_CONFIG_HOME=' + os.path.join(self.dir, 'config'),
                            'XDG_DATA_HOME=' + os.path.join(self.dir, 'share'),
                            PG_AUTOCTL] + list(args) + where,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           errors='replace', timeout=self.deadline, cwd=self.dir)
        if r.returncode != 0:
            raise AssertionError('pg_autoctl %s: %s' % (' '.join(args), r.stdout))
        return r.stdout

    def make_async(self):
        """The standby out of the replication quorum: the primary's
        synchronous_standby_names empty, its commits no longer wait for
        the standby (asynchronous replication)."""
        standby = self.standby()
        self.autoctl('set', 'node', 'replication-quorum', 'false', node=standby)
        wait_until('synchronous_standby_names empty', lambda: self.primary().sql(
            'SHOW synchronous_standby_names') == [('',)], deadline=120, interval=0.2)

    def stop(self):
        for n in self.nodes + [self.monitor]:
            try:
                n.stop()
            except Exception:       # the others still stop
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self):
        return '\n'.join('==== %s\n%s' % (n.name, n.log()[-3000:])
                         for n in [self.monitor] + self.nodes)

    # harness.Cluster's interface -----------------------------------------
    @property
    def hosts(self):
        return ','.join('127.0.0.1' for _ in self.nodes)

    @property
    def ports(self):
        return ','.join(str(n.port) for n in self.nodes)

    def conninfo(self, dbname, user='postgres'):
        return ('host=%s port=%s dbname=%s user=%s target_session_attrs=read-write '
                'connect_timeout=5' % (self.hosts, self.ports, dbname, user))

    def connect(self, dbname='postgres', user='postgres', autocommit=True):
        conn = psycopg2.connect(self.conninfo(dbname, user))
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
        if not self.admin('SELECT 1 FROM pg_roles WHERE rolname = %s', (name,)):
            self.admin('CREATE ROLE %s LOGIN%s' % (
                name, ' IN ROLE %s' % member_of if member_of else ''))
        return name

    def new_db_name(self, prefix='t'):
        self._dbs += 1
        return '%s_%d_%d' % (prefix, os.getpid(), self._dbs)
