"""What a client's message shows of the database's text (issue 17, item 7):
never a field silently blank, never a link a careful firm would not send.

- Text that is not UTF-8 can only come from an SQL_ASCII database (a UTF8
  one checks every text it stores, and any other encoding is converted by
  PostgreSQL to the session's UTF8): dunningd and dunningctl refuse such a
  database at connection, saying why; a field that is still not UTF-8
  (mail/check.c: check_utf8) fails that reminder with `invalid_text`
  (tests/unit/test_check.c).
- The postal code and the city are shown whole: a line cut at 63 bytes
  once fell inside a character and disappeared from the message.
- `invoice.payment_url` becomes an href in the HTML part: only https://
  with a host and RFC 3986's characters; anything else fails that
  reminder with `payment_url_refused` (audited, the lawyer told), nothing
  leaves for it, the others do."""
import os
import re
import shutil

from harness import TEMPLATES, at


def test_sql_ascii_database_is_refused_with_its_reason(env):
    """An SQL_ASCII database: dunningctl migrate and dunningd refuse it
    and say what to do; nothing is sent."""
    name = env.dbname + '_ascii'
    env.cluster.admin("CREATE DATABASE %s TEMPLATE template0 ENCODING 'SQL_ASCII' "
                      "LC_COLLATE 'C' LC_CTYPE 'C'" % name)
    try:
        conf = os.path.join(env.workdir, 'ascii.conf')
        with open(env.config, encoding='utf-8') as f:
            text = f.read()
        with open(conf, 'w', encoding='utf-8') as f:
            f.write(text.replace('dbname=%s ' % env.dbname, 'dbname=%s ' % name))
        m = env.ctl('migrate', config=conf)
        assert m.returncode != 0, m.stdout
        assert 'SQL_ASCII' in m.stderr and "ENCODING 'UTF8'" in m.stderr, m.stderr
        d = env.daemon('--once', now=at('2026-03-05'), config=conf)
        assert d.returncode != 0
        assert 'SQL_ASCII' in d.stderr and 'UTF8 database' in d.stderr, d.stderr
        assert env.cluster.admin('SELECT count(*) FROM pg_namespace WHERE nspname = '
                                 "'dunning'", dbname=name) == [(0,)]
        assert env.mails() == []
    finally:
        env.cluster.admin('DROP DATABASE IF EXISTS %s WITH (FORCE)' % name)


def address_templates(env, tmp_path):
    """A copy of the shipped templates whose French j3 text prints the
    client's address lines, the configuration pointed at it."""
    copy = str(tmp_path / 'templates')
    shutil.copytree(TEMPLATES, copy)
    j03 = os.path.join(copy, 'fr', 'j03.txt')
    with open(j03, encoding='utf-8') as f:
        text = f.read()
    with open(j03, 'w', encoding='utf-8') as f:
        f.write('{{client.name}}\n{{#client.address}}ADRESSE: {{.}}\n{{/client.address}}\n'
                + text)
    with open(env.config, encoding='utf-8') as f:
        conf = f.read()
    with open(env.config, 'w', encoding='utf-8') as f:
        f.write(conf.replace('dir = "%s"' % TEMPLATES, 'dir = "%s"' % copy))


def test_postal_code_and_city_never_cut_inside_a_character(env, tmp_path):
    """"75001 " and a city whose 57th byte starts an "é": at 63 bytes the
    line used to be cut inside the character, and vanished."""
    address_templates(env, tmp_path)
    city = 'Saint-' + 'a' * 50 + 'éloise-sur-Mer'
    assert len(('75001 ' + city).encode()) > 63
    assert ('75001 ' + city).encode()[:63].decode('utf-8', 'replace').endswith('\ufffd')
    c = env.client('ville@client.example', postal_code='75001', city=city)
    env.invoice('F-7000', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    (m,) = env.mails()
    lines = [ln for ln in m.body.splitlines() if ln.startswith('ADRESSE: ')]
    assert lines == ['ADRESSE: 12 avenue des Tilleuls', 'ADRESSE: 75001 ' + city], lines


BAD_URLS = {
    'F-7101': 'javascript:alert(document.cookie)',
    'F-7102': 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
    'F-7103': 'mailto:victime@evil.example',
    'F-7104': 'http://paiement.cabinet.example/F-7104',
    'F-7105': 'https://paiement.cabinet.example/x" onmouseover="alert(1)',
    'F-7106': 'https://paiement.cabinet.example/a b',
    'F-7107': 'https://banque.example@evil.example/payer',
    'F-7108': 'https://paiement.cabinet.example/<script>',
    'F-7109': '//evil.example/payer',
    'F-7110': 'JavaScript://%0aalert(1)',
}


def test_payment_url_other_than_https_fails_that_reminder(env):
    """Each refused link: that reminder fails with payment_url_refused,
    audited, nothing leaves for it and it is not retried; a good https://
    link (any case in its scheme) leaves as an href."""
    for i, (number, url) in enumerate(BAD_URLS.items()):
        c = env.client('lien%d@client.example' % i)
        env.invoice(number, c, '2026-03-02', payment_url=url)
    ok = env.client('bon@client.example')
    good = 'HTTPS://paiement.cabinet.example/F-7199?ref=F-7199&x=%C3%A9'
    env.invoice('F-7199', ok, '2026-03-02', payment_url=good)
    r = env.cycle(at('2026-03-05'))
    assert r.returncode == 0, r.stderr
    (m,) = env.mails()
    assert m.rcpt == 'bon@client.example'
    plain, html = list(m.msg.iter_parts())
    assert 'href="%s"' % good.replace('&', '&amp;') in html.get_content()
    for number in BAD_URLS:
        rem = env.reminders(number)['j3']
        assert rem['state'] == 'failed' and rem['reason'] == 'payment_url_refused', (number, rem)
        (aud,) = env.audit('failed', number)
        assert aud['details']['reason'] == 'payment_url_refused', aud
    # Not sent later either: the data must be fixed, then the reminder resent.
    env.replay('2026-03-06', '2026-03-09')
    assert [x.rcpt for x in env.mails()] == ['bon@client.example']
    for m in env.all_mails():
        assert not re.search(r'javascript:|evil\.example', m.raw, re.I), m.raw[:2000]
    env.verify_audit()
