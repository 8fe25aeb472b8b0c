"""MIME (SPEC §3.5, issue 5 item 6): the real daemon and the SMTP recorder.

Odd data in the client's name or the invoice number never breaks a header
or adds one; every message parses in Python's email package (policy
default) without defects; the HTML part rides as multipart/alternative;
an invoice's PDF rides as multipart/mixed (attachments switched on), and a
missing or oversized one fails that reminder with its reason, nothing sent
(more in test_attachments.py)."""
import email.policy
import os
import re

from harness import at

# The headers a client's message carries, and nothing else.
HEADERS = {'from', 'to', 'reply-to', 'subject', 'date', 'message-id', 'mime-version',
           'content-type', 'auto-submitted'}


def pdf_bytes(tag, size=2000):
    """A small PDF-looking file (the daemon does not read inside)."""
    body = (b'%PDF-1.4\n% ' + tag.encode() + b'\n' + bytes(range(256)) * (size // 256 + 1))
    return body[:size] + b'\n%%EOF\n'


def attach_pdfs(env):
    """Switch attachments on, from env.workdir (SPEC rule 9: off by default,
    only files inside attachments.dir)."""
    env.write_config(extra_conf=env.extra_conf + 'attachments { dir = "%s" '
                     'attach_invoice_pdf = true }\n' % env.workdir)


def write_pdf(env, name, data):
    path = os.path.join(env.workdir, name)
    with open(path, 'wb') as f:
        f.write(data)
    return path


def decoded_rfc2047(m, name):
    """Header NAME of M decoded as RFC 2047 says (whitespace between
    adjacent encoded words dropped), with email.header."""
    from email.header import decode_header, make_header
    raw = re.search(r'(?im)^%s:(.*(?:\r?\n[ \t].*)*)' % name, m.raw).group(1)
    return str(make_header(decode_header(re.sub(r'\r?\n', '', raw)))).strip()


def assert_clean(m, to_addr, reply_addr='alice.martin@cabinet.example'):
    """No defect, no header but ours, each once, lines of at most 78."""
    raw = m.raw
    head = re.split(r'\r?\n\r?\n', raw, maxsplit=1)[0]
    assert all(ord(ch) < 128 for ch in head), head
    for line in re.split(r'\r?\n', raw):
        assert len(line) <= 78, line
    assert not m.msg.defects, m.msg.defects
    names = [k.lower() for k in m.msg.keys()]
    assert set(names) == HEADERS, names
    assert len(names) == len(set(names)), names
    for h in ('From', 'To', 'Reply-To', 'Subject'):
        assert not m.msg[h].defects, (h, m.msg[h].defects)
    (to,) = m.msg['To'].addresses
    assert to.addr_spec == to_addr
    (rt,) = m.msg['Reply-To'].addresses
    assert rt.addr_spec == reply_addr
    assert m.msg['Auto-Submitted'] == 'auto-generated'
    assert m.envelope_rcpt == [to_addr]
    for part in m.msg.walk():
        assert not part.defects, (part.get_content_type(), part.defects)
    return to


ODD_NAMES = [
    'Dupont, "Le Grand" & Fils',                       # quotes and a comma
    'Société Générale d\'Études Économiques Ærø',       # non-ASCII
    '=?utf-8?q?Bcc=3A_victime=40evil=2Eexample?=',     # an encoded-word lookalike
    '=?utf-8?b?QmNjOiB2aWN0aW1lQGV2aWwuZXhhbXBsZQ==?= SARL',
    'ACME <victime@evil.example>',                      # an address in the name
    'Cabinet; Bcc: victime@evil.example',
    'Très ' + 'Longue Raison Sociale ' * 14,            # about 300 characters, words
    'X' * 300,                                          # 300 characters, one word
    'É' * 150,                                          # 300 bytes of UTF-8... twice over
    'back\\slash (commentaire) [crochets]',
    # Issue 17: about 1.2 KB of 19-letter words once failed to compose
    # (the encoded words of a header outgrew their buffer).
    ' '.join(['Dupontmartinbernard'] * 60),
    ' '.join(['Lefèvrégaëlleçàéîôû'] * 40),               # 19 letters, 30 bytes
]


def test_odd_names_parse_without_defects_and_inject_nothing(env):
    """Each odd company name: the message leaves, parses without defect,
    carries only our headers, the name round-trips exactly in To, and no
    line of the encoded form is longer than 78 characters."""
    for i, name in enumerate(ODD_NAMES):
        c = env.client('odd%d@client.example' % i, company=name)
        env.invoice('F-50%02d' % i, c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    mails = {m.rcpt: m for m in env.mails()}
    assert len(mails) == len(ODD_NAMES), sorted(mails)
    for i, name in enumerate(ODD_NAMES):
        m = mails['odd%d@client.example' % i]
        to = assert_clean(m, 'odd%d@client.example' % i)
        # A name of several encoded words: Python's phrase parser keeps a
        # space between adjacent words (RFC 2047 §6.2 says drop it), so
        # compare without spaces; decoded as the RFC says, it is exact.
        if len(name.encode()) <= 39:
            assert to.display_name == name, (to.display_name, name)
        assert ''.join(to.display_name.split()) == ''.join(name.split()), to.display_name
        if decoded_rfc2047(m, 'To').startswith('=?') or '=?' in name or not name.isascii():
            assert decoded_rfc2047(m, 'To') == name + ' <odd%d@client.example>' % i
        assert 'evil.example' not in str(m.msg['To']).replace(name, '')
        assert m.subject == "Rappel\u00a0: note d'honoraires n°\u00a0F-50%02d arrivée à échéance" % i
    for r in env.reminders():
        assert r['state'] == 'sent', r


def test_odd_invoice_numbers_in_subject(env):
    """The invoice number reaches the Subject: lookalikes of encoded words,
    non-ASCII and a long number are encoded, folded and round-trip."""
    numbers = ['=?utf-8?q?x=0D=0ABcc:_a@evil.example?=', 'FAC-2026/ÉTÉ-001',
               'N' * 120, 'F "quoted", comma; semi',
               ' '.join(['Abcdefghijklmnopqrs'] * 60)]     # issue 17: 1.2 KB of words
    for i, n in enumerate(numbers):
        c = env.client('num%d@client.example' % i)
        env.invoice(n, c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    mails = {m.rcpt: m for m in env.mails()}
    assert len(mails) == len(numbers)
    for i, n in enumerate(numbers):
        m = mails['num%d@client.example' % i]
        assert_clean(m, 'num%d@client.example' % i)
        assert m.subject == "Rappel\u00a0: note d'honoraires n°\u00a0%s arrivée à échéance" % n


def test_control_characters_in_names_fail_alone(env):
    """CR, LF, TAB, ESC, BEL, DEL in a name: never a header of its own nor
    a mangled one; that reminder fails with the reason (audited), the
    others leave."""
    bad = ['ACME\r\nBcc: victime@evil.example', 'ACME\nX-Injected: oui', 'ACME\rX: y',
           'Tab\tSARL', 'Esc\x1b[31mSARL', 'Bell\x07SARL', 'Del\x7fSARL']
    for i, name in enumerate(bad):
        c = env.client('ctl%d@client.example' % i, company=name)
        env.invoice('F-51%02d' % i, c, '2026-03-02')
    ok = env.client('propre@client.example', company='Propre SA')
    env.invoice('F-5199', ok, '2026-03-02')
    r = env.cycle(at('2026-03-05'))
    assert r.returncode == 0
    mails = env.mails()
    assert [m.rcpt for m in mails] == ['propre@client.example']
    assert_clean(mails[0], 'propre@client.example')
    for m in env.all_mails():     # the lawyers' alerts quote the name in their text
        head = re.split(r'\r?\n\r?\n', m.raw, maxsplit=1)[0]
        assert 'evil.example' not in head and 'X-Injected' not in head
        assert 'x-injected' not in [k.lower() for k in m.msg.keys()]
    for i in range(len(bad)):
        rem = env.reminders('F-51%02d' % i)['j3']
        assert rem['state'] == 'failed' and rem['reason'] == 'control_in_name', rem
        assert len(env.audit('failed', 'F-51%02d' % i)) == 1


def test_individual_non_ascii_name_and_lawyer_reply_to(env):
    """An individual with accents and an apostrophe: To round-trips, the
    Reply-To is the responsible lawyer."""
    lw = env.lawyer("Maître Zoé d'Aubigné", 'zoe.daubigne@cabinet.example')
    c = env.client('noemie@client.example', kind='individual', first='Noémie',
                   last="O'Connor-Ørsted", lawyer=lw)
    env.invoice('F-5200', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    (m,) = env.mails()
    to = assert_clean(m, 'noemie@client.example', 'zoe.daubigne@cabinet.example')
    assert to.display_name == "Noémie O'Connor-Ørsted"


def test_html_alternative_for_j3_j10_j30(env):
    """j3, j10 and j30 are multipart/alternative: the text first, then
    simple HTML with the same figures, values HTML-escaped there and only
    there."""
    c = env.client('html@client.example', company='Dupuis & Fils <SARL>')
    env.invoice('F-5300', c, '2026-03-02', amount='1234.56', matter_ref='D-<b>&1')
    env.replay('2026-03-05', '2026-04-03')
    mails = env.mails()
    assert len(mails) == 3, mails
    for m in mails:
        assert_clean(m, 'html@client.example')
        assert m.msg.get_content_type() == 'multipart/alternative'
        plain, html = list(m.msg.iter_parts())
        assert plain.get_content_type() == 'text/plain'
        assert html.get_content_type() == 'text/html'
        assert plain.get_content_charset() == html.get_content_charset() == 'utf-8'
        text, markup = plain.get_content(), html.get_content()
        assert 'D-<b>&1' in text and 'D-&lt;b&gt;&amp;1' not in text
        assert 'D-&lt;b&gt;&amp;1' in markup and 'D-<b>&1' not in markup
        assert '<img' not in markup.lower() and 'style=' in markup
        assert '1\u202f234,56\u00a0€' in markup or '1 234,56' in re.sub(r'\s', ' ', markup)
        assert 'F-5300' in markup and 'Cabinet Test' in markup


def test_pdf_attached_as_mixed(env):
    """An invoice naming a PDF: multipart/mixed, the alternative first,
    then application/pdf in base64, named after the invoice number, the
    bytes equal to the file."""
    attach_pdfs(env)
    data = pdf_bytes('F-5400', 50000)
    path = write_pdf(env, 'F-5400.pdf', data)
    c = env.client('pdf@client.example')
    env.invoice('F-5400', c, '2026-03-02', pdf_path=path)
    env.cycle(at('2026-03-05'))
    (m,) = env.mails()
    assert_clean(m, 'pdf@client.example')
    assert m.msg.get_content_type() == 'multipart/mixed'
    body, att = list(m.msg.iter_parts())
    assert body.get_content_type() == 'multipart/alternative'
    assert att.get_content_type() == 'application/pdf'
    assert att.get_content_disposition() == 'attachment'
    assert att.get_filename() == 'F-5400.pdf'
    assert att['Content-Transfer-Encoding'].lower() == 'base64'
    assert att.get_content() == data
    assert env.reminders('F-5400')['j3']['state'] == 'sent'
    # The text still reads as before.
    assert 'F-5400' in m.body


def test_two_invoices_two_pdfs_one_mail(env):
    """A group of two invoices each with its PDF: one mail, two
    attachments, each named after its invoice; an odd number is made a
    safe file name."""
    attach_pdfs(env)
    a, b = pdf_bytes('A', 3000), pdf_bytes('B', 4000)
    c = env.client('deux@client.example')
    env.invoice('F-5500', c, '2026-03-02', pdf_path=write_pdf(env, 'a.pdf', a))
    env.invoice('F/5501', c, '2026-03-02', pdf_path=write_pdf(env, 'b.pdf', b))
    env.cycle(at('2026-03-05'))
    (m,) = env.mails()
    assert_clean(m, 'deux@client.example')
    atts = {p.get_filename(): p.get_content() for p in m.msg.iter_attachments()}
    assert atts == {'F-5500.pdf': a, 'F_5501.pdf': b}


def test_missing_pdf_fails_that_reminder_nothing_sent(env):
    """A pdf_path that does not exist, or is a directory, or too large:
    that reminder fails with the reason (audited), nothing leaves for it,
    never a mail without its attachment; the others are sent."""
    attach_pdfs(env)
    big = os.path.join(env.workdir, 'big.pdf')
    with open(big, 'wb') as f:
        f.truncate(10 * 1024 * 1024 + 1)
    folder = os.path.join(env.workdir, 'folder.pdf')
    os.mkdir(folder)
    cases = {'F-5600': os.path.join(env.workdir, 'absent.pdf'),
             'F-5601': folder,
             'F-5602': big}
    for i, (number, path) in enumerate(cases.items()):
        c = env.client('manque%d@client.example' % i)
        env.invoice(number, c, '2026-03-02', pdf_path=path)
    ok = env.client('ok@client.example')
    env.invoice('F-5699', ok, '2026-03-02')
    r = env.cycle(at('2026-03-05'))
    assert r.returncode == 0
    assert [m.rcpt for m in env.mails()] == ['ok@client.example']
    reasons = {}
    for number, path in cases.items():
        rem = env.reminders(number)['j3']
        assert rem['state'] == 'failed', rem
        assert rem['reason'] == 'attachment_refused', rem
        assert 'attachment' in rem['last_error'] and path in rem['last_error'], rem
        (aud,) = env.audit('failed', number)
        assert path in aud['details']['detail']
        reasons[number] = rem['last_error']
    assert 'No such file' in reasons['F-5600']
    assert 'not a regular file' in reasons['F-5601']
    assert 'more than' in reasons['F-5602']
    # Not retried blindly the next days.
    env.replay('2026-03-06', '2026-03-09')
    assert [m.rcpt for m in env.mails()] == ['ok@client.example']
    env.verify_audit()


def test_letter_has_no_html(env):
    """j45 is a letter: no HTML template, no mail."""
    from harness import TEMPLATES
    assert not os.path.exists(os.path.join(TEMPLATES, 'fr', 'j45.html'))
    for s in ('j03', 'j10', 'j30'):
        assert os.path.exists(os.path.join(TEMPLATES, 'fr', s + '.html'))


def test_parses_under_default_policy_from_bytes(env):
    """The raw bytes as the relay got them parse with BytesParser too."""
    attach_pdfs(env)
    c = env.client('bytes@client.example', company='Ünïcödé, "SA"')
    env.invoice('F-5700', c, '2026-03-02',
                pdf_path=write_pdf(env, 'x.pdf', pdf_bytes('x', 1000)))
    env.cycle(at('2026-03-05'))
    (m,) = env.mails()
    msg = email.message_from_bytes(m.raw.encode('ascii'), policy=email.policy.default)
    assert not msg.defects
    assert msg['To'].addresses[0].display_name == 'Ünïcödé, "SA"'


def test_lawyer_email_list_never_becomes_reply_to_list(env):
    """A lawyer's e-mail that is not one plain address (a list, a name and
    an address) is never parsed into Reply-To: the firm's address is."""
    lw = env.lawyer('Maître Liste', 'a@cabinet.example, victime@evil.example')
    c = env.client('rt2@client.example', lawyer=lw)
    env.invoice('F-5800', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    (m,) = env.mails()
    assert_clean(m, 'rt2@client.example', 'relances@cabinet.example')
    assert 'evil.example' not in re.split(r'\r?\n\r?\n', m.raw, maxsplit=1)[0]
