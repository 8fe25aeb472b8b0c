"""Tests of the Postfix relay of the tests (tests/lib/harness/relay.py),
with Python's smtplib and ssl only: what each listener offers, negotiates,
accepts and refuses, so that a daemon test failing against it is the
daemon's fault.

Run with: meson test -C build --suite lib
"""
import os
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from harness import Relay
from harness.relay import DEFERRAL_TEXT, MECHANISMS, processes_left

TIMEOUT = 10
FROM = 'relances@cabinet.example'


def message(rcpt, subject='Relance facture F-1'):
    msg = EmailMessage()
    msg['From'] = 'Cabinet Test <%s>' % FROM
    msg['To'] = rcpt
    msg['Subject'] = subject
    msg['Message-ID'] = make_msgid(domain='cabinet.example')
    msg.set_content('Merci de régler la facture F-1.\n')
    return msg


def verifying(relay, cafile=None):
    """A client context as a careful client builds one: chain and name."""
    return ssl.create_default_context(cafile=cafile or relay.ca_file)


def starttls(relay, listener='submission', host='localhost', ctx=None):
    s = smtplib.SMTP(host, relay.port(listener), timeout=TIMEOUT)
    s.ehlo('client.test')
    s.starttls(context=ctx or verifying(relay))
    s.ehlo('client.test')
    return s


def tls_as(relay, listener, server_name):
    """STARTTLS on LISTENER (connected to 127.0.0.1) verifying the
    certificate for SERVER_NAME, which need not resolve; the protocol."""
    with socket.create_connection(('127.0.0.1', relay.port(listener)), timeout=TIMEOUT) as raw:
        f = raw.makefile('rb')

        def reply():
            while True:
                line = f.readline()
                if line[3:4] != b'-':
                    return line

        assert reply().startswith(b'220 ')
        raw.sendall(b'EHLO client.test\r\n')
        assert reply().startswith(b'250 ')
        raw.sendall(b'STARTTLS\r\n')
        assert reply().startswith(b'220 ')
        with verifying(relay).wrap_socket(raw, server_hostname=server_name) as t:
            t.sendall(b'QUIT\r\n')
            return t.version()


def auth(s, relay, mechanism, password=None):
    s.user, s.password = relay.username, password or relay.password
    fn = {'PLAIN': s.auth_plain, 'LOGIN': s.auth_login}[mechanism]
    return s.auth(mechanism, fn, initial_response_ok=False)


def test_starttls_auth_plain_delivered(relay):
    """STARTTLS with the chain and the name verified, AUTH PLAIN: the
    message lands in the Maildir once, with its envelope recipient."""
    s = starttls(relay)
    assert sorted(s.esmtp_features['auth'].split()) == ['LOGIN', 'PLAIN']
    code, _ = auth(s, relay, 'PLAIN')
    assert code == 235
    msg = message('dupont@client.example')
    s.send_message(msg, from_addr=FROM, to_addrs=['dupont@client.example'])
    s.quit()
    got = relay.wait_for(1)
    assert len(got) == 1
    assert got[0].rcpt == 'dupont@client.example'
    assert got[0].message_id == msg['Message-ID']
    assert got[0].mail_from == FROM
    assert 'Merci de régler la facture F-1.' in got[0].body
    assert relay.log_lines(r'sasl_method=PLAIN, sasl_username=dunning@')


def test_auth_login_delivered(relay):
    """AUTH LOGIN (its two challenges) works as well."""
    s = starttls(relay)
    code, _ = auth(s, relay, 'LOGIN')
    assert code == 235
    s.send_message(message('martin@client.example'), from_addr=FROM,
                   to_addrs=['martin@client.example'])
    s.quit()
    assert [m.rcpt for m in relay.wait_for(1)] == ['martin@client.example']
    assert relay.log_lines(r'sasl_method=LOGIN, sasl_username=dunning@')


