#!/usr/bin/python3
"""bench/service.py — figures of dunningd running as a service.

Not a test: it asserts nothing about the figures, it measures them and
writes them to bench/service-results.md (and prints them).

    ninja -C build && /usr/bin/python3 bench/service.py

It uses the tests' harness (tests/lib/harness/): a private
PostgreSQL 15 cluster (run as postgres through runuser: run this as root),
a database per part cloned from a migrated template, the SMTP recorder, and
the daemon built in build/ (DUNNINGD, DUNNINGCTL, DUNNING_SOURCE_ROOT may
override the paths, as for the tests).

What it measures (about 3 minutes):

 1. Reaction latency through LISTEN/NOTIFY, with schedule.poll_interval =
    3600 (so only a notification explains a reaction within seconds): per
    trial, one strategic client's invoice whose j3 is 'held'; the billing
    software's direct UPDATE of disputed_at (a trigger NOTIFYs), or a
    payment of the full amount, committed on one connection; the time from
    that commit returning to the reminder reading 'cancelled' on another
    connection, polled every 2 ms.  And for dunning.flag_dispute() (it
    cancels in its own transaction) the share of trials already cancelled
    when its commit returns.
 2. The same dispute latency while the daemon sends a batch of 2000 due
    reminders to the recorder; that batch's throughput.
 3. Idle CPU: the daemon with nothing to do (empty database, default
    poll_interval of 60 s) for 60 s, from /proc/PID/stat (utime + stime) and,
    at nanosecond resolution, the sum of /proc/PID/task/*/schedstat.
 4. VmRSS and VmHWM (/proc/PID/status) idle after start and after the
    2000-message batch.

The machine is shared and noisy: every latency is given as a median, a
90th percentile and the worst trial, never as one timing.
"""
import datetime as dt
import glob
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault('DUNNING_SOURCE_ROOT', ROOT)
os.environ.setdefault('DUNNINGD', os.path.join(ROOT, 'build', 'daemon', 'dunningd'))
os.environ.setdefault('DUNNINGCTL', os.path.join(ROOT, 'build', 'ctl', 'dunningctl'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'lib'))

import harness  # noqa: E402
from harness import Cluster, Daemon, Env, migrate_template, at, wait_until  # noqa: E402

RESULTS = os.path.join(HERE, 'service-results.md')
SLOW_POLL = 'schedule { poll_interval = 3600 }\n'
MONDAY = '2026-03-09'           # the j3 of an invoice due 2026-03-02 is due (05/03)
NOW = at(MONDAY, '10:00')
TRIALS = 50
BATCH = 2000
POLL_S = 0.002                  # the observer's poll interval
GAP_S = 0.05                    # between two trials (idle daemon)
GAP_LOAD_S = 0.15               # between two trials under load: spread over the batch
TRIAL_DEADLINE = 10.0
IDLE_S = 60
IDLE_SLICE_S = 10
TICK = os.sysconf('SC_CLK_TCK')


# ------------------------------------------------------------ helpers --

class StampedDaemon(Daemon):
    """harness.Daemon that also stamps each log line with the monotonic
    and the wall clock at which this process read it."""

    def __init__(self, *args, **kw):
        self.stamped = []       # (monotonic, wall, line)
        super().__init__(*args, **kw)

    def _read(self):
        for line in self.proc.stderr:
            t, w = time.monotonic(), time.time()
            with self.cv:
                self.lines.append(line)
                self.stamped.append((t, w, line.rstrip('\n')))
                self.cv.notify_all()
        with self.cv:
            self.cv.notify_all()

    def between(self, t0, t1):
        with self.cv:
            return [(t, line) for t, _, line in self.stamped if t0 <= t <= t1]


def start_daemon(env, now=NOW, verbose=True):
    d = StampedDaemon(env.config, now=now, args=['-v'] if verbose else [])
    env.daemons.append(d)           # env.close() kills it
    return d


def proc_status(pid):
    """{'VmRSS': kB, 'VmHWM': kB} of PID."""
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            if k in ('VmRSS', 'VmHWM', 'Threads'):
                out[k] = int(v.split()[0])
    return out


