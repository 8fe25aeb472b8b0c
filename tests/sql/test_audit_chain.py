"""The audit log chained at COMMIT (migration 006): an open transaction that
wrote an audit row no longer stalls the other writers nor deadlocks with
them; concurrent writers still make one dense chain; the append-only guard
lets nothing but the exact chaining through, to the superuser neither; and
`dunningctl audit verify` reads the chain by chain_seq in one snapshot."""
import random
import time

import psycopg2
import psycopg2.errors
import pytest

from harness import Worker
from test_migrations import build_old_layout

NOW = '2026-03-10T12:00:00+01:00'
DEADLINE_MS = 3000              # what a writer may wait, as statement_timeout


def session(env, deadline_ms=DEADLINE_MS):
    """A connection in transaction mode whose statements (COMMIT included)
    give up after DEADLINE_MS."""
    conn = env.connect(autocommit=False)
    with conn.cursor() as cur:
        cur.execute('SET statement_timeout = %s', (deadline_ms,))
    conn.commit()
    return conn


def wait_blocked(env, pid, deadline=10):
    """Until backend PID waits for a lock."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if env.one('SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s',
                   (pid,)) == 'Lock':
            return
        time.sleep(0.02)
    raise AssertionError('backend %d never waited for a lock' % pid)


def chain(env):
    """Every row as (chain_seq, id, action, invoice_id), in chain order."""
    return env.sql('SELECT chain_seq, id, action, invoice_id FROM dunning.audit_log '
                   'ORDER BY chain_seq')


def assert_dense_chain(env):
    """chain_seq is 1..N, every row chained, the head at the last one."""
    rows = env.sql('SELECT chain_seq, hash IS NOT NULL FROM dunning.audit_log '
                   'ORDER BY chain_seq')
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert all(r[1] for r in rows)
    assert env.one('SELECT last_seq FROM dunning.audit_head') == len(rows)


def two_invoices(env):
    c = env.client('chain@client.example')
    return (env.invoice('K-1', c, '2026-03-02'), env.invoice('K-2', c, '2026-03-02'))


# ---------------------------------------------------------------- stall --

def test_open_transaction_does_not_stall_other_writers(env):
    """A lawyer's `BEGIN; SELECT dunning.flag_dispute(...)` left open: the
    other writers of the audit log go on, within a deadline; the open one
    is chained after them when it commits."""
    i1, i2 = two_invoices(env)
    a, b = session(env), session(env)
    try:
        env.sql("SELECT dunning.flag_dispute('K-1', 'contestation')", now=NOW, conn=a)
        started = time.monotonic()
        env.sql("SELECT dunning.flag_dispute('K-2', 'autre')", now=NOW, conn=b)
        b.commit()                                # would wait for A's head lock
        assert time.monotonic() - started < DEADLINE_MS / 1000
        # Another writer, the daemon's way, also passes.
        env.sql("SELECT dunning.audit('daemon', 'planned', %s, NULL, '{}')", (i2,), now=NOW)
        # B's row is committed and chained; A's is not visible yet.
        assert [(r[2], r[3]) for r in chain(env)] == [('dispute_flagged', i2),
                                                     ('planned', i2)]
        env.verify_audit()
        a.commit()
    finally:
        a.close()
        b.close()
    rows = chain(env)
    assert [(r[2], r[3]) for r in rows] == [('dispute_flagged', i2), ('planned', i2),
                                           ('dispute_flagged', i1)]
    # A took its id first but committed last: the chain is the commit order.
    assert rows[2][1] < rows[0][1]
    assert_dense_chain(env)
    env.verify_audit()


# ------------------------------------------------------------- deadlock --

def test_payment_waiting_for_a_send_lock_does_not_deadlock_the_daemon(env):
    """The billing software inserts a payment on invoice 1 (audited), then
    one on invoice 2, which waits for the daemon's send lock on invoice 2
    (the row lock of sql/020, held by the transaction that records the
    send); the daemon records its send (an audit row) and commits without
    waiting for the billing transaction, which its COMMIT releases."""
    i1, i2 = two_invoices(env)
    billing, daemon = session(env, 20000), session(env)
    pay = 'INSERT INTO dunning.payment (invoice_id, amount) VALUES (%s, 100)'
    try:
        env.sql(pay, (i1,), now=NOW, conn=billing)
        env.sql('SELECT 1 FROM dunning.send_lock WHERE invoice_id = %s FOR UPDATE', (i2,),
                conn=daemon)
        second = Worker(lambda: env.sql(pay, (i2,), now=NOW, conn=billing))
        wait_blocked(env, billing.get_backend_pid())
        started = time.monotonic()
        env.sql("SELECT dunning.audit('daemon', 'sent', %s, NULL, "
                "'{\"message_id\": \"<m@x>\"}')", (i2,), now=NOW, conn=daemon)
        daemon.commit()                           # deadlocked before 006
        assert time.monotonic() - started < DEADLINE_MS / 1000
        second.outcome()
        billing.commit()
    finally:
        billing.close()
        daemon.close()
    assert [(r[2], r[3]) for r in chain(env)] == [('sent', i2), ('payment_recorded', i1),
                                                 ('payment_recorded', i2)]
    assert env.count('dunning.payment') == 2
    assert_dense_chain(env)
    env.verify_audit()


# ---------------------------------------------------------- concurrency --

def test_concurrent_writers_make_one_dense_chain(env):
    """4 threads x 200 audit rows, in transactions of 1 to 4 rows, some
    rolled back, while `audit verify` runs again and again: every verify
    says OK (the log and the head in one snapshot), the chain is dense,
    each transaction's rows are consecutive and in id order."""
    threads, per_thread = 4, 200

    def writer(t):
        rnd = random.Random(t)
        conn = session(env, 30000)
        written, tx = 0, 0
        try:
            while written < per_thread:
                size = min(rnd.randint(1, 4), per_thread - written)
                tx += 1
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO dunning.audit_log (actor, action, details) "
                                "SELECT %s, 'load', jsonb_build_object('t', %s, 'tx', %s, "
                                "'n', n) FROM generate_series(1, %s) n",
                                ('writer%d' % t, t, tx, size))
                if tx % 7 == 0:
                    conn.rollback()
                else:
                    conn.commit()
                    written += size
        finally:
            conn.close()

    workers = [Worker(lambda t=t: writer(t)) for t in range(threads)]
    verified = 0
    while any(w.is_alive() for w in workers):
        r = env.ctl('audit', 'verify')
        assert r.returncode == 0 and 'OK' in r.stdout, (r.stdout, r.stderr)
        verified += 1
    for w in workers:
        w.outcome(120)
    assert verified >= 1
    n = env.count('dunning.audit_log')
    assert n == threads * per_thread
    assert_dense_chain(env)
    # Rolled-back transactions used ids: ids have gaps, the chain has none.
    assert env.one('SELECT max(id) FROM dunning.audit_log') > n
    # One commit's rows are consecutive in the chain, in id order.
    groups = env.sql("SELECT array_agg(chain_seq ORDER BY id), array_agg(details->>'n' "
                     "ORDER BY id) FROM dunning.audit_log "
                     "GROUP BY details->>'t', details->>'tx'")
    for seqs, ns in groups:
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
        assert ns == [str(k) for k in range(1, len(ns) + 1)], ns
    r = env.verify_audit()
    assert '%d rows' % n in r.stdout


