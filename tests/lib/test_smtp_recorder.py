"""Tests of tests/lib/smtp_recorder.py itself: the recording, the existing
options, and the runtime fault injection (--control) and --events log.

Run with: meson test -C build --suite lib
"""
import base64
import os
import shutil
import smtplib
import socket
import subprocess
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from harness.smtp import SmtpRecorder

TIMEOUT = 5


def start_recorder(tmp_path, *extra):
    """The recorder started with the options EXTRA, as the suites start it."""
    return SmtpRecorder(str(tmp_path), extra=extra).start(deadline=10)


@pytest.fixture
def server(tmp_path):
    srv = start_recorder(tmp_path)
    yield srv
    srv.stop()


def message(subject='hello', with_id=True):
    msg = EmailMessage()
    msg['From'] = 'billing@example.org'
    msg['To'] = 'customer@example.com'
    msg['Subject'] = subject
    if with_id:
        msg['Message-ID'] = make_msgid(domain='example.org')
    msg.set_content('Please pay invoice 42.\n')
    return msg


def send(s, msg, rcpt='customer@example.com'):
    s.send_message(msg, from_addr='billing@example.org', to_addrs=[rcpt])


def test_accepts_and_records_message_id(server):
    msg = message()
    with server.client() as s:
        send(s, msg)
        send(s, message('no id', with_id=False))
    recs = server.records()
    assert len(recs) == 2
    r = recs[0]
    assert set(r) == {'mail_from', 'rcpt_tos', 'data', 'received_at', 'message_id'}
    assert r['mail_from'] == 'billing@example.org'
    assert r['rcpt_tos'] == ['customer@example.com']
    assert 'Please pay invoice 42.' in r['data']
    assert r['message_id'] == msg['Message-ID']
    assert abs(r['received_at'] - time.time()) < 10
    assert recs[1]['message_id'] is None


def test_reject_and_tempfail_options_still_work(tmp_path):
    srv = start_recorder(tmp_path, '--reject-rcpt', r'^nobody@', '--tempfail-rcpt', r'^later@')
    try:
        with srv.client() as s:
            assert s.mail('billing@example.org')[0] == 250
            assert s.rcpt('nobody@example.com')[0] == 550
            assert s.rcpt('later@example.com')[0] == 451
            assert s.rcpt('ok@example.com')[0] == 250
            assert s.data(message().as_bytes())[0] == 250
        assert [r['rcpt_tos'] for r in srv.records()] == [['ok@example.com']]
    finally:
        srv.stop()


def test_control_switches_at_runtime(server):
    # No control file yet: no faults.
    with server.client() as s:
        # 451 at MAIL, switched on mid-connection.
        server.control({'reply': {'mail': '451 4.3.0 Try again later'}})
        code, text = s.mail('billing@example.org')
        assert (code, text) == (451, b'4.3.0 Try again later')
        # The replied MAIL opened no transaction.
        server.control({})
        assert s.rcpt('customer@example.com')[0] == 503
        # 550 at RCPT instead.
        server.control({'reply': {'rcpt': '550 5.1.1 No such user'}})
        assert s.mail('billing@example.org')[0] == 250
        assert s.rcpt('customer@example.com') == (550, b'5.1.1 No such user')
        # The replied RCPT added no recipient.
        assert s.docmd('DATA')[0] == 503
        s.rset()

    # 421 at connect: the client sees it and the server hangs up.
    server.control({'reply': {'connect': '421 4.3.2 Service not available'}})
    with pytest.raises(smtplib.SMTPConnectError) as exc:
        smtplib.SMTP('127.0.0.1', server.port, timeout=TIMEOUT)
    assert exc.value.smtp_code == 421
    with socket.create_connection(('127.0.0.1', server.port), timeout=TIMEOUT) as raw:
        data = b''
        while True:
            chunk = raw.recv(1024)
            if not chunk:
                break
            data += chunk
        assert data == b'421 4.3.2 Service not available\r\n'

    # Cleared: a message goes through, and only that one was recorded.
    server.control({})
    msg = message()
    with server.client() as s:
        send(s, msg)
    assert [r['message_id'] for r in server.records()] == [msg['Message-ID']]


def test_421_at_a_command_closes_the_connection(server):
    server.control({'reply': {'mail': '421 4.3.2 Shutting down'}})
    s = server.client()
    assert s.mail('billing@example.org') == (421, b'4.3.2 Shutting down')
    with pytest.raises(smtplib.SMTPServerDisconnected):
        s.noop()
    s.close()


