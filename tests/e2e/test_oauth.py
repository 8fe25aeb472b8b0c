"""SMTP AUTH by OAuth 2.0 (SPEC §3.2 smtp.auth and smtp.oauth, §3.5): the
daemon asks a real token endpoint (tests/lib/token_server.py) for an access
token — client credentials as Microsoft 365 does it, or a refresh token as
Google does — and shows it to a relay that checks the exact XOAUTH2 initial
response (smtp_recorder.py --xoauth2).  The token is kept while it lives
and asked again when the relay refuses it; a replaced refresh token is saved
in place of the old one.  An endpoint that refuses the client, or a relay
that refuses the token, stops the session before any message: the
reminders wait (session_refused), none fails, and the operator reads the
endpoint's or the relay's own words once — never a secret nor a token."""
import os
import stat
import time

import pytest

from harness import TokenServer, at, wait_until

MONDAY = '2026-03-09'
TUESDAY = '2026-03-10'
USER = 'relances@cabinet.example'
CLIENT = '6731de76-14a6-49ae-97bc-6eba6914391e'
SECRET = 'Qx58Q~client.secret-value_0123456789abcdefgh'
SCOPE = 'https://outlook.office365.com/.default'
# An access token the size of Microsoft's (a JWT of a kilobyte and more).
TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.' + 'eyJhdWQiOi' * 140 + '.c2lnbmF0dXJl'
GOOGLE_SECRET = 'GOCSPX-google_client_secret'
REFRESH = '1//0refresh-token-first'
ROTATED = '1//0refresh-token-second'
GOOGLE_TOKEN = 'ya29.a0AfB_byGoogleAccessToken'
AADSTS = ('AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in '
          'the request is the client secret value, not the client secret ID.\r\n'
          'Trace ID: 3f9c2a10-0000-4000-8000-000000000000\r\nCorrelation ID: '
          '9b1d0e44-0000-4000-8000-000000000000\r\nTimestamp: 2026-03-09 09:00:00Z')


@pytest.fixture
def token(tmp_path):
    srv = TokenServer(str(tmp_path)).start()
    yield srv
    srv.stop()