def test_rows_of_one_transaction_are_chained_in_id_order(env):
    """A transaction writing several rows (a dispute cancelling reminders,
    then more rows) gets them chained consecutively, in id order, at its
    COMMIT; inside the transaction they are not chained yet."""
    i1, _ = two_invoices(env)
    for stage in ('j3', 'j10', 'j20'):
        env.sql("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for) "
                "VALUES (%s, %s, 'planned', '2026-03-12 09:00+01')", (i1, stage))
    env.sql("SELECT dunning.audit('daemon', 'planned', NULL, NULL, '{}')", now=NOW)
    conn = session(env)
    try:
        env.sql("SELECT dunning.flag_dispute('K-1', 'contestation')", now=NOW, conn=conn)
        env.sql("SELECT dunning.audit('daemon', 'note', NULL, NULL, '{}')", now=NOW, conn=conn)
        mine = env.sql('SELECT chain_seq, prev_hash, hash FROM dunning.audit_log WHERE id > '
                       '(SELECT min(id) FROM dunning.audit_log)', conn=conn)
        assert len(mine) == 5 and all(r == (None, None, None) for r in mine), mine
        conn.commit()
    finally:
        conn.close()
    rows = env.sql('SELECT chain_seq, id, action FROM dunning.audit_log ORDER BY id')
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r[2] for r in rows] == ['planned', 'dispute_flagged', 'cancelled', 'cancelled',
                                    'cancelled', 'note']
    env.verify_audit()


