"""Private wake-ups (issue 17, item 4; sql/020): run as a lawyer — a login
in dunning_lawyer — against another lawyer's files, the LISTEN channel
tells nothing and a NOTIFY makes the daemon plan nothing."""
import select
import time

import psycopg2.errors
import pytest

from harness import at, wait_until

SLOW_POLL = 'schedule { poll_interval = 3600 }\n'   # only a notification acts within seconds
MONDAY = '2026-03-09'
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
