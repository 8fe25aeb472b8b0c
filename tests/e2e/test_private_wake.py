"""Private wake-ups and send locks (issue 17, item 4; sql/020): run as a
lawyer — a login in dunning_lawyer — against another lawyer's files, the
LISTEN channel tells nothing, a NOTIFY makes the daemon plan nothing, and
neither the advisory-lock key the send lock used to be nor the new send
lock can be taken to stall the sender or to block a payment."""
import select
import time

import psycopg2.errors
import pytest

from harness import at, wait_until

SLOW_POLL = 'schedule { poll_interval = 3600 }\n'   # only a notification acts within seconds
MONDAY = '2026-03-09'
OLD_SEND_LOCK = 1685417582      # the advisory-lock class the send lock was until 020
ALICE, BOB = 'wake_alice', 'wake_bob'


def lawyers(env):
    """Two lawyers logging in as themselves; their ids."""
    env.cluster.ensure_role(ALICE, 'dunning_lawyer')
    env.cluster.ensure_role(BOB, 'dunning_lawyer')
    return (env.lawyer('Maître Alice', 'alice@cabinet.example', db_role=ALICE),
            env.lawyer('Maître Bob', 'bob@cabinet.example', db_role=BOB))


def state(env, number, stage='j3'):
    r = env.reminders(number).get(stage)
    return r['state'] if r else None


def notifications(conn, deadline=5):
    """The notifications CONN (LISTENing) received within DEADLINE s, once
    there is one."""
    end = time.monotonic() + deadline
    while not conn.notifies and time.monotonic() < end:
        if select.select([conn], [], [], 0.1)[0]:
            conn.poll()
    return list(conn.notifies)


def alices_file(env):
    """Alice's client with two invoices due on 2 March; their ids."""
    alice, _ = lawyers(env)
    c = env.client('w@client.example', lawyer=alice)
    return env.invoice('W-1', c, '2026-03-02'), env.invoice('W-2', c, '2026-03-02')


def bob_holds_the_old_send_locks(env, invoices):
    """Bob's session, holding at session level the advisory locks that were
    the INVOICES' send locks (any role may take an advisory lock)."""
    bob = env.connect(user=BOB)
    for inv in invoices:
        env.sql('SELECT pg_advisory_lock(%s, %s)', (OLD_SEND_LOCK, inv), conn=bob)
    return bob


def test_a_lawyer_cannot_stall_the_sender(env):
    """While Bob holds those locks, Alice's reminders leave all the same."""
    ids = alices_file(env)
    bob = bob_holds_the_old_send_locks(env, ids)
    try:
        env.cycle(at('2026-03-05', '10:00'))
        assert state(env, 'W-1') == 'sent' and state(env, 'W-2') == 'sent'
        assert [m.rcpt for m in env.mails()] == ['w@client.example']   # grouped (rule 8)
    finally:
        bob.close()
    env.verify_audit()


def test_a_lawyer_cannot_block_a_payment(env):
    """While Bob holds those locks, a payment on Alice's invoice is recorded
    at once (a payment takes its invoice's send lock)."""
    ids = alices_file(env)
    bob = bob_holds_the_old_send_locks(env, ids)
    billing = env.connect()
    try:
        env.sql("SET statement_timeout = '5s'", conn=billing)
        env.sql('INSERT INTO dunning.payment (invoice_id, amount) VALUES (%s, 10)', (ids[1],),
                conn=billing)
        assert env.one('SELECT paid_total FROM dunning.invoice WHERE id = %s', (ids[1],)) == 10
    finally:
        bob.close()
        billing.close()
    env.verify_audit()


