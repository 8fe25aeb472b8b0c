#!/usr/bin/python3
"""bench/bench.py — the benchmark set of issue 7; bench/run calls it.

Not a test: it asserts nothing about the figures, it measures them side by
side with a reference in the same run and writes bench/results.md.

    bench/run                       (installs Postfix's tools, builds, runs this)
    /usr/bin/python3 bench/bench.py [--sizes 10000,100000,1000000] [--parts ...]

It uses the tests' harness (tests/lib/harness/): a private PostgreSQL
15 cluster run as postgres (run this as root), databases cloned from a
migrated template; the daemon of $DUNNINGD (default build-bench/).

Parts:
  plan     portfolios of each size (bench/portfolio.sql, seed 1); one
           planning pass (dunningd --plan-only) against the bare candidate
           query (COPY (...) TO '/dev/null', the daemon's own SQL text read
           from pipeline/plan.c), alternately, at a date where about 5 % of
           the invoices have a stage due and at one where nothing is due;
           peak RSS of the pass.
  send     10 000 due reminders sent to Postfix's smtp-sink by 1, 2 and 4
           daemons (dunningd --once, all started together), each run
           between runs of Postfix's smtp-source sending 10 000 messages of
           the same content to the same sink over as many connections;
           every Message-ID counted in the sink's dump.
  latency  dispute-to-cancel latency, 50 trials, while one daemon sends a
           batch of 10 000; its RSS during the batch.
  idle     CPU of an idle daemon over 60 s; its RSS.
"""
import argparse
import collections
import datetime as dt
import glob
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get('BENCH_BUILD', os.path.join(ROOT, 'build-bench'))
os.environ.setdefault('DUNNING_SOURCE_ROOT', ROOT)
os.environ.setdefault('DUNNINGD', os.path.join(BUILD, 'daemon', 'dunningd'))
os.environ.setdefault('DUNNINGCTL', os.path.join(BUILD, 'ctl', 'dunningctl'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'lib'))
sys.path.insert(0, HERE)

import psycopg2  # noqa: E402
import harness  # noqa: E402
from harness import Cluster, at, free_port  # noqa: E402

DUNNINGD = os.environ['DUNNINGD']
RESULTS = os.path.join(HERE, 'results.md')
SMTP_SINK = '/usr/sbin/smtp-sink'
SMTP_SOURCE = '/usr/sbin/smtp-source'
AS_OF = dt.date(2026, 3, 31)        # bench/portfolio.sql's default as_of
SEND_DAY = '2026-03-09'             # a Monday: the j3 of invoices due 03-02 is due
BATCH = int(os.environ.get("BENCH_BATCH", "10000"))
TRIALS = 50
IDLE_S = 60
SLOW_POLL = 'schedule { poll_interval = 3600 }\n'

FIGURES = []        # (figure, dunningd, reference, ratio, goal) for the table
NOTES = {}          # section -> list of lines


def say(*a):
    print(*a, flush=True)


def med(v):
    return statistics.median(v)


def load_avg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def cpu_model():
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    return platform.processor() or 'unknown'


def git_head():
    r = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'],
                       stdout=subprocess.PIPE, text=True)
    return r.stdout.strip() or 'unknown'


def proc_status(pid):
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            if k in ('VmRSS', 'VmHWM'):
                out[k] = int(v.split()[0])
    return out


def sched_ns(pid):
    total = 0
    for p in glob.glob('/proc/%d/task/*/schedstat' % pid):
        try:
            with open(p) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def cpu_ticks(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])


# ------------------------------------------------------ the daemon's SQL --

def c_literals(text):
    """The concatenation of the C string literals in TEXT."""
    return ''.join(bytes(m, 'utf-8').decode('unicode_escape')
                   for m in re.findall(r'"((?:[^"\\]|\\.)*)"', text))