def writes(conn, env):
    """(rows updated in audit_log, in audit_head) by CONN's transaction so
    far."""
    (row,) = env.sql("SELECT coalesce(sum(n_tup_upd) FILTER (WHERE relname = 'audit_log'), 0)"
                     "::int, coalesce(sum(n_tup_upd) FILTER (WHERE relname = 'audit_head'), 0)"
                     "::int FROM pg_stat_xact_user_tables WHERE schemaname = 'dunning'",
                     conn=conn)
    return tuple(row)


@pytest.mark.parametrize('rows', [1, 500])
def test_a_transaction_moves_the_head_once(env, rows):
    """Sealed at COMMIT (016): however many rows a transaction wrote, the
    head is locked and moved once, and each row is written once more (its
    chain columns).  (Until 016 each row moved the head: 500 rows, 500
    versions of one row inside one transaction.)"""
    write_some(env)
    conn = session(env)
    try:
        env.sql("SELECT dunning.audit('daemon', 'note', NULL, NULL, jsonb_build_object('n', n)) "
                "FROM generate_series(1, %s) n", (rows,), now=NOW, conn=conn)
        conn.cursor().execute('SET CONSTRAINTS ALL IMMEDIATE')     # seal now, not at COMMIT
        assert writes(conn, env) == (rows, 1)
        assert env.one('SELECT count(*) FROM dunning.audit_log WHERE hash IS NULL',
                       conn=conn) == 0
        conn.commit()
    finally:
        conn.close()
    assert_dense_chain(env)
    env.verify_audit()


def test_a_rolled_back_savepoint_leaves_no_hole(env):
    """A row written in a savepoint that is rolled back is never chained:
    the chain has no hole for it."""
    conn = session(env)
    try:
        cur = conn.cursor()
        cur.execute("SELECT dunning.audit('daemon', 'kept', NULL, NULL, '{}')")
        cur.execute('SAVEPOINT s')
        cur.execute("SELECT dunning.audit('daemon', 'undone', NULL, NULL, '{}')")
        cur.execute('ROLLBACK TO SAVEPOINT s')
        cur.execute("SELECT dunning.audit('daemon', 'kept_too', NULL, NULL, '{}')")
        conn.commit()
    finally:
        conn.close()
    assert [r[2] for r in chain(env)] == ['kept', 'kept_too']
    assert_dense_chain(env)
    env.verify_audit()


@pytest.mark.parametrize('level', ['REPEATABLE READ', 'SERIALIZABLE'])
def test_a_snapshot_writer_that_raced_retries_instead_of_forking(env, level):
    """A REPEATABLE READ (or SERIALIZABLE) transaction whose snapshot is
    older than another audit commit cannot chain on the head it sees: its
    COMMIT fails with a serialization error and the retry chains."""
    a = env.connect(autocommit=False)
    a.set_session(isolation_level=level)
    try:
        cur = a.cursor()
        cur.execute("SELECT dunning.audit('billing', 'raced', NULL, NULL, '{}')")
        assert env.one('SHOW transaction_isolation', conn=a) == level.lower()
        env.sql("SELECT dunning.audit('daemon', 'first', NULL, NULL, '{}')")
        with pytest.raises(psycopg2.errors.SerializationFailure):
            a.commit()
        a.rollback()
        cur.execute("SELECT dunning.audit('billing', 'retried', NULL, NULL, '{}')")
        a.commit()
    finally:
        a.close()
    assert [r[2] for r in chain(env)] == ['first', 'retried']
    assert_dense_chain(env)
    env.verify_audit()


# ------------------------------------------------------------ the guard --

def write_some(env):
    i1, i2 = two_invoices(env)
    env.sql("SELECT dunning.flag_dispute('K-1', 'contestation')", now=NOW)
    env.pay('K-2', '100.00', NOW)
    env.sql("SELECT dunning.audit('daemon', 'planned', %s, NULL, '{\"n\": 1.0}')", (i2,),
            now=NOW)
    return i1, i2


def refused(conn, stmt, params=None, why='append-only'):
    """STMT fails with the append-only error (or WHY); the transaction goes
    on."""
    with conn.cursor() as cur:
        cur.execute('SAVEPOINT attempt')
        with pytest.raises(psycopg2.Error) as e:
            cur.execute(stmt, params)
        cur.execute('ROLLBACK TO SAVEPOINT attempt')
    assert why in str(e.value), str(e.value)


