"""dunningd on a pg_auto_failover formation (issue 21): a monitor, a
primary and its synchronous standby on loopback, the daemon's conninfo
naming both nodes with target_session_attrs=read-write.  The primary is
failed over (pg_autoctl perform failover) or dies (kill -9 of its
pg_autoctl and its postmaster) in the middle of a batch of sends; the
sender waits for the new primary and records there every outcome the
relay gave (pipeline/send.c: RECONNECT_WAIT), the listener and the
planner follow it too.  Nothing is lost, nothing is sent twice, at most
the one message in hand on the sender's connection is left to the
operator (in_doubt), the audit chain verifies on the new primary, and a
dispute recorded there is obeyed.

The figures (time from the failure to the standby read-write, to the
first outcome recorded on the new primary, the counts) are printed, and
appended as one JSON line to $DUNNING_FAILOVER_REPORT when it is set."""
import collections
import json
import os
import time

from harness import at, wait_until

MONDAY = '2026-03-09'
N = 300                 # messages of the batch
FAIL_AFTER = 50         # received by the relay when the primary fails
DISPUTED = 'F-DISPUTE'  # the invoice a dispute on the new primary stops


def due_batch(env, n):
    """N professional clients with one invoice each, its j3 due on MONDAY,
    and DISPUTED last (its reminder the last claimed)."""
    lawyer = env.lawyer()
    env.sql("INSERT INTO dunning.client (kind, company_name, email, lawyer_id, "
            "address_line1, postal_code, city) "
            "SELECT 'professional', 'Société F' || g, 'f' || g || '@client.example', %s, "
            "'12 avenue des Tilleuls', '69003', 'Lyon' FROM generate_series(1, %s) g",
            (lawyer, n))
    env.sql("INSERT INTO dunning.invoice (number, client_id, due_on, issued_on, amount, "
            "matter_ref) SELECT 'F-' || lpad(g::text, 3, '0'), c.id, '2026-03-02', "
            "'2026-01-31', 1000.00, 'D-F-' || g FROM generate_series(1, %s) g "
            "JOIN dunning.client c ON c.email = 'f' || g || '@client.example' ORDER BY g",
            (n,))
    c = env.client('conteste@client.example', lawyer=lawyer)
    env.invoice(DISPUTED, c, '2026-03-02')


def report(what, figures):
    line = json.dumps(dict(test=what, **figures), sort_keys=True)
    print('failover figures: ' + line)
    path = os.environ.get('DUNNING_FAILOVER_REPORT')
    if path:
        with open(path, 'a') as f:
            f.write(line + '\n')


