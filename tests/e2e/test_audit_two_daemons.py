"""Concurrent writers of the audit log end to end (issue 15, SPEC §2 rule
10, §4 "two daemons at once"): two dunningd daemons run at once on one
database holding the backlog of test_backlog.py (2 000 overdue invoices,
none reminded yet), plan it and send it to the recording relay, while two
lawyers (each logged in as their own role, on two connections each) flag
and clear disputes, pause and resume, approve and reject held reminders,
and the billing software records payments — in many short transactions
and in transactions of several calls, some of them rolled back (by
ROLLBACK, or by a refused call half-way).  A reader samples the log and
`dunningctl audit verify` runs in a loop all along.

At the end, through the public interfaces only: `dunningctl audit verify`
exits 0; chain_seq is exactly 1..count(*); the reader never saw a row
without its hash or chain_seq; every reminder's first audit row is its
'planned' or 'held' row, and every such row has its reminder; each
committed action of a lawyer or of the billing software has its one audit
row and a rolled-back one none; no reminder was sent twice (one 'sent'
row each, its Message-ID received once) and no Message-ID reached the
relay twice.  Whether a client's invoices of one stage left in one message
is not asserted: two daemons can split a group between them (the known
case of test_claim's two-daemon test); each reminder still leaves once."""
import collections
import datetime as dt
import random
import signal
import threading
import time

import psycopg2

from harness import Worker, allow_simulated_clock, audit_watchers, wait_until
from test_backlog import FIRST, load_backlog

CONF = ('approval { threshold "EUR" { amount = 5000 } }\n'
        'schedule { poll_interval = 2 }\n')
SMTP = 'messages_per_session = 5\n'
LAWYERS = ('audit_maitre_a', 'audit_maitre_b')
BILLING = 'audit_billing'
# Transactions each actor ends (commits, rolls back or has refused), at
# least: the approvals are bounded by the reminders held (about 120 each).
MIN_TX = {'files': 100, 'billing': 100, 'approvals': 30}
DEADLINE = 180
# What a lawyer's call may be refused with when the daemon or another
# call got there first: invalid_parameter_value (not held, already
# disputed...), no_data_found, deadlock_detected, lock_not_available.
REFUSED = {'22023', 'P0002', '40P01', '55P03'}


class Book:
    """What the actors did: the markers (the reason, note or payment
    reference each call carries) of committed and of rolled-back calls,
    the approvals committed per role, the transactions per actor."""

    def __init__(self):
        self.lock = threading.Lock()
        self.done = collections.Counter()       # marker -> committed calls
        self.undone = set()
        self.approved = collections.Counter()   # role -> committed approvals
        self.tx = collections.Counter()         # actor -> transactions ended
        self.outcomes = collections.Counter()   # commit, rollback, refused

    def end(self, actor, outcome, markers, approvals=0, role=None):
        with self.lock:
            self.tx[actor] += 1
            self.outcomes[outcome] += 1
            if outcome == 'commit':
                self.done.update(markers)
                self.approved[role] += approvals
            else:
                self.undone.update(markers)


class Clock:
    """The daemons' simulated clock: FIRST, running from when they start."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.first = dt.datetime.fromisoformat(FIRST)

    def now(self):
        return self.first + dt.timedelta(seconds=time.monotonic() - self.t0)


def setup_actors(env):
    """Lawyer A keeps the odd clients, lawyer B (new) takes the even ones;
    both log in as their roles; the billing software logs in as an
    administrator; the lawyers' actions follow the simulated clock."""
    for role in LAWYERS:
        env.cluster.ensure_role(role, 'dunning_lawyer')
    env.cluster.ensure_role(BILLING, 'dunning_admin')
    a = env.one('SELECT min(id) FROM dunning.lawyer')
    env.sql('UPDATE dunning.lawyer SET db_role = %s WHERE id = %s', (LAWYERS[0], a))
    b = env.lawyer('Maître Bruno Benali', 'bruno.benali@cabinet.example', db_role=LAWYERS[1])
    env.sql('UPDATE dunning.client SET lawyer_id = %s WHERE id %% 2 = 0', (b,))
    allow_simulated_clock(env)