def candidate_sql(day):
    """The daemon's planning query (pipeline/plan.c: FACTS_SQL and the
    predicate of store_each_candidate), its $1 bound to DAY."""
    with open(os.path.join(ROOT, 'pipeline', 'plan.c')) as f:
        src = f.read()
    m = re.search(r'#define FACTS_SQL((?:.*\\\n)*.*\n)', src)
    facts = c_literals(m.group(1))
    m = re.search(r'store_each_candidate\(.*?store_load_facts\(s, cfg,(.*?), 1, p, fn, arg\)',
                  src, re.S)
    where = c_literals(m.group(1))
    sql = '%s WHERE %s ORDER BY i.id' % (facts, where)
    if '$1' not in sql or 'FROM dunning.invoice' not in sql:
        raise RuntimeError('cannot read the planning query from pipeline/plan.c')
    return sql.replace('$1', "'%s'" % day)


# ------------------------------------------------------------ databases --

class Bench:
    def __init__(self, work):
        self.work = work
        self.cluster = Cluster()
        self.cluster.start()
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


# ------------------------------------------------------------- planning --

def pick_due_day(b, db, total):
    """The first business day (10:00, Paris) after as_of at which at least
    5 % of the invoices have a reminder due (planned, approved or held with
    scheduled_for before it); the day with the most if none reaches 5 %."""
    rows = b.sql(db, "SELECT d::date, (SELECT count(DISTINCT invoice_id) FROM dunning.reminder "
                 "  WHERE state IN ('planned', 'approved', 'held') "
                 "  AND scheduled_for <= (d::date + time '10:00') AT TIME ZONE 'Europe/Paris') "
                 "FROM generate_series(%s::date + 1, %s::date + 90, '1 day') d "
                 "WHERE extract(isodow FROM d) < 6 ORDER BY 1", (AS_OF, AS_OF))
    for d, n in rows:
        if n >= 0.05 * total:
            return d, n
    return max(rows, key=lambda r: (r[1], -r[0].toordinal()))


def plan_pass(conf, now):
    rc, err, wall, rss, cpu = run_daemon(['-c', conf, '--plan-only', '--now', now])
    m = re.search(r'planning pass \S+: (\d+) invoices examined; (\d+) planned, (\d+) held, '
                  r'(\d+) rescheduled, (\d+) cancelled, (\d+) escalated; (\d+) errors; '
                  r'([\d.]+) ms', err)
    if rc != 0 or m is None:
        raise RuntimeError('dunningd --plan-only exited %d:\n%s' % (rc, err))
    g = [int(x) for x in m.groups()[:7]]
    return {'examined': g[0], 'writes': sum(g[1:6]), 'errors': g[6], 'detail': m.group(0),
            'ms': float(m.group(8)), 'wall_ms': wall * 1000, 'rss': rss, 'cpu_ms': cpu * 1000}


# The daemon's session runs without JIT (db/store.c); so does the bare query.
SESSION_SQL = 'SET jit = off'


def bare_query(b, db, sql):
    conn = b.connect(db)
    try:
        with conn.cursor() as c:
            c.execute(SESSION_SQL)
            t = time.monotonic()
            c.execute("COPY (%s) TO '/dev/null'" % sql)
            ms = (time.monotonic() - t) * 1000
            return ms, c.rowcount
    finally:
        conn.close()


