"""A replayed month of mail (issue 5, "done means"): every message the relay
received over March and April 2026 from a mixed portfolio — French and
English, companies and individuals, odd names, grouped invoices, attached
PDFs, held reminders approved, a partial payment, a dispute, the lawyers'
alerts and digests — parses without a defect in Python's email package
(policy default) and in GMime (tests/unit/mime_check.c), is 7-bit with lines
of at most 78 characters, and no Message-ID arrives twice."""
import os
import subprocess

from harness import at, from_meson
from test_mime import ODD_NAMES, attach_pdfs, pdf_bytes, write_pdf

MIME_CHECK = from_meson('DUNNING_MIME_CHECK')


def gmime_check(tmp_path, mails):
    """tests/unit/mime_check.c on the very bytes the relay received of
    MAILS (written under TMP_PATH): no problem in any."""
    assert MIME_CHECK and os.access(MIME_CHECK, os.X_OK), 'DUNNING_MIME_CHECK not built'
    paths = []
    for i, m in enumerate(mails):
        p = tmp_path / ('%03d.eml' % i)
        p.write_bytes(m.raw.encode('ascii'))
        paths.append(str(p))
    r = subprocess.run([MIME_CHECK] + paths, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(paths) and all(l.endswith(' parts') for l in lines), r.stdout


def portfolio(env):
    """About twenty clients whose invoices reach every stage in the month."""
    brule = env.lawyer('Maître Éloïse Brûlé', 'eloise.brule@cabinet.example')
    attach_pdfs(env)
    pdf = lambda n: write_pdf(env, n + '.pdf', pdf_bytes(n, 30000))
    c = env.client('compta@dupre.example', company='Établissements Dupré & Fils')
    env.invoice('F-2026-0101', c, '2026-02-27', amount='1234.56', pdf_path=pdf('F-2026-0101'))
    env.invoice('F-2026-0102', c, '2026-02-27', amount='99.90', matter_ref=None)
    c = env.client('lea.petit@exemple.fr', kind='individual', first='Léa', last='Petit',
                   lawyer=brule)
    env.invoice('F-2026-0103', c, '2026-03-02', amount='480.00',
                payment_url='https://paiement.cabinet.example/F-2026-0103')
    c = env.client('accounts@smith-jones.example', company='Smith & Jones Ltd',
                   language='en')
    env.invoice('E-2026-0104', c, '2026-02-25', amount='2500.00', pdf_path=pdf('E-2026-0104'))
    c = env.client('john.doe@example.co.uk', kind='individual', first='John', last='Doe',
                   language='en', lawyer=brule)
    env.invoice('E-2026-0105', c, '2026-03-04', amount='750.00')
    c = env.client('direction@azur.example', company='Groupe Hôtelier Azur', strategic=True)
    env.invoice('F-2026-0106', c, '2026-03-02', amount='3000.00')
    c = env.client('daf@grosclient.example', company='Gros Client SA', lawyer=brule)
    env.invoice('F-2026-0107', c, '2026-02-20', amount='12345.67')
    c = env.client('litige@client.example', company='Litige SARL')
    env.invoice('F-2026-0108', c, '2026-03-02', amount='640.00')
    c = env.client('partiel@client.example', kind='individual', first='Hugo', last='Rousseau')
    env.invoice('F-2026-0109', c, '2026-02-26', amount='1800.00')
    for i, name in enumerate(ODD_NAMES):
        c = env.client('odd%d@client.example' % i, company=name)
        env.invoice('F-2026-02%02d' % i, c, '2026-03-03', amount='%d.%02d' % (100 + i, i))


def approve_held(env, now):
    """Maître and partner approve whatever waits, as a lawyer would."""
    def run():
        for (rid,) in env.sql("SELECT id FROM dunning.reminder WHERE state = 'held' "
                              "ORDER BY id"):
            env.ctl('approve', str(rid), now=now, check=0)
    return run


def test_a_month_of_mail_parses_clean_in_python_and_gmime(env, tmp_path):
    assert MIME_CHECK and os.access(MIME_CHECK, os.X_OK), 'DUNNING_MIME_CHECK not built'
    portfolio(env)
    events = {
        '2026-03-10': approve_held(env, at('2026-03-10', '08:00')),
        '2026-03-16': lambda: env.sql("SELECT dunning.flag_dispute('F-2026-0108', "
                                      "'conteste le temps passé')",
                                      now=at('2026-03-16', '08:00')),
        '2026-03-18': lambda: env.pay('F-2026-0109', '600.00', at('2026-03-18', '08:00')),
        '2026-03-24': approve_held(env, at('2026-03-24', '08:00')),
        '2026-04-07': approve_held(env, at('2026-04-07', '08:00')),
        '2026-04-14': approve_held(env, at('2026-04-14', '08:00')),
    }
    env.replay('2026-03-02', '2026-04-30', events=events, weekends=False)

    mails = env.all_mails()
    client = [m for m in mails if not m.internal]
    lawyer = [m for m in mails if m.internal]
    stages = {env.stage_of(m.message_id)[0] for m in client}
    assert stages == {'j3', 'j10', 'j30'}, stages
    assert len(client) >= 3 * len(ODD_NAMES) + 15, len(client)
    assert any('.alert.' in m.message_id for m in lawyer)
    assert any('.digest.' in m.message_id for m in lawyer)
    kinds = {m.msg.get_content_type() for m in mails}
    assert {'multipart/alternative', 'multipart/mixed', 'text/plain'} <= kinds, kinds
    assert any(m.msg['Content-Language'] == 'en' or 'Dear' in m.body for m in client)
    ids = [m.message_id for m in mails]
    assert len(ids) == len(set(ids)), 'a Message-ID arrived twice'

    # Python's email package, policy default.
    for m in mails:
        assert m.raw.isascii(), m
        assert all(len(line) <= 78 for line in m.raw.split('\r\n')), m
        assert not m.msg.defects, (m, m.msg.defects)
        for name, value in m.msg.items():
            assert not getattr(value, 'defects', ()), (m, name, value.defects)
        for part in m.msg.walk():
            assert not part.defects, (m, part.get_content_type(), part.defects)
            if part.get_content_maintype() == 'text':
                part.get_content()          # decodes, or raises

    # GMime, on the very bytes the relay received.
    gmime_check(tmp_path, mails)


def test_mime_check_reports_what_gmime_objects_to(tmp_path):
    """The checker is not blind: a repeated or conflicting Subject, a raw
    8-bit header, a broken encoded word and a multipart without boundary
    are each reported, and a clean message is not."""
    assert MIME_CHECK and os.access(MIME_CHECK, os.X_OK), 'DUNNING_MIME_CHECK not built'
    head = ('From: a@example.org\r\nTo: b@example.org\r\nDate: Mon, 2 Mar 2026 10:00:00 +0100\r\n'
            'Message-ID: <x@example.org>\r\nMIME-Version: 1.0\r\n')
    text = 'Content-Type: text/plain; charset=utf-8\r\n\r\nbonjour\r\n'
    cases = {
        'clean': (head + 'Subject: ok\r\n' + text, None),
        'dup': (head + 'Subject: a\r\nSubject: a\r\n' + text, 'duplicated header'),
        'conflict': (head + 'Subject: a\r\nSubject: b\r\n' + text, 'conflicting header'),
        '8bit': (head + 'Subject: r\u00e9sum\u00e9\r\n' + text, '8-bit byte in header: Subject'),
        'rfc2047': (head + 'Subject: =?utf-8?q?a b?=\r\n' + text,
                    'invalid RFC 2047 header value'),
        'boundary': (head + 'Subject: m\r\nContent-Type: multipart/mixed\r\n\r\nx\r\n',
                     'multipart without boundary'),
    }
    for name, (data, want) in cases.items():
        p = tmp_path / (name + '.eml')
        p.write_bytes(data.encode('utf-8'))
        r = subprocess.run([MIME_CHECK, str(p)], stdout=subprocess.PIPE, text=True,
                           timeout=30)
        if name == 'clean':
            assert r.returncode == 0 and r.stdout.endswith(' parts\n'), r.stdout
        else:
            assert r.returncode == 1 and want in r.stdout, (name, r.stdout)