@pytest.mark.parametrize('step,expect', [
    ('helo', (554, b'5.7.1 Go away')),
    ('data', (554, b'5.7.1 Go away')),
])
def test_reply_at_helo_and_data(server, step, expect):
    server.control({'reply': {step: '554 5.7.1 Go away'}})
    s = smtplib.SMTP('127.0.0.1', server.port, timeout=TIMEOUT)
    if step == 'helo':
        assert s.ehlo('client.test') == expect
        assert s.helo('client.test') == expect
        # Never greeted: a transaction is refused.
        assert s.mail('billing@example.org')[0] == 503
    else:
        s.ehlo('client.test')
        assert s.mail('billing@example.org')[0] == 250
        assert s.rcpt('customer@example.com')[0] == 250
        assert s.docmd('DATA') == expect
    s.quit()
    assert server.records() == []


def test_refusing_greeting_waits_for_quit(server):
    server.control({'reply': {'connect': '554 5.3.2 No service'}})
    with pytest.raises(smtplib.SMTPConnectError) as exc:
        smtplib.SMTP('127.0.0.1', server.port, timeout=TIMEOUT)
    assert exc.value.smtp_code == 554
    with socket.create_connection(('127.0.0.1', server.port), timeout=TIMEOUT) as raw:
        f = raw.makefile('rwb')
        assert f.readline() == b'554 5.3.2 No service\r\n'
        f.write(b'EHLO client.test\r\n')
        f.flush()
        assert f.readline().startswith(b'503 ')
        f.write(b'QUIT\r\n')
        f.flush()
        assert f.readline().startswith(b'221 ')
        assert f.readline() == b''


def test_eom_tempfail_is_not_recorded(server):
    server.control({'reply': {'eom': '451 4.3.0 Queue full'}})
    with server.client() as s:
        with pytest.raises(smtplib.SMTPDataError) as exc:
            send(s, message())
        assert exc.value.smtp_code == 451
        assert server.records() == []
        # The transaction was reset; the same connection can try again.
        server.control({})
        msg = message()
        send(s, msg)
    assert [r['message_id'] for r in server.records()] == [msg['Message-ID']]


def test_eom_delay(server):
    delay = 1.0
    server.control({'delay': {'eom': delay}})
    msg = message()
    result = {}

    def slow_client():
        with server.client() as s:
            s.mail('billing@example.org')
            s.rcpt('customer@example.com')
            t0 = time.monotonic()
            result['reply'] = s.data(msg.as_bytes())
            result['elapsed'] = time.monotonic() - t0

    th = threading.Thread(target=slow_client)
    th.start()
    try:
        # Wait (poll) until the slow client's final dot is in.
        end = time.monotonic() + TIMEOUT
        while not any(e['event'] == 'eom' for e in server.events()):
            assert time.monotonic() < end, 'no eom event'
            time.sleep(0.02)
        assert server.records() == []   # not recorded before the 250
        # Another connection is served meanwhile (the delay does not block).
        t0 = time.monotonic()
        with server.client() as other:
            assert other.noop()[0] == 250
        assert time.monotonic() - t0 < delay / 2
        assert th.is_alive()
    finally:
        th.join(TIMEOUT + delay)
    assert result['reply'][0] == 250
    assert result['elapsed'] >= delay
    (rec,) = server.records()
    eom = next(e for e in server.events() if e['event'] == 'eom')
    assert rec['received_at'] - eom['at'] >= delay
    assert rec['message_id'] == msg['Message-ID']


def test_client_gone_during_eom_delay_is_not_recorded(server):
    delay = 0.5
    server.control({'delay': {'eom': delay}})
    s = server.client()
    s.mail('billing@example.org')
    s.rcpt('customer@example.com')
    assert s.docmd('DATA')[0] == 354
    s.send(b'Subject: x\r\n\r\nhi\r\n.\r\n')
    end = time.monotonic() + TIMEOUT
    while not any(e['event'] == 'eom' for e in server.events()):
        assert time.monotonic() < end, 'no eom event'
        time.sleep(0.02)
    s.close()
    time.sleep(delay + 0.3)   # past the moment the 250 would have been sent
    assert server.records() == []


def test_drop_at_eom(server):
    server.control({'drop': 'eom'})
    s = server.client()
    assert s.mail('billing@example.org')[0] == 250
    assert s.rcpt('customer@example.com')[0] == 250
    with pytest.raises(smtplib.SMTPServerDisconnected):
        s.data(message().as_bytes())
    s.close()
    assert server.records() == []
    names = [e['event'] for e in server.events()]
    assert names == ['connect', 'mail', 'rcpt', 'data', 'eom']


@pytest.mark.parametrize('step', ['connect', 'mail'])
def test_drop_at_other_steps(server, step):
    server.control({'drop': [step]})
    with pytest.raises(smtplib.SMTPServerDisconnected):
        s = smtplib.SMTP('127.0.0.1', server.port, timeout=TIMEOUT)
        s.ehlo('client.test')
        s.mail('billing@example.org')


