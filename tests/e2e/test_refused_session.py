"""A relay that refuses the firm's session (SPEC §3.5): refused
credentials (535 after AUTH), or a refused sender (a 5xx at MAIL FROM, as
Microsoft 365 answers 530 5.7.57 to a client it did not authenticate),
stops the session before any message.  Nothing leaves, no reminder fails
nor spends an attempt, each waits with the relay's answer; the operator is
told once in the journal and by `dunningctl status`; once the relay
accepts, everything leaves once."""
import os

from harness import at

MONDAY = '2026-03-09'
NUMBERS = ('S-1', 'S-2', 'S-3')


def due(env):
    for n in NUMBERS:
        env.invoice(n, env.client(n.lower() + '@client.example'), '2026-03-02')


def assert_waiting(env, answer):
    """Every reminder waits, due again later, with ANSWER as its error."""
    assert env.mails() == []
    for n in NUMBERS:
        r = env.reminders(n)['j3']
        assert r['state'] == 'planned' and r['retrying'], (n, r)
        assert r['reason'] == 'session_refused', (n, r)
        assert r['last_error'].startswith(answer), (n, r)
        assert r['attempts'] == 0, (n, r)
    assert env.audit('failed') == []
    reasons = [a['details']['reason'] for a in env.audit('retried')]
    assert reasons and set(reasons) == {'session_refused'}, reasons


def assert_told_once(env, run, answer):
    """One error line for the session, none per message; dunningctl status
    names the refusal and exits non-zero."""
    lines = [line for line in run.stderr.splitlines() if 'refused the session' in line]
    assert len(lines) == 1 and answer in lines[0], run.stderr
    assert not [line for line in run.stderr.splitlines() if line.count(answer) and
                line not in lines], run.stderr
    st = env.ctl('status')
    assert st.returncode != 0, st.stdout
    assert 'refused the session' in st.stdout and answer in st.stdout, st.stdout


def assert_all_leave_once(env):
    env.cycle(at(MONDAY, '10:02'))          # within the backoff: nothing
    assert env.mails() == []
    env.cycle(at(MONDAY, '11:00'))
    assert sorted(m.rcpt for m in env.mails()) == sorted(
        n.lower() + '@client.example' for n in NUMBERS)
    for n in NUMBERS:
        assert env.reminders(n)['j3']['state'] == 'sent'
    st = env.ctl('status', check=0)
    assert 'relay                ok' in st.stdout, st.stdout
    env.verify_audit()


def test_a_refused_sender_stops_the_session_before_any_message(env):
    answer = '530 5.7.57 Client not authenticated to send mail'
    due(env)
    env.smtp.faults(reply={'mail': answer})
    run = env.cycle(at(MONDAY, '10:00'))
    assert_waiting(env, answer)
    assert_told_once(env, run, answer)
    assert len(env.audit('relay_refused')) == 1
    env.smtp.faults()
    assert_all_leave_once(env)


def test_a_refused_login_stops_the_session_before_any_message(make_env, tmp_path):
    secret = os.path.join(str(tmp_path), 'smtp-password')
    with open(secret, 'w') as f:
        f.write('not the password\n')
    os.chmod(secret, 0o600)
    env = make_env(smtp_args=('--auth', 'relances:le-bon-mot-de-passe'),
                   smtp_conf='  username = "relances"\n  password_file = "%s"\n' % secret)
    due(env)
    run = env.cycle(at(MONDAY, '10:00'))
    assert_waiting(env, '535')
    assert_told_once(env, run, '535')
    # The operator puts the password right; the next try after the
    # backoff sends everything, once.
    with open(secret, 'w') as f:
        f.write('le-bon-mot-de-passe\n')
    assert_all_leave_once(env)


def test_refused_again_and_again_never_fails_a_reminder(make_env):
    """smtp.max_attempts counts messages handed, not sessions refused: a
    relay refusing for longer than max_attempts backoffs fails nothing."""
    env = make_env(smtp_conf='  max_attempts = 2\n  retry_base = 60\n  retry_max = 60\n')
    answer = '530 5.7.57 Client not authenticated to send mail'
    due(env)
    env.smtp.faults(reply={'mail': answer})
    for hhmm in ('10:00', '10:10', '10:20', '10:30'):
        env.cycle(at(MONDAY, hhmm))
    assert_waiting(env, answer)
    assert len(env.audit('relay_refused')) == 4