def part_plan(b, sizes, rounds_small, rounds_big):
    out = []
    for n in sizes:
        rounds = rounds_big if n >= 1000000 else rounds_small
        db = b.clone(b.cluster.template, 'p%d' % n)
        t = time.monotonic()
        b.psql_file(db, os.path.join(HERE, 'portfolio.sql'), 'invoices=%d' % n, 'seed=1')
        load_s = time.monotonic() - t
        counts = b.sql(db, "SELECT (SELECT count(*) FROM dunning.invoice), "
                       "(SELECT count(*) FROM dunning.payment), "
                       "(SELECT count(*) FROM dunning.reminder), "
                       "pg_database_size(current_database())")[0]
        say('== planning, %d invoices (loaded in %.1f s: %s)' % (n, load_s, counts))
        conf = b.config(db, free_port(), 'plan%d' % n)
        day_due, n_due = pick_due_day(b, db, n)
        res = {'n': n, 'load_s': load_s, 'counts': counts, 'day_due': day_due, 'n_due': n_due}
        for key, day in (('none', AS_OF), ('due', day_due)):
            now = at(day, '10:00')
            sql = candidate_sql((day - dt.timedelta(days=3)).isoformat())
            first = plan_pass(conf, now)      # catch-up writes; then steady state
            say('   %s %s: first pass %.0f ms, %d writes' % (key, day, first['ms'],
                                                           first['writes']))
            passes, bare = [], []
            for i in range(rounds):
                if i % 2 == 0:
                    passes.append(plan_pass(conf, now))
                    bare.append(bare_query(b, db, sql))
                else:
                    bare.append(bare_query(b, db, sql))
                    passes.append(plan_pass(conf, now))
            rows = bare[0][1]
            res[key] = {'day': day, 'first': first, 'passes': passes, 'bare': bare,
                        'rows': rows,
                        'pass_ms': med([p['ms'] for p in passes]),
                        'wall_ms': med([p['wall_ms'] for p in passes]),
                        'bare_ms': med([x[0] for x in bare]),
                        'rss': max(p['rss'] for p in passes + [first]),
                        'examined': passes[0]['examined'],
                        'writes': sum(p['writes'] for p in passes)}
            say('   %s: pass median %.1f ms (process %.1f ms), bare query %.1f ms, %d rows, '
                'peak RSS %d kB' % (key, res[key]['pass_ms'], res[key]['wall_ms'],
                                    res[key]['bare_ms'], rows, res[key]['rss']))
        if n == max(sizes):
            conn = b.connect(db)
            with conn.cursor() as c:
                c.execute(SESSION_SQL)
                c.execute('EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) ' +
                          candidate_sql((AS_OF - dt.timedelta(days=3)).isoformat()))
                res['explain'] = '\n'.join(r[0] for r in c.fetchall())
            conn.close()
        b.cluster.admin('DROP DATABASE %s' % db)
        out.append(res)
    return out


# -------------------------------------------------------------- sending --

SEND_SQL = """
INSERT INTO dunning.lawyer (full_name, email) VALUES ('Maître Alice Martin',
	'alice.martin@cabinet.example');
INSERT INTO dunning.client (kind, company_name, email, lawyer_id, address_line1, postal_code,
	city, strategic)
SELECT 'professional', 'Société ' || g, 'm-' || g || '@client.example', 1,
	'1 rue de la Paix', '75002', 'Paris', g > %(batch)s
FROM generate_series(1, %(batch)s + %(trials)s) g;
INSERT INTO dunning.invoice (number, client_id, issued_on, due_on, amount, matter_ref)
SELECT 'M-' || c.id, c.id, '2026-02-01', '2026-03-02', 1000.00, 'D-' || c.id
FROM dunning.client c;
-- the j3 of each, as a planning pass at SEND_DAY writes it (without its
-- audit row): due on 03-05 at 09:00, held for a strategic client
INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for, reason)
SELECT i.id, 'j3', CASE WHEN c.strategic THEN 'held' ELSE 'planned' END,
	'2026-03-05 09:00+01', CASE WHEN c.strategic THEN 'strategic_client' ELSE 'due' END
FROM dunning.invoice i JOIN dunning.client c ON c.id = i.client_id;
VACUUM ANALYZE dunning.client, dunning.invoice, dunning.reminder;
"""


