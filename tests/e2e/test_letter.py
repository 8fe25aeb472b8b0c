"""The formal notice (J+45) as a printable PDF in the spool: the real
daemon (--once, --now) drives invoices to an approved j45, then the PDF is
turned back into text with poppler's pdftotext and checked: the page size,
the letterhead, the address where a DL window envelope shows it, the date,
every invoice with its balance, the legal wording, the signature, pages
and page numbers, and data that could break a document."""
import os
import re
import stat
import subprocess

from harness import at, pdf_text, pdf_words

MM = 72 / 25.4          # points per millimetre

# The escalation of an invoice due on 2026-03-02: j3, j10, j30 leave on
# these days (business days, min_gap_days apart); j45 is held on
# 2026-04-16, approved, and written on 2026-04-17.
ESCALATION = ['2026-03-05', '2026-03-12', '2026-04-01', '2026-04-16']
LETTER_DAY = '2026-04-17'


def formal_notices(env, numbers):
    """Run the escalation of NUMBERS up to their held j45, approve each,
    run the next cycle; the spool's new files, name -> path."""
    env.replay_on(ESCALATION)
    for n in numbers:
        j45 = env.reminders(n)['j45']
        assert j45['state'] == 'held', (n, j45)
        env.sql('SELECT dunning.approve(%s)', (j45['id'],), now=at('2026-04-16', '17:00'))
    env.replay_on([LETTER_DAY])
    return {name: os.path.join(env.spool, name) for name in os.listdir(env.spool)}


