"""The backlog part of bench/bench.py (issue 15): a firm that installs
dunningd with N overdue invoices, none reminded yet, against Tryton 6.0's
account_dunning "Create Dunnings" on the same portfolio (the issue's
figures, quoted, not measured here).

For each N, in a fresh database migrated like the others: N invoices, 10 per
client, invoice i (1..N) 3 + (i*7919) mod 118 days overdue on 2024-12-31,
issued 30 days before its due date, 50.00 + ((i*104729) mod 495100)/100
EUR; every client professional with a company name and a postal address,
one lawyer; no reminder, payment, dispute or pause. Then four planning
passes, each its own `dunningd --plan-only --now T` process:

  first       2024-12-31 10:00: the first reminder of every invoice
  escalation  2025-01-07 10:00, every reminder planned at the first pass
              marked sent at it as the sender would: the next stage
  nothing due the same instant again: nothing to write; its index scan
              also meets the bookmarks the escalation pass replaced (dead
              index entries, marked so by that first scan or by VACUUM)
  nothing due, next
              the same again: the steady state of a day with nothing due

Only the CLI, the public tables (client, invoice, reminder, lawyer) and the
pass's log line are relied on.
"""
import os
import re
import statistics
import subprocess
import threading
import time

from rig import DUNNINGD, HERE, PERF_HZ, perf_record, run_daemon
from harness import free_port
from host import cpu_jiffies, say

FIRST = '2024-12-31T10:00:00+01:00'
LATER = '2025-01-07T10:00:00+01:00'
STEPS = (('first', FIRST), ('escalation', LATER), ('nothing due', LATER),
         ('nothing due, next', LATER))

# Tryton 6.0 account_dunning "Create Dunnings" on the same invoices, seconds
# (issue 15, measured there "on this kind of machine"; none at 1 000 000).
TRYTON = {'first': {1000: 2.52, 10000: 18.4, 100000: 271.0},
          'escalation': {1000: 0.91, 10000: 6.9, 100000: 101.0}}
GOAL_N = 100000             # the size the time goals are set at
GOAL_S = 2.0                # first and escalation pass at GOAL_N, seconds
GOAL_X = {'first': 100, 'escalation': 40}   # … that is, at least this × Tryton
GOAL_SCALE = 1.5            # per-invoice cost at 1 000 000 / at 10 000
GOAL_IDLE_MS = 20           # nothing-due pass at 1 000 000
GOAL_RSS_KB = 60 * 1024

LOAD_SQL = """
INSERT INTO dunning.lawyer (full_name, email)
VALUES ('Maître Alice Martin', 'alice.martin@cabinet.example');
INSERT INTO dunning.client (id, kind, company_name, email, lawyer_id, address_line1,
                            postal_code, city)
SELECT c, 'professional', 'Société ' || c, 'client' || c || '@client.example', l.id,
       '1 rue du Port', '13002', 'Marseille'
FROM generate_series(1, %(n)s / 10) c, (SELECT min(id) AS id FROM dunning.lawyer) l;
INSERT INTO dunning.invoice (id, number, client_id, matter_ref, issued_on, due_on, amount,
                             currency)
SELECT i, 'B-' || lpad(i::text, 7, '0'), (i - 1) / 10 + 1, 'D-' || i,
       DATE '2024-12-31' - (3 + (i * 7919) %% 118)::int - 30,
       DATE '2024-12-31' - (3 + (i * 7919) %% 118)::int,
       50.00 + ((i * 104729) %% 495100) / 100.0, 'EUR'
FROM generate_series(1::bigint, %(n)s) i;
SELECT setval(pg_get_serial_sequence('dunning.client', 'id'), %(n)s / 10);
SELECT setval(pg_get_serial_sequence('dunning.invoice', 'id'), %(n)s);
"""

# What the sender writes when a message leaves (pipeline/claim.c marks,
# pipeline/outcome.c records), one message per client and stage; no audit
# rows, which the planner does not read.
SENT_SQL = """
UPDATE dunning.reminder r
SET state = 'sent', sent_at = %(t)s, attempts = r.attempts + 1,
    message_id = '<dunning.bench-' || i.client_id || '.' || r.stage || '@cabinet.example>',
    lease_until = NULL, last_error = NULL, reason = NULL, updated_at = %(t)s
FROM dunning.invoice i
WHERE i.id = r.invoice_id AND r.state = 'planned'
"""

ANALYZE_SQL = 'VACUUM ANALYZE dunning.lawyer, dunning.client, dunning.invoice, dunning.reminder'


