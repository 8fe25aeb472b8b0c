"""Issue 18 findings 5, 9 and 10: the texts a partner signs.

French typography on every French text the daemon writes (finding 10):
the subject, the text and the HTML of the client's mail and the lawyers'
alert carry a no-break space (U+00A0, the formal notice's convention)
before ":" and after "n°" — still valid MIME (encoded words, checked by
Python and GMime) — while URLs, addresses and times are left alone and an
English text gets none.  j03 speaks of one or several notes d'honoraires
as the context says; j10 says « Deuxième rappel » and « vous est
difficile »; both close with « l'assurance de nos sentiments dévoués ».
The lawyers are never offered « action en justice » for fees (finding
5).  « jointe » / "attached" only when the PDFs go with the message
(finding 9)."""
import os
import re

from harness import at
from test_month import gmime_check

NBSP = '\u00a0'


def clean_mime(m):
    """Python's email package, policy default: no defect anywhere."""
    assert m.raw.isascii(), m
    assert all(len(line) <= 78 for line in m.raw.split('\r\n')), m
    assert not m.msg.defects, m.msg.defects
    for name, value in m.msg.items():
        assert not getattr(value, 'defects', ()), (name, value.defects)


def html_of(m):
    part = m.msg.get_body(preferencelist=('html',))
    return part.get_content() if part is not None else ''


def test_french_subject_text_and_html_have_no_break_spaces(env, tmp_path):
    """One invoice of a French client (payment link with a query), one of an
    English client: the French subject is « Rappel : note d'honoraires n°
    F-… » with U+00A0 before the colon and after n°, decoded from valid
    encoded words; the text and HTML likewise; the URL and the lawyer's
    address unchanged; the English mail has no U+00A0 before its colons."""
    fr = env.client('compta@typo.example', company='Typo : Conseil SARL')
    en = env.client('english@typo.example', company='Smith Ltd', language='en')
    env.invoice('F-1801', fr, '2026-03-02', payment_url='https://pay.example/p?id=1801&t=10:30')
    env.invoice('F-1802', en, '2026-03-02')
    env.cycle(at('2026-03-05'))
    mails = {m.rcpt: m for m in env.mails()}
    m = mails['compta@typo.example']
    assert m.subject == ('Rappel' + NBSP + ": note d'honoraires n°" + NBSP +
                         'F-1801 arrivée à échéance'), repr(m.subject)
    assert "n'a pas encore été réglée" + NBSP + ':\n' in m.body, m.body
    assert "note d'honoraires n°" + NBSP + 'F-1801' in m.body
    assert 'https://pay.example/p?id=1801&t=10:30' in m.body        # untouched
    assert ' :' not in m.body and ' ;' not in m.body, m.body
    html = html_of(m)
    assert 'réglée&nbsp;:' in html or 'réglée' + NBSP + ':' in html
    assert 'href="https://pay.example/p?id=1801&amp;t=10:30"' in html, html
    assert ' :' not in html, html
    e = mails['english@typo.example']
    assert e.subject == 'Reminder: invoice no. F-1802 now due'
    assert NBSP + ':' not in e.body and NBSP + ':' not in e.subject
    for x in (m, e):
        clean_mime(x)
    gmime_check(tmp_path, [m, e])


def test_french_lawyer_alert_has_no_break_spaces(env, tmp_path):
    """The lawyers' alerts (French firm): « Dossier à surveiller : facture
    n° … » with U+00A0, and a subject holding a client named « Typo » :
    Conseil (guillemets and a colon from the data): no-break spaces inside
    the guillemets and before the colons, in valid encoded words (Python
    and GMime); the texts too."""
    c = env.client('compta@alerte.example', company='Alerte SARL')
    env.invoice('F-1811', c, '2026-03-02')
    g = env.client('compta@guillemets.example', company='« Typo » : Conseil')
    env.invoice('F-1812', g, '2026-03-02')
    env.invoice('F-1813', g, '2026-03-02')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01'])
    alerts = {m.subject: m for m in env.lawyer_mails() if m.subject.startswith('Dossier')}
    one = 'Dossier à surveiller' + NBSP + ': facture n°' + NBSP + 'F-1811'
    two = ('Dossier à surveiller' + NBSP + ': 2 factures de «' + NBSP + 'Typo' + NBSP + '»' +
           NBSP + ': Conseil')
    assert set(alerts) == {one, two}, [repr(x) for x in alerts]
    for a in alerts.values():
        assert ' :' not in a.body and 'n° ' not in a.body and '« ' not in a.body, a.body
        clean_mime(a)
    head = alerts[two].raw.split('\r\n\r\n')[0]
    assert re.search(r'^Subject: .*=\?', head, re.M | re.I), head
    gmime_check(tmp_path, list(alerts.values()))


