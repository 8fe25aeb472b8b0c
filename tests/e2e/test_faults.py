"""Fault tests against real servers (issue: the long-running daemon): the
relay failing at each step of the SMTP conversation, and PostgreSQL
restarted under a running daemon.  Each asserts that no reminder is lost,
none is sent twice, and every transition is audited."""
import pytest

from harness import at, wait_until

MONDAY = '2026-03-09'


def due_j3(env, number):
    c = env.client(number.lower() + '@client.example')
    env.invoice(number, c, '2026-03-02')


def test_a_retry_past_the_window_waits_for_its_backoff(make_env):
    """A 451 late in the day with a two-hour backoff: the retry falls after
    the window closes, so the planner moves it to the next opening — and it
    stays a retry there: later passes of the same evening do not pull it
    back to now (the backoff was lost when the planner moved the row)."""
    env = make_env(smtp_conf='  retry_base = 7200\n  retry_max = 7200\n')
    due_j3(env, 'R-9')
    env.smtp.faults(reply={'mail': '451 4.3.0 Try again later'})
    env.cycle(at(MONDAY, '17:30'))
    assert env.reminders('R-9')['j3']['state'] == 'planned'
    env.smtp.faults()
    for hhmm in ('17:40', '17:50'):
        env.cycle(at(MONDAY, hhmm))
        r = env.reminders('R-9')['j3']
        assert env.mails() == [], (hhmm, r)
        assert r['retrying'] and r['reason'] == 'retry_backoff', (hhmm, r)
    env.cycle(at('2026-03-10', '09:30'))
    assert [m.rcpt for m in env.mails()] == ['r-9@client.example']
    assert env.reminders('R-9')['j3']['state'] == 'sent'


@pytest.mark.parametrize('step,reply', [
    ('connect', '421 4.3.2 Service not available'),
    ('helo', '421 4.3.2 Too busy'),
    ('mail', '451 4.3.0 Try again later'),
    ('rcpt', '451 4.3.0 Try again later'),
    ('data', '451 4.3.0 Try again later'),
    ('eom', '451 4.3.0 Queue full'),
])
def test_temporary_answer_at_each_step_is_retried_then_sent_once(env, step, reply):
    due_j3(env, 'R-1')
    env.smtp.faults(reply={step: reply})
    env.cycle(at(MONDAY, '10:00'))
    r = env.reminders('R-1')['j3']
    assert env.mails() == []
    assert r['state'] == 'planned' and r['reason'] == 'retry_backoff' and r['retrying'], r
    assert r['attempts'] == 1
    assert len(env.audit('retried', 'R-1')) == 1
    env.smtp.faults()
    env.cycle(at(MONDAY, '10:02'))              # before the backoff: nothing
    assert env.mails() == []
    env.cycle(at(MONDAY, '11:00'))
    assert len(env.mails()) == 1
    assert env.reminders('R-1')['j3']['state'] == 'sent'
    assert len(env.audit('sent', 'R-1')) == 1
    env.verify_audit()


def test_permanent_answer_at_rcpt_fails_without_retry(env):
    due_j3(env, 'R-2')
    env.smtp.faults(reply={'rcpt': '550 5.1.1 User unknown'})
    env.cycle(at(MONDAY, '10:00'))
    r = env.reminders('R-2')['j3']
    assert r['state'] == 'failed' and '550' in r['last_error']
    env.smtp.faults()
    env.cycle(at(MONDAY, '12:00'))
    assert env.mails() == []
    assert len(env.audit('failed', 'R-2')) == 1


def test_connection_dropped_before_end_of_data_is_retried(env):
    due_j3(env, 'R-3')
    env.smtp.faults(drop='data')
    env.cycle(at(MONDAY, '10:00'))
    assert env.reminders('R-3')['j3']['reason'] == 'retry_backoff'
    env.smtp.faults()
    env.cycle(at(MONDAY, '11:00'))
    assert len(env.mails()) == 1