def parse_line(err):
    """The numbers of the pass's log line, read loosely: the counts by
    their word, the time as the number before "ms" at its end."""
    lines = [ln for ln in err.split('\n') if 'planning pass' in ln]
    if not lines:
        return None
    line = lines[-1]
    ms = re.findall(r'([\d.]+)\s*ms', line)
    if not ms:
        return None
    out = {'line': line.strip(), 'ms': float(ms[-1])}
    for key, word in (('examined', 'invoices examined'), ('planned', 'planned'),
                      ('held', 'held'), ('rescheduled', 'rescheduled'),
                      ('cancelled', 'cancelled'), ('escalated', 'escalated'),
                      ('errors', 'errors')):
        m = re.search(r'(\d+) %s\b' % word, line)
        out[key] = int(m.group(1)) if m else None
    return out


def reminders_by_state(b, db):
    return ', '.join('%s %s %d' % r for r in b.sql(
        db, 'SELECT stage, state, count(*) FROM dunning.reminder GROUP BY 1, 2 ORDER BY 1, 2'))


def top_statements(b, db, k=8):
    """The K statements pg_stat_statements counted most often in DB since
    its reset: (calls, rows, the query's text on one line, cut)."""
    return b.cluster.admin(
        "SELECT s.calls, s.rows, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 110) "
        "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
        "WHERE d.datname = %s ORDER BY s.calls DESC, s.query LIMIT %s", (db, k))


def one_pass(b, db, conf, now, n):
    """One `dunningd --plan-only --now NOW` process, measured."""
    b.reset_statements(db)
    c0, s0 = b.counters(db)
    j0 = cpu_jiffies()
    rc, err, wall, rss, cpu = run_daemon(['-c', conf, '--plan-only', '--now', now],
                                         timeout=3600)
    j1 = cpu_jiffies()
    c1, s1 = b.counters(db)
    top = top_statements(b, db)
    p = parse_line(err)
    if rc != 0 or p is None:
        raise RuntimeError('dunningd --plan-only --now %s exited %d:\n%s' % (now, rc, err))
    p.update({'now': now, 'wall': wall, 'rss': rss, 'cpu': cpu,
              'busy': (j1[0] - j0[0]) / max(1, j1[1] - j0[1]),
              'commits': c1 - c0, 'statements': int(s1 - s0), 'top': top,
              'writes': sum(p[k] or 0 for k in ('planned', 'held', 'rescheduled',
                                                  'cancelled', 'escalated'))})
    return p


def load(b, n):
    """A database of the portfolio of N invoices, analysed, that the rounds
    clone: (its name, seconds to load and analyse, its size)."""
    db = b.clone(b.cluster.template, 'blt%d' % n)
    t = time.monotonic()
    b.sql(db, LOAD_SQL, {'n': n})
    b.sql(db, ANALYZE_SQL)
    load_s = time.monotonic() - t
    size = b.sql(db, 'SELECT pg_database_size(current_database())')[0][0]
    b.quiet(db)
    return db, load_s, size


def one_round(b, tpl, n, r):
    """The passes of STEPS on a fresh copy of TPL: {step: pass}."""
    db = b.clone(tpl, 'bl%d_%d' % (n, r))
    conf = b.config(db, free_port(), 'backlog%d_%d' % (n, r))
    steps = {}
    for step, now in STEPS:
        if step == 'escalation':
            b.sql(db, SENT_SQL, {'t': FIRST})
            b.sql(db, ANALYZE_SQL)
        p = one_pass(b, db, conf, now, n)
        p['after'] = reminders_by_state(b, db)
        steps[step] = p
        say('   %-11s %s: pass %.1f ms, process %.2f s, RSS %d kB, %.4f commits and '
            '%.2f statements per invoice; %d planned, %d held' % (
                step, now, p['ms'], p['wall'], p['rss'], p['commits'] / n,
                p['statements'] / n, p['planned'] or 0, p['held'] or 0))
    b.cluster.admin('DROP DATABASE %s' % db)
    return steps


def median_pass(runs):
    """One pass standing for RUNS (the same step of each round): the last
    round's counts, the median times, the largest RSS, every time kept."""
    p = dict(runs[-1])
    p['ms'] = statistics.median(x['ms'] for x in runs)
    p['wall'] = statistics.median(x['wall'] for x in runs)
    p['cpu'] = statistics.median(x['cpu'] for x in runs)
    p['rss'] = max(x['rss'] for x in runs)
    p['all_ms'] = [x['ms'] for x in runs]
    p['all_busy'] = [x['busy'] for x in runs]
    return p


def profile_size(sizes):
    """The size whose first pass --profile profiles: the goals' (100 000)
    or the largest below it, else the smallest."""
    below = [n for n in sizes if n <= GOAL_N]
    return max(below) if below else min(sizes)


