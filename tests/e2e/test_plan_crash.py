"""A planning pass killed in the middle of a chunk (issue 15): the backlog
of test_backlog.py (2 000 overdue invoices, none reminded yet: four chunks
of 500) on a durable cluster, `dunningd --plan-only` killed with SIGKILL
inside a chunk's transaction after one or more chunks committed — the
chunk waiting at its first write, or with its reminders and their audit
rows written and not committed — and once PostgreSQL crashed with it.
What the killed pass committed is consistent (each reminder with its one
'planned' or 'held' audit row and each such row with its reminder, no
stage pending twice, chain_seq gapless, `dunningctl audit verify`
accepts the chain) and is a part of what a pass never interrupted writes;
the next pass finishes the work: the same reminders and the same audit
actions as a second database planned in one go (snapshot() of
test_backlog.py).

The pass is stopped where the test wants it by a gate on dunning.reminder:
a session holds the table IN SHARE MODE, so every transaction that writes
reminders waits at its first write.  A step queues a new SHARE lock behind
the one waiting writer, then lets the old one go: that writer's
transaction, and no other, runs to its COMMIT before the new holder closes
the gate again (PostgreSQL grants a lock's waiters in their order).  To
stop a chunk with its rows written, the daemon is stopped (SIGSTOP) while
its chunk waits, then the gate opened: the chunk's statement runs, and its
session waits, idle in its transaction, for a COMMIT that never comes.
Nothing but the order of lock requests is relied on: no sleep, no
timing."""
import collections
import signal
import subprocess
import threading
import time

import psycopg2
import pytest

from harness import DUNNINGD, wait_until
from test_backlog import FIRST, load_backlog, snapshot

CONF = 'approval { threshold "EUR" { amount = 5000 } }\n'
DEADLINE = 30           # seconds a step of the test may take


class Gate:
    """dunning.reminder held IN SHARE MODE by one of our sessions; step()
    lets the writer waiting at the gate commit one transaction."""

    def __init__(self, env):
        self.env = env
        self.ours = set()
        self.holder = self._session()
        self.holder.cursor().execute('LOCK TABLE dunning.reminder IN SHARE MODE')

    def _session(self):
        conn = self.env.connect(autocommit=False)
        self.ours.add(conn.get_backend_pid())
        return conn

    def waiting(self):
        """The other sessions waiting for a lock on dunning.reminder."""
        rows = self.env.sql("SELECT pid FROM pg_locks WHERE locktype = 'relation' "
                            "AND relation = 'dunning.reminder'::regclass AND NOT granted")
        return [r[0] for r in rows if r[0] not in self.ours]

    def step(self):
        """Queue a new holder behind the waiting writer, release the old one:
        the writer's transaction runs to its end, then the gate closes."""
        nxt = self._session()
        pid = nxt.get_backend_pid()
        done = threading.Event()
        error = []

        def lock():
            try:
                nxt.cursor().execute('LOCK TABLE dunning.reminder IN SHARE MODE')
            except psycopg2.Error as e:     # reported below
                error.append(e)
            done.set()

        t = threading.Thread(target=lock, daemon=True)
        t.start()
        wait_until('the next holder queued behind the writer', lambda: self.env.one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'relation' AND pid = %s "
            "AND relation = 'dunning.reminder'::regclass AND NOT granted", (pid,)) == 1,
            deadline=DEADLINE)
        old, self.holder = self.holder, nxt
        old.rollback()
        old.close()
        assert done.wait(DEADLINE), 'the writer never let the gate close again'
        t.join(DEADLINE)
        assert not error, error

    def open(self):
        if self.holder is not None and not self.holder.closed:
            try:
                self.holder.rollback()
            except psycopg2.Error:
                pass
            self.holder.close()
        self.holder = None


def reminder_count(env):
    return env.count('dunning.reminder')


def unwritten(env):
    """How many reminder ids were taken beyond the committed rows: rows a
    transaction wrote and has not committed (or rolled back)."""
    return env.one("SELECT s.last_value - coalesce((SELECT max(id) FROM dunning.reminder), 0) "
                   "FROM dunning.reminder_id_seq s WHERE s.is_called")


def actions(env):
    """How many audit rows of each action."""
    return collections.Counter(dict(env.sql(
        'SELECT action, count(*) FROM dunning.audit_log GROUP BY action')))