def cpu_ticks(pid):
    """utime + stime of the whole process (every thread), in clock ticks."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])


def sched_ns(pid):
    """On-CPU time of PID's live threads, in ns (schedstat, first field)."""
    total = 0
    for p in glob.glob('/proc/%d/task/*/schedstat' % pid):
        try:
            with open(p) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def pct(values, p):
    """Nearest-rank percentile P of VALUES."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def summary(ms):
    return {'n': len(ms), 'median': statistics.median(ms), 'p90': pct(ms, 90),
            'worst': max(ms), 'best': min(ms)}


def fmt(v, nd=1):
    return '%.*f' % (nd, v)


def load_avg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def git_head():
    try:
        return subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'],
                              stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def say(*a):
    print(*a, flush=True)


# ------------------------------------------------------------- data ----

def add_clients(env, prefix, n, strategic):
    """N clients PREFIX-1..N (email 'prefix-g@client.example'), each with one
    invoice numbered upper(PREFIX)-g of 1000.00, due 2026-03-02."""
    lawyer = env._default_lawyer()
    env.sql("INSERT INTO dunning.client (kind, company_name, email, lawyer_id, address_line1, "
            "postal_code, city, strategic) SELECT 'professional', 'Société ' || %s || g, "
            "%s || '-' || g || '@client.example', %s, '1 rue de la Paix', '75002', 'Paris', %s "
            "FROM generate_series(1, %s) g", (prefix.upper(), prefix, lawyer, strategic, n))
    env.sql("INSERT INTO dunning.invoice (number, client_id, issued_on, due_on, amount, "
            "matter_ref) SELECT upper(split_part(c.email, '@', 1)), c.id, '2026-02-01', "
            "'2026-03-02', 1000.00, 'D-' || c.id FROM dunning.client c "
            "WHERE c.email LIKE %s", (prefix + '-%@client.example',))


def j3_rows(env, prefix):
    """{number: (invoice id, reminder id, state)} of the j3 reminders."""
    rows = env.sql("SELECT i.number, i.id, r.id, r.state FROM dunning.reminder r "
                   "JOIN dunning.invoice i ON i.id = r.invoice_id "
                   "WHERE r.stage = 'j3' AND i.number LIKE %s", (prefix.upper() + '-%',))
    return {n: (iid, rid, st) for n, iid, rid, st in rows}


def held_count(env, prefix):
    return env.one("SELECT count(*) FROM dunning.reminder r JOIN dunning.invoice i "
                   "ON i.id = r.invoice_id WHERE r.stage = 'j3' AND r.state = 'held' "
                   "AND i.number LIKE %s", (prefix.upper() + '-%',))


# ----------------------------------------------------------- trials ----

STATEMENTS = {
    'dispute': ("UPDATE dunning.invoice SET disputed_at = %s, dispute_reason = %s "
                "WHERE number = %s", lambda num: (NOW, 'honoraires contestés', num)),
    'payment': ("INSERT INTO dunning.payment (invoice_id, amount, received_at, reference) "
                "SELECT id, amount, %s, %s FROM dunning.invoice WHERE number = %s",
                lambda num: (at('2026-03-07', '10:00'), 'VIR-' + num, num)),
    'flag_dispute': ("SELECT dunning.flag_dispute(%s, %s)",
                     lambda num: (num, 'honoraires contestés')),
}


class Trials:
    """One writer and one observer connection on ENV's database."""

    def __init__(self, env):
        self.env = env
        self.w = env.connect()
        self.o = env.connect()
        with self.w.cursor() as c:     # the lawyers' function reads dunning.now()
            c.execute("SELECT set_config('dunning.now', %s, false)", (NOW,))
        self.oc = self.o.cursor()

    def close(self):
        self.w.close()
        self.o.close()

    def state(self, rid):
        self.oc.execute('SELECT state, reason FROM dunning.reminder WHERE id = %s', (rid,))
        return self.oc.fetchone()

    def sent(self):
        self.oc.execute("SELECT count(*) FROM dunning.reminder WHERE state = 'sent'")
        return self.oc.fetchone()[0]

    def run(self, kind, number, rid):
        """Commit KIND on NUMBER; then poll reminder RID until 'cancelled'.
        A dict: commit duration, latency (ms, None on timeout), polls..."""
        st = self.state(rid)
        assert st[0] == 'held', (number, st)
        sql, params = STATEMENTS[kind]
        with self.w.cursor() as c:
            s = time.monotonic()
            c.execute(sql, params(number))         # autocommit: returns after COMMIT
            t0 = time.monotonic()
        polls = 0
        first = None
        while True:
            st = self.state(rid)
            polls += 1
            now = time.monotonic()
            if first is None:
                first = st[0]
            if st[0] == 'cancelled':
                return {'kind': kind, 'number': number, 'rid': rid, 't_exec': s, 't0': t0,
                        't1': now, 'commit_ms': (t0 - s) * 1000, 'ms': (now - t0) * 1000,
                        'polls': polls, 'at_commit': first == 'cancelled', 'reason': st[1]}
            if now - t0 > TRIAL_DEADLINE:
                return {'kind': kind, 'number': number, 'rid': rid, 't_exec': s, 't0': t0,
                        't1': now, 'commit_ms': (t0 - s) * 1000, 'ms': None,
                        'polls': polls, 'at_commit': False, 'reason': st[1],
                        'state': st[0]}
            time.sleep(POLL_S)