def test_j03_and_j10_speak_of_several_invoices_in_the_plural(env):
    """j03 for two invoices: « Si ces notes d'honoraires soulèvent une
    difficulté »; for one: « Si cette note d'honoraires soulève une
    difficulté ».  j10: « Deuxième rappel », « vous est difficile »; both
    close with « l'assurance de nos sentiments dévoués »."""
    two = env.client('deux@pluriel.example', company='Deux SARL')
    one = env.client('une@pluriel.example', company='Une SARL')
    env.invoice('F-1821', two, '2026-03-02')
    env.invoice('F-1822', two, '2026-03-02')
    env.invoice('F-1823', one, '2026-03-02')
    env.cycle(at('2026-03-05'))
    j03 = {m.rcpt: m for m in env.new_mails()}
    assert "Si ces notes d'honoraires soulèvent une difficulté," in j03['deux@pluriel.example'].text
    assert 'Si cette facture' not in j03['deux@pluriel.example'].text
    assert "Si cette note d'honoraires soulève une difficulté," in j03['une@pluriel.example'].text
    assert 'soulèvent' in html_of(j03['deux@pluriel.example'])
    env.cycle(at('2026-03-12'))
    j10 = {m.rcpt: m for m in env.new_mails()}
    m = j10['deux@pluriel.example']
    assert m.subject.startswith('Deuxième rappel' + NBSP + ':'), m.subject
    assert 'Second rappel' not in m.subject
    assert 'Si un règlement en une seule fois vous est difficile' in m.text
    assert 'pose problème' not in m.text
    for x in list(j03.values()) + list(j10.values()):
        assert ("Nous vous prions d'agréer, Madame, Monsieur, l'assurance de nos sentiments "
                "dévoués.") in x.text, x.text
        assert 'salutations distinguées' not in x.text


def test_no_attached_mention_unless_the_pdfs_go_with_the_message(env):
    """Attachments off (the default): no « jointe » / « ci-joint » in j03
    or j10, French or English, though the invoice names a PDF.  On: the
    message carries the PDF and says so."""
    pdf = os.path.join(env.workdir, 'f.pdf')
    with open(pdf, 'wb') as f:
        f.write(b'%PDF-1.4\n%%EOF\n')
    fr = env.client('sans@pj.example', company='Sans SARL')
    en = env.client('without@pj.example', company='Without Ltd', language='en')
    env.invoice('F-1831', fr, '2026-03-02', pdf_path=pdf)
    env.invoice('F-1832', en, '2026-03-02', pdf_path=pdf)
    env.cycle(at('2026-03-05'))
    env.cycle(at('2026-03-12'))
    sent = env.new_mails()
    assert len(sent) == 4
    for m in sent:
        assert m.msg.get_content_type() == 'multipart/alternative'
        for word in ('joint', 'attached', 'pièce'):
            assert word not in m.text.lower() and word not in html_of(m).lower(), (word, m)

    env.write_config(extra_conf=env.extra_conf + 'attachments { dir = "%s" '
                     'attach_invoice_pdf = true }\n' % env.workdir)
    c = env.client('avec@pj.example', company='Avec SARL')
    env.invoice('F-1833', c, '2026-03-02', pdf_path=pdf)
    env.invoice('F-1834', c, '2026-03-02', pdf_path=pdf)
    w = env.client('with@pj.example', company='With Ltd', language='en')
    env.invoice('F-1835', w, '2026-03-02', pdf_path=pdf)
    env.cycle(at('2026-03-05'))
    got = {m.rcpt: m for m in env.new_mails()}
    m = got['avec@pj.example']
    assert m.msg.get_content_type() == 'multipart/mixed'
    assert "Une copie de ces notes d'honoraires est jointe à ce message." in m.text, m.text
    assert 'est jointe à ce message' in html_of(m)
    assert 'A copy of this invoice is attached to this message.' in got['with@pj.example'].text


def test_lawyers_are_not_offered_legal_action_for_fees(make_env):
    """Finding 5: the escalation alert and the digest (French and English
    firm) name the bâtonnier's procedure as the only route (art. 174), an
    amicable settlement beside it, never « action en justice »."""
    for lang, said, banned in (
            ('fr', 'seule voie ouverte', 'action en justice'),
            ('en', 'the only route', 'legal action')):
        env = make_env(firm_conf='  language = "%s"\n' % lang)
        c = env.client('compta@fin.example', company='Fin SARL')
        env.invoice('F-1841', c, '2026-03-02')
        # j45 waits for approval: approve it, then let the file run out.
        env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01', '2026-04-16'])
        rid = env.reminders('F-1841')['j45']['id']
        env.sql('SELECT dunning.approve(%s)', (rid,), now=at('2026-04-16', '17:00'))
        env.replay_on(['2026-04-17', '2026-05-04', '2026-05-05'])
        texts = [m.text for m in env.lawyer_mails()]
        ends = [t for t in texts if ('Fin des relances' in t or 'sortis des relances' in t or
                                     'Automatic reminders have ended' in t or
                                     'out of automatic reminders' in t)]
        assert ends, [m.subject for m in env.lawyer_mails()]
        for t in ends:
            assert said in t and '174' in t, t
        for t in texts:
            assert banned not in t, t