def part_backlog(b, sizes, rounds, rounds_big, profile=False):
    """Each size: its portfolio loaded once, then ROUNDS rounds (ROUNDS_BIG
    from 1 000 000 invoices) of the passes of STEPS, each on its own copy."""
    out = []
    for n in sizes:
        if n % 10:
            raise ValueError('backlog: %d invoices is not 10 per client' % n)
        tpl, load_s, size = load(b, n)
        k = rounds_big if n >= 1000000 else rounds
        say('== backlog, %d invoices (loaded and analysed in %.1f s, %d MB), %d round(s)' % (
            n, load_s, size // 2**20, k))
        runs = []
        for r in range(k):
            runs.append(one_round(b, tpl, n, r))
        res = {'n': n, 'load_s': load_s, 'size': size, 'rounds': k,
               'steps': {step: median_pass([x[step] for x in runs]) for step, _ in STEPS}}
        if profile and n == profile_size(sizes):
            prof_db = b.clone(tpl, 'blp%d' % n)
            res['profile'] = profile_first_pass(b, prof_db, n)
            b.cluster.admin('DROP DATABASE %s' % prof_db)
        b.cluster.admin('DROP DATABASE %s' % tpl)
        out.append(res)
    return out


# -------------------------------------------------------------- profile --

PROFILE = os.path.join(HERE, 'profile-backlog.txt')


def profile_first_pass(b, db, n):
    """The first pass over a copy of the loaded portfolio under `perf
    record -a -g` for its duration; the top of `perf report` for the
    dunningd process and for its PostgreSQL backend, into
    bench/profile-backlog.txt.  Its figures are not the measured ones."""
    data = os.path.join(b.work, 'perf.data')
    conf = b.config(db, free_port(), 'profile%d' % n)
    backends, stop = set(), threading.Event()

    def watch():            # the daemon's backend, while it lives
        conn = b.connect('postgres')
        try:
            with conn.cursor() as c:
                while not stop.is_set():
                    c.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s "
                              "AND backend_type = 'client backend'", (db,))
                    backends.update(r[0] for r in c.fetchall())
                    time.sleep(0.01)
        finally:
            conn.close()

    perf = perf_record(data)
    th = threading.Thread(target=watch, daemon=True)
    th.start()
    t = time.monotonic()
    r = subprocess.run([DUNNINGD, '-c', conf, '--plan-only', '--now', FIRST],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=3600)
    wall = time.monotonic() - t
    stop.set()
    th.join(10)
    perf.send_signal(2)
    perf.communicate(timeout=300)
    p = parse_line(r.stderr)

    def report(sort, limit, *sel):
        rep = subprocess.run(['perf', 'report', '-i', data, '--stdio', '--no-children',
                              '--percentage', 'relative', '--sort', sort, '-g', 'none',
                              '--percent-limit', str(limit)] + list(sel),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             timeout=600)
        rows = [ln.rstrip() for ln in rep.stdout.split('\n')
                if ln.strip() and not ln.startswith('#')]
        return rows[:40] or ['(no samples)']

    pids = ','.join(map(str, sorted(backends)))
    L = ['Profile of the backlog\'s first pass (bench/bench.py --parts backlog --profile), '
         '%d invoices, --now %s: `perf record -a -g -F %d` for the pass, on a copy of the '
         'loaded portfolio after the measured passes; the pass took %.1f ms (process '
         '%.2f s) under perf. Flat profiles (`perf report --no-children`), each in per cent '
         'of its own samples (`--percentage relative`); the call chains recorded are left out: '
         'without frame pointers (Debian\'s PostgreSQL, a release build) they are mostly broken.' % (
             n, FIRST, PERF_HZ, p['ms'] if p else float('nan'), wall),
         '', '## The whole machine during the pass, by command (every process of that name, '
         'this cluster\'s or not)', '']
    # The filtering key is also a sort key: perf merges the entries of the
    # other keys across processes before it filters.
    L += report('comm', 0.5)
    L += ['', '## dunningd (--comm dunningd), by library', '']
    L += report('comm,dso', 1, '--comm', 'dunningd')
    L += ['', '## dunningd, by function (≥ 1 %)', '']
    L += report('comm,dso,sym', 1, '--comm', 'dunningd')
    if backends:
        L += ['', '## its PostgreSQL backend (--pid %s), by library' % pids, '']
        L += report('pid,dso', 1, '--pid', pids)
        L += ['', '## its PostgreSQL backend, by function (≥ 0.5 %)', '']
        L += report('pid,dso,sym', 0.5, '--pid', pids)
    else:
        L += ['', '## its PostgreSQL backend: not seen', '']
    with open(PROFILE, 'w', encoding='utf-8') as f:
        f.write('\n'.join(L) + '\n')
    os.unlink(data)
    say('   profile of the first pass written to %s' % PROFILE)
    return PROFILE