def annotate(trials, daemon, ids):
    """Give each trial the delay, after its commit, at which this process
    read the daemon's 'notification ... invoice id N' line, and the next
    'planned on notification' line (stamps of a Python reader thread:
    indicative, within a millisecond or so)."""
    with daemon.cv:
        lines = list(daemon.stamped)
    for tr in trials:
        iid = ids[tr['number']]
        tr['notify_ms'] = tr['planned_ms'] = None
        for i, (t, _, line) in enumerate(lines):
            if t < tr['t_exec']:
                continue
            if line.endswith('invoice id %d' % iid):
                tr['notify_ms'] = (t - tr['t0']) * 1000
                for t2, _, l2 in lines[i + 1:]:
                    if 'planned on notification' in l2:
                        tr['planned_ms'] = (t2 - tr['t0']) * 1000
                        break
                break


def outlier_note(tr, daemon):
    """A few lines on the worst trial TR: its breakdown and the daemon log
    lines read during it."""
    out = ['%s on %s (trial %s of its kind): %.1f ms (the statement itself took %.1f ms; '
           '%d polls); notification line read at %s ms, "planned on notification" at %s ms '
           'after the commit' % (
               tr['kind'], tr['number'], tr['number'].split('-')[1], tr['ms'] or -1,
               tr['commit_ms'], tr['polls'],
               fmt(tr['notify_ms']) if tr.get('notify_ms') is not None else '—',
               fmt(tr['planned_ms']) if tr.get('planned_ms') is not None else '—')]
    for t, line in daemon.between(tr['t_exec'] - 0.002, tr['t1'] + 0.002):
        out.append('    +%7.1f ms  %s' % ((t - tr['t0']) * 1000, line[:160]))
    return out


# ------------------------------------------------------------ parts ----

def new_env(cluster, base, name, **kw):
    """An Env in its own directory BASE/NAME."""
    wd = os.path.join(base, name)
    os.mkdir(wd)
    return Env(cluster, cluster.template, wd, **kw)


def part1(cluster, base):
    say('== 1. reaction latency, idle daemon (poll_interval 3600)')
    env = new_env(cluster, base, 'p1', extra_conf=SLOW_POLL)
    res = {}
    try:
        for p in ('d', 'p', 'f'):
            add_clients(env, p, TRIALS, strategic=True)
        t = time.monotonic()
        d = start_daemon(env)
        wait_until('every j3 held', lambda: all(held_count(env, p) == TRIALS for p in 'dpf'),
                   deadline=60, interval=0.1)
        say('   %d j3 held in %.1f s after start' % (3 * TRIALS, time.monotonic() - t))
        time.sleep(1.0)
        res['rss_start'] = proc_status(d.proc.pid)
        rows = {}
        for p in 'dpf':
            rows.update(j3_rows(env, p))
        ids = {n: v[0] for n, v in rows.items()}
        tr = Trials(env)
        got = {'dispute': [], 'payment': [], 'flag_dispute': []}
        try:
            for i in range(1, TRIALS + 1):       # interleaved: the noise falls on all three
                for kind, p in (('dispute', 'D'), ('payment', 'P'), ('flag_dispute', 'F')):
                    num = '%s-%d' % (p, i)
                    got[kind].append(tr.run(kind, num, rows[num][1]))
                    time.sleep(GAP_S)
        finally:
            tr.close()
        time.sleep(0.5)
        for k in got:
            annotate(got[k], d, ids)
        res['trials'] = got
        res['rss_after'] = proc_status(d.proc.pid)
        res['mails'] = len(env.mails())
        res['daemon'] = d
        res['audit_cancelled'] = env.count('dunning.audit_log', "action = 'cancelled'")
        rc = d.stop()
        res['rc'] = rc
        res['log'] = d.log()
    finally:
        env.close()
    return res


