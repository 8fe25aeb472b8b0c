"""The SMTP transport against a real relay (SPEC §3.5): a private Postfix
(tests/lib/harness/relay.py) with STARTTLS or implicit TLS, TLS 1.3 or
1.2, AUTH PLAIN or LOGIN, a certificate of a private CA — and the ways a
relay refuses: an unknown CA, a certificate for another name, a wrong
password, a 451.

Each test runs the daemon's own cycle (--once) against it and reads back
what Postfix delivered into its Maildir, the reminders and the audit.  A
daemon that hangs fails its test at the harness's PROGRAM_TIMEOUT."""
import datetime as dt
import os
import re

import pytest

from harness import at, instant
from harness.relay import MECHANISMS

DUE = '2026-03-02'          # j3 due on Thursday 2026-03-05
DAY = '2026-03-05'


def relay_env(make_env, relay, tmp_path, listener='submission', host='localhost',
              tls='starttls', ca_file=None, password=None, smtp_conf=''):
    """An Env whose daemon sends through RELAY's LISTENER, authenticating
    with the relay's user and PASSWORD (its own by default) read from a
    password_file, trusting CA_FILE (the relay's CA by default)."""
    pw = tmp_path / ('smtp-password-%s' % listener)
    pw.write_text((password or relay.password) + '\n')
    pw.chmod(0o600)
    conf = ('ca_file = "%s"\nusername = "%s"\npassword_file = "%s"\n'
            % (ca_file or relay.ca_file, relay.username, pw)) + smtp_conf
    return make_env(smtp_port=relay.port(listener), smtp_host=host, smtp_tls=tls,
                    smtp_conf=conf)


def one_due(env, email='dupont@client.example', number='F-1001'):
    """A client with one invoice whose j3 is due on DAY at 10:00."""
    env.invoice(number, env.client(email), DUE)
    return number


def client_mails(relay):
    return [m for m in relay.messages() if not m.internal]


def assert_delivered_once(env, relay, number, rcpt):
    """The reminder was sent, its message delivered once, the audit says so."""
    try:
        got = [m for m in relay.wait_for(1) if not m.internal]
    except AssertionError as e:
        raise AssertionError('%s\nthe reminders: %s' % (e, env.reminders())) from None
    assert [m.rcpt for m in got] == [rcpt]
    rem = env.reminders(number)['j3']
    assert rem['state'] == 'sent', rem
    assert rem['message_id'] == got[0].message_id
    sent = env.audit('sent', number)
    assert len(sent) == 1 and sent[0]['reminder_id'] == rem['id'], sent
    # A later cycle sends nothing again.
    env.cycle(at(DAY, '15:00'))
    relay.wait_idle()
    assert len(client_mails(relay)) == 1
    return got[0]


def assert_clean_sessions(relay):
    """Every session the daemon opened ended with QUIT, none cut after
    STARTTLS (libesmtp's hang with TLS 1.3)."""
    assert relay.log_lines(r'smtpd\[\d+\]: disconnect from')
    assert not relay.log_lines(r'lost connection after STARTTLS'), relay.log()
    assert not relay.log_lines(r'timeout after'), relay.log()


def assert_waits_with(env, relay, number, pattern, retried=True):
    """Nothing delivered; the reminder neither sent nor failed but due
    again later, with a reason matching PATTERN in its last error and, for
    a RETRIED attempt (counted, audited as any temporary failure), in the
    audit's 'retried' row."""
    relay.wait_idle()
    assert client_mails(relay) == []
    rem = env.reminders(number)['j3']
    assert rem['state'] == 'planned', rem
    assert rem['scheduled_for'] > instant(DAY), rem
    assert re.search(pattern, rem['last_error'] or '', re.I), rem
    if retried:
        assert rem['attempts'] >= 1, rem
        rows = env.audit('retried', number)
        assert rows and re.search(pattern, rows[-1]['details'].get('detail', ''), re.I), rows
    assert env.audit('failed', number) == []
    return rem


def test_starttls_auth_localhost_delivered(make_env, relay, tmp_path):
    """STARTTLS to "localhost" (the certificate's name, checked against the
    private CA given as ca_file), AUTH with the password from
    password_file: the due reminder is delivered once, recorded sent and
    audited; the session negotiated TLS 1.3 and ended cleanly."""
    env = relay_env(make_env, relay, tmp_path)
    number = one_due(env)
    env.cycle(at(DAY))
    m = assert_delivered_once(env, relay, number, 'dupont@client.example')
    assert m.mail_from == 'relances@cabinet.example'
    assert relay.log_lines(r'sasl_username=dunning@')
    assert set(relay.tls_protocols()) == {'TLSv1.3'}
    assert_clean_sessions(relay)


