"""The per-message protocol (SPEC §3.5): a session's due reminders are
claimed together under a lease, not 'sending'; each message is re-checked
and marked 'sending' in one statement right before it is handed.  So a
dispute on a claimed message cancels it at once, waiting for nothing; a
dispute on the message being handed waits for that one send; a crash
leaves at most the message being handed in doubt, and the claimed rest
are planned again (audited) and leave once."""
import collections
import os
import signal
import threading
import time

from harness import at, wait_until

DAY = '2026-03-05'              # a Thursday: j3 of the invoices due on 2 March
NUMBERS = ('P-1', 'P-2', 'P-3', 'P-4')


def due(env):
    for n in NUMBERS:
        env.invoice(n, env.client(n.lower() + '@client.example'), '2026-03-02')


def state(env, number):
    """The state of NUMBER's j3 reminder, None before it is planned."""
    r = env.reminders(number).get('j3')
    return r and r['state']


def start_batch(env, eom_delay):
    """dunningd --once with the relay holding each message EOM_DELAY s at
    its end of DATA; returns once the first message is being handed (the
    others claimed, not 'sending')."""
    env.smtp.faults(delay={'eom': eom_delay})
    d = env.start_daemon(now=at(DAY, '10:00'), args=('--once',))
    wait_until('the first message being handed', lambda: state(env, 'P-1') == 'sending',
               deadline=30)
    return d


def claimed(env, number):
    return env.one("SELECT r.state = 'planned' AND r.lease_until IS NOT NULL "
                   "AND r.claim IS NOT NULL FROM dunning.reminder r "
                   "JOIN dunning.invoice i ON i.id = r.invoice_id WHERE i.number = %s",
                   (number,))


def received(env):
    return collections.Counter(m.rcpt for m in env.mails())


def test_a_dispute_cancels_a_claimed_message_without_waiting(env):
    """While the session's first message is with the relay, the others are
    only claimed: a dispute on one of them is recorded at once (the first
    message is still being handed when it returns) and that message never
    leaves; the others leave once."""
    due(env)
    d = start_batch(env, eom_delay=3)
    assert all(claimed(env, n) for n in NUMBERS[1:])
    env.sql("SELECT dunning.flag_dispute('P-3', 'contestation de la facture')")
    assert state(env, 'P-1') == 'sending'       # the dispute did not wait for it
    assert state(env, 'P-3') == 'cancelled'
    assert d.proc.wait(timeout=60) == 0
    got = received(env)
    assert got == {'p-1@client.example': 1, 'p-2@client.example': 1,
                   'p-4@client.example': 1}, got
    assert [state(env, n) for n in NUMBERS] == ['sent', 'sent', 'cancelled', 'sent']
    assert not [a for a in env.audit('sending') if a['number'] == 'P-3']
    env.verify_audit()


def test_a_dispute_on_the_message_being_handed_waits_for_that_send(env):
    """A dispute on the message with the relay waits for its outcome to be
    recorded — the message left before the dispute, and the audit says so
    in that order — and never for the rest of the session."""
    due(env)
    d = start_batch(env, eom_delay=2)
    done = threading.Event()

    def dispute():
        env.sql("SELECT dunning.flag_dispute('P-1', 'contestation de la facture')")
        done.set()
    t = threading.Thread(target=dispute)
    t.start()
    t.join(timeout=60)
    assert done.is_set()
    assert state(env, 'P-1') == 'sent'
    sent = [a['id'] for a in env.audit('sent') if a['number'] == 'P-1']
    disputed = [a['id'] for a in env.audit('dispute_flagged') if a['number'] == 'P-1']
    assert len(sent) == 1 and len(disputed) == 1 and sent[0] < disputed[0]
    # The rest of the session was not held up by the dispute.
    assert d.proc.wait(timeout=60) == 0
    assert [state(env, n) for n in NUMBERS[1:]] == ['sent'] * 3
    env.verify_audit()


def test_a_crash_leaves_only_the_message_being_handed_in_doubt(env):
    """kill -9 while the first message of a session is with the relay: it
    alone is 'sending' (then in doubt once its lease runs out); the claimed
    rest are planned again, audited, and leave once; nothing twice."""
    due(env)
    d = start_batch(env, eom_delay=30)
    os.kill(d.proc.pid, signal.SIGKILL)
    d.proc.wait(timeout=10)
    assert [state(env, n) for n in NUMBERS] == ['sending', 'planned', 'planned', 'planned']
    env.smtp.faults()
    env.cycle(at(DAY, '10:20'))                 # past the 15-minute lease
    assert state(env, 'P-1') == 'in_doubt'
    assert sorted(a['number'] for a in env.audit('claim_released')) == list(NUMBERS[1:])
    assert [state(env, n) for n in NUMBERS[1:]] == ['sent'] * 3
    got = received(env)
    assert all(got['%s@client.example' % n.lower()] == 1 for n in NUMBERS[1:]), got
    assert got['p-1@client.example'] == 0, got  # cut before the relay's answer
    env.verify_audit()


def sender_backends(env):
    """The daemon's database sessions (dunningd --once has one: its sender's),
    by the application_name it sets (db/store.c)."""
    return [r[0] for r in env.sql("SELECT pid FROM pg_stat_activity "
                                  "WHERE application_name = 'dunning' "
                                  "AND datname = current_database() "
                                  "AND pid <> pg_backend_pid()")]


def test_a_dispute_committed_after_the_senders_connection_dropped_wins(env):
    """SPEC §3.5 across a reconnection: while the relay holds the session's
    first message before its data (the answer to DATA), the sender's
    database connection is terminated — its send lock goes with it — and a
    dispute on that message is committed at that moment, waiting for
    nothing.  Nothing leaves after it: the sender takes the lock again on a
    new connection and re-checks before the end of DATA, withholds the
    message (audited), and the claim's re-check cancels it for the dispute;
    the rest of the session leaves, once each."""
    due(env)
    env.smtp.faults(delay={'data': 5})
    d = env.start_daemon(now=at(DAY, '10:00'), args=('--once',))
    wait_until('the first message at DATA', lambda: state(env, 'P-1') == 'sending' and any(
        e['event'] == 'data' for e in env.smtp.events()), deadline=30)
    (pid,) = sender_backends(env)
    assert env.one('SELECT pg_terminate_backend(%s)', (pid,))
    wait_until('its session gone', lambda: pid not in sender_backends(env), deadline=10)
    env.smtp.faults()
    env.sql("SELECT dunning.flag_dispute('P-1', 'contestation de la facture')")
    disputed_at = time.time()
    assert state(env, 'P-1') == 'sending'       # the dispute waited for nothing
    assert d.proc.wait(timeout=90) == 0
    after = [m for m in env.smtp.records()
             if 'p-1@client.example' in m['rcpt_tos'] and m['received_at'] >= disputed_at]
    assert after == [], 'a message left after the dispute was committed'
    got = received(env)
    assert got == {'p-2@client.example': 1, 'p-3@client.example': 1,
                   'p-4@client.example': 1}, got
    assert [state(env, n) for n in NUMBERS] == ['cancelled', 'sent', 'sent', 'sent']
    assert env.reminders('P-1')['j3']['reason'] == 'disputed'
    acts = [a['action'] for a in env.audit(invoice='P-1')]
    assert acts.index('sending') < acts.index('dispute_flagged') < acts.index('withheld') \
        < acts.index('cancelled'), acts
    assert 'sent' not in acts
    env.verify_audit()