def part2(cluster, base):
    say('== 2. dispute latency while sending a batch of %d' % BATCH)
    env = new_env(cluster, base, 'p2', extra_conf=SLOW_POLL)
    res = {}
    try:
        add_clients(env, 'm', BATCH, strategic=False)
        add_clients(env, 'u', TRIALS, strategic=True)
        t_start = time.monotonic()
        d = start_daemon(env)
        wait_until('the strategic j3 held', lambda: held_count(env, 'u') == TRIALS,
                   deadline=120, interval=0.05)
        t_held = time.monotonic()
        rows = j3_rows(env, 'u')
        ids = {n: v[0] for n, v in rows.items()}
        tr = Trials(env)
        try:
            wait_until('the batch started', lambda: tr.sent() > 0, deadline=60, interval=0.01)
            t_first = time.monotonic()
            say('   held after %.1f s, first message recorded %.1f s after start' % (
                t_held - t_start, t_first - t_start))
            got = []
            for i in range(1, TRIALS + 1):
                before = tr.sent()
                r = tr.run('dispute', 'U-%d' % i, rows['U-%d' % i][1])
                r['sent_before'], r['sent_after'] = before, tr.sent()
                got.append(r)
                time.sleep(GAP_LOAD_S)
            t_trials_end = time.monotonic()
            wait_until('every j3 of the batch sent', lambda: tr.sent() >= BATCH,
                       deadline=300, interval=0.1)
            t_done = time.monotonic()
        finally:
            tr.close()
        annotate(got, d, ids)
        time.sleep(0.5)
        res['rss_after'] = proc_status(d.proc.pid)
        res['trials'] = got
        recs = sorted(r['received_at'] for r in env.smtp.records())
        res['mails'] = len(recs)
        res['unique_ids'] = len({r['message_id'] for r in env.smtp.records()})
        # Throughput: the relay's receipt times, first to last message.
        span = recs[-1] - recs[0]
        res['span_s'] = span
        res['rate'] = (len(recs) - 1) / span if span > 0 else float('nan')
        # One-second buckets from the first message (the last, partial, left out).
        buckets = [0] * int(span)
        for r in recs:
            k = int(r - recs[0])
            if k < len(buckets):
                buckets[k] += 1
        res['buckets'] = buckets
        # From the end of the start-up pass (its 'cycle' log line) to the last receipt.
        cyc = [w for _, w, line in d.stamped if line.startswith('dunningd: cycle ')]
        res['from_cycle_s'] = recs[-1] - cyc[0] if cyc else None
        res['plan_s'] = None
        mono_cyc = [t for t, _, line in d.stamped if line.startswith('dunningd: cycle ')]
        if mono_cyc:
            res['plan_s'] = mono_cyc[0] - t_start
        res['trials_window_s'] = t_trials_end - t_first
        res['trials_span'] = (t_first - t_start, t_trials_end - t_start)
        res['cycles'] = [(t - t_start, line) for t, _, line in d.stamped
                         if line.startswith('dunningd: cycle ')
                         or line.startswith('dunningd: sent ')]
        res['t_start'] = t_start
        res['done_s'] = t_done - t_start
        res['batch_wait_s'] = t_done - t_first
        res['daemon'] = d
        res['cancelled_u'] = env.one("SELECT count(*) FROM dunning.reminder r JOIN "
                                     "dunning.invoice i ON i.id = r.invoice_id WHERE "
                                     "i.number LIKE 'U-%%' AND r.state = 'cancelled'")
        res['u_mails'] = sum(1 for m in env.smtp.records()
                             if m['rcpt_tos'] and m['rcpt_tos'][0].startswith('u-'))
        res['rc'] = d.stop()
        res['log'] = d.log()
    finally:
        env.close()
    return res