def pdfinfo(path):
    """pdfinfo's fields: {'Pages': '1', 'Page size': '595.276 x 841.89 pts (A4)', ...}."""
    r = subprocess.run(['pdfinfo', path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(':')
        out[k.strip()] = v.strip()
    return out


def assert_a4_pdf(path):
    with open(path, 'rb') as f:
        assert f.read(5) == b'%PDF-'
    info = pdfinfo(path)
    w, h = (float(x) for x in re.match(r'([\d.]+) x ([\d.]+) pts', info['Page size']).groups())
    assert (round(w), round(h)) == (595, 842), info['Page size']
    return int(info['Pages'])


def words_at(path):
    """[(word, xmin_mm, ymin_mm)] of page 1, by pdftotext -bbox."""
    html = pdf_text(path, '-bbox', '-f', '1', '-l', '1')
    return [(w, float(x) / MM, float(y) / MM) for x, y, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', html)]


def assert_in_window(path, first_word, last_word):
    """The recipient block, from FIRST_WORD (its name) to LAST_WORD, sits
    where a French DL window envelope shows it: from 100-110 mm from the
    left, its first line 45-55 mm from the top, its last above 95 mm."""
    ws = words_at(path)
    first = [w for w in ws if w[0] == first_word]
    last = [w for w in ws if w[0] == last_word]
    assert first and last, (first_word, last_word, ws[:40])
    _, x, y = first[0]
    assert 100 <= x <= 110 and 45 <= y <= 55, (first_word, x, y)
    _, x2, y2 = last[0]
    assert 100 <= x2 <= 110 and y < y2 < 95, (last_word, x2, y2)


def test_letters_individual_and_professional(env):
    """An individual (one invoice, partly paid) and a professional (two
    invoices, one partly paid, in one letter): each gets one A4 PDF with
    the firm's letterhead, the address in the envelope's window, the date
    in French, every invoice and balance, the total, the legal wording and
    the signature."""
    ind = env.client('paul@client.example', kind='individual', first='Paul', last='Lefèvre',
                     address_line1='12 avenue des Tilleuls', address_line2='Bâtiment B',
                     postal_code='69003', city='Lyon')
    pro = env.client('compta@dupuis.example', company='Dupuis & Fils SARL', first='Marie',
                     last='Dupuis', address_line1='3 quai des Chartrons', postal_code='33000',
                     city='Bordeaux')
    env.invoice('F-601', ind, '2026-03-02', amount='1500.00', issued_on='2026-01-15')
    env.invoice('F-611', pro, '2026-03-02', amount='2345.67', issued_on='2026-01-31')
    env.invoice('F-612', pro, '2026-03-02', amount='980.00', issued_on='2026-01-31')
    env.pay('F-601', '300.00', at('2026-03-02', '09:00'))
    env.pay('F-612', '80.00', at('2026-03-02', '09:00'))

    files = formal_notices(env, ['F-601', 'F-611', 'F-612'])
    assert len(files) == 2, files                                # one letter per client
    for name in files:
        assert re.fullmatch(r'2026-04-17-j45-\d+\.pdf', name), name
    assert stat.S_IMODE(os.stat(env.spool).st_mode) == 0o750
    for path in files.values():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert len(env.mails()) == 6                                 # j3, j10, j30 each

    def letter_of(number):
        """The letter of NUMBER, by the path its reminder and its 'sent' audit
        row name (the contract of the lawyer's alert)."""
        rem = env.reminders(number)['j45']
        assert rem['state'] == 'sent'
        path = rem['letter_path']
        assert env.audit('sent', number)[-1]['details']['letter'] == path
        assert path in files.values(), path
        # one or two pages: the legal sentences of SPEC §2.1 (issue 18)
        assert assert_a4_pdf(path) in (1, 2)
        return path, re.sub(r' page \d+/\d+', '', pdf_words(path))

    common = [
        'Cabinet Test', '1 rue de la Paix, 75002 Paris', 'Tél. 01 23 45 67 89',
        'Le 17 avril 2026',
        "LETTRE RECOMMANDÉE AVEC DEMANDE D'AVIS DE RÉCEPTION",
        'Madame, Monsieur,',
        'dans un délai de huit jours à compter de la première présentation de la '
        'présente lettre recommandée',
        # no fee agreement: only the legal rate from the notice (SPEC §2.1)
        "intérêt au taux légal à compter de la date de la présente mise en demeure "
        "(articles 1231-6 et 1344-1 du Code civil)",
        "le bâtonnier de l'Ordre des avocats",
        'articles 174 et suivants du décret n° 91-1197 du 27 novembre 1991',
        "La présente lettre vaut mise en demeure au sens de l'article 1344 du Code civil.",
    ]

    path, t = letter_of('F-601')
    for phrase in common + [
            'Paul Lefèvre 12 avenue des Tilleuls Bâtiment B 69003 Lyon',
            "Objet : mise en demeure de payer – note d'honoraires n° F-601",
            "– note d'honoraires n° F-601 (votre dossier D-F-601), émise le 15 janvier 2026, "
            "échue le 2 mars 2026, d'un montant de 1 500,00 € : reste dû 1 200,00 €",
            'Montant total restant dû en principal : 1 200,00 €',
            'vous mettons en demeure de nous régler la somme de 1 200,00 €']:
        assert phrase in t, (phrase, t)
    assert 'indemnité forfaitaire' not in t                     # an individual
    assert t.endswith('Maître Alice Martin Cabinet Test'), t[-200:]
    assert_in_window(path, 'Paul', '69003')

    path, t = letter_of('F-611')
    for phrase in common + [
            "Dupuis & Fils SARL À l'attention de Marie Dupuis 3 quai des Chartrons 33000 Bordeaux",
            "Objet : mise en demeure de payer – 2 notes d'honoraires",
            "– note d'honoraires n° F-611 (votre dossier D-F-611), émise le 31 janvier 2026, "
            "échue le 2 mars 2026, d'un montant de 2 345,67 € : reste dû 2 345,67 €",
            "– note d'honoraires n° F-612 (votre dossier D-F-612), émise le 31 janvier 2026, "
            "échue le 2 mars 2026, d'un montant de 980,00 € : reste dû 900,00 €",
            'Montant total restant dû en principal : 3 245,67 €',
            'vous mettons en demeure de nous régler la somme de 3 245,67 €',
            "articles L. 441-10 et D. 441-5 du Code de commerce, tout retard de paiement "
            "entre professionnels rend de plein droit exigible une indemnité forfaitaire "
            "pour frais de recouvrement de 40,00 € par note d'honoraires, soit 80,00 €"]:
        assert phrase in t, (phrase, t)
    assert 'Paul' not in t and 'F-601' not in t
    assert t.endswith('Maître Alice Martin Cabinet Test'), t[-200:]
    assert_in_window(path, 'Dupuis', '33000')

    assert letter_of('F-612')[0] == path                        # one letter, both invoices
    assert [n for n in os.listdir(env.spool) if n.startswith('.')] == []   # no temporary left
    env.verify_audit()


def test_long_letter_flows_onto_numbered_pages(env):
    """Forty invoices of one client: one letter over several pages, each
    numbered "page N/M", every invoice listed, the signature last."""
    c = env.client('gros@client.example', company='Grand Compte SA')
    numbers = ['G-%03d' % i for i in range(1, 41)]
    for n in numbers:
        env.invoice(n, c, '2026-03-02', amount='100.00')
    files = formal_notices(env, numbers)
    (path,) = files.values()
    pages = assert_a4_pdf(path)
    assert pages >= 2
    layout = pdf_text(path, '-layout').rstrip('\f').split('\f')
    assert len(layout) == pages
    for i, page in enumerate(layout, 1):
        assert page.rstrip().endswith('page %d/%d' % (i, pages)), page[-200:]
    t = pdf_words(path)
    for n in numbers:
        assert "n° %s (votre dossier D-%s)" % (n, n) in t, n
    assert 'Montant total restant dû en principal : 4 000,00 €' in t
    assert 'Maître Alice Martin' in layout[-1] and 'Maître Alice Martin' not in layout[0]
    assert 'Cabinet Test' in layout[0] and 'Grand Compte SA' in layout[0]
    assert "LETTRE RECOMMANDÉE" not in ''.join(layout[1:])   # page 1 only


def test_markup_and_odd_characters_print_as_written(env):
    """Names and addresses are text, never markup: '<b>&' and entities
    print as written; a bidirectional override cannot reorder the
    address."""
    c = env.client('hostile@client.example', company='Dupont <b>& Fils</b> &amp; Cie',
                   address_line1="4 rue <i>de</i> l'Église & <span>",
                   address_line2='\u202eBâtiment Z', postal_code='75011', city='Paris')
    env.invoice('H-1', c, '2026-03-02', amount='450.00', matter_ref='<script>&lt;')
    (path,) = formal_notices(env, ['H-1']).values()
    assert assert_a4_pdf(path) in (1, 2)             # SPEC §2.1's sentences (issue 18)
    t = pdf_words(path)
    assert ("Dupont <b>& Fils</b> &amp; Cie 4 rue <i>de</i> l'Église & <span> Bâtiment Z "
            "75011 Paris") in t, t
    assert '(votre dossier <script>&lt;)' in t
    assert 'reste dû 450,00 €' in t


def test_line_break_in_a_name_fails_the_letter_cleanly(env):
    """A name with CR/LF is refused before any letter is made (the same
    check as for e-mails): the reminder is failed with the reason, and no
    file, not even a temporary one, is left in the spool."""
    c = env.client('crlf@client.example', kind='individual', first='Jean', last='Martin')
    env.invoice('H-2', c, '2026-03-02', amount='300.00')
    env.replay_on(ESCALATION)
    env.sql("UPDATE dunning.client SET last_name = 'Martin\r\nDestinataire: autre' "
            "WHERE id = %s", (c,))
    env.sql('SELECT dunning.approve(%s)', (env.reminders('H-2')['j45']['id'],),
            now=at('2026-04-16', '17:00'))
    env.replay_on([LETTER_DAY])
    rem = env.reminders('H-2')['j45']
    assert rem['state'] == 'failed' and rem['reason'] == 'control_in_name', rem
    assert not os.path.isdir(env.spool) or os.listdir(env.spool) == []


def test_unwritable_spool_is_retried_then_written(env):
    """The spool cannot be written (a file stands where the directory
    should be): the reminder is retried with the reason, not failed and
    not lost; once the spool is usable the letter is written."""
    c = env.client('retry@client.example', kind='individual', first='Anne', last='Roux')
    env.invoice('R-1', c, '2026-03-02', amount='250.00')
    env.replay_on(ESCALATION)
    env.sql('SELECT dunning.approve(%s)', (env.reminders('R-1')['j45']['id'],),
            now=at('2026-04-16', '17:00'))
    with open(env.spool, 'w') as f:
        f.write('not a directory')
    env.cycle(at(LETTER_DAY, '10:00'))
    rem = env.reminders('R-1')['j45']
    assert rem['state'] == 'approved' and rem['attempts'] == 1, rem
    assert 'cannot write the letter' in rem['last_error'], rem
    os.unlink(env.spool)
    env.cycle(at(LETTER_DAY, '14:00'))
    rem = env.reminders('R-1')['j45']
    assert rem['state'] == 'sent', rem
    (name,) = os.listdir(env.spool)
    assert name == '2026-04-17-j45-%d.pdf' % rem['id']
    assert 'Anne Roux' in pdf_words(os.path.join(env.spool, name))
