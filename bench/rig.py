"""What every part of bench/bench.py runs on: the programs (the daemon of
$BENCH_BUILD, default build-bench/), the settings the parts share, a
private PostgreSQL cluster with its databases (class Bench) and one run of
dunningd to its end, measured (run_daemon).

Importing this puts tests/lib (the harness) on the path and the programs'
paths in the environment the harness reads: the other modules of
bench/bench.py import it before the harness.
"""
import collections
import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get('BENCH_BUILD', os.path.join(ROOT, 'build-bench'))
os.environ.setdefault('DUNNING_SOURCE_ROOT', ROOT)
os.environ.setdefault('DUNNINGD', os.path.join(BUILD, 'daemon', 'dunningd'))
os.environ.setdefault('DUNNINGCTL', os.path.join(BUILD, 'ctl', 'dunningctl'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'lib'))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from harness import Cluster  # noqa: E402

DUNNINGD = os.environ['DUNNINGD']
SMTP_SINK = '/usr/sbin/smtp-sink'
SMTP_SOURCE = '/usr/sbin/smtp-source'
AS_OF = dt.date(2026, 3, 31)        # bench/portfolio.sql's default as_of
SEND_DAY = '2026-03-09'             # a Monday: the j3 of invoices due 03-02 is due
BATCH = int(os.environ.get("BENCH_BATCH", "10000"))
AUDIT_HISTORY = int(os.environ.get("BENCH_AUDIT_HISTORY", "200000"))
TRIALS = 50
IDLE_S = 60
SLOW_POLL = 'schedule { poll_interval = 3600 }\n'


def med(v):
    return statistics.median(v)


PERF_HZ = 999               # perf's samples a second and CPU (cpu-clock)


def perf_record(data):
    """`perf record -a -g` of the whole machine into DATA, running once
    this returns (stop it with SIGINT, then communicate())."""
    perf = subprocess.Popen(['perf', 'record', '-a', '-g', '-F', str(PERF_HZ), '-o', data],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1)           # perf is up
    return perf


# ------------------------------------------------------------ databases --

class Bench:
    def __init__(self, work):
        self.work = work
        # As production runs it: fsync, synchronous_commit, full_page_writes
        # on; pg_stat_statements counts the statements (in database postgres,
        # where the parts read it from).
        self.cluster = Cluster(production=True)
        self.cluster.start()
        self.cluster.admin('CREATE EXTENSION pg_stat_statements')
        self.cluster.template = harness.migrate_template(self.cluster, work)
        self.n = 0

    def close(self):
        self.cluster.stop()

    def clone(self, template, name=None):
        self.n += 1
        name = name or 'b%d' % self.n
        self.cluster.admin('CREATE DATABASE %s TEMPLATE %s' % (name, template))
        return name

    def connect(self, db):
        return self.cluster.connect(db)

    def sql(self, db, q, params=None):
        return self.cluster.admin(q, params, dbname=db)

    def config(self, db, smtp_port, name, extra=''):
        path = os.path.join(self.work, name + '.conf')
        # The harness's template; keys it may grow (*_extra) left empty.
        keys = collections.defaultdict(str, conninfo=self.cluster.conninfo(db),
                                       smtp_port=smtp_port, templates=harness.TEMPLATES,
                                       spool=os.path.join(self.work, 'spool'))
        text = harness.BASE_CONFIG.format_map(keys) + extra
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
        return path

    def settings(self):
        """{name: setting} of the durability settings the results quote."""
        return dict(self.cluster.admin(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
            "('fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers', "
            "'shared_preload_libraries', 'jit', 'checkpoint_timeout', 'max_wal_size')"))

    def quiet(self, db, timeout=60):
        """Wait until no client session is connected to DB: a session's
        statistics reach pg_stat_database when its backend exits, which is
        after its client has gone."""
        end = time.monotonic() + timeout
        while self.cluster.admin(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND backend_type = 'client backend'", (db,))[0][0]:
            if time.monotonic() > end:
                raise RuntimeError('sessions still connected to %s' % db)
            time.sleep(0.02)

    def counters(self, db):
        """(commits, statements) of DB so far: pg_stat_database.xact_commit
        and the sum of pg_stat_statements' calls (top-level statements,
        since the last reset_statements), both read from database postgres
        so that reading them counts in neither."""
        self.quiet(db)
        return tuple(self.cluster.admin(
            "SELECT d.xact_commit, (SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s "
            "  WHERE s.dbid = d.datid) FROM pg_stat_database d WHERE d.datname = %s",
            (db,))[0])

    def reset_statements(self, db):
        self.cluster.admin("SELECT pg_stat_statements_reset(0, oid, 0) FROM pg_database "
                           "WHERE datname = %s", (db,))

    def psql_file(self, db, path, *vars_):
        argv = ['psql', '-X', '-q', '-h', self.cluster.host, '-p', str(self.cluster.port),
                '-U', 'postgres']
        for v in vars_:
            argv += ['-v', v]
        argv += ['-f', path, db]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError('psql -f %s: %s' % (path, r.stderr))
        return r.stdout


def run_daemon(args, timeout=900):
    """Run dunningd with ARGS to its end: (exit status, stderr, wall s,
    peak RSS kB, user+sys CPU s).  Through GNU time: the rusage a child of
    this (large) Python process reports counts the parent's pages it had
    before exec."""
    fd, out = tempfile.mkstemp(prefix='time-')
    os.close(fd)
    t0 = time.monotonic()
    p = subprocess.Popen(['/usr/bin/time', '-f', '%M %U %S', '-o', out, DUNNINGD] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, err = p.communicate(timeout=timeout)
    wall = time.monotonic() - t0
    with open(out) as f:
        last = f.read().split('\n')
    os.unlink(out)
    vals = [ln for ln in last if re.match(r'^\d+ [\d.]+ [\d.]+$', ln)][-1].split()
    return p.returncode, err, wall, int(vals[0]), float(vals[1]) + float(vals[2])
