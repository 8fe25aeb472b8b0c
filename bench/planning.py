"""The planning part of bench/bench.py: portfolios of each size
(bench/portfolio.sql), planning passes (dunningd --plan-only) against the
daemon's own candidate query run bare."""
import datetime as dt
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


def candidate_sql(day):
    """The daemon's planning query (pipeline/plan.c: FACTS_SQL and the
    predicate of plan_each_candidate), its $1 bound to DAY."""
    with open(os.path.join(ROOT, 'pipeline', 'plan.c')) as f:
        src = f.read()
    m = re.search(r'#define FACTS_SQL((?:.*\\\n)*.*\n)', src)
    facts = c_literals(m.group(1))
    m = re.search(r'plan_each_candidate\(.*?plan_load_facts\(s, cfg,(.*?), 1, p, fn, arg\)',
                  src, re.S)
    where = c_literals(m.group(1))
    sql = '%s WHERE %s ORDER BY i.id' % (facts, where)
    if '$1' not in sql or 'FROM dunning.invoice' not in sql:
        raise RuntimeError('cannot read the planning query from pipeline/plan.c')
    return sql.replace('$1', "'%s'" % day)


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