@pytest.mark.parametrize('listener', sorted(MECHANISMS))
def test_single_mechanism_listener_offers_and_delivers_with_it(relay, listener):
    """plain_only and login_only: no AUTH before STARTTLS, after it their
    one mechanism only; the other one is refused (not loaded, not merely
    unannounced), theirs logs in and the message is delivered, logged with
    that sasl_method."""
    mech = MECHANISMS[listener]
    other = {'PLAIN': 'LOGIN', 'LOGIN': 'PLAIN'}[mech]
    s = smtplib.SMTP('localhost', relay.port(listener), timeout=TIMEOUT)
    s.ehlo('client.test')
    assert s.has_extn('starttls') and not s.has_extn('auth')
    s.starttls(context=verifying(relay))
    s.ehlo('client.test')
    assert s.sock.version() == 'TLSv1.3'
    assert s.esmtp_features['auth'].split() == [mech]
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        auth(s, relay, other)
    assert e.value.smtp_code == 535 and b'no mechanism available' in e.value.smtp_error, e.value
    code, _ = auth(s, relay, mech)
    assert code == 235
    rcpt = '%s@client.example' % listener.replace('_', '-')
    msg = message(rcpt)
    s.send_message(msg, from_addr=FROM, to_addrs=[rcpt])
    s.quit()
    got = relay.wait_for(1)
    assert [(m.rcpt, m.message_id) for m in got] == [(rcpt, msg['Message-ID'])]
    relay.wait_log(r'smtpd\[\d+\]: disconnect from')
    assert len(relay.log_lines(r'sasl_method=%s, sasl_username=dunning@' % mech)) == 1
    assert not relay.log_lines(r'sasl_method=%s\b' % other), relay.log()
    assert relay.log_lines(r'SASL %s authentication failed: no mechanism available' % other)


def test_submission_negotiates_tls13(relay):
    """The STARTTLS listener lets TLS 1.3 through (the case libesmtp hangs
    on); the relay's log says so too."""
    s = starttls(relay)
    assert s.sock.version() == 'TLSv1.3'
    s.quit()
    relay.wait_log(r'TLS connection established from')
    assert relay.tls_protocols() == ['TLSv1.3']


def test_starttls_and_auth_required(relay):
    """No AUTH offered before STARTTLS, no mail before it; after STARTTLS
    without AUTH, a recipient is refused; another domain is refused even
    authenticated (nothing leaves the machine)."""
    s = smtplib.SMTP('localhost', relay.port('submission'), timeout=TIMEOUT)
    s.ehlo('client.test')
    assert s.has_extn('starttls') and not s.has_extn('auth')
    code, text = s.mail(FROM)
    assert code == 530, (code, text)
    s.quit()
    s = starttls(relay)
    assert s.mail(FROM)[0] == 250
    code, text = s.rcpt('dupont@client.example')
    assert code == 554, (code, text)
    s.quit()
    s = starttls(relay)
    auth(s, relay, 'PLAIN')
    assert s.mail(FROM)[0] == 250
    code, text = s.rcpt('someone@elsewhere.invalid')
    assert code == 554 and b'Relay access denied' in text, (code, text)
    s.quit()
    relay.wait_idle()
    assert relay.messages() == []


def test_implicit_tls_delivered(relay):
    """The smtps listener speaks TLS from the first byte (no STARTTLS)."""
    s = smtplib.SMTP_SSL('localhost', relay.port('smtps'), timeout=TIMEOUT,
                         context=verifying(relay))
    s.ehlo('client.test')
    assert not s.has_extn('starttls')
    assert s.sock.version() == 'TLSv1.3'
    auth(s, relay, 'PLAIN')
    s.send_message(message('durand@client.example'), from_addr=FROM,
                   to_addrs=['durand@client.example'])
    s.quit()
    assert [m.rcpt for m in relay.wait_for(1)] == ['durand@client.example']


