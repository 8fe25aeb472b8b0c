"""The planning part of bench/bench.py: portfolios of each size
(bench/portfolio.sql), planning passes (dunningd --plan-only) against the
daemon's own candidate query run bare."""
import os
import re
import time

from rig import AS_OF, HERE, ROOT, med, run_daemon
from harness import at, free_port
from host import say


# ------------------------------------------------------ the daemon's SQL --

def c_literals(text):
    """The concatenation of the C string literals in TEXT."""
    return ''.join(bytes(m, 'utf-8').decode('unicode_escape')
                   for m in re.findall(r'"((?:[^"\\]|\\.)*)"', text))


def candidate_sql(now):
    """The query a pass reads its candidates with (pipeline/plan.c: FACTS_SQL
    over the ids of [PLAN_DUE] in candidates[], the invoices whose bookmark
    is due, as plan_each_candidate reads them), its $1 bound to the instant NOW of the pass
    ('2025-03-04T10:00:00+01:00')."""
    path = os.path.join(ROOT, 'pipeline', 'plan.c')
    with open(path) as f:
        src = f.read()
    m = re.search(r'#define FACTS_SQL((?:.*\\\n)*.*\n)', src)
    facts = c_literals(m.group(1)) if m else ''
    m = re.search(r'\bcandidates\s*\[\s*\]\s*=\s*\{(.*?)\n\s*\};', src, re.S)
    m = m and re.search(r'\[\s*PLAN_DUE\s*\]\s*=((?:\s*"(?:[^"\\]|\\.)*")+)\s*(?:,|\Z)',
                        m.group(1))
    where = c_literals(m.group(1)) if m else ''
    if ('FROM dunning.invoice i' not in facts or '$1' not in where
            or 'next_action_at' not in where):
        raise RuntimeError('cannot read the planning query from %s (FACTS_SQL: %r; '
                           '[PLAN_DUE] of candidates[]: %r)' % (path, facts[:60], where))
    sql = '%s WHERE i.id = ANY (ARRAY(%s)) ORDER BY i.id' % (facts, where)
    return sql.replace('$1', "'%s'" % now)


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


def alternate(rounds, first, second):
    """ROUNDS rounds of FIRST(i) and SECOND(i), alternately (first, second,
    second, first, …): ([FIRST's], [SECOND's])."""
    a, z = [], []
    for i in range(rounds):
        if i % 2 == 0:
            a.append(first(i))
            z.append(second(i))
        else:
            z.append(second(i))
            a.append(first(i))
    return a, z


def summary(day, first, passes, bare):
    rows = [x[1] for x in bare]
    return {'day': day, 'first': first, 'passes': passes, 'bare': bare,
            'rows': rows[0], 'rows_all': sorted(set(rows)),
            'pass_ms': med([p['ms'] for p in passes]),
            'wall_ms': med([p['wall_ms'] for p in passes]),
            'bare_ms': med([x[0] for x in bare]),
            'rss': max(p['rss'] for p in passes + ([first] if first else [])),
            'examined': passes[0]['examined'],
            'examined_all': sorted(set(p['examined'] for p in passes)),
            'writes': sum(p['writes'] for p in passes),
            'writes_each': sorted(set(p['writes'] for p in passes))}


def part_plan(b, sizes, rounds_small, rounds_big):
    """Each size: its portfolio loaded, the catch-up first pass at AS_OF (the
    stored rules differ from the configuration's: every open invoice read,
    every bookmark written); then ROUNDS (ROUNDS_BIG from 1 000 000) of

      none  a pass at AS_OF again on that database (nothing is due) and
            the bare query at AS_OF, alternately;
      due   two copies of that database, the pass at the due day on one
            and the bare query at the same instant on the other, the
            first of the two alternating between rounds; the copies
            dropped."""
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

        now = at(AS_OF, '10:00')
        catchup = plan_pass(conf, now)
        say('   catch-up first pass %s: %.0f ms, %d invoices examined, %d writes' % (
            now, catchup['ms'], catchup['examined'], catchup['writes']))
        sql = candidate_sql(now)
        passes, bare = alternate(rounds, lambda i: plan_pass(conf, now),
                                 lambda i: bare_query(b, db, sql))
        res['none'] = summary(AS_OF, catchup, passes, bare)

        now = at(day_due, '10:00')
        sql = candidate_sql(now)
        confs = {}

        def copy(i, which):
            # The daemon's and the bare query's sessions have left db (a
            # session cannot be there while it is copied).
            b.quiet(db)
            name = b.clone(db, 'p%d_%d%s' % (n, i, which))
            confs[name] = b.config(name, free_port(), 'plan%s' % name)
            return name

        passes, bare = [], []
        for i in range(rounds):
            # The copy made first serves whichever measure goes first.
            one, two = copy(i, 'a'), copy(i, 'b')
            if i % 2 == 0:
                passes.append(plan_pass(confs[one], now))
                bare.append(bare_query(b, two, sql))
            else:
                bare.append(bare_query(b, one, sql))
                passes.append(plan_pass(confs[two], now))
            for name in (one, two):
                b.quiet(name)
                b.cluster.admin('DROP DATABASE %s' % name)
        res['due'] = summary(day_due, None, passes, bare)
        for key in ('none', 'due'):
            x = res[key]
            say('   %s %s: pass median %.1f ms (process %.1f ms), %s invoices examined, %s '
                'writes each; bare query %.1f ms, %s rows; peak RSS %d kB' % (
                    key, x['day'], x['pass_ms'], x['wall_ms'],
                    '/'.join(map(str, x['examined_all'])),
                    '/'.join(map(str, x['writes_each'])), x['bare_ms'],
                    '/'.join(map(str, x['rows_all'])), x['rss']))
        if n == max(sizes):
            conn = b.connect(db)
            with conn.cursor() as c:
                c.execute(SESSION_SQL)
                c.execute('EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) ' +
                          candidate_sql(at(AS_OF, '10:00')))
                res['explain'] = '\n'.join(r[0] for r in c.fetchall())
            conn.close()
        b.cluster.admin('DROP DATABASE %s' % db)
        out.append(res)
    return out
