#!/usr/bin/python3
"""bench/firms.py — many firms on one host (issue 21, item 2): N firms of M
invoices each, every firm its own database on ONE PostgreSQL cluster (as
production runs it: fsync, synchronous_commit, full_page_writes on; see
rig.Bench) and its own dunningd process, as dunningd@NAME.service runs them.

  BENCH_BUILD=build-bench /usr/bin/python3 bench/firms.py --firms 20,50 \\
      --invoices 5000 [--idle-close 30] [--out FILE]

For each N, on a fresh cluster (max_connections raised to 4 N + 50: what
N daemons holding their four sessions each would need):

1. data: bench/portfolio.sql loads M invoices (three years of history) into
   one database; its pending reminders (planned, held) are deleted, so the
   daemons plan the day themselves (nothing pre-planned); each firm's
   database is a copy of it (CREATE DATABASE ... TEMPLATE).
2. a day's replay: one `dunningd --once --now 2026-04-01T10:00` per firm
   (a full planning pass over every open invoice, then the day's sends, to
   Postfix's smtp-sink), two at a time (the machine has two cores); the
   wall time of all, and each pass's.
3. idle: the N daemons started as services (--now 2026-04-01T20:00: after
   the send window, nothing to send), each with database.idle_close =
   IDLE_CLOSE and schedule.poll_interval = 300; once every one has logged
   its start's planning pass and IDLE_CLOSE + 5 s have passed: the client
   backends held on the firms' databases (pg_stat_activity), the daemons'
   total VmRSS and total Pss (/proc/PID/smaps_rollup: shared pages divided
   among the processes sharing them), the Pss of the PostgreSQL backends
   they hold, and the daemons' CPU over 60 s (utime+stime of
   /proc/PID/stat, every thread).  Then the same with idle_close = 0 (the
   connections kept: three per daemon).

Prints a Markdown table (and writes it to --out when given).
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rig import DUNNINGD, HERE, Bench  # noqa: E402
from sending import Sink  # noqa: E402
from harness import at  # noqa: E402

DAY = '2026-04-01'          # the day after portfolio.sql's as_of, a Wednesday
TICK = os.sysconf('SC_CLK_TCK')
IDLE_CPU_S = 60


def log(*a):
    print(time.strftime('%H:%M:%S'), *a, file=sys.stderr, flush=True)


def proc_kb(pid, path, key):
    with open('/proc/%d/%s' % (pid, path)) as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])      # utime, stime (fields 14, 15)


class Firms:
    def __init__(self, work, nfirms, invoices):
        self.work = work
        self.n = nfirms
        self.b = Bench(work)
        c = self.b.cluster
        # The harness starts the server with -c max_connections=100 (its
        # command line wins over ALTER SYSTEM): start it again with ours.
        c.opts = c.opts.replace('max_connections=100', 'max_connections=%d' % (4 * nfirms + 50))
        c.halt()
        c.resume()
        self.max_connections = int(c.admin('SHOW max_connections')[0][0])
        self.sink = Sink(work, 'sink')
        t0 = time.monotonic()
        tpl = self.b.clone(c.template, 'firm_template')
        self.b.psql_file(tpl, os.path.join(HERE, 'portfolio.sql'), 'invoices=%d' % invoices)
        self.b.sql(tpl, "SET session_replication_role = replica; "
                   "DELETE FROM dunning.reminder WHERE state IN ('planned', 'held')")
        self.load_s = time.monotonic() - t0
        self.open = self.b.sql(tpl, "SELECT count(*) FROM dunning.invoice WHERE status = 'open'"
                               )[0][0]
        t0 = time.monotonic()
        self.dbs = [self.b.clone(tpl, 'firm%03d' % i) for i in range(nfirms)]
        self.copy_s = time.monotonic() - t0
        self.db_mb = self.b.sql('postgres', 'SELECT pg_database_size(%s)', (tpl,))[0][0] / 2**20
        log('%d databases of %d invoices (%.0f MB each) in %.0f s' % (
            nfirms, invoices, self.db_mb, self.copy_s))

    def config(self, db, idle_close, poll=300):
        path = self.b.config(db, self.sink.port, db,
                             'schedule { poll_interval = %d }\n' % poll)
        with open(path, encoding='utf-8') as f:
            text = f.read()
        text, k = re.subn(r'(database \{ conninfo = "[^"]*")',
                          r'\1 idle_close = %d' % idle_close, text)
        assert k == 1
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
        return path

    def replay(self, jobs=2):
        """A day's pass per firm, JOBS at a time: (wall s, [pass s])."""
        def one(db):
            t0 = time.monotonic()
            r = subprocess.run([DUNNINGD, '-c', self.config(db, 0), '--once', '--now',
                                at(DAY, '10:00')], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, timeout=1800)
            if r.returncode != 0:
                raise RuntimeError('%s: dunningd --once: %s' % (db, r.stderr[-2000:]))
            return time.monotonic() - t0
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
            each = list(ex.map(one, self.dbs))
        wall = time.monotonic() - t0
        sent = sum(self.b.sql(db, "SELECT count(*) FROM dunning.reminder WHERE state = 'sent' "
                              "AND sent_at >= %s", (at(DAY, '00:00'),))[0][0] for db in self.dbs)
        self.planned = sum(self.b.sql(db, "SELECT count(*) FROM dunning.reminder "
                                      "WHERE state IN ('planned', 'held')")[0][0]
                           for db in self.dbs)
        return wall, each, sent

    def backends(self):
        return self.b.sql('postgres', "SELECT pid FROM pg_stat_activity "
                          "WHERE datname LIKE 'firm%%' AND backend_type = 'client backend'")

    def idle(self, idle_close):
        procs, logs = [], []
        t0 = time.monotonic()
        for db in self.dbs:
            lf = open(os.path.join(self.work, '%s-%d.log' % (db, idle_close)), 'w+')
            procs.append(subprocess.Popen(
                [DUNNINGD, '-c', self.config(db, idle_close), '--now', at(DAY, '20:00')],
                stdout=subprocess.DEVNULL, stderr=lf))
            logs.append(lf)
        peak = 0
        try:
            for p, lf in zip(procs, logs):
                end = time.monotonic() + 600
                while True:
                    peak = max(peak, len(self.backends()))
                    lf.seek(0)
                    if re.search(r'cycle 2026-', lf.read()):
                        break
                    if p.poll() is not None or time.monotonic() > end:
                        lf.seek(0)
                        raise RuntimeError('dunningd exited or stalled:\n' + lf.read()[-2000:])
                    time.sleep(0.2)
            started = time.monotonic() - t0
            time.sleep(idle_close + 5)
            pids = [p.pid for p in procs]
            held = [r[0] for r in self.backends()]
            fig = {
                'started_s': started,
                'peak': peak,
                'backends': len(held),
                'rss_kb': sum(proc_kb(pid, 'status', 'VmRSS') for pid in pids),
                'pss_kb': sum(proc_kb(pid, 'smaps_rollup', 'Pss') for pid in pids),
                'pg_pss_kb': sum(proc_kb(pid, 'smaps_rollup', 'Pss') for pid in held),
            }
            c0 = sum(cpu_ticks(pid) for pid in pids)
            time.sleep(IDLE_CPU_S)
            c1 = sum(cpu_ticks(pid) for pid in pids)
            fig['cpu_ms'] = (c1 - c0) * 1000.0 / TICK
            fig['backends_after'] = len(self.backends())
            return fig
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
            for lf in logs:
                lf.close()

    def close(self):
        self.sink.stop()
        self.b.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--firms', default='20')
    ap.add_argument('--invoices', type=int, default=5000)
    ap.add_argument('--idle-close', type=int, default=30)
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--out')
    a = ap.parse_args()
    rows = []
    for n in [int(x) for x in a.firms.split(',')]:
        work = os.path.join('/tmp', 'dunning-firms-%d' % n)
        os.makedirs(work, exist_ok=True)
        os.chmod(work, 0o777)
        f = Firms(work, n, a.invoices)
        try:
            wall, each, sent = f.replay(a.jobs)
            log('%d firms: replay %.1f s, %d sent' % (n, wall, sent))
            on = f.idle(a.idle_close)
            log('%d firms, idle_close %d: %s' % (n, a.idle_close, on))
            off = f.idle(0)
            log('%d firms, idle_close 0: %s' % (n, off))
        finally:
            f.close()
        each.sort()
        rows.append((n, a.invoices, f.open, f.db_mb, f.max_connections, wall, each[len(each) // 2],
                     each[-1], sent, f.planned, a.idle_close, on, off))
    head = ('| firms × invoices | open invoices / firm | database | max_connections | '
            "day's replay (wall, 2 at a time) | pass per firm (median / max) | sent | "
            'planned or held after | idle_close | backends held | daemons VmRSS | daemons Pss | backends Pss | '
            'daemons idle CPU / 60 s |\n' + '|---' * 15 + '|\n')
    body = ''
    for (n, m, op, mb, mc, wall, med, mx, sent, planned, ic, on, off) in rows:
        for label, fig in (('%d s' % ic, on), ('0 (kept)', off)):
            body += ('| %d × %d | %d | %.0f MB | %d | %.1f s | %.2f / %.2f s | %d | %d | %s '
                     '| %d | %d (%d after) '
                     '| %.1f MB (%.0f kB each) | %.1f MB (%.0f kB each) | %.1f MB | %.0f ms |\n' % (
                         n, m, op, mb, mc, wall, med, mx, sent, planned, label, fig['peak'],
                         fig['backends'],
                         fig['backends_after'], fig['rss_kb'] / 1024, fig['rss_kb'] / n,
                         fig['pss_kb'] / 1024, fig['pss_kb'] / n, fig['pg_pss_kb'] / 1024,
                         fig['cpu_ms']))
    print(head + body)
    if a.out:
        with open(a.out, 'a', encoding='utf-8') as f:
            f.write(head + body + '\n')


if __name__ == '__main__':
    main()