def test_starttls_auth_ip_address_delivered(make_env, relay, tmp_path):
    """The same with host "127.0.0.1": the certificate names the address
    in its subjectAltName, so it verifies and the reminder is delivered."""
    env = relay_env(make_env, relay, tmp_path, host='127.0.0.1')
    number = one_due(env)
    env.cycle(at(DAY))
    assert_delivered_once(env, relay, number, 'dupont@client.example')
    assert_clean_sessions(relay)


@pytest.mark.parametrize('listener', sorted(MECHANISMS))
def test_starttls_auth_plain_and_login_delivered(make_env, relay, tmp_path, listener):
    """STARTTLS + AUTH PLAIN, and STARTTLS + AUTH LOGIN: the daemon offers
    both and libcurl takes the one the relay offers; against a listener
    offering PLAIN only, then LOGIN only, the due reminder is delivered
    once, and Postfix logged the session that handed its message with
    that sasl_method (found through the message's queue id)."""
    mech = MECHANISMS[listener]
    env = relay_env(make_env, relay, tmp_path, listener=listener)
    number = one_due(env)
    env.cycle(at(DAY))
    m = assert_delivered_once(env, relay, number, 'dupont@client.example')
    queued = relay.wait_log(r'cleanup\[\d+\]: \w+: message-id=%s' % re.escape(m.message_id))
    assert len(queued) == 1, queued
    qid = re.search(r'cleanup\[\d+\]: (\w+):', queued[0]).group(1)
    session = relay.log_lines(r'smtpd\[\d+\]: %s: client=' % qid)
    assert len(session) == 1, relay.log()
    assert re.search(r', sasl_method=%s, sasl_username=dunning@' % mech, session[0]), session
    assert not relay.log_lines(r'authentication failed'), relay.log()
    assert set(relay.tls_protocols()) == {'TLSv1.3'}
    assert_clean_sessions(relay)


def test_fifty_sessions_in_a_row_without_a_stall(make_env, relay, tmp_path):
    """Fifty due reminders to fifty clients with messages_per_session = 1:
    fifty STARTTLS + AUTH sessions in one cycle, each message delivered
    once, every reminder sent, and no session cut after STARTTLS (a stall
    would leave the cycle killed at the harness's timeout)."""
    n = 50
    env = relay_env(make_env, relay, tmp_path, smtp_conf='messages_per_session = 1\n')
    rcpts = ['client%02d@client.example' % i for i in range(n)]
    for i, rcpt in enumerate(rcpts):
        one_due(env, rcpt, 'F-2%03d' % i)
    env.cycle(at(DAY))
    got = [m for m in relay.wait_for(n) if not m.internal]
    assert sorted(m.rcpt for m in got) == rcpts
    assert len({m.message_id for m in got}) == n
    states = [r['state'] for r in env.reminders()]
    assert states == ['sent'] * n, states
    # One session per message: fifty TLS 1.3 sessions, fifty logins.
    relay.wait_log(r'smtpd\[\d+\]: disconnect from', n)
    assert relay.tls_protocols() == ['TLSv1.3'] * n
    assert len(relay.log_lines(r'sasl_username=dunning@')) == n
    assert_clean_sessions(relay)


def test_implicit_tls_delivered(make_env, relay, tmp_path):
    """tls = "tls" speaks TLS from the first byte (port 465's way), which a
    STARTTLS client cannot: the reminder is delivered through the smtps
    listener."""
    env = relay_env(make_env, relay, tmp_path, listener='smtps', tls='tls')
    number = one_due(env)
    env.cycle(at(DAY))
    assert_delivered_once(env, relay, number, 'dupont@client.example')
    assert_clean_sessions(relay)


def test_tls12_only_relay_delivered(make_env, relay, tmp_path):
    """A relay that speaks TLS 1.2 at most: STARTTLS negotiates 1.2 and
    the reminder is delivered."""
    env = relay_env(make_env, relay, tmp_path, listener='tls12')
    number = one_due(env)
    env.cycle(at(DAY))
    assert_delivered_once(env, relay, number, 'dupont@client.example')
    assert set(relay.tls_protocols()) == {'TLSv1.2'}
    assert_clean_sessions(relay)


def assert_untrusted(env, relay, number, run, pattern):
    """A certificate that does not verify refuses the session as a wrong
    password does: nothing a retry could change, so the reminder waits
    without spending an attempt (reason session_refused), the daemon says
    it once as an error, and `dunningctl status` names it."""
    rem = assert_waits_with(env, relay, number, pattern, retried=False)
    assert rem['reason'] == 'session_refused' and rem['attempts'] == 0, rem
    lines = [x for x in run.stderr.splitlines() if 'refused the session' in x]
    assert len(lines) == 1 and re.search(pattern, lines[0], re.I), run.stderr
    st = env.ctl('status')
    assert st.returncode != 0 and re.search(pattern, st.stdout, re.I), st.stdout