def part3(cluster, base):
    say('== 3. idle CPU for %d s (empty database, poll_interval 60)' % IDLE_S)
    env = new_env(cluster, base, 'p3')
    res = {}
    try:
        d = start_daemon(env, verbose=False)
        d.wait_log(r'^dunningd: cycle ', deadline=30)
        time.sleep(2.0)
        pid = d.proc.pid
        res['rss_start'] = proc_status(pid)
        slices = []
        t_a, c_a, n_a = time.monotonic(), cpu_ticks(pid), sched_ns(pid)
        t_prev, c_prev, n_prev = t_a, c_a, n_a
        for _ in range(IDLE_S // IDLE_SLICE_S):
            time.sleep(IDLE_SLICE_S - (time.monotonic() - t_prev))
            t, c, n = time.monotonic(), cpu_ticks(pid), sched_ns(pid)
            slices.append({'s': t - t_prev, 'tick_ms': (c - c_prev) * 1000 / TICK,
                           'sched_ms': (n - n_prev) / 1e6})
            t_prev, c_prev, n_prev = t, c, n
        res['wall_s'] = t_prev - t_a
        res['tick_ms'] = (c_prev - c_a) * 1000 / TICK
        res['sched_ms'] = (n_prev - n_a) / 1e6
        res['slices'] = slices
        res['rss_end'] = proc_status(pid)
        res['cycles'] = sum(1 for line in d.lines if line.startswith('dunningd: cycle '))
        res['rc'] = d.stop()
        res['log'] = d.log()
    finally:
        env.close()
    return res


# ----------------------------------------------------------- report ----

def lat_row(name, trials):
    ok = [t['ms'] for t in trials if t['ms'] is not None]
    s = summary(ok)
    miss = len(trials) - len(ok)
    return '| %s | %d%s | %s | %s | %s | %s |' % (
        name, s['n'], (' (+%d timed out)' % miss) if miss else '', fmt(s['median']),
        fmt(s['p90']), fmt(s['worst']), fmt(s['best'])), s


def breakdown(trials):
    n = [t['notify_ms'] for t in trials if t.get('notify_ms') is not None]
    p = [t['planned_ms'] for t in trials if t.get('planned_ms') is not None]
    c = [t['commit_ms'] for t in trials]
    return n, p, c


def report(meta, r1, r2, r3):
    L = []
    L.append('# dunningd as a service: measured figures')
    L.append('')
    L.append('Measured %s on commit %s, on a shared, noisy virtual machine with 2 cores '
             '(%s; load average %s before, %s after), by `/usr/bin/python3 bench/service.py` '
             '(%.0f s in all). PostgreSQL 15 private cluster of the e2e harness over a unix '
             'socket (fsync=off, synchronous_commit=off), the SMTP recorder of tests/lib on '
             'loopback, dunningd from build/ with `--now %s`. '
             'Latencies are medians, 90th percentiles (nearest rank) and worst of %d trials, '
             'never one timing.' % (
                 meta['date'], meta['commit'], meta['cpu'], meta['load0'], meta['load1'],
                 meta['elapsed'], NOW, TRIALS))
    L.append('')
    L.append('How: one trial per strategic client\'s invoice whose j3 is `held` (all created '
             'up front, the daemon started, every j3 held before the first trial); the change '
             'is committed in autocommit on one connection, and the clock starts when that '
             'statement returns (its COMMIT done); another connection then reads the '
             'reminder\'s state every %d ms until it is `cancelled`, so each figure includes '
             'up to one poll interval plus one query (~0.3 ms) of observer overhead. '
             'schedule.poll_interval = 3600: only LISTEN/NOTIFY explains a reaction. '
             'The daemon runs with -v so that its log shows each notification; this process '
             'stamps its log lines as it reads them (the breakdown columns, indicative).'
             % int(POLL_S * 1000))
    L.append('')
    L.append('## 1. Change committed → reminder `cancelled`, idle daemon')
    L.append('')
    L.append('| change | trials | median ms | p90 ms | worst ms | best ms |')
    L.append('|---|---|---|---|---|---|')
    rowd, sd = lat_row('`UPDATE dunning.invoice SET disputed_at, dispute_reason` (trigger '
                       'NOTIFY)', r1['trials']['dispute'])
    rowp, sp = lat_row('`INSERT INTO dunning.payment` of the full amount', r1['trials']['payment'])
    L += [rowd, rowp]
    fl = r1['trials']['flag_dispute']
    share = sum(1 for t in fl if t['at_commit']) / len(fl) * 100
    L.append('')
    L.append('`SELECT dunning.flag_dispute(number, reason)`: reminder already `cancelled` at '
             'the first read after its commit returned in **%d of %d trials (%.0f %%)** '
             '(it cancels in its own transaction); the call itself took median %s ms, worst '
             '%s ms.' % (sum(1 for t in fl if t['at_commit']), len(fl), share,
                         fmt(statistics.median([t['commit_ms'] for t in fl])),
                         fmt(max(t['commit_ms'] for t in fl))))
    L.append('')
    L.append('Breakdown (median / worst, ms after the commit returned): ')
    L.append('')
    L.append('| change | the UPDATE/INSERT itself | notification line read | '
             '"planned on notification" line read | `cancelled` seen |')
    L.append('|---|---|---|---|---|')
    for name, k in (('dispute UPDATE', 'dispute'), ('payment INSERT', 'payment')):
        n, p, c = breakdown(r1['trials'][k])
        ms = [t['ms'] for t in r1['trials'][k] if t['ms'] is not None]
        L.append('| %s | %s / %s | %s / %s | %s / %s | %s / %s |' % (
            name, fmt(statistics.median(c)), fmt(max(c)),
            fmt(statistics.median(n)) if n else '—', fmt(max(n)) if n else '—',
            fmt(statistics.median(p)) if p else '—', fmt(max(p)) if p else '—',
            fmt(statistics.median(ms)), fmt(max(ms))))
    L.append('')
    allt = [t for k in ('dispute', 'payment', 'flag_dispute') for t in r1['trials'][k]]
    wc = max(allt, key=lambda t: t['commit_ms'])
    L.append('The slowest statement itself: %s on %s, %.1f ms (trial %d of %d of its kind).' % (
        wc['kind'], wc['number'], wc['commit_ms'], r1['trials'][wc['kind']].index(wc) + 1,
        TRIALS))
    L.append('')
    L.append('Check: %d mails sent (expected 0), %d `cancelled` audit rows (expected %d), '
             'reasons: dispute %s, payment %s, flag_dispute %s; daemon exit status %d.' % (
                 r1['mails'], r1['audit_cancelled'], 3 * TRIALS,
                 sorted({t['reason'] for t in r1['trials']['dispute']}),
                 sorted({t['reason'] for t in r1['trials']['payment']}),
                 sorted({t['reason'] for t in fl}), r1['rc']))
    L.append('')
    L.append('## 2. Dispute UPDATE → `cancelled` while sending %d reminders' % BATCH)
    L.append('')
    t2 = r2['trials']
    under = [t for t in t2 if t['sent_after'] < BATCH and t['ms'] is not None]
    L.append('%d non-strategic clients with a due j3 (inserted with generate_series) and %d '
             'strategic ones with a held j3 in the same database; the daemon started, the '
             'trials began as soon as the first message was recorded as sent and ran %.1f s, '
             'all %d of them while the batch was still being sent (sent count after the '
             'trial < %d) unless said below: %d of %d were.' % (
                 BATCH, TRIALS, r2['trials_window_s'], TRIALS, BATCH, len(under), len(t2)))
    L.append('')
    L.append('| change | trials | median ms | p90 ms | worst ms | best ms |')
    L.append('|---|---|---|---|---|---|')
    rowl, sl = lat_row('`UPDATE … disputed_at` under load (all trials)', t2)
    L.append(rowl)
    if under and len(under) != len(t2):
        rowu, _ = lat_row('the same, only trials ended while the batch was sending', under)
        L.append(rowu)
    n, p, c = breakdown(t2)
    L.append('')
    L.append('The trials ran from %.1f s to %.1f s after the daemon\'s start; every j3 was sent '
             'at %.1f s at the latest. The daemon\'s full passes and send passes, as read from '
             'its log (seconds after its start):' % (r2['trials_span'][0], r2['trials_span'][1],
                                                      r2['done_s']))
    L.append('')
    L.append('```')
    L += ['%7.2f s  %s' % (t, line[:150]) for t, line in r2['cycles']]
    L.append('```')
    L.append('')
    L.append('Breakdown under load (median / worst, ms): the UPDATE itself %s / %s; '
             'notification line read %s / %s; "planned on notification" read %s / %s.' % (
                 fmt(statistics.median(c)), fmt(max(c)),
                 fmt(statistics.median(n)) if n else '—', fmt(max(n)) if n else '—',
                 fmt(statistics.median(p)) if p else '—', fmt(max(p)) if p else '—'))
    L.append('')
    b = r2['buckets']
    L.append('Side figure — throughput of the batch: **%.0f messages/s** (%d messages, first to '
             'last receipt at the recorder in %.1f s; per one-second bucket: median %s, lowest '
             '%s, highest %s messages); %.1f s from the end of the start-up pass (%d '
             'invoices planned in %.1f s after the daemon\'s start) to the last receipt. '
             'Default smtp.messages_per_session (20), recorder without delay. '
             'Check: %d distinct Message-IDs, %d of the %d disputed strategic j3 cancelled, '
             '%d mails to them; daemon exit status %d.' % (
                 r2['rate'], r2['mails'], r2['span_s'],
                 fmt(statistics.median(b), 0) if b else '—', min(b) if b else '—',
                 max(b) if b else '—', r2['from_cycle_s'] or float('nan'), BATCH + TRIALS,
                 r2['plan_s'] or float('nan'), r2['unique_ids'], r2['cancelled_u'], TRIALS,
                 r2['u_mails'], r2['rc']))
    L.append('')
    L.append('## 3. Idle CPU and memory')
    L.append('')
    sl3 = r3['slices']
    per60 = r3['tick_ms'] * 60 / r3['wall_s']
    sch60 = r3['sched_ms'] * 60 / r3['wall_s']
    L.append('| figure | value |')
    L.append('|---|---|')
    L.append('| idle CPU, utime+stime (/proc/PID/stat, %d Hz ticks) | **%.0f ms per 60 s = '
             '%.3f %% of one core**%s |' % (
                 TICK, per60, per60 / 600,
                 ' (%d tick(s): at the resolution of this counter, see schedstat below)'
                 % round(r3['tick_ms'] * TICK / 1000) if r3['tick_ms'] <= 1000 / TICK else ''))
    L.append('| idle CPU, sum of /proc/PID/task/*/schedstat (ns) | %.1f ms per 60 s = %.4f %% '
             'of one core |' % (sch60, sch60 / 600))
    L.append('| idle CPU per %d s slice (schedstat), median / worst | %.2f / %.2f ms |' % (
        IDLE_SLICE_S, statistics.median(s['sched_ms'] for s in sl3),
        max(s['sched_ms'] for s in sl3)))
    L.append('| VmRSS / VmHWM idle after start (empty database) | %d / %d kB |' % (
        r3['rss_start']['VmRSS'], r3['rss_start']['VmHWM']))
    L.append('| VmRSS / VmHWM after %d s idle | %d / %d kB |' % (
        IDLE_S, r3['rss_end']['VmRSS'], r3['rss_end']['VmHWM']))
    L.append('| VmRSS / VmHWM after start with %d held reminders (part 1) | %d / %d kB |' % (
        3 * TRIALS, r1['rss_start']['VmRSS'], r1['rss_start']['VmHWM']))
    L.append('| VmRSS / VmHWM after the %d-message batch (part 2) | %d / %d kB |' % (
        BATCH, r2['rss_after']['VmRSS'], r2['rss_after']['VmHWM']))
    L.append('')
    L.append('Idle: empty migrated database, default schedule.poll_interval (60 s), no -v, '
             '`--now %s` (inside the send window); measured for %.1f s from 2 s after the '
             'start-up pass, in %d slices of %d s; %d full passes ran in the daemon\'s life '
             '(the start-up one included). utime+stime counts every thread of the process; '
             'its resolution is one tick (%d ms).' % (
                 NOW, r3['wall_s'], len(sl3), IDLE_SLICE_S, r3['cycles'], 1000 // TICK))
    L.append('')
    return L


def anomalies(r1, r2):
    """Lines on the worst trials, with the daemon log read meanwhile."""
    A = ['## Outliers and other observations', '']
    first = [t for t, line in r2['cycles'] if line.startswith('dunningd: cycle ')]
    if len(first) >= 2 and first[1] - first[0] < 5:
        A.append('- At start the daemon runs two full passes back to back (%.2f s and %.2f s '
                 'after its start in part 2): the start-up request and the rescan asked for '
                 'when the LISTEN connection comes up (loop.c on_listen_state). The second one '
                 'finds nothing to do; it is cheap (%.0f ms over %d invoices) but doubles the '
                 'start-up queries.' % (first[0], first[1], (first[1] - first[0]) * 1000,
                                        BATCH + TRIALS))
        A.append('')
    A.append('- Each trial\'s latency is mostly the daemon planning one invoice after the '
             'notification (the "planned on notification" line is read ~2.5–4 ms after the '
             'commit, the notification itself ~0.2–0.3 ms after); for comparison the '
             'start-up pass of part 2 took %.1f s from the daemon\'s start for %d invoices '
             '(%.1f ms per invoice, process start and connections included).' % (
                 r2['plan_s'] or float('nan'), BATCH + TRIALS,
                 (r2['plan_s'] or float('nan')) * 1000 / (BATCH + TRIALS)))
    A.append('')
    for label, trials, d in (('idle, dispute UPDATE', r1['trials']['dispute'], r1['daemon']),
                             ('idle, payment', r1['trials']['payment'], r1['daemon']),
                             ('under load, dispute UPDATE', r2['trials'], r2['daemon'])):
        ok = [t for t in trials if t['ms'] is not None]
        miss = [t for t in trials if t['ms'] is None]
        for t in miss:
            A.append('- %s: %s timed out after %.0f s (state %s)' % (
                label, t['number'], TRIAL_DEADLINE, t.get('state')))
        if not ok:
            continue
        med = statistics.median(t['ms'] for t in ok)
        worst = max(ok, key=lambda t: t['ms'])
        A.append('- %s, worst trial (%.1f× the median):' % (label, worst['ms'] / med))
        A.append('')
        A.append('```')
        A += outlier_note(worst, d)
        A.append('```')
        A.append('')
    return A


def main():
    if os.geteuid() != 0:
        sys.exit('run as root: the cluster runs as postgres through runuser')
    for p in (harness.DUNNINGD, harness.DUNNINGCTL):
        if not os.access(p, os.X_OK):
            sys.exit('not built: %s (ninja -C build)' % p)
    meta = {'date': dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z'),
            'commit': git_head(), 'cpu': '%d × %s' % (os.cpu_count(), cpu_model()),
            'load0': load_avg()}
    t0 = time.monotonic()
    base = tempfile.mkdtemp(prefix='dunning-bench-')
    cluster = Cluster()
    try:
        cluster.start()
        cluster.template = migrate_template(cluster, base)
        r1 = part1(cluster, base)
        r2 = part2(cluster, base)
        r3 = part3(cluster, base)
    finally:
        cluster.stop()
    meta['elapsed'] = time.monotonic() - t0
    meta['load1'] = load_avg()
    lines = report(meta, r1, r2, r3) + anomalies(r1, r2)
    text = '\n'.join(lines) + '\n'
    with open(RESULTS, 'w', encoding='utf-8') as f:
        f.write(text)
    say('')
    say(text)
    say('written to %s' % RESULTS)
    # Keep the daemons' logs next to the temporary files, for a look.
    for name, r in (('p1', r1), ('p2', r2), ('p3', r3)):
        with open(os.path.join(base, name + '-dunningd.log'), 'w') as f:
            if r.get('daemon') is not None:
                t0 = r['daemon'].stamped[0][0] if r['daemon'].stamped else 0
                for t, _, line in r['daemon'].stamped:
                    f.write('%10.1f ms  %s\n' % ((t - t0) * 1000, line))
            else:
                f.write(r['log'])
    say('daemon logs in %s' % base)


if __name__ == '__main__':
    main()
