"""dunningd as a long-running service (SPEC §2 rules 3–4, §3.3, §3.5): it
hears payments, disputes and approvals through LISTEN and acts at once —
the poll timer is set to an hour here, so only a notification can explain
what happens within seconds — and it survives PostgreSQL and SMTP faults
without losing or duplicating a reminder."""
import signal
import subprocess
import time

import pytest

from harness import DUNNINGCTL, at, wait_until

# A poll every hour: anything faster is the notification path.
SLOW_POLL = 'schedule { poll_interval = 3600 }\n'
MONDAY = '2026-03-09'           # j3 of an invoice due 2026-03-02 is due (05/03)


def held_j3(env, number, strategic=True):
    """An invoice whose j3 the daemon will hold for approval."""
    c = env.client(number.lower() + '@client.example', strategic=strategic)
    env.invoice(number, c, '2026-03-02')


def relay_has_data(env):
    """The relay has received a whole message (the final dot)."""
    return any(e['event'] == 'eom' for e in env.smtp.events())


def state(env, number, stage='j3'):
    r = env.reminders(number).get(stage)
    return r['state'] if r else None


def test_approval_is_sent_at_once_not_at_the_next_poll(make_env):
    env = make_env(extra_conf=SLOW_POLL)
    held_j3(env, 'S-1')
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('the j3 held', lambda: state(env, 'S-1') == 'held')
    rid = env.reminders('S-1')['j3']['id']
    env.sql('SELECT dunning.approve(%s)', (rid,), now=at(MONDAY, '10:00'))
    wait_until('the approved j3 sent', lambda: len(env.mails()) == 1, deadline=10)
    assert env.mails()[0].rcpt == 's-1@client.example'
    # The relay holds the message before the daemon reads its 250 and
    # records it: 'sending' until then.
    wait_until('its outcome recorded', lambda: state(env, 'S-1') == 'sent', deadline=10)
    assert d.stop() == 0


@pytest.mark.parametrize('change', ['payment', 'dispute_update', 'status_update'])
def test_billing_changes_cancel_a_held_reminder_at_once(make_env, change):
    """A payment inserted by the billing software, or a dispute or status
    written straight into the invoice row (not through flag_dispute): the
    trigger NOTIFYs, the daemon plans that invoice at once and cancels."""
    env = make_env(extra_conf=SLOW_POLL)
    held_j3(env, 'S-2')
    held_j3(env, 'S-3')         # untouched: stays held
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('both j3 held', lambda: state(env, 'S-2') == 'held' == state(env, 'S-3'))
    if change == 'payment':
        env.pay('S-2', '1000.00', at('2026-03-07', '10:00'))
        why = 'paid'
    elif change == 'dispute_update':
        env.sql("UPDATE dunning.invoice SET disputed_at = %s, dispute_reason = 'contesté' "
                "WHERE number = 'S-2'", (at(MONDAY, '10:00'),))
        why = 'disputed'
    else:
        env.sql("UPDATE dunning.invoice SET status = 'cancelled' WHERE number = 'S-2'")
        why = None
    wait_until('the held j3 cancelled', lambda: state(env, 'S-2') == 'cancelled', deadline=10)
    if why:
        assert env.reminders('S-2')['j3']['reason'] == why
    assert state(env, 'S-3') == 'held'
    assert env.audit('cancelled', 'S-2')
    assert env.mails() == []
    assert d.stop() == 0


def test_client_pause_written_directly_is_heard(make_env):
    env = make_env(extra_conf=SLOW_POLL)
    held_j3(env, 'S-4')
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('the j3 held', lambda: state(env, 'S-4') == 'held')
    mark = d.mark()
    env.sql("UPDATE dunning.client SET paused_until = '2026-04-30' "
            "WHERE email = 's-4@client.example'")
    # A client-wide change: a full pass, at once.
    d.wait_log(r'cycle 2026-03-09', after=mark, deadline=10)
    assert d.stop() == 0


def test_sigterm_finishes_the_session_in_flight_and_claims_nothing_more(make_env):
    """SIGTERM during a batch: the messages already handed to the relay are
    recorded, nothing new is claimed, nothing is left 'sending' or in
    doubt; a later cycle sends the rest, each once."""
    env = make_env(smtp_conf='messages_per_session = 5\n')
    n = 30
    for i in range(n):
        held_j3(env, 'T-%02d' % i, strategic=False)
    env.smtp.faults(delay={'eom': 0.3})
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('three messages', lambda: len(env.mails()) >= 3)
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    got = len(env.mails())
    assert 3 <= got < n
    states = [r['state'] for r in env.reminders()]
    assert states.count('sent') == got
    assert 'sending' not in states and 'in_doubt' not in states
    assert [a['action'] for a in env.audit()][-1] == 'daemon_stopped'
    env.smtp.faults()
    env.cycle(at(MONDAY, '11:00'))
    ids = [m.message_id for m in env.mails()]
    assert len(ids) == n == len(set(ids))
    env.verify_audit()


def test_second_sigterm_exits_at_once(make_env):
    env = make_env()
    held_j3(env, 'T-99', strategic=False)
    env.smtp.faults(delay={'eom': 30})
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('the message in flight', lambda: relay_has_data(env))
    d.signal(signal.SIGTERM)
    d.wait_log('stopping')
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=10) == 1
    assert state(env, 'T-99') == 'sending'     # in doubt once its lease ends