def secret_file(directory, name, value):
    """VALUE in DIRECTORY/NAME, mode 0600, as the operator puts it."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path, 'w') as f:
        f.write(value + '\n')
    os.chmod(path, 0o600)
    return path


def oauth_conf(token, secret='', refresh='', scope=SCOPE, more=''):
    """The keys of the smtp block for auth = "xoauth2"."""
    return ('  auth = "xoauth2"\n  username = "%s"\n%s  oauth {\n    token_url = "%s"\n'
            '    client_id = "%s"\n    client_secret_file = "%s"\n'
            '    refresh_token_file = "%s"\n    scope = "%s"\n  }\n'
            % (USER, more, token.url, CLIENT, secret, refresh, scope))


def xoauth2(tok):
    """What the relay must read after AUTH XOAUTH2 (decoded)."""
    return 'user=%s\x01auth=Bearer %s\x01\x01' % (USER, tok)


def due(env, number, due_on='2026-03-02'):
    env.invoice(number, env.client(number.lower() + '@client.example'), due_on)


def auths(env):
    return [e for e in env.smtp.events() if e['event'] == 'auth']


def no_secret_in(text, *secrets):
    for s in secrets:
        assert s not in text, 'a secret in the log:\n' + text


def assert_waiting(env, numbers, error):
    """Every reminder waits, due again later with ERROR in last_error;
    none failed, none spent an attempt, nothing was sent."""
    assert env.mails() == []
    for n in numbers:
        r = env.reminders(n)['j3']
        assert r['state'] == 'planned' and r['retrying'], (n, r)
        assert r['reason'] == 'session_refused', (n, r)
        assert error in r['last_error'], (n, r)
        assert r['attempts'] == 0, (n, r)
    assert env.audit('failed') == []


def test_client_credentials_one_token_for_the_sessions(make_env, token, tmp_path):
    """Microsoft 365's way: client_id and client secret, the .default scope.
    Two sessions (one message each) show the relay the same token, asked
    once."""
    token.configure(client_id=CLIENT, client_secret=SECRET, scope=SCOPE, access_tokens=[TOKEN],
                    expires_in=3599)
    secret = secret_file(str(tmp_path / 'etc'), 'oauth_client_secret', SECRET)
    env = make_env(smtp_args=('--xoauth2', '%s:%s' % (USER, TOKEN)),
                   smtp_conf=oauth_conf(token, secret=secret,
                                        more='  messages_per_session = 1\n'))
    due(env, 'O-1')
    due(env, 'O-2')
    run = env.cycle(at(MONDAY, '10:00'))
    assert sorted(m.rcpt for m in env.mails()) == ['o-1@client.example', 'o-2@client.example']
    for n in ('O-1', 'O-2'):
        assert env.reminders(n)['j3']['state'] == 'sent'
    # The endpoint: one POST, a form with exactly the grant's fields.
    reqs = token.requests()
    assert len(reqs) == 1, reqs
    assert reqs[0]['path'] == '/token'
    assert reqs[0]['content_type'] == 'application/x-www-form-urlencoded'
    assert reqs[0]['form'] == {'grant_type': 'client_credentials', 'client_id': CLIENT,
                               'client_secret': SECRET, 'scope': SCOPE}
    assert reqs[0]['status'] == 200
    # The relay: one AUTH XOAUTH2 per connection, the exact initial response.
    got = auths(env)
    assert [(a['mechanism'], a['ok'], a['response']) for a in got] == \
        [('XOAUTH2', True, xoauth2(TOKEN))] * 2
    assert len({a['conn'] for a in got}) == 2
    no_secret_in(run.stderr, SECRET, TOKEN)
    env.verify_audit()


def test_refresh_token_replaced_is_saved_and_used_by_the_next_run(make_env, token, tmp_path):
    """Google's way: a refresh token (with the client's secret).  The
    endpoint replaces it: the file is rewritten atomically (a new file
    renamed over it, mode 0600, nothing left beside it), and the next
    daemon run shows the new one."""
    token.configure(client_id=CLIENT, client_secret=GOOGLE_SECRET, refresh_token=REFRESH,
                    rotate=[ROTATED], access_tokens=[GOOGLE_TOKEN], expires_in=3599)
    state = str(tmp_path / 'state')
    refresh = secret_file(state, 'oauth_refresh_token', REFRESH)
    secret = secret_file(str(tmp_path / 'etc'), 'oauth_client_secret', GOOGLE_SECRET)
    before = os.stat(refresh)
    env = make_env(smtp_args=('--xoauth2', '%s:%s' % (USER, GOOGLE_TOKEN)),
                   smtp_conf=oauth_conf(token, secret=secret, refresh=refresh, scope=''))
    due(env, 'G-1')                     # j3 due on Monday
    due(env, 'G-2', '2026-03-07')       # j3 due on Tuesday
    run = env.cycle(at(MONDAY, '10:00'))
    assert [m.rcpt for m in env.mails()] == ['g-1@client.example']
    reqs = token.requests()
    assert [r['form'] for r in reqs] == [{
        'grant_type': 'refresh_token', 'refresh_token': REFRESH, 'client_id': CLIENT,
        'client_secret': GOOGLE_SECRET}]
    assert reqs[0]['answer']['refresh_token'] == ROTATED
    with open(refresh) as f:
        assert f.read() == ROTATED + '\n'
    after = os.stat(refresh)
    assert after.st_ino != before.st_ino, 'rewritten in place, not renamed over'
    assert stat.S_IMODE(after.st_mode) == 0o600
    assert os.listdir(state) == ['oauth_refresh_token']
    assert 'replaced the refresh token; saved in %s' % refresh in run.stderr
    no_secret_in(run.stderr, REFRESH, ROTATED, GOOGLE_SECRET, GOOGLE_TOKEN)

    run = env.cycle(at(TUESDAY, '10:00'))
    assert [m.rcpt for m in env.mails()] == ['g-1@client.example', 'g-2@client.example']
    reqs = token.requests()
    assert len(reqs) == 2 and reqs[1]['form']['refresh_token'] == ROTATED, reqs
    assert reqs[1]['status'] == 200
    with open(refresh) as f:
        assert f.read() == ROTATED + '\n'
    no_secret_in(run.stderr, REFRESH, ROTATED, GOOGLE_SECRET, GOOGLE_TOKEN)


def test_refresh_token_from_a_credential_cannot_be_saved_and_says_so(make_env, token,
                                                                     tmp_path, monkeypatch):
    """Secrets passed as systemd credentials (LoadCredential=): read-only,
    so a replaced refresh token is kept in memory and the operator warned;
    the credential is left as it was."""
    token.configure(client_id=CLIENT, client_secret=GOOGLE_SECRET, refresh_token=REFRESH,
                    rotate=[ROTATED], access_tokens=[GOOGLE_TOKEN])
    creds = str(tmp_path / 'credentials')
    cred = secret_file(creds, 'oauth_refresh_token', REFRESH)
    secret_file(creds, 'oauth_client_secret', GOOGLE_SECRET)
    monkeypatch.setenv('CREDENTIALS_DIRECTORY', creds)
    env = make_env(smtp_args=('--xoauth2', '%s:%s' % (USER, GOOGLE_TOKEN)),
                   smtp_conf=oauth_conf(token, scope=''))
    due(env, 'C-1')
    run = env.cycle(at(MONDAY, '10:00'))
    assert [m.rcpt for m in env.mails()] == ['c-1@client.example']
    assert [r['form']['refresh_token'] for r in token.requests()] == [REFRESH]
    warned = [line for line in run.stderr.splitlines() if 'replaced the refresh token' in line]
    assert len(warned) == 1 and 'systemd credential %s' % cred in warned[0], run.stderr
    with open(cred) as f:
        assert f.read() == REFRESH + '\n'
    no_secret_in(run.stderr, REFRESH, ROTATED, GOOGLE_SECRET, GOOGLE_TOKEN)


def test_the_endpoint_refusing_the_client_stops_the_session(make_env, token, tmp_path):
    """A wrong client secret: the endpoint answers 401 invalid_client.  No
    connection to the relay, nothing sent, no reminder failed; each waits
    with the endpoint's words; one error line says them; dunningctl status
    names the refusal.  The secret put right, everything leaves once."""
    token.configure(refuse={'error': 'invalid_client', 'error_description': AADSTS},
                    status=401)
    secret = secret_file(str(tmp_path / 'etc'), 'oauth_client_secret', SECRET)
    env = make_env(smtp_args=('--xoauth2', '%s:%s' % (USER, TOKEN)),
                   smtp_conf=oauth_conf(token, secret=secret))
    numbers = ('R-1', 'R-2')
    for n in numbers:
        due(env, n)
    run = env.cycle(at(MONDAY, '10:00'))
    said = 'the token endpoint %s refused: invalid_client: AADSTS7000215: Invalid client ' \
           'secret provided.' % token.url
    assert_waiting(env, numbers, said)
    assert env.smtp.events() == [], 'the relay was contacted'
    lines = [line for line in run.stderr.splitlines() if 'AADSTS7000215' in line]
    assert len(lines) == 1 and said in lines[0] and 'refused the session' in lines[0], \
        run.stderr
    assert '\r' not in lines[0] and 'Trace ID' not in lines[0]
    no_secret_in(run.stderr, SECRET, TOKEN)
    st = env.ctl('status')
    assert st.returncode != 0 and said in st.stdout, st.stdout
    # The operator puts the client right: after the backoff, all leave once.
    token.configure(client_id=CLIENT, client_secret=SECRET, scope=SCOPE, access_tokens=[TOKEN])
    env.cycle(at(MONDAY, '11:00'))
    assert sorted(m.rcpt for m in env.mails()) == ['r-1@client.example', 'r-2@client.example']
    assert [r['status'] for r in token.requests()] == [401, 200]
    assert env.ctl('status').returncode == 0
    env.verify_audit()


def test_an_unreachable_endpoint_stops_the_session_and_says_so(make_env, token, tmp_path):
    secret = secret_file(str(tmp_path / 'etc'), 'oauth_client_secret', SECRET)
    env = make_env(smtp_args=('--xoauth2', '%s:%s' % (USER, TOKEN)),
                   smtp_conf=oauth_conf(token, secret=secret))
    url = token.url
    token.stop()                        # its port closed: connection refused
    due(env, 'U-1')
    run = env.cycle(at(MONDAY, '10:00'))
    said = 'the token endpoint %s cannot be reached' % url
    assert_waiting(env, ['U-1'], said)
    lines = [line for line in run.stderr.splitlines() if said in line]
    assert len(lines) == 1, run.stderr


def test_the_relay_refusing_the_token_forgets_it(make_env, token, tmp_path):
    """The relay answers 535 to the token (revoked, or not for this
    mailbox): the session stops, the reminder waits with the relay's
    answer, and the token is forgotten — the daemon's next session asks the
    endpoint again instead of showing the refused one until it expires."""
    token.configure(client_id=CLIENT, client_secret=SECRET, scope=SCOPE,
                    access_tokens=['refused-token', TOKEN], expires_in=3600)
    secret = secret_file(str(tmp_path / 'etc'), 'oauth_client_secret', SECRET)
    env = make_env(smtp_args=('--xoauth2', '%s:%s' % (USER, TOKEN)),
                   smtp_conf=oauth_conf(token, secret=secret,
                                        more='  retry_base = 1\n  retry_max = 1\n'),
                   extra_conf='schedule { poll_interval = 1 }\n')
    due(env, 'D-1')
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    d.wait_log(r'refused the session: 535 5\.7\.3 Authentication unsuccessful')
    wait_until('the j3 sent with a new token', lambda: len(env.mails()) == 1, deadline=20)
    assert d.stop() == 0
    retried = env.audit('retried', 'D-1')
    assert retried and retried[0]['details']['reason'] == 'session_refused', retried
    assert [a['response'] for a in auths(env)] == [xoauth2('refused-token'), xoauth2(TOKEN)]
    assert [a['ok'] for a in auths(env)] == [False, True]
    assert len(token.requests()) == 2
    assert env.reminders('D-1')['j3']['state'] == 'sent'
    no_secret_in(d.log(), SECRET, TOKEN, 'refused-token')


def test_the_relay_refusing_the_token_waits_like_a_refused_login(make_env, token, tmp_path):
    token.configure(client_id=CLIENT, client_secret=SECRET, scope=SCOPE,
                    access_tokens=['refused-token'])
    secret = secret_file(str(tmp_path / 'etc'), 'oauth_client_secret', SECRET)
    env = make_env(smtp_args=('--xoauth2', '%s:%s' % (USER, TOKEN)),
                   smtp_conf=oauth_conf(token, secret=secret))
    numbers = ('W-1', 'W-2')
    for n in numbers:
        due(env, n)
    run = env.cycle(at(MONDAY, '10:00'))
    assert_waiting(env, numbers, '535 5.7.3 Authentication unsuccessful')
    lines = [line for line in run.stderr.splitlines() if '535' in line]
    assert len(lines) == 1 and 'refused the session' in lines[0], run.stderr
    assert [a['ok'] for a in auths(env)] == [False]
    no_secret_in(run.stderr, SECRET, 'refused-token')


def test_a_token_is_asked_again_a_minute_before_it_expires(make_env, token, tmp_path):
    """expires_in 61: kept one second (a minute's margin), by the real
    clock whatever --now says; a session after that asks again."""
    token.configure(client_id=CLIENT, client_secret=SECRET, scope=SCOPE, access_tokens=[TOKEN],
                    expires_in=61)
    secret = secret_file(str(tmp_path / 'etc'), 'oauth_client_secret', SECRET)
    env = make_env(smtp_args=('--xoauth2', '%s:%s' % (USER, TOKEN)),
                   smtp_conf=oauth_conf(token, secret=secret),
                   extra_conf='schedule { poll_interval = 1 }\n')
    due(env, 'E-1')
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    wait_until('the first j3 sent', lambda: len(env.mails()) == 1)
    first = token.requests()
    assert len(first) == 1
    wait_until('the token past its life', lambda: time.time() > first[0]['at'] + 1.5)
    due(env, 'E-2')
    wait_until('the second j3 sent', lambda: len(env.mails()) == 2, deadline=20)
    assert d.stop() == 0
    assert len(token.requests()) == 2


def test_auth_none_sends_no_auth_even_with_a_username(make_env, tmp_path):
    """auth = "none": no AUTH command, even with a username and a password
    at hand; a relay that wants one refuses the sender (530)."""
    pw = secret_file(str(tmp_path / 'etc'), 'smtp_password', 'le-bon-mot-de-passe')
    env = make_env(smtp_args=('--auth', 'relances:le-bon-mot-de-passe'),
                   smtp_conf='  auth = "none"\n  username = "relances"\n'
                             '  password_file = "%s"\n' % pw)
    due(env, 'N-1')
    env.cycle(at(MONDAY, '10:00'))
    assert auths(env) == []
    assert_waiting(env, ['N-1'], '530')
    # auth = "password" (the default) signs in with the same file.
    env.smtp_conf = env.smtp_conf.replace('auth = "none"', 'auth = "password"')
    env.write_config()
    env.cycle(at(MONDAY, '11:00'))
    assert [m.rcpt for m in env.mails()] == ['n-1@client.example']
    assert [(a['mechanism'], a['ok']) for a in auths(env)] == [('PLAIN', True)]


CHECKS = [
    # (smtp keys, what --check-config must say)
    ('  auth = "xoauth2"\n  username = "%s"\n  oauth { client_id = "c" client_secret_file = "@S@" }\n'
     % USER, 'auth = "xoauth2" needs oauth.token_url'),
    ('  auth = "xoauth2"\n  username = "%s"\n  oauth { token_url = "https://login.example/t" '
     'client_secret_file = "@S@" }\n' % USER, 'auth = "xoauth2" needs oauth.client_id'),
    ('  auth = "xoauth2"\n  oauth { token_url = "https://login.example/t" client_id = "c" '
     'client_secret_file = "@S@" }\n', 'auth = "xoauth2" needs username'),
    ('  auth = "xoauth2"\n  username = "%s"\n  oauth { token_url = "https://login.example/t" '
     'client_id = "c" }\n' % USER, 'auth = "xoauth2" needs a client secret or a refresh token'),
    ('  oauth { token_url = "http://login.example/token" }\n',
     'token_url "http://login.example/token" is not https://'),
    ('  oauth { client_secret = "hunter2" }\n',
     'secrets do not belong in this file: use client_secret_file or the systemd credential '
     'oauth_client_secret'),
    ('  oauth { refresh_token = "1//x" }\n',
     'secrets do not belong in this file: use refresh_token_file'),
    ('  oauth { refresh_token_file = "/nonexistent/oauth_refresh_token" }\n',
     'refresh_token_file "/nonexistent/oauth_refresh_token": No such file or directory'),
    ('  auth = "oauth"\n', 'auth "oauth" is unknown: write "password", "xoauth2" or "none"'),
]


@pytest.mark.parametrize('keys,said', CHECKS)
def test_check_config_refuses(make_env, tmp_path, keys, said):
    secret = secret_file(str(tmp_path / 'etc'), 'oauth_client_secret', SECRET)
    env = make_env(smtp=False, smtp_conf=keys.replace('@S@', secret))
    r = env.daemon('--check-config')
    assert r.returncode != 0, r.stdout
    assert 'dunningd.conf:' in r.stderr and said in r.stderr, r.stderr
    assert 'hunter2' not in r.stderr and '1//x' not in r.stderr


def test_check_config_accepts_a_loopback_endpoint_and_credentials(make_env, tmp_path,
                                                                   monkeypatch):
    """http:// to a loopback host (a test endpoint); the secret as a systemd
    credential rather than a file."""
    env = make_env(smtp=False, smtp_conf=(
        '  auth = "xoauth2"\n  username = "%s"\n  oauth { token_url = '
        '"http://127.0.0.1:8080/token" client_id = "c" }\n' % USER))
    r = env.daemon('--check-config')
    assert r.returncode != 0 and 'needs a client secret or a refresh token' in r.stderr
    secret_file(str(tmp_path / 'credentials'), 'oauth_client_secret', SECRET)
    monkeypatch.setenv('CREDENTIALS_DIRECTORY', str(tmp_path / 'credentials'))
    r = env.daemon('--check-config')
    assert r.returncode == 0 and 'configuration OK' in r.stdout, r.stderr