def failover_mid_batch(env, formation, fail, what):
    """Send N messages (+ DISPUTED) with the daemon; after FAIL_AFTER
    received, FAIL(old primary node); then check everything the issue
    asks of a failover, and report the figures."""
    due_batch(env, N)
    env.smtp.faults(delay={'eom': 0.05})
    old = formation.primary()
    new = formation.standby()
    assert old is formation.nodes[0] and new is formation.nodes[1]
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('%d messages received' % FAIL_AFTER, lambda: len(env.mails()) >= FAIL_AFTER,
               deadline=120, interval=0.02)
    mark = d.mark()
    failed_at = time.time()
    received_at_failure = len(env.mails())
    t0 = fail(old)
    wall = time.time()      # later outcomes are the new primary's
    wait_until('the standby read-write', lambda: new.answers(read_write=True),
               deadline=300, interval=0.1)
    to_rw = time.monotonic() - t0
    env.conn.close()        # its session was on the old primary

    # A dispute recorded on the new primary, before its invoice's turn.
    assert env.reminders(DISPUTED)['j3']['state'] == 'planned', env.reminders(DISPUTED)
    assert not [m for m in env.mails() if m.rcpt == 'conteste@client.example']
    env.sql("SELECT dunning.flag_dispute(%s, 'contestation des honoraires')", (DISPUTED,))

    # Every message marked, then every outcome the relay gave recorded: as
    # many 'sent' as messages received, at most the one in hand left.
    def states():
        return dict(env.sql('SELECT state, count(*) FROM dunning.reminder GROUP BY state'))

    def settled():
        n = states()
        return (n.get('planned', 0) + n.get('approved', 0) == 0 and
                n.get('sending', 0) + n.get('in_doubt', 0) <= 1 and
                n.get('sent', 0) == len(env.mails()))

    def unrecorded():
        got = dict(env.sql('SELECT message_id, state FROM dunning.reminder '
                           'WHERE message_id IS NOT NULL'))
        return {m.message_id: got.get(m.message_id) for m in env.mails()
                if got.get(m.message_id) != 'sent'}
    try:
        wait_until('no reminder left planned', lambda: env.count(
            'dunning.reminder', "state IN ('planned', 'approved')") == 0,
            deadline=300, interval=0.5)
        wait_until('every outcome the relay gave recorded', settled, deadline=60,
                   interval=0.5)
    except AssertionError as e:
        raise AssertionError(
            '%s\naccepted by the relay, not recorded sent on the new primary: %r\n'
            'reminders per state: %r\ndaemon log:\n%s' % (
                e, unrecorded(), states(), d.log()[-4000:]))
    ids = collections.Counter(m.message_id for m in env.mails())

    # The listener and the planner reconnected to the new primary too.
    d.wait_log('listening for payments', after=mark, deadline=120)
    d.wait_log(r'cycle .*invoices examined', after=mark, deadline=120)
    assert d.stop() == 0
    assert formation.primary() is new

    states = dict(env.sql('SELECT i.number, r.state FROM dunning.reminder r '
                          'JOIN dunning.invoice i ON i.id = r.invoice_id'))
    by_mid = dict(env.sql('SELECT r.message_id, i.number FROM dunning.reminder r '
                          'JOIN dunning.invoice i ON i.id = r.invoice_id '
                          'WHERE r.message_id IS NOT NULL'))
    twice = [i for i, k in ids.items() if k > 1]
    received = {by_mid[i] for i in ids}
    left = {n: s for n, s in states.items() if n != DISPUTED and n not in received}
    figures = dict(
        to_read_write_s=round(to_rw, 1),
        to_first_outcome_s=None,
        received_at_failure=received_at_failure,
        sent=sum(1 for s in states.values() if s == 'sent'),
        in_doubt=len(left), duplicates=len(twice))
    first = env.one("SELECT min((details->>'real_at')::timestamptz) - to_timestamp(%s) "
                    "FROM dunning.audit_log WHERE action = 'sent' "
                    "AND (details->>'real_at')::timestamptz > to_timestamp(%s)",
                    (failed_at, wall))
    if first is not None:
        figures['to_first_outcome_s'] = round(first.total_seconds(), 1)
    report(what, figures)

    assert not twice, 'received twice: %r' % twice
    assert all(states[n] == 'sent' for n in received)
    # None lost: every reminder the relay did not get is the one in hand
    # when the primary failed, left to the operator ('sending' until its
    # lease makes it in_doubt) — at most one, the sender's one connection.
    assert len(left) <= 1 and set(left.values()) <= {'sending', 'in_doubt'}, left
    assert len(received) + len(left) == N
    # The dispute recorded on the new primary was obeyed.
    assert states[DISPUTED] == 'cancelled'
    assert not [m for m in env.mails() if m.rcpt == 'conteste@client.example']
    env.verify_audit()
    return figures


def test_kill_9_of_the_primary_mid_batch(make_ha_env, formation):
    """The primary's machine dies (its pg_autoctl and postmaster killed)
    after 50 of 300 messages: the monitor promotes the standby when its
    health checks give up (about a minute with pg_auto_failover's
    defaults), longer than the 40 s the sender once waited."""
    env = make_ha_env()
    failover_mid_batch(env, formation, lambda node: node.kill(), 'kill -9')


def test_perform_failover_mid_batch(make_ha_env, formation):
    """pg_autoctl perform failover after 50 of 300 messages."""
    env = make_ha_env()

    def perform(node):
        t = time.monotonic()
        formation.autoctl('perform', 'failover')
        return t
    failover_mid_batch(env, formation, perform, 'perform failover')