def test_three_daemons_send_each_message_exactly_once(make_env):
    env = make_env(extra_conf='schedule { poll_interval = 1 }\n')
    n = 1500
    lawyer = env._default_lawyer()
    env.sql("INSERT INTO dunning.client (kind, company_name, email, lawyer_id, address_line1, "
            "postal_code, city) SELECT 'professional', 'Société ' || g, "
            "'m' || g || '@client.example', %s, '1 rue', '75001', 'Paris' "
            "FROM generate_series(1, %s) g", (lawyer, n))
    env.sql("INSERT INTO dunning.invoice (number, client_id, issued_on, due_on, amount) "
            "SELECT 'M-' || c.id, c.id, '2026-02-01', '2026-03-02', 100 + c.id "
            "FROM dunning.client c WHERE c.email LIKE 'm%%@client.example'")
    ds = [env.start_daemon(now=at(MONDAY, '10:00')) for _ in range(3)]
    wait_until('every j3 sent', lambda: env.count('dunning.reminder', "state = 'sent'") == n,
               deadline=240, interval=0.5)
    for d in ds:
        assert d.stop() == 0
    mails = env.mails()
    ids = [m.message_id for m in mails]
    assert len(ids) == n and len(set(ids)) == n, 'a Message-ID arrived twice'
    assert sorted(r['message_id'] for r in env.reminders()) == sorted(ids)
    assert env.count('dunning.audit_log', "action = 'sent'") == n
    # Each daemon took a share (claims skip what another holds).
    shares = [len([1 for line in d.lines if line.startswith('dunningd: sent ')]) for d in ds]
    assert sum(1 for s in shares if s) >= 2, shares
    env.verify_audit()


@pytest.mark.parametrize('per_session', [1, 20])
def test_dispute_while_the_relay_is_slow_never_lets_the_message_leave(make_env, per_session):
    """The relay takes 0.7 s per message.  A dispute flagged while the
    batch is in flight either commits first — its reminder is cancelled and
    never reaches the relay — or waits for that message's answer (already
    handed to the relay) and commits after it: never a message received
    after the dispute committed."""
    env = make_env(smtp_conf='messages_per_session = %d\n' % per_session)
    for i in range(5):
        held_j3(env, 'L-%d' % i, strategic=False)
    env.smtp.faults(delay={'eom': 0.7})
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('the first message at the relay', lambda: relay_has_data(env))
    env.sql("SELECT dunning.flag_dispute('L-4', 'honoraires contestés')",
            now=at(MONDAY, '10:00'))
    committed = time.time()
    wait_until('the batch done', lambda: all(
        r['state'] in ('sent', 'cancelled') for r in env.reminders()), deadline=30)
    assert d.stop() == 0
    disputed = [m for m in env.mails() if m.rcpt == 'l-4@client.example']
    if state(env, 'L-4') == 'cancelled':
        assert disputed == []
        assert env.reminders('L-4')['j3']['reason'] == 'disputed'
    else:
        assert len(disputed) == 1 and disputed[0].record['received_at'] < committed
    if per_session == 1:
        # One message per session: L-4 was not claimed yet.
        assert state(env, 'L-4') == 'cancelled'
    assert len(env.mails()) == len(set(m.message_id for m in env.mails()))


def test_reload_refused_is_audited_and_restart_keys_named(make_env):
    env = make_env(extra_conf=SLOW_POLL)
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    d.wait_log('running')
    with open(env.config, 'a') as f:
        f.write('schedule { min_gap_days = "beaucoup" }\n')
    d.signal(signal.SIGHUP)
    d.wait_log(r'dunningd\.conf:\d+: .*min_gap_days')
    d.wait_log('reload refused')
    wait_until('the config_rejected row', lambda: env.audit('config_rejected'))
    env.write_config()          # valid again, but another database user
    text = open(env.config).read().replace('user=postgres', 'user=postgres application_name=x')
    with open(env.config, 'w') as f:
        f.write(text)
    d.signal(signal.SIGHUP)
    d.wait_log('database.conninfo changed: takes effect after a restart')
    wait_until('the config_reloaded row', lambda: env.audit('config_reloaded'))
    assert d.stop() == 0


def test_status_and_in_doubt_after_kill_9(make_env):
    """kill -9 mid-DATA: the reminder stays 'sending' while its lease
    runs, then becomes in_doubt — never resent by the next daemon."""
    env = make_env()
    held_j3(env, 'K-1', strategic=False)
    env.smtp.faults(delay={'eom': 30})
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('the data at the relay', lambda: relay_has_data(env))
    d.kill()
    assert state(env, 'K-1') == 'sending'
    env.smtp.faults()
    env.cycle(at(MONDAY, '10:30'))              # the 15-minute lease has run out
    assert state(env, 'K-1') == 'in_doubt'
    assert env.mails() == []
    out = subprocess.run([DUNNINGCTL, '-c', env.config, 'in-doubt'], stdout=subprocess.PIPE,
                         text=True, check=True).stdout
    assert 'K-1' in out