def session(env, user):
    conn = env.connect(user=user, autocommit=False)
    with conn.cursor() as cur:
        cur.execute('SET statement_timeout = 30000')
    conn.commit()
    return conn


def tick(cur, clock):
    """Start a transaction on the simulated clock."""
    cur.execute("SELECT set_config('dunning.now', %s, false)", (clock.now().isoformat(),))


def run_tx(conn, book, actor, calls, fate, role=None):
    """CALLS [(sql, params, marker, approvals)] in one transaction, then
    FATE (commit or rollback); a refused call rolls it back.  No call:
    nothing to count."""
    markers, approvals = [], 0
    if not calls:
        conn.rollback()
        return
    try:
        with conn.cursor() as cur:
            for sql, params, marker, n in calls:
                if marker:
                    markers.append(marker)
                cur.execute(sql, params)
                approvals += n
        if fate == 'commit':
            conn.commit()
        else:
            conn.rollback()
        book.end(actor, fate, markers, approvals, role)
    except psycopg2.Error as e:
        if e.pgcode not in REFUSED:
            raise
        conn.rollback()
        book.end(actor, 'refused', markers)


def files_actor(env, clock, book, stop, role, k):
    """Lawyer ROLE's disputes and pauses on the files of its clients with
    id % 4 == K (no other actor disputes or pauses them): one call per
    transaction, or two to six in one, committed or rolled back."""
    rnd = random.Random(role)
    conn = session(env, role)
    actor = '%s/files' % role
    seq = 0
    try:
        while not stop.is_set():
            with conn.cursor() as cur:
                tick(cur, clock)
                cur.execute('SELECT i.number, i.disputed_at IS NOT NULL, i.client_id '
                            'FROM dunning.invoice i WHERE i.client_id %% 4 = %s '
                            'ORDER BY random() LIMIT %s', (k, rnd.randint(1, 6)))
                picked = sorted(cur.fetchall())
            until = (clock.now() + dt.timedelta(days=5)).date().isoformat()
            calls = []
            for number, disputed, client in picked:
                seq += 1
                marker = 'm-%s-%d' % (actor, seq)
                op = rnd.random()
                if op < 0.45:
                    calls.append(('SELECT dunning.clear_dispute(%s, %s)' if disputed else
                                  'SELECT dunning.flag_dispute(%s, %s)', (number, marker),
                                  marker, 0))
                elif op < 0.8:
                    calls.append(('SELECT dunning.pause_invoice(%s, %s, %s)',
                                  (number, until if rnd.random() < 0.5 else None, marker),
                                  marker, 0))
                else:
                    calls.append(('SELECT dunning.pause_client(%s, %s, %s)',
                                  (client, until if rnd.random() < 0.3 else None, marker),
                                  marker, 0))
            if len(calls) > 2 and rnd.random() < 0.2:
                # A call refused half-way: the whole transaction goes.
                seq += 1
                marker = 'm-%s-%d' % (actor, seq)
                calls.insert(len(calls) // 2, ('SELECT dunning.pause_invoice(%s, %s, %s)',
                                               (picked[0][0], '2000-01-01', marker), marker,
                                               0))
            fate = 'rollback' if len(calls) > 1 and rnd.random() < 0.25 else 'commit'
            run_tx(conn, book, actor, calls, fate)
            stop.wait(0.005)
    finally:
        conn.close()


def approvals_actor(env, clock, book, stop, role):
    """Lawyer ROLE approves or rejects its held reminders (row-level
    security shows it its own), one to three per transaction."""
    rnd = random.Random(role + '/approvals')
    conn = session(env, role)
    actor = '%s/approvals' % role
    seq = 0
    try:
        while not stop.is_set():
            with conn.cursor() as cur:
                tick(cur, clock)
                cur.execute("SELECT id FROM dunning.reminder WHERE state = 'held' "
                            "ORDER BY random() LIMIT %s", (rnd.randint(1, 3),))
                held = sorted(r[0] for r in cur.fetchall())
            calls = []
            for rid in held:
                if rnd.random() < 0.8:
                    calls.append(('SELECT dunning.approve(%s)', (rid,), None, 1))
                else:
                    seq += 1
                    marker = 'm-%s-%d' % (actor, seq)
                    calls.append(('SELECT dunning.reject(%s, %s)', (rid, marker), marker, 0))
            fate = 'rollback' if calls and rnd.random() < 0.2 else 'commit'
            run_tx(conn, book, actor, calls, fate, role)
            stop.wait(0.01)
    finally:
        conn.close()