def test_connection_dropped_after_the_data_is_in_doubt_never_resent(env):
    """The data went out, no answer came back: maybe delivered.  In doubt,
    for the operator; later cycles do not send it again."""
    due_j3(env, 'R-4')
    env.smtp.faults(drop='eom')
    env.cycle(at(MONDAY, '10:00'))
    r = env.reminders('R-4')['j3']
    assert r['state'] == 'in_doubt', r
    env.smtp.faults()
    env.cycle(at(MONDAY, '12:00'))
    env.cycle(at('2026-03-10', '10:00'))
    assert env.mails() == []
    assert len(env.audit('in_doubt', 'R-4')) == 1


def test_max_attempts_turns_a_lasting_outage_into_failed(make_env):
    env = make_env(smtp_conf='retry_base = 60\nretry_max = 60\nmax_attempts = 3\n')
    due_j3(env, 'R-5')
    env.smtp.faults(reply={'mail': '451 4.3.0 Try again later'})
    for hhmm in ('10:00', '10:05', '10:10', '10:15'):
        env.cycle(at(MONDAY, hhmm))
    r = env.reminders('R-5')['j3']
    assert r['state'] == 'failed' and r['attempts'] == 3, r
    assert r['reason'] == 'gave_up' and r['last_error'], r
    assert len(env.audit('retried', 'R-5')) == 2
    assert env.mails() == []


def test_relay_down_then_up_sends_once(make_env):
    env = make_env(smtp=False)
    due_j3(env, 'R-6')
    env.cycle(at(MONDAY, '10:00'))
    assert env.reminders('R-6')['j3']['reason'] == 'retry_backoff'
    env.restart_smtp()
    env.cycle(at(MONDAY, '11:00'))
    assert len(env.mails()) == 1


def test_session_carries_many_messages(make_env):
    """Connection reuse: 12 messages, 5 per session: 3 connections."""
    env = make_env(smtp_conf='messages_per_session = 5\n')
    for i in range(12):
        due_j3(env, 'C-%02d' % i)
    env.cycle(at(MONDAY, '10:00'))
    assert len(env.mails()) == 12
    ev = env.smtp.events()
    conns = {e['conn'] for e in ev if e['event'] == 'eom'}
    assert len(conns) == 3
    assert sum(1 for e in ev if e['event'] == 'eom') == 12


# ---- PostgreSQL restarted under a running daemon -------------------------

def test_postgres_restart_mid_batch_loses_and_duplicates_nothing(make_private_env,
                                                                  private_cluster):
    env = make_private_env(smtp_conf='messages_per_session = 5\n')
    n = 40
    for i in range(n):
        due_j3(env, 'P-%02d' % i)
    env.smtp.faults(delay={'eom': 0.1})
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('some messages', lambda: len(env.mails()) >= 5)
    private_cluster.restart()
    env.conn.close()
    d.wait_log('database reachable again|listening for payments', after=0)
    wait_until('every j3 settled', lambda: len(env.mails()) == n and env.count(
        'dunning.reminder', "state = 'sent'") == n, deadline=90, interval=0.2)
    assert d.stop() == 0
    ids = [m.message_id for m in env.mails()]
    assert len(set(ids)) == n, 'a Message-ID arrived twice'
    assert sorted(r['message_id'] for r in env.reminders()) == sorted(ids)
    assert env.count('dunning.audit_log', "action = 'sent'") == n
    env.verify_audit()


def test_notifications_resume_after_postgres_restart(make_private_env, private_cluster):
    env = make_private_env(extra_conf='schedule { poll_interval = 3600 }\n')
    c = env.client('apres@client.example', strategic=True)
    env.invoice('P-99', c, '2026-03-02')
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('the j3 held', lambda: env.reminders('P-99').get('j3', {}).get('state') == 'held')
    mark = d.mark()
    private_cluster.restart()
    env.conn.close()
    d.wait_log('listening for payments', after=mark, deadline=60)
    rid = env.reminders('P-99')['j3']['id']
    env.sql('SELECT dunning.approve(%s)', (rid,), now=at(MONDAY, '10:05'))
    wait_until('the approved j3 sent', lambda: len(env.mails()) == 1, deadline=15)
    assert d.stop() == 0
    assert env.reminders('P-99')['j3']['state'] == 'sent'