@pytest.mark.parametrize('replica', [False, True])
def test_superuser_cannot_change_a_chained_row(env, replica):
    """A committed row's hash, chain_seq, prev_hash and content are out of
    the superuser's reach, also under session_replication_role = replica;
    even the "perfect" re-chaining of a committed row at the head (which
    would move it to the end of the chain) is refused."""
    write_some(env)
    assert env.one('SELECT rolsuper FROM pg_roles WHERE rolname = current_user')
    before = env.sql('SELECT to_jsonb(a)::text FROM dunning.audit_log a ORDER BY id')
    head = env.sql('SELECT * FROM dunning.audit_head')
    first, last = env.one('SELECT min(id), max(id) FROM dunning.audit_log')
    conn = env.connect(autocommit=False)
    try:
        if replica:
            conn.cursor().execute('SET session_replication_role = replica')
        for stmt in (
                "UPDATE dunning.audit_log SET hash = '\\x00' WHERE id = %d" % last,
                "UPDATE dunning.audit_log SET hash = NULL, prev_hash = NULL, chain_seq = NULL "
                "WHERE id = %d" % last,
                "UPDATE dunning.audit_log SET hash = hash WHERE id = %d" % last,
                "UPDATE dunning.audit_log SET chain_seq = chain_seq + 100 WHERE id = %d" % last,
                "UPDATE dunning.audit_log SET prev_hash = NULL WHERE id = %d" % first,
                "UPDATE dunning.audit_log SET actor = 'mallory' WHERE id = %d" % first,
                "UPDATE dunning.audit_log SET details = '{\"n\": 1.00}' WHERE id = %d" % last,
                # Re-chain the first row at the head, hash and all correct.
                "UPDATE dunning.audit_log a SET chain_seq = h.last_seq + 1, "
                "prev_hash = h.last_hash, hash = dunning.audit_hash(h.last_hash, "
                "ROW(a.id, a.at, a.actor, a.action, a.invoice_id, a.reminder_id, a.details, "
                "h.last_hash, NULL, h.last_seq + 1)::dunning.audit_log) "
                "FROM dunning.audit_head h WHERE a.id = %d" % first,
                "DELETE FROM dunning.audit_log WHERE id = %d" % last,
                "TRUNCATE dunning.audit_log"):
            refused(conn, stmt)
        conn.rollback()
    finally:
        conn.close()
    assert env.sql('SELECT to_jsonb(a)::text FROM dunning.audit_log a ORDER BY id') == before
    assert env.sql('SELECT * FROM dunning.audit_head') == head
    env.verify_audit()


@pytest.mark.parametrize('replica', [False, True])
def test_superuser_cannot_fill_in_a_row_wrongly(env, replica):
    """In the transaction that inserted a row (its hash still NULL), the
    only UPDATE the guard lets through is the exact chaining: a wrong
    hash, position or predecessor, or a content change (even with the hash
    recomputed over it), is refused.  The exact chaining by hand is what
    the chainer would do; the head moves with it and the chainer leaves the
    row alone at COMMIT."""
    write_some(env)
    conn = env.connect(autocommit=False)
    try:
        cur = conn.cursor()
        if replica:
            cur.execute('SET session_replication_role = replica')
        cur.execute("INSERT INTO dunning.audit_log (actor, action, details) "
                    "VALUES ('mallory', 'note', '{\"n\": 1.0}') RETURNING id")
        (rid,) = cur.fetchone()
        assert env.one('SELECT hash FROM dunning.audit_log WHERE id = %s', (rid,),
                       conn=conn) is None

        def link(seq='h.last_seq + 1', prev='h.last_hash', hash_prev='h.last_hash',
                 row='a.id, a.at, a.actor, a.action, a.invoice_id, a.reminder_id, a.details',
                 extra=''):
            return ("UPDATE dunning.audit_log a SET chain_seq = {seq}, prev_hash = {prev}, "
                    "hash = dunning.audit_hash({hash_prev}, ROW({row}, {prev}, NULL, {seq})"
                    "::dunning.audit_log){extra} FROM dunning.audit_head h "
                    "WHERE a.id = {rid}").format(seq=seq, prev=prev, hash_prev=hash_prev,
                                                 row=row, extra=extra, rid=rid)

        refused(conn, "UPDATE dunning.audit_log SET hash = '\\x00' WHERE id = %d" % rid)
        refused(conn, "UPDATE dunning.audit_log a SET chain_seq = h.last_seq + 1, "
                      "prev_hash = h.last_hash, hash = '\\x00' FROM dunning.audit_head h "
                      "WHERE a.id = %d" % rid)
        refused(conn, link(seq='h.last_seq + 2'))                   # a gap
        refused(conn, link(seq='h.last_seq'), why='audit_log_chain_seq_key')  # a fork
        refused(conn, link(prev="'\\x00'::bytea", hash_prev="'\\x00'::bytea"))
        refused(conn, link(hash_prev="'\\x00'::bytea"))             # hash off another base
        # A content change with its hash recomputed: still refused.
        refused(conn, link(row="a.id, a.at, 'daemon', a.action, a.invoice_id, a.reminder_id, "
                               "a.details", extra=", actor = 'daemon'"))
        refused(conn, link(row="a.id, a.at, a.actor, a.action, a.invoice_id, a.reminder_id, "
                               "'{\"n\": 1.00}'::jsonb", extra=", details = '{\"n\": 1.00}'"))
        refused(conn, link(row="a.id, '2000-01-01', a.actor, a.action, a.invoice_id, "
                               "a.reminder_id, a.details", extra=", at = '2000-01-01'"))
        refused(conn, "DELETE FROM dunning.audit_log WHERE id = %d" % rid)
        refused(conn, "UPDATE dunning.audit_log SET actor = 'x' WHERE id = %d" % rid)
        seq = env.one('SELECT last_seq + 1 FROM dunning.audit_head', conn=conn)
        # The exact chaining passes, and moves the head.
        cur.execute(link())
        assert cur.rowcount == 1
        assert env.one('SELECT last_seq FROM dunning.audit_head', conn=conn) == seq
        assert env.one('SELECT chain_seq FROM dunning.audit_log WHERE id = %s', (rid,),
                       conn=conn) == seq
        conn.commit()
    finally:
        conn.close()
    assert_dense_chain(env)
    env.verify_audit()
    env.sql("SELECT dunning.audit('daemon', 'after', NULL, NULL, '{}')", now=NOW)
    assert_dense_chain(env)
    env.verify_audit()