def billing_actor(env, clock, book, stop):
    """The billing software records payments, partial or in full, one to
    five per transaction, a quarter of the batches rolled back."""
    rnd = random.Random('billing')
    conn = session(env, BILLING)
    actor = 'billing'
    seq = 0
    try:
        while not stop.is_set():
            with conn.cursor() as cur:
                tick(cur, clock)
                cur.execute("SELECT id, amount - paid_total FROM dunning.invoice "
                            "WHERE amount > paid_total ORDER BY random() LIMIT %s",
                            (rnd.randint(1, 5),))
                due = sorted(cur.fetchall())
            calls = []
            for iid, balance in due:
                seq += 1
                marker = 'm-%s-%d' % (actor, seq)
                amount = balance if rnd.random() < 0.3 else min(balance, 10)
                calls.append(('INSERT INTO dunning.payment (invoice_id, amount, received_at, '
                              'reference) VALUES (%s, %s, dunning.now(), %s)',
                              (iid, amount, marker), marker, 0))
            fate = 'rollback' if len(calls) > 1 and rnd.random() < 0.25 else 'commit'
            run_tx(conn, book, actor, calls, fate)
            stop.wait(0.01)
    finally:
        conn.close()


def test_two_daemons_and_lawyers_write_one_verified_chain(make_env):
    env = make_env(smtp_conf=SMTP, extra_conf=CONF)
    load_backlog(env)
    setup_actors(env)
    book = Book()
    stop, running = threading.Event(), threading.Event()
    running.set()
    seen = {}

    began = time.monotonic()
    clock = Clock()
    daemons = [env.start_daemon(now=FIRST) for _ in range(2)]
    side = audit_watchers(env, running, seen)
    actors = [Worker(lambda: billing_actor(env, clock, book, stop))]
    for k, role in enumerate(LAWYERS):
        # A's files among the odd clients, B's among the even ones.
        actors.append(Worker(lambda role=role, k=k: files_actor(env, clock, book, stop, role,
                                                                 k + 1)))
        actors.append(Worker(lambda role=role: approvals_actor(env, clock, book, stop, role)))

    def caught_up():
        # The daemons sent everything due once, while the actors act.
        return env.count('dunning.reminder', 'state = %s AND scheduled_for <= %s',
                         ('planned', clock.now())) == 0 and env.count(
            'dunning.reminder', "state = 'sent'") > 0

    try:
        wait_until('the actors at work and the daemons caught up', lambda: (
            any(a.error for a in actors + side) or
            (len(book.tx) == 5 and all(v >= MIN_TX[k.split('/')[-1]]
                                       for k, v in book.tx.items()) and caught_up())),
            deadline=DEADLINE, interval=0.2)
    finally:
        stop.set()
        for a in actors:
            a.outcome(DEADLINE)
    for w in side:
        assert w.is_alive(), w.outcome()
    acted = time.monotonic() - began

    def settled():
        now = clock.now()
        return env.one(
            "SELECT count(*) FROM dunning.reminder WHERE state = 'sending' "
            "OR (state IN ('planned', 'approved') AND scheduled_for <= %s)", (now,)) == 0 and \
            env.one("SELECT count(*) FROM dunning.lawyer_alert "
                    "WHERE state IN ('pending', 'sending') "
                    "AND coalesce(next_try_at, created_at) <= %s", (now,)) == 0

    try:
        wait_until('everything due sent', settled, deadline=DEADLINE, interval=0.2)
        for d in daemons:
            d.signal(signal.SIGTERM)
        for d in daemons:
            assert d.wait(60) == 0, d.log()
    finally:
        running.clear()
    for w in side:
        w.outcome(DEADLINE)
    took = time.monotonic() - began

    # The chain: verified, gapless, every row chained.
    n = env.count('dunning.audit_log')
    r = env.verify_audit()
    assert '%d rows' % n in r.stdout, r.stdout
    seqs = [row[0] for row in env.sql('SELECT chain_seq FROM dunning.audit_log '
                                      'ORDER BY chain_seq')]
    assert seqs == list(range(1, n + 1))
    assert env.count('dunning.audit_log', 'hash IS NULL') == 0

    # Every reminder begins with its 'planned' or 'held' row; every such
    # row has its reminder.
    firsts = env.sql("""
        SELECT r.id, (SELECT a.action FROM dunning.audit_log a WHERE a.reminder_id = r.id
                      ORDER BY a.chain_seq LIMIT 1)
        FROM dunning.reminder r""")
    bad = [f for f in firsts if f[1] not in ('planned', 'held')]
    assert bad == [], bad[:10]
    assert env.count('dunning.audit_log a', "a.action IN ('planned', 'held') AND NOT EXISTS "
                     "(SELECT 1 FROM dunning.reminder r WHERE r.id = a.reminder_id)") == 0

    # Each committed call has its one audit row; a rolled-back one none.
    rows = env.sql("""
        SELECT CASE action WHEN 'dispute_cleared' THEN d->>'note'
                           WHEN 'payment_recorded' THEN d->>'reference'
                           ELSE d->>'reason' END
        FROM dunning.audit_log, dunning.audit_details(id, details) d
        WHERE actor <> %s""", (env.daemon_actor,))
    logged = collections.Counter(r[0] for r in rows if r[0] and r[0].startswith('m-'))
    assert logged == book.done, (sorted((logged - book.done).items())[:5],
                                 sorted((book.done - logged).items())[:5])
    assert not book.undone & set(logged)
    approved = collections.Counter(dict(env.sql(
        "SELECT actor, count(*) FROM dunning.audit_log WHERE action = 'approved' "
        "GROUP BY actor")))
    assert approved == +book.approved, (approved, book.approved)

    # No reminder sent twice, no Message-ID received twice.
    mails = env.all_mails()
    received = collections.Counter(m.message_id for m in mails)
    assert [k for k, v in received.items() if v > 1] == []
    sent = env.sql("""
        SELECT r.id, r.state, r.message_id, count(a.id)
        FROM dunning.reminder r
        LEFT JOIN dunning.audit_log a ON a.reminder_id = r.id AND a.action = 'sent'
        GROUP BY r.id HAVING count(a.id) > 0 OR r.state IN ('sent', 'sending', 'in_doubt')""")
    assert sent and all(s[1] == 'sent' and s[3] == 1 for s in sent), \
        [s for s in sent if s[1] != 'sent' or s[3] != 1][:10]
    client_ids = {m.message_id for m in env.mails()}
    assert {s[2] for s in sent} == client_ids
    # For the record: what the daemons said beyond their usual lines.
    usual = ('cycle ', 'lawyers: ', 'sent ', 'running:', 'listening ', 'stopping:')
    rechecked = [line for d in daemons for line in d.lines if 'not sent at claim' in line]
    noted = [line for d in daemons for line in d.lines if line not in rechecked and
             not line.split(': ', 1)[-1].startswith(usual)]
    print(''.join(noted[:20]), end='')
    print(dict(env.sql('SELECT action, count(*) FROM dunning.audit_log GROUP BY 1 '
                       'ORDER BY 2 DESC')))
    print('%d audit rows (%d sent reminders in %d client messages, %d lawyer mails, '
          '%d stopped by the claim\'s re-check); actors: %s, %s; %d reads, %d verifies '
          'during the run; acting %.1f s, total %.1f s'
          % (n, len(sent), len(client_ids), len(mails) - len(client_ids), len(rechecked),
             dict(book.tx), dict(book.outcomes), seen['reads'], seen['verify'], acted, took))