def test_stop_while_waiting_for_the_database_loses_one_never_twice(make_private_env,
                                                                   private_cluster):
    """The database goes away mid-batch and the sender waits for it (for a
    failover's promotion: pipeline/send.c, RECONNECT_WAIT); a SIGTERM
    during that wait ends it at once.  The outcome of the message in hand
    is lost: 'sending', then in_doubt when its lease runs out, never sent
    again; every other message is sent exactly once."""
    import signal
    import time
    env = make_private_env(smtp_conf='messages_per_session = 5\n')
    n = 20
    for i in range(n):
        due_j3(env, 'W-%02d' % i)
    env.smtp.faults(delay={'eom': 0.2})
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('some messages', lambda: len(env.mails()) >= 3)
    env.conn.close()
    private_cluster.halt()
    try:
        mark = d.mark()
        d.wait_log('trying again', after=mark, deadline=30)
        t = time.monotonic()
        d.signal(signal.SIGTERM)
        d.wait(120)
        took = time.monotonic() - t
    finally:
        private_cluster.resume()
    assert took < 10, 'the stop took %.1f s' % took
    d.wait_log('stopping while waiting for the database', after=mark, deadline=1)
    # The one in hand, if any: 'sending' (the relay may have it), its
    # outcome not recorded.
    sending = [r['message_id'] for r in env.reminders() if r['state'] == 'sending']
    assert len(sending) <= 1, sending
    states = {r['message_id']: r['state'] for r in env.reminders() if r['message_id']}
    assert all(states.get(m.message_id) == 'sent' or m.message_id in sending
               for m in env.mails()), states
    # Its lease run out: in_doubt, never sent again; the rest sent once.
    env.cycle(at(MONDAY, '11:00'))
    ids = [m.message_id for m in env.mails()]
    assert len(ids) == len(set(ids)), 'a Message-ID arrived twice'
    rows = env.reminders()
    assert [r['message_id'] for r in rows if r['state'] == 'in_doubt'] == sending
    assert sorted(r['message_id'] for r in rows if r['state'] == 'sent') == \
        sorted(i for i in ids if i not in sending)
    assert len([r for r in rows if r['state'] == 'sent']) + len(sending) == n
    env.verify_audit()


def test_a_server_that_stops_taking_writes_is_waited_for(make_private_env, private_cluster):
    """A primary being demoted in a planned failover (pg_autoctl perform
    failover drains it with default_transaction_read_only) is up but
    refuses every write: the sender takes it as gone and waits for a
    server that takes writes (with several hosts and
    target_session_attrs=read-write, the new primary), rather than give
    up the message in hand and the rest of its session."""
    env = make_private_env(smtp_conf='messages_per_session = 5\n')
    n = 5
    for i in range(n):
        due_j3(env, 'R-%02d' % i)
    env.smtp.faults(delay={'eom': 0.5})
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('a first message', lambda: len(env.mails()) >= 1)
    admin = private_cluster.connect(env.dbname)

    def read_only(on):
        with admin.cursor() as cur:
            cur.execute('SET default_transaction_read_only = off')
            cur.execute('ALTER SYSTEM %s default_transaction_read_only%s'
                        % (('SET', ' = on') if on else ('RESET', '')))
            cur.execute('SELECT pg_reload_conf()')
    mark = d.mark()
    read_only(True)
    try:
        d.wait_log('trying again', after=mark, deadline=30)
    finally:
        read_only(False)
        admin.close()
    env.conn.close()
    wait_until('every j3 sent', lambda: env.count('dunning.reminder', "state = 'sent'") == n,
               deadline=60, interval=0.2)
    assert d.stop() == 0
    ids = [m.message_id for m in env.mails()]
    assert len(ids) == n and len(set(ids)) == n
    env.verify_audit()