def test_replica_role_and_immediate_constraints_still_chain(env):
    """session_replication_role = replica does not skip the chaining, nor
    does SET CONSTRAINTS ... IMMEDIATE (which only chains earlier)."""
    write_some(env)
    conn = env.connect(autocommit=False)
    try:
        cur = conn.cursor()
        cur.execute('SET session_replication_role = replica')
        cur.execute("INSERT INTO dunning.audit_log (actor, action) VALUES ('r', 'replica')")
        conn.commit()
        cur.execute('SET CONSTRAINTS ALL IMMEDIATE')
        cur.execute("INSERT INTO dunning.audit_log (actor, action) VALUES ('r', 'immediate')")
        assert env.one("SELECT hash IS NOT NULL FROM dunning.audit_log "
                       "WHERE action = 'immediate'", conn=conn)
        conn.commit()
    finally:
        conn.close()
    assert_dense_chain(env)
    env.verify_audit()


# -------------------------------------------------------------- verify --

GUARDS = ('audit_log_no_change', 'audit_log_chain_check_update')


def tamper(env, sql, triggers=GUARDS):
    """What a superuser can do: switch triggers off, change, switch on."""
    for t in triggers:
        env.sql('ALTER TABLE dunning.audit_log DISABLE TRIGGER %s' % t)
    try:
        env.sql(sql)
    finally:
        for t in triggers:
            env.sql('ALTER TABLE dunning.audit_log ENABLE ALWAYS TRIGGER %s' % t)


def out_of_order_log(env):
    """A log whose chain order differs from its id order: A writes first
    and commits last.  Returns the ids in chain order."""
    write_some(env)
    a = env.connect(autocommit=False)
    try:
        env.sql("SELECT dunning.audit('lawyer', 'late', NULL, NULL, '{}')", now=NOW, conn=a)
        env.sql("SELECT dunning.audit('daemon', 'early', NULL, NULL, '{}')", now=NOW)
        a.commit()
    finally:
        a.close()
    env.sql("SELECT dunning.audit('daemon', 'last', NULL, NULL, '{}')", now=NOW)
    ids = [r[1] for r in chain(env)]
    assert ids != sorted(ids)
    env.verify_audit()
    return ids


def broken(env):
    r = env.ctl('audit', 'verify')
    assert r.returncode == 3 and 'BROKEN' in r.stdout, (r.returncode, r.stdout, r.stderr)
    return r.stdout