@pytest.mark.parametrize('group', ['dunning_lawyer', 'dunning_accountant'])
def test_the_send_lock_and_the_wake_queue_are_out_of_reach(env, group):
    """The send lock itself (a row of dunning.send_lock, sql/020) and the
    wake-up queue: a lawyer (Bob) or the accountant can neither lock nor
    read them, nor call dunning.lock_invoice or dunning.wake."""
    x, _ = alices_file(env)
    role = BOB if group == 'dunning_lawyer' else env.cluster.ensure_role('wake_compta', group)
    conn = env.connect(user=role)
    try:
        for stmt in ('SELECT dunning.lock_invoice(%s)' % x,
                     'SELECT 1 FROM dunning.send_lock WHERE invoice_id = %s FOR UPDATE' % x,
                     'SELECT invoice_id FROM dunning.send_lock',
                     "SELECT dunning.wake('dispute', %s, NULL)" % x,
                     'SELECT * FROM dunning.wake_queue',
                     'DELETE FROM dunning.wake_queue'):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                env.sql(stmt, conn=conn)
    finally:
        conn.close()


def test_a_lawyer_listening_learns_no_other_lawyers_ids(env):
    """Alice LISTENs on the daemon's channel while Bob flags a dispute on
    his file and the billing software records a payment on it: she is woken,
    and learns no invoice or client id; the queue that names them is not
    hers to read, nor to write."""
    _, bob_id = lawyers(env)
    c = env.client('b@client.example', lawyer=bob_id)
    inv = env.invoice('B-1', c, '2026-03-02')
    alice = env.connect(user=ALICE)
    bob = env.connect(user=BOB)
    try:
        alice.cursor().execute('LISTEN dunning')
        env.sql("SELECT dunning.flag_dispute('B-1', 'honoraires contestés')", conn=bob)
        env.pay('B-1', '100.00', at('2026-03-05'))
        got = notifications(alice)
        assert got, 'no notification within 5 s'
        assert {n.channel for n in got} == {'dunning'}
        assert [n.payload for n in got if n.payload] == [], [n.payload for n in got]
        for stmt in ('SELECT * FROM dunning.wake_queue',
                     "SELECT dunning.wake('dispute', %d, %d)" % (inv, c)):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                env.sql(stmt, conn=alice)
    finally:
        alice.close()
        bob.close()
    # What the daemon will read: B-1, twice (the dispute and the payment).
    assert {r[0] for r in env.sql('SELECT invoice_id FROM dunning.wake_queue')} == {inv}


def test_a_lawyers_notify_makes_the_daemon_plan_nothing(make_env):
    """Bob NOTIFYs the daemon's channel with the payloads that used to mean
    "plan everything" and "plan this invoice": the daemon takes its queue,
    finds nothing, and plans nothing — no pass follows; then a real change
    (an approval) is acted on at once, as before."""
    env = make_env(extra_conf=SLOW_POLL)
    alice, _ = lawyers(env)
    c = env.client('n-1@client.example', lawyer=alice, strategic=True)
    inv = env.invoice('N-1', c, '2026-03-02')
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('the j3 held', lambda: state(env, 'N-1') == 'held')
    d.wait_log(r'cycle 2026-03-09')             # the pass at start (LISTEN up)
    mark = d.mark()
    bob = env.connect(user=BOB)
    try:
        env.sql("NOTIFY dunning, '{\"event\": \"pause\", \"client\": %d}'" % c, conn=bob)
        env.sql("NOTIFY dunning, '{\"event\": \"dispute\", \"invoice\": %d}'" % inv,
                conn=bob)
        env.sql("NOTIFY dunning", conn=bob)
    finally:
        bob.close()
    # A real wake-up after the forged ones: the daemon acts on it at once.
    env.sql('SELECT dunning.approve(%s)', (env.reminders('N-1')['j3']['id'],),
            now=at(MONDAY, '10:00'))
    wait_until('the approved j3 sent', lambda: state(env, 'N-1') == 'sent', deadline=10)
    assert [m.rcpt for m in env.mails()] == ['n-1@client.example']
    passes = [line for line in d.lines[mark:] if 'cycle 2026-' in line]
    assert passes == [], passes
    assert env.one('SELECT count(*) FROM dunning.wake_queue') == 0
    assert d.stop() == 0
    env.verify_audit()