def assert_consistent(env):
    """What the passes committed, whole: each reminder has exactly one
    'planned' or 'held' audit row and each such row its reminder, no
    (invoice, stage) pending twice, the chain dense and verified.  The
    number of audit rows."""
    orphans = env.sql("""
        SELECT r.id, count(a.id) FROM dunning.reminder r
        LEFT JOIN dunning.audit_log a ON a.reminder_id = r.id AND a.action IN ('planned', 'held')
        GROUP BY r.id HAVING count(a.id) <> 1""")
    assert orphans == [], 'reminders without exactly one planned/held row: %r' % orphans[:10]
    ghosts = env.sql("""
        SELECT a.id, a.action, a.reminder_id FROM dunning.audit_log a
        WHERE a.action IN ('planned', 'held')
          AND NOT EXISTS (SELECT 1 FROM dunning.reminder r WHERE r.id = a.reminder_id)""")
    assert ghosts == [], 'planned/held rows of no reminder: %r' % ghosts[:10]
    twice = env.sql("""
        SELECT invoice_id, stage, count(*) FROM dunning.reminder
        WHERE state IN ('planned', 'held', 'approved', 'sending')
        GROUP BY invoice_id, stage HAVING count(*) > 1""")
    assert twice == [], twice[:10]
    n, last, distinct, unchained = env.one(
        'SELECT count(*), coalesce(max(chain_seq), 0), count(DISTINCT chain_seq), '
        'count(*) FILTER (WHERE chain_seq IS NULL OR hash IS NULL) FROM dunning.audit_log')
    assert (last, distinct, unchained) == (n, n, 0), (n, last, distinct, unchained)
    r = env.verify_audit()
    assert '%d rows' % n in r.stdout, r.stdout
    return n


def daemon_sessions(env):
    """The sessions of dunningd and dunningctl (application_name dunning)."""
    return env.sql("SELECT pid, state FROM pg_stat_activity "
                   "WHERE datname = current_database() AND application_name = 'dunning'")


@pytest.mark.parametrize('chunks,stop,crash', [
    (1, 'waiting', 'dunningd'),
    (1, 'written', 'dunningd'),
    (3, 'written', 'dunningd'),
    (2, 'written', 'dunningd and postgres'),
    (2, 'waiting', 'dunningd and postgres'),
])
def test_a_pass_killed_inside_a_chunk_is_finished_by_the_next(make_private_env,
                                                              private_cluster, chunks, stop,
                                                              crash):
    """CHUNKS chunks committed, the next one STOP ('waiting' at its first
    write, or its rows 'written'), then CRASH."""
    ref = make_private_env(smtp=False, extra_conf=CONF)
    load_backlog(ref)
    ref.daemon('--plan-only', now=FIRST, check=0)
    want = snapshot(ref)
    total = reminder_count(ref)
    assert total > 1500, total          # more than three chunks' worth
    assert_consistent(ref)
    want_actions = actions(ref)

    env = make_private_env(smtp=False, extra_conf=CONF)
    load_backlog(env)
    gate = Gate(env)
    proc = None
    try:
        proc = subprocess.Popen([DUNNINGD, '-c', env.config, '--plan-only', '--now', FIRST],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # One writer transaction at a time, until CHUNKS of them committed
        # reminders; the next one then waits at the gate, inside its chunk.
        committed, seen = 0, 0
        while True:
            wait_until('a writer of reminders at the gate',
                       lambda: gate.waiting() or proc.poll() is not None, deadline=DEADLINE)
            assert proc.poll() is None, 'the pass ended before it was stopped: %s' % (
                proc.communicate()[1])
            n = reminder_count(env)
            if n > seen:
                committed, seen = committed + 1, n
            if committed == chunks:
                break
            gate.step()
        assert 0 < seen < total, (seen, total)
        (writer,) = gate.waiting()
        pending = 0
        if stop == 'written':
            # The daemon frozen, the chunk's statement runs; its session
            # then waits for the next statement, inside the transaction.
            proc.send_signal(signal.SIGSTOP)
            gate.open()
            wait_until("the chunk's rows written, not committed", lambda: env.one(
                'SELECT state FROM pg_stat_activity WHERE pid = %s', (writer,))
                == 'idle in transaction', deadline=DEADLINE)
            pending = unwritten(env)
            assert pending > 0
            assert reminder_count(env) == seen
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=DEADLINE)
        assert proc.returncode == -signal.SIGKILL, err
        if crash == 'dunningd and postgres':
            # The chunk's transaction is still open in its session:
            # PostgreSQL crashes with it.
            private_cluster.restart()
            for e in (env, ref):
                e.conn.close()
            gate.holder = None
        else:
            gate.open()
            # The killed pass's session ends once it finds its client gone:
            # only then are the invoices of its chunk free again.
            wait_until("the killed pass's sessions gone", lambda: daemon_sessions(env) == [],
                       deadline=DEADLINE)
    finally:
        gate.open()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=DEADLINE)

    # What the killed pass left: the chunks it committed, each whole.
    assert reminder_count(env) == seen
    assert_consistent(env)
    part = snapshot(env)
    assert len(part['reminders']) == seen
    assert set(part['reminders']) <= set(want['reminders'])
    assert set(part['audit']) <= set(want['audit'])

    # The next pass finishes the work.
    started = time.monotonic()
    env.daemon('--plan-only', now=FIRST, check=0)
    took = time.monotonic() - started
    got = snapshot(env)
    assert got['reminders'] == want['reminders']
    assert got['audit'] == want['audit']
    rows = assert_consistent(env)
    # The same audit rows, and the killed run's start (it never stopped).
    want_actions['daemon_started'] += 1
    assert actions(env) == want_actions
    print('%d chunk(s) committed, the next %s (%d reminders uncommitted), %s killed: '
          '%d of %d reminders before the kill; next pass %.2f s; %d audit rows'
          % (chunks, stop, pending, crash, seen, total, took, rows))