def test_verify_broken_after_editing_a_row(env):
    ids = out_of_order_log(env)
    late = env.one("SELECT id FROM dunning.audit_log WHERE action = 'late'")
    tamper(env, "UPDATE dunning.audit_log SET actor = 'mallory' WHERE id = %d" % late)
    assert 'row %d: content does not match' % late in broken(env)
    assert ids.index(late) < len(ids) - 1


def test_verify_broken_after_deleting_a_middle_row(env):
    out_of_order_log(env)
    early = env.one("SELECT id FROM dunning.audit_log WHERE action = 'early'")
    late = env.one("SELECT id FROM dunning.audit_log WHERE action = 'late'")
    tamper(env, 'DELETE FROM dunning.audit_log WHERE id = %d' % early)
    # The next row in the chain (not in id order) gives it away.
    assert 'row %d: prev_hash' % late in broken(env)


def test_verify_broken_after_deleting_the_last_row(env):
    ids = out_of_order_log(env)
    tamper(env, 'DELETE FROM dunning.audit_log WHERE id = %d' % ids[-1])
    assert 'rows removed' in broken(env)


def test_verify_broken_after_swapping_two_positions(env):
    """Two rows that change places in the chain (chain_seq swapped)."""
    ids = out_of_order_log(env)
    a, b = ids[1], ids[2]
    tamper(env, 'UPDATE dunning.audit_log SET chain_seq = 1000000 WHERE id = %d' % a)
    tamper(env, 'UPDATE dunning.audit_log SET chain_seq = 2 WHERE id = %d' % b)
    tamper(env, 'UPDATE dunning.audit_log SET chain_seq = 3 WHERE id = %d' % a)
    assert 'row %d' % b in broken(env)


def test_verify_broken_on_a_row_never_chained(env):
    """A superuser who switches the chainer off commits a row without a
    hash: verify names it."""
    write_some(env)
    tamper(env, "INSERT INTO dunning.audit_log (actor, action) VALUES ('mallory', 'unchained')",
           triggers=('audit_log_chain_at_commit',))
    rid = env.one("SELECT id FROM dunning.audit_log WHERE action = 'unchained'")
    assert env.one('SELECT hash FROM dunning.audit_log WHERE id = %s', (rid,)) is None
    assert 'row %d: the row was never chained' % rid in broken(env)


# ------------------------------------------------------------ migration --

def test_migration_keeps_the_chain_written_before_it(make_env):
    """A log written by the triggers of 002 (with a gap in its ids) keeps
    its hashes: 006 numbers it chain_seq = id, the head follows, verify
    says OK, new rows chain after it, and an edit of an old row is still
    caught."""
    env = make_env(smtp=False, empty=True)
    # 001 to 005 as they were when such logs were written: the functions
    # and the chain's triggers of 002 have left the numbered migrations
    # since (sql/README.md).
    build_old_layout(env, below=6)
    write_some(env)
    lost = env.connect(autocommit=False)
    lost.cursor().execute("SELECT dunning.audit('daemon', 'lost', NULL, NULL, '{}')")
    lost.rollback()
    lost.close()
    env.sql("SELECT dunning.audit('daemon', 'old', NULL, NULL, '{}')", now=NOW)
    old = env.sql('SELECT id, prev_hash, hash FROM dunning.audit_log ORDER BY id')
    ids = [r[0] for r in old]
    assert ids != list(range(1, len(ids) + 1))             # the rolled-back id
    head = env.one('SELECT last_hash FROM dunning.audit_head')
    r = env.ctl('migrate', check=0)
    assert 'applied 006_audit_commit_chain' in r.stdout, r.stdout
    assert env.sql('SELECT id, prev_hash, hash FROM dunning.audit_log ORDER BY id') == old
    assert env.sql('SELECT chain_seq FROM dunning.audit_log ORDER BY id') == \
        [(i,) for i in ids]
    assert env.sql('SELECT last_seq, last_hash FROM dunning.audit_head') == [(ids[-1], head)]
    r = env.verify_audit()
    assert '%d rows' % len(ids) in r.stdout
    env.sql("SELECT dunning.audit('daemon', 'new', NULL, NULL, '{}')", now=NOW)
    new = env.sql("SELECT chain_seq, prev_hash FROM dunning.audit_log WHERE action = 'new'")
    assert new == [(ids[-1] + 1, old[-1][2])]
    env.verify_audit()
    tamper(env, "UPDATE dunning.audit_log SET actor = 'mallory' WHERE id = %d" % ids[1])
    assert 'row %d' % ids[1] in broken(env)
