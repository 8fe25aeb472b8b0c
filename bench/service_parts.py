"""The three parts of bench/service.py (see there) and what they run on:
the daemon with its log lines stamped as they are read, clients and
invoices inserted by the thousand, the trials (a change committed on one
connection, the reminder watched on another until it is cancelled).

Importing this puts tests/lib (the harness) on the path and the programs'
paths (build/, unless DUNNINGD, DUNNINGCTL, DUNNING_SOURCE_ROOT say
otherwise) in the environment the harness reads: bench/service.py imports
it before the harness.
"""
import math
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault('DUNNING_SOURCE_ROOT', ROOT)
os.environ.setdefault('DUNNINGD', os.path.join(ROOT, 'build', 'daemon', 'dunningd'))
os.environ.setdefault('DUNNINGCTL', os.path.join(ROOT, 'build', 'ctl', 'dunningctl'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'lib'))

from harness import Daemon, Env, at, wait_until  # noqa: E402
from host import cpu_ticks, proc_status, say, sched_ns  # noqa: E402

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


def pct(values, p):
    """Nearest-rank percentile P of VALUES."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def summary(ms):
    return {'n': len(ms), 'median': statistics.median(ms), 'p90': pct(ms, 90),
            'worst': max(ms), 'best': min(ms)}


def fmt(v, nd=1):
    return '%.*f' % (nd, v)


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