def test_bad_control_file_keeps_last_settings(server):
    server.control({'reply': {'mail': '452 4.3.1 Busy'}})
    with server.client() as s:
        assert s.mail('billing@example.org')[0] == 452
        with open(server.control_path, 'w') as f:
            f.write('{"reply": ')          # half-written
        assert s.mail('billing@example.org')[0] == 452
        os.unlink(server.control_path)     # no file: no faults
        assert s.mail('billing@example.org')[0] == 250
    assert 'not valid JSON' in server.stderr()


def test_events_for_a_two_message_connection(server):
    before = time.time()
    with server.client() as s:
        send(s, message('one'))
        send(s, message('two'))
        s.rset()
    # quit() (the with block's end) returned after the 221: all lines are in.
    with server.client() as s:
        pass
    events = server.events()
    first = [e for e in events if e['conn'] == events[0]['conn']]
    assert [e['event'] for e in first] == [
        'connect', 'mail', 'rcpt', 'data', 'eom',
        'mail', 'rcpt', 'data', 'eom', 'rset', 'quit']
    ats = [e['at'] for e in first]
    assert ats == sorted(ats) and ats[0] >= before - 1
    assert all(isinstance(e['conn'], int) for e in events)
    second = [e for e in events if e['conn'] != events[0]['conn']]
    assert [e['event'] for e in second] == ['connect', 'quit']
    assert second[0]['conn'] > events[0]['conn']
    assert len(server.records()) == 2


@pytest.mark.skipif(shutil.which('openssl') is None, reason='needs openssl')
def test_starttls_and_auth_with_faults(tmp_path):
    cert, key = str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec',
                    '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
                    '-keyout', key, '-out', cert, '-days', '1',
                    '-subj', '/CN=localhost'], check=True, capture_output=True)
    srv = start_recorder(tmp_path, '--tls-cert', cert, '--tls-key', key, '--auth', 'u:secret')
    try:
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with srv.client() as s:
            assert s.mail('billing@example.org')[0] == 530   # STARTTLS first
            s.starttls(context=ctx)
            s.ehlo('client.test')
            s.login('u', 'secret')
            srv.control({'reply': {'mail': '451 4.3.0 Later'}})
            assert s.mail('billing@example.org')[0] == 451
            srv.control({})
            send(s, message())
        assert len(srv.records()) == 1
        # STARTTLS is not a new connection.
        assert [e['event'] for e in srv.events()].count('connect') == 1
    finally:
        srv.stop()


def xoauth2_blob(user, token):
    raw = 'user=%s\x01auth=Bearer %s\x01\x01' % (user, token)
    return base64.b64encode(raw.encode()).decode()


def test_xoauth2_accepts_only_the_exact_initial_response(tmp_path):
    """--xoauth2 USER:TOKEN: AUTH XOAUTH2 alone is offered; the initial
    response on the AUTH line or after the empty 334 challenge, a token of
    a real JWT's size included; anything else is refused with 535 and MAIL
    is then refused too (530); each attempt is in the events log."""
    token = 'eyJ0eXAiOiJKV1QifQ.' + 'x' * 2000 + '.sig'
    srv = start_recorder(tmp_path, '--xoauth2', 'relances@cabinet.example:' + token)
    try:
        with srv.client() as s:
            assert s.esmtp_features['auth'].split() == ['XOAUTH2']
            assert s.docmd('AUTH XOAUTH2 ' + xoauth2_blob('relances@cabinet.example',
                                                          token))[0] == 235
            send(s, message())
        with srv.client() as s:
            assert s.docmd('AUTH XOAUTH2')[0] == 334
            assert s.docmd(xoauth2_blob('relances@cabinet.example', token))[0] == 235
        for user, tok in (('relances@cabinet.example', token[:-1]),
                          ('autre@cabinet.example', token)):
            with srv.client() as s:
                code, text = s.docmd('AUTH XOAUTH2 ' + xoauth2_blob(user, tok))
                assert (code, text) == (535, b'5.7.3 Authentication unsuccessful')
                assert s.mail('billing@example.org')[0] == 530
        with srv.client() as s:
            assert s.docmd('AUTH XOAUTH2 not-base64!')[0] == 501
        assert len(srv.records()) == 1
        auths = [e for e in srv.events() if e['event'] == 'auth']
        assert [(a['mechanism'], a['ok']) for a in auths] == [
            ('XOAUTH2', True), ('XOAUTH2', True), ('XOAUTH2', False), ('XOAUTH2', False)]
        assert auths[0]['response'] == 'user=relances@cabinet.example\x01auth=Bearer %s' \
            '\x01\x01' % token
    finally:
        srv.stop()