def test_tls12_listener_negotiates_tls12(relay):
    """The TLS 1.2-only listener negotiates TLS 1.2 with a client that
    offers 1.3, and delivers."""
    s = starttls(relay, 'tls12')
    assert s.sock.version() == 'TLSv1.2'
    auth(s, relay, 'PLAIN')
    s.send_message(message('petit@client.example'), from_addr=FROM,
                   to_addrs=['petit@client.example'])
    s.quit()
    assert [m.rcpt for m in relay.wait_for(1)] == ['petit@client.example']
    assert relay.tls_protocols() == ['TLSv1.2']


def test_tls12_listener_refuses_tls13_only_client(relay):
    """A client that insists on TLS 1.3 gets no session from it."""
    ctx = verifying(relay)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    with pytest.raises(ssl.SSLError):
        starttls(relay, 'tls12', ctx=ctx)


def test_wrong_password_535_nothing_delivered(relay):
    """A wrong password is answered 535 and the client is not let send."""
    s = starttls(relay)
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        auth(s, relay, 'PLAIN', password='not-the-password')
    assert e.value.smtp_code == 535
    assert s.mail(FROM)[0] == 250
    assert s.rcpt('dupont@client.example')[0] == 554
    s.quit()
    relay.wait_log(r'SASL PLAIN authentication failed')
    relay.wait_idle()
    assert relay.messages() == []


def test_wrong_name_certificate_does_not_verify_for_localhost(relay):
    """The wrong_name listener's certificate is the private CA's, for
    other.example only: it verifies under that name, not as localhost nor
    127.0.0.1."""
    for host in ('localhost', '127.0.0.1'):
        with pytest.raises(ssl.SSLCertVerificationError) as e:
            starttls(relay, 'wrong_name', host=host)
        assert 'mismatch' in e.value.verify_message, e.value
    assert tls_as(relay, 'wrong_name', 'other.example') == 'TLSv1.3'


def test_submission_certificate_names_localhost_and_ip(relay):
    """The submission certificate verifies as localhost and as 127.0.0.1
    with the private CA, and not at all with the unrelated CA."""
    for host in ('localhost', '127.0.0.1'):
        starttls(relay, host=host).quit()
    with pytest.raises(ssl.SSLCertVerificationError) as e:
        starttls(relay, ctx=verifying(relay, relay.other_ca_file))
    assert e.value.verify_code == 20, e.value         # unable to get local issuer


def test_deferral_listener_defers_each_recipient_once(relay):
    """The deferral listener answers 451 4.3.0 to a recipient's first RCPT
    TO and accepts the next: the message is delivered once, after the
    client tried again."""
    s = starttls(relay, 'deferral')
    auth(s, relay, 'PLAIN')
    msg = message('plustard@client.example')
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        s.send_message(msg, from_addr=FROM, to_addrs=['plustard@client.example'])
    code, text = e.value.recipients['plustard@client.example']
    assert code == 451 and text.startswith(b'4.3.0 '), (code, text)
    assert DEFERRAL_TEXT.encode() in text, text
    relay.wait_idle()
    assert relay.messages() == []
    s.send_message(msg, from_addr=FROM, to_addrs=['plustard@client.example'])
    s.quit()
    got = relay.wait_for(1)
    assert [m.message_id for m in got] == [msg['Message-ID']]
    assert relay.deferred_once() == ['plustard@client.example']


def test_stop_leaves_nothing_behind(tmp_path):
    """stop() ends every Postfix process, frees the ports, removes the
    instance's directory and keeps its log in WORKDIR."""
    with Relay(tmp_path) as r:
        s = starttls(r)
        auth(s, r, 'PLAIN')
        s.send_message(message('dupont@client.example'), from_addr=FROM,
                       to_addrs=['dupont@client.example'])
        s.quit()
        r.wait_for(1)
        master = r.master_pid
        ports = dict(r.ports)
        instance = r.dir
    assert not os.path.exists(instance)
    assert 'daemon started' in (tmp_path / 'relay' / 'maillog').read_text()
    assert len(os.listdir(tmp_path / 'relay' / 'inbox' / 'new')) == 1
    assert not processes_left(master)
    for port in ports.values():
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(('127.0.0.1', port), timeout=TIMEOUT).close()