def test_unknown_ca_nothing_sent_retried(make_env, relay, tmp_path):
    """A relay whose certificate does not chain to ca_file (an unrelated CA
    given): nothing is delivered, the password is never sent to it, and the
    reminder is neither sent nor failed — it waits, with the certificate
    named as the reason."""
    env = relay_env(make_env, relay, tmp_path, ca_file=relay.other_ca_file)
    number = one_due(env)
    run = env.cycle(at(DAY))
    assert_untrusted(env, relay, number, run, r'certificate')
    assert not relay.log_lines(r'sasl_method=|authentication failed')


def test_certificate_for_another_host_nothing_sent_retried(make_env, relay, tmp_path):
    """A relay whose certificate is the right CA's but for other.example,
    reached as "localhost": the name is checked, so nothing is delivered,
    no password is sent, and the reminder waits with the certificate's
    name as the reason."""
    env = relay_env(make_env, relay, tmp_path, listener='wrong_name')
    number = one_due(env)
    run = env.cycle(at(DAY))
    assert_untrusted(env, relay, number, run, r'certificate .*host name')
    assert not relay.log_lines(r'sasl_method=|authentication failed')


def test_wrong_password_stops_before_any_message(make_env, relay, tmp_path):
    """A relay that refuses the credentials (535) stops the session before
    any message (SPEC §3.5): nothing is sent, no reminder is failed, each
    waits with the relay's answer as its reason; the daemon logs an error
    and `dunningctl status` exits non-zero naming the authentication
    failure."""
    env = relay_env(make_env, relay, tmp_path, password='not-the-password')
    numbers = [one_due(env, 'dupont@client.example', 'F-1001'),
               one_due(env, 'martin@client.example', 'F-1002')]
    r = env.cycle(at(DAY))
    relay.wait_log(r'authentication failed')
    relay.wait_idle()
    assert client_mails(relay) == []
    # How the refusal is audited is the transport's to choose; that the
    # reminders wait with the relay's answer is SPEC §3.5's.
    for number in numbers:
        assert_waits_with(env, relay, number, r'\b535\b', retried=False)
    assert [x['state'] for x in env.reminders()] == ['planned', 'planned']
    # The session ended at the refusal, no MAIL FROM in it, and the cycle
    # did not try again with the next reminder (one refused login).
    ends = relay.wait_log(r'smtpd\[\d+\]: disconnect from')
    assert not [e for e in ends if ' mail=' in e], ends
    assert len(relay.log_lines(r'authentication failed')) == 1, relay.log()
    assert re.search(r'(?i)auth', r.stderr) and '535' in r.stderr, r.stderr
    st = env.ctl('status')
    assert st.returncode != 0, st.stdout
    assert re.search(r'(?i)authenticat', st.stdout + st.stderr), st.stdout + st.stderr


def test_451_retried_then_delivered_once(make_env, relay, tmp_path):
    """A relay that answers 451 4.3.0 at RCPT TO: the reminder is not sent
    but retried later (backoff); at the retry the relay accepts, and the
    message is delivered exactly once with the Message-ID of the first
    attempt."""
    env = relay_env(make_env, relay, tmp_path, listener='deferral')
    number = one_due(env, 'plustard@client.example')
    env.cycle(at(DAY))
    rem = assert_waits_with(env, relay, number, r'^451\b')
    assert relay.deferred_once() == ['plustard@client.example']
    later = (rem['scheduled_for'] + dt.timedelta(seconds=1)).astimezone(dt.timezone.utc)
    env.cycle(later.isoformat())
    got = [m for m in relay.wait_for(1) if not m.internal]
    assert [m.rcpt for m in got] == ['plustard@client.example']
    done = env.reminders(number)['j3']
    assert done['state'] == 'sent' and done['attempts'] == 2, done
    assert done['message_id'] == rem['message_id'] == got[0].message_id
    env.cycle(at(DAY, '17:00'))
    relay.wait_idle()
    assert len(client_mails(relay)) == 1
    assert_clean_sessions(relay)


def test_tls_none_to_a_remote_host_refused_by_check_config(make_env):
    """tls = "none" is for a loopback relay only: with host "relay.example"
    --check-config exits non-zero and names the key; with "localhost" the
    same file is accepted."""
    env = make_env(smtp=False, smtp_host='relay.example', smtp_tls='none')
    r = env.daemon('--check-config')
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert re.search(r'\btls\b', out) and 'relay.example' in out, out
    assert 'configuration OK' not in out
    ok = make_env(smtp=False, smtp_host='localhost', smtp_tls='none')
    r = ok.daemon('--check-config')
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.path.exists(ok.config)