class Sink:
    """Postfix's smtp-sink on a free loopback port, every transaction
    appended to a dump file."""

    def __init__(self, work, name):
        self.dump = os.path.join(work, name + '.dump')
        self.port = free_port()
        os.makedirs(work, exist_ok=True)
        os.chmod(work, 0o777)
        self.proc = subprocess.Popen([SMTP_SINK, '-u', 'nobody', '-D', self.dump,
                                      '127.0.0.1:%d' % self.port, '256'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                import socket
                with socket.create_connection(('127.0.0.1', self.port), 0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError('smtp-sink did not start')

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)

    def message_ids(self):
        ids = []
        with open(self.dump, 'rb') as f:
            for line in f:
                if line[:11].lower() == b'message-id:':
                    ids.append(line[11:].strip().decode('ascii', 'replace'))
        # the lawyers' digest (sql/010) is not a client's reminder
        return [i for i in ids if not i.startswith('<dunning-lawyer.')]


def smtp_source(port, msgfile, count, sessions):
    """smtp-source: COUNT messages with the content of MSGFILE over
    SESSIONS parallel connections, each kept for all its messages (-d).
    Messages per second."""
    per = count // sessions
    t = time.monotonic()
    r = subprocess.run([SMTP_SOURCE, '-s', str(sessions), '-m', str(per * sessions), '-d',
                        '-F', msgfile, '-f', 'relances@cabinet.example',
                        '-t', 'client@client.example', '127.0.0.1:%d' % port],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    s = time.monotonic() - t
    if r.returncode != 0:
        raise RuntimeError('smtp-source: %s' % r.stderr)
    return per * sessions / s


def make_send_template(b):
    db = b.clone(b.cluster.template, 'send_tpl')
    for stmt in (SEND_SQL % {'batch': BATCH, 'trials': TRIALS}).split(';'):
        if stmt.strip():
            b.sql(db, stmt)
    conf = b.config(db, free_port(), 'send_tpl')
    p = plan_pass(conf, at(SEND_DAY, '10:00'))     # checks: nothing to write
    say('== sending template: %s' % p['detail'])
    return db


def first_message(dump):
    """The first message of an smtp-sink dump, CRLF, for smtp-source -F."""
    with open(dump, 'rb') as f:
        data = f.read()
    # The dump: envelope lines (X-Client-Addr, ...) then the message.
    start = data.find(b'\nFrom:')
    start = data.find(b'Date:') if start < 0 else start + 1
    end = data.find(b'\n\n', data.find(b'\n\n', start) + 2)
    msg = data[start:]
    nxt = re.search(rb'\n(?:X-Client-Addr|X-Client-Proto|X-Helo-Args|X-Mail-Args):', msg)
    if nxt:
        msg = msg[:nxt.start() + 1]
    del end
    return msg


def part_send(b, tpl, scale):
    res = {'runs': [], 'ref': []}
    msgfile = None
    for k in scale:
        db = b.clone(tpl)
        sink = Sink(os.path.join(b.work, 'sink'), 'send%d' % k)
        conf = b.config(db, sink.port, 'send%d' % k)
        # the reference before
        if msgfile is not None:
            res['ref'].append((k, smtp_source(sink.port, msgfile, BATCH, k), 'before'))
            os.truncate(sink.dump, 0)
        load0 = load_avg()
        t0 = time.monotonic()
        procs = []
        for i in range(k):
            procs.append(threading.Thread(target=lambda: procs_out.append(
                run_daemon(['-c', conf, '--once', '-v', '--now', at(SEND_DAY, '10:00')])),
                daemon=True))
        procs_out = []
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        wall = time.monotonic() - t0
        sent = b.sql(db, "SELECT count(*), count(DISTINCT message_id) FROM dunning.reminder "
                     "WHERE state = 'sent'")[0]
        ids = sink.message_ids()
        db_ids = set(r[0] for r in b.sql(db, "SELECT message_id FROM dunning.reminder "
                                          "WHERE state = 'sent'"))
        send_ms = [float(m) for o in procs_out
                   for m in re.findall(r'sending ([\d.]+) ms', o[1])]
        run = {'k': k, 'wall': wall, 'sent': sent[0], 'distinct_db': sent[1],
               'received': len(ids), 'distinct': len(set(ids)),
               'same_set': set(ids) == db_ids, 'rc': [o[0] for o in procs_out],
               'rss': [o[3] for o in procs_out], 'cpu': [o[4] for o in procs_out],
               'send_ms': send_ms, 'load': load0,
               'rate': sent[0] / (max(send_ms) / 1000) if send_ms else 0,
               'rate_wall': sent[0] / wall}
        if msgfile is None:
            msgfile = os.path.join(b.work, 'message.eml')
            with open(msgfile, 'wb') as f:
                f.write(first_message(sink.dump))
            res['msg_bytes'] = os.path.getsize(msgfile)
        os.truncate(sink.dump, 0)
        res['ref'].append((k, smtp_source(sink.port, msgfile, BATCH, k), 'after'))
        res['runs'].append(run)
        say('   %d daemon(s): %d sent (%d distinct ids), %d received at the sink (%d distinct), '
            'same set: %s; %.0f msg/s (sending), %.0f msg/s (whole processes); exit %s; '
            'reference %.0f msg/s' % (k, run['sent'], run['distinct_db'], run['received'],
                                      run['distinct'], run['same_set'], run['rate'],
                                      run['rate_wall'], run['rc'], res['ref'][-1][1]))
        sink.stop()
        b.cluster.admin('DROP DATABASE %s WITH (FORCE)' % db)
    return res


# -------------------------------------------------------------- latency --

class Stamped:
    """dunningd as a service, its log read by a thread."""

    def __init__(self, conf, now, args=()):
        self.proc = subprocess.Popen([DUNNINGD, '-c', conf, '--now', now] + list(args),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.lines = []
        self.th = threading.Thread(target=self._read, daemon=True)
        self.th.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        rc = self.proc.wait(120)
        self.th.join(10)
        return rc


def part_latency(b, tpl):
    db = b.clone(tpl)
    sink = Sink(os.path.join(b.work, 'sink'), 'latency')
    conf = b.config(db, sink.port, 'latency', SLOW_POLL)
    now = at(SEND_DAY, '10:00')
    w = b.connect(db)
    o = b.connect(db)
    with w.cursor() as c:
        c.execute("SELECT set_config('dunning.now', %s, false)", (now,))
    oc = o.cursor()
    oc.execute("SELECT i.number, r.id FROM dunning.reminder r JOIN dunning.invoice i "
               "ON i.id = r.invoice_id WHERE r.state = 'held' ORDER BY i.id")
    held = oc.fetchall()
    assert len(held) == TRIALS, held
    d = Stamped(conf, now)
    rss = []
    trials = []
    try:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            oc.execute("SELECT count(*) FROM dunning.reminder WHERE state = 'sent'")
            if oc.fetchone()[0] > 0:
                break
            time.sleep(0.01)
        t_first = time.monotonic()
        for number, rid in held:
            with w.cursor() as c:
                c.execute("UPDATE dunning.invoice SET disputed_at = %s, dispute_reason = %s "
                          "WHERE number = %s", (now, 'honoraires contestés', number))
                t0 = time.monotonic()
            while True:
                oc.execute('SELECT state FROM dunning.reminder WHERE id = %s', (rid,))
                if oc.fetchone()[0] == 'cancelled':
                    trials.append((time.monotonic() - t0) * 1000)
                    break
                if time.monotonic() - t0 > 10:
                    trials.append(None)
                    break
                time.sleep(0.002)
            oc.execute("SELECT count(*) FROM dunning.reminder WHERE state = 'sent'")
            sent_at_trial = oc.fetchone()[0]
            rss.append(proc_status(d.proc.pid)['VmRSS'])
            time.sleep(0.15)
        during = sent_at_trial
        t_trials = time.monotonic() - t_first
        st = proc_status(d.proc.pid)     # the rest of the batch is not waited for
        oc.execute("SELECT count(*) FROM dunning.reminder WHERE state = 'sent' "
                   "AND invoice_id IN (SELECT id FROM dunning.invoice WHERE disputed_at IS NOT NULL)")
        sent_disputed = oc.fetchone()[0]
    finally:
        rc = d.stop()
        w.close()
        o.close()
        sink.stop()
    b.cluster.admin('DROP DATABASE %s WITH (FORCE)' % db)
    ok = [t for t in trials if t is not None]
    res = {'trials': trials, 'median': med(ok), 'worst': max(ok), 'timeouts': trials.count(None),
           'sent_after_trials': during, 't_trials': t_trials, 'rss_load_max': max(rss),
           'hwm': st['VmHWM'], 'rss_end': st['VmRSS'], 'rc': rc, 'sent_disputed': sent_disputed}
    say('== latency under load: median %.1f ms, worst %.1f ms, %d timeouts; %d sent when the '
        'last trial ended; RSS under load max %d kB, HWM %d kB' % (
            res['median'], res['worst'], res['timeouts'], during, res['rss_load_max'],
            res['hwm']))
    return res


def part_idle(b):
    db = b.clone(b.cluster.template)
    conf = b.config(db, free_port(), 'idle')
    d = Stamped(conf, at(SEND_DAY, '10:00'))
    try:
        time.sleep(3)
        rss0 = proc_status(d.proc.pid)
        n0, t0 = sched_ns(d.proc.pid), cpu_ticks(d.proc.pid)
        time.sleep(IDLE_S)
        n1, t1 = sched_ns(d.proc.pid), cpu_ticks(d.proc.pid)
        rss1 = proc_status(d.proc.pid)
    finally:
        rc = d.stop()
    b.cluster.admin('DROP DATABASE %s WITH (FORCE)' % db)
    tick = os.sysconf('SC_CLK_TCK')
    res = {'sched_ms': (n1 - n0) / 1e6, 'ticks_ms': (t1 - t0) * 1000 / tick, 'rss0': rss0,
           'rss1': rss1, 'rc': rc}
    say('== idle: %.2f ms CPU (schedstat) / %.0f ms (ticks) over %d s; RSS %d kB' % (
        res['sched_ms'], res['ticks_ms'], IDLE_S, rss1['VmRSS']))
    return res


# -------------------------------------------------------------- results --

def write_results(meta, plan, send, lat, idle):
    L = []
    w = L.append
    w('# dunningd benchmarks (issue 7)')
    w('')
    w('Written by `bench/run` (bench/bench.py) on %s, commit %s; %s, %d cores; load average '
      'before: %s, after: %s. Every figure is measured next to its reference in the same '
      'run; timings are medians of alternated runs. The machine is shared (other '
      'engineers\' fuzzers and SQL benchmarks ran at the same time): read the ratios, not '
      'the absolute times.' % (meta['date'], meta['head'], meta['cpu'], os.cpu_count(),
                               meta['load0'], meta['load1']))
    w('')
    w('PostgreSQL 15 as the test harness starts it (tests/lib/harness/pg.py: fsync off, '
      'synchronous_commit off, default shared_buffers 128 MB), dunningd built with '
      '`-Dbuildtype=release`, Postfix %s smtp-sink / smtp-source on loopback. Whole run: '
      '%.0f s.' % (meta['postfix'], meta['elapsed']))
    w('')
    w('| figure | dunningd | reference | ratio | goal |')
    w('|---|---|---|---|---|')
    for f in FIGURES:
        w('| %s |' % ' | '.join(f))
    w('')
    for sec, lines in NOTES.items():
        w('## %s' % sec)
        w('')
        L.extend(lines)
        w('')
    tmp = RESULTS + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write('\n'.join(L) + '\n')
    os.replace(tmp, RESULTS)


def fig(name, mine, ref, ratio, goal):
    FIGURES.append((name, mine, ref, ratio, goal))


def summarise(plan, send, lat, idle):
    if plan:
        notes = NOTES.setdefault('Planning', [])
        notes.append('One planning pass = `dunningd --plan-only --now T` (the same pass as the '
                     'start of `--once`, with nothing sent); its time is the pass itself '
                     '(store_plan, measured in the process: the candidate query, parsing, the '
                     'policy, any writes), the process\'s whole life in brackets (start, '
                     'configuration and templates, connection). The reference is the '
                     'daemon\'s own candidate query (FACTS_SQL and the predicate of '
                     'store_each_candidate, read from pipeline/plan.c) run as '
                     '`COPY (…) TO \'/dev/null\'` on one connection, without JIT like the '
                     'daemon\'s session. Each pair ran alternately '
                     '(pass, query, query, pass, …) after one first pass at that date, whose '
                     'catch-up writes are shown apart.')
        notes.append('')
        notes.append('| invoices | load (s) | payments | reminders | DB size | date | stage due '
                     '| candidates | first pass (writes) | pass median ms (process) '
                     '| bare query median ms | ratio | peak RSS kB |')
        notes.append('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
        for r in plan:
            for key in ('due', 'none'):
                x = r[key]
                notes.append('| %d | %.1f | %d | %d | %d MB | %s %s | %s | %d | %.0f ms (%d) '
                             '| %.1f (%.1f) | %.1f | %.2f | %d |' % (
                                 r['n'], r['load_s'], r['counts'][1], r['counts'][2],
                                 r['counts'][3] // 2**20, x['day'],
                                 'due' if key == 'due' else 'nothing due',
                                 ('%d (%.1f %%)' % (r['n_due'], 100 * r['n_due'] / r['n']))
                                 if key == 'due' else '0',
                                 x['examined'], x['first']['ms'], x['first']['writes'],
                                 x['pass_ms'], x['wall_ms'], x['bare_ms'],
                                 x['pass_ms'] / x['bare_ms'], x['rss']))
            for key in ('due', 'none'):
                x = r[key]
                fig('planning pass, %d invoices, %s (median ms)' % (
                    r['n'], 'about 5 %% due (%s)' % x['day'] if key == 'due' else
                    'nothing due (%s)' % x['day']),
                    '%.1f' % x['pass_ms'], '%.1f (bare query)' % x['bare_ms'],
                    '%.2f×' % (x['pass_ms'] / x['bare_ms']), '≤ 1.5×' if key == 'due' else
                    'almost nothing: an index range scan')
        big = plan[-1]
        fig('peak RSS of a planning pass, %d invoices' % big['n'],
            '%d kB' % max(big['due']['rss'], big['none']['rss']), '—', '—', 'report')
        if 'explain' in big:
            notes.append('')
            notes.append('The candidate query at %d invoices, nothing due (%s), '
                         '`EXPLAIN (ANALYZE, BUFFERS, TIMING OFF)`:' % (big['n'], AS_OF))
            notes.append('')
            notes.append('```')
            notes.extend(big['explain'].split('\n'))
            notes.append('```')
    if send:
        notes = NOTES.setdefault('Sending and scale-out', [])
        refs = {}
        for k, rate, _ in send['ref']:
            refs.setdefault(k, []).append(rate)
        notes.append('%d due j3 reminders (one invoice per client, their rows written by '
                     'SQL as a planning pass writes them — a `--plan-only` pass then finds '
                     'nothing to change —; a copy of the same database for each run) sent by k '
                     'daemons `dunningd --once` started together on the same database, to '
                     'smtp-sink (`-D` dump of every transaction). Messages of %d bytes; '
                     'smtp.messages_per_session = 20 (the default), so each daemon opens one '
                     'connection at a time. Reference: smtp-source `-s k -d -m %d -F '
                     'message.eml` (k parallel connections, each kept for all its messages, '
                     'the daemon\'s own first message as content) to the same sink, before '
                     'and after each daemon run. dunningd\'s rate is messages / the longest '
                     'sending phase (log, after planning); in brackets, messages / the '
                     'processes\' whole life.' % (BATCH, send.get('msg_bytes', 0), BATCH))
        notes.append('')
        notes.append('| daemons | sent | distinct Message-IDs (DB) | received at the sink '
                     '| distinct received | sink set = DB set | dunningd msg/s '
                     '| smtp-source msg/s (median) | ratio | exit | peak RSS kB | CPU s |')
        notes.append('|---|---|---|---|---|---|---|---|---|---|---|---|')
        for r in send['runs']:
            ref = med(refs.get(r['k'], [0]))
            notes.append('| %d | %d | %d | %d | %d | %s | %.0f (%.0f) | %.0f | %.2f | %s | %s '
                         '| %s |' % (r['k'], r['sent'], r['distinct_db'], r['received'],
                                     r['distinct'], 'yes' if r['same_set'] else 'NO',
                                     r['rate'], r['rate_wall'], ref, r['rate'] / ref,
                                     r['rc'], r['rss'],
                                     ', '.join('%.1f' % c for c in r['cpu'])))
            name = ('sending %d reminders, 1 daemon (msg/s)' % BATCH if r['k'] == 1 else
                    'scale-out: %d daemons, %d reminders (msg/s)' % (r['k'], BATCH))
            fig(name, '%.0f' % r['rate'], '%.0f (smtp-source -s %d)' % (ref, r['k']),
                '%.2f×' % (r['rate'] / ref), '≥ 0.8×' if r['k'] == 1 else 'report')
            fig('each Message-ID exactly once, %d daemon(s)' % r['k'],
                '%d received, %d distinct' % (r['received'], r['distinct']),
                '%d sent in the DB' % r['sent'],
                '—', 'yes' if (r['received'] == r['distinct'] == r['sent'] == BATCH and
                               r['same_set']) else 'NO')
        notes.append('')
        notes.append('smtp-source runs (k, msg/s, when): ' + ', '.join(
            '(%d, %.0f, %s)' % x for x in send['ref']))
    if lat:
        ok = [t for t in lat['trials'] if t is not None]
        fig('dispute-to-cancel under load, %d trials (ms)' % TRIALS,
            'median %.1f, worst %.1f' % (lat['median'], lat['worst']), '—', '—',
            '< 1 s (SPEC rule 4)')
        fig('RSS under load (batch of %d)' % BATCH, '%d kB (HWM %d kB)' % (
            lat['rss_load_max'], lat['hwm']), '—', '—', 'report')
        notes = NOTES.setdefault('Latency under load', [])
        notes.append('One daemon as a service (`--now %s`, poll_interval 3600: only the '
                     'notification explains a reaction) sending a batch of %d j3 to '
                     'smtp-sink; %d strategic clients\' j3 held. Each trial: the billing '
                     'software\'s `UPDATE dunning.invoice SET disputed_at` committed on one '
                     'connection, then the held reminder polled every 2 ms on another until '
                     '`cancelled`. %d trials, %d timeouts; median %.1f ms, worst %.1f ms; the '
                     'trials ran for %.1f s from the first message sent, and %d of the %d '
                     'were sent when the last trial ended; %d reminders of disputed invoices '
                     'sent. Daemon exit status %s.' % (
                         at(SEND_DAY, '10:00'), BATCH, TRIALS, len(lat['trials']),
                         lat['timeouts'], lat['median'], lat['worst'], lat['t_trials'],
                         lat['sent_after_trials'], BATCH, lat['sent_disputed'], lat['rc']))
        notes.append('')
        notes.append('Sorted latencies (ms): ' + ', '.join('%.1f' % t for t in sorted(ok)))
    if idle:
        fig('idle CPU over %d s' % IDLE_S, '%.2f ms (schedstat); %.0f ms (ticks)' % (
            idle['sched_ms'], idle['ticks_ms']), '—', '%.4f %% of a core' % (
            idle['sched_ms'] / (IDLE_S * 10)), 'almost nothing')
        fig('RSS idle', '%d kB (HWM %d kB)' % (idle['rss1']['VmRSS'], idle['rss1']['VmHWM']),
            '—', '—', 'report')
        NOTES.setdefault('Idle', []).append(
            'An idle daemon on an empty migrated database, default poll_interval (60 s), '
            'inside the send window; CPU from the sum of /proc/PID/task/*/schedstat and from '
            'utime+stime (10 ms ticks) over %d s, from 3 s after its start.' % IDLE_S)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', default='10000,100000,1000000')
    ap.add_argument('--parts', default='plan,send,latency,idle')
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--rounds-big', type=int, default=3, help='rounds at 1 000 000 invoices')
    ap.add_argument('--scale', default='1,2,4')
    a = ap.parse_args()
    parts = a.parts.split(',')
    for p in (DUNNINGD, SMTP_SINK, SMTP_SOURCE):
        if not os.access(p, os.X_OK):
            sys.exit('bench: %s missing (run bench/run)' % p)
    meta = {'date': dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
            'head': git_head(), 'cpu': cpu_model(), 'load0': load_avg()}
    r = subprocess.run(['dpkg-query', '-W', '-f', '${Version}', 'postfix'],
                       stdout=subprocess.PIPE, text=True)
    meta['postfix'] = r.stdout.strip()
    t0 = time.monotonic()
    work = tempfile.mkdtemp(prefix='dunning-bench-')
    os.chmod(work, 0o755)
    b = Bench(work)
    plan = send = lat = idle = None
    try:
        if 'plan' in parts:
            plan = part_plan(b, [int(x) for x in a.sizes.split(',')], a.rounds, a.rounds_big)
        if 'send' in parts or 'latency' in parts:
            tpl = make_send_template(b)
        if 'send' in parts:
            send = part_send(b, tpl, [int(x) for x in a.scale.split(',')])
        if 'latency' in parts:
            lat = part_latency(b, tpl)
        if 'idle' in parts:
            idle = part_idle(b)
    finally:
        b.close()
        shutil.rmtree(work, ignore_errors=True)
    meta['load1'] = load_avg()
    meta['elapsed'] = time.monotonic() - t0
    summarise(plan, send, lat, idle)
    write_results(meta, plan, send, lat, idle)
    say('written %s (%.0f s)' % (RESULTS, meta['elapsed']))


if __name__ == '__main__':
    main()
