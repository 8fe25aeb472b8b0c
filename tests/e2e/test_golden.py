"""Golden texts (issue 18, "What to build" 5): what a client and a lawyer
read, compared byte for byte with a reviewed file under tests/golden/, so
that any change of wording is a reviewed diff.

For each stage (j03, j10, j30 by mail: subject and text; j45: the formal
notice's text) and each client kind (individual, professional), with one
and with several invoices, in French — and in English for a subset — the
real daemon runs its cycles with a fixed clock and fixed data, the SMTP
recorder keeps what it sent, and `dunningctl preview --raw` gives the
letter's text exactly as the letter channel renders it.  The lawyers'
alert (« Dossier à surveiller ») and digest of the same run too.

A failure shows a unified diff in which a no-break space reads "⍽"
(U+00A0) and a narrow one "⎵" (U+202F).  To accept a wording change,
regenerate and review the diff of tests/golden/ before committing it:

    DUNNING_GOLDEN_UPDATE=1 meson test -C build-chk e2e --test-args='-k golden'
    git diff tests/golden/          # read it as a partner would, then commit

(tests/golden/README.md: the cases, the files, how to read them.)
"""
import difflib
import os
import re

from harness import SOURCE_ROOT, at

GOLDEN = os.path.join(SOURCE_ROOT, 'tests', 'golden')
UPDATE = os.environ.get('DUNNING_GOLDEN_UPDATE') == '1'

# The stages' days, due date 2 March 2026: j3, j10, j30 mails, j45 letter.
DAYS = {'j03': ('j3', '2026-03-05'), 'j10': ('j10', '2026-03-12'),
        'j30': ('j30', '2026-04-01'), 'j45': ('j45', '2026-04-16')}
APPROVED_AT = at('2026-04-16', '17:00')
# The case whose HTML parts of j03 and j10 are kept too.
HTML_CASE = ('fr', 'professional', 'several')

# The firm as a partner would configure it (the bar, the bank account, the
# consumer mediator: SPEC §3.2).
FIRM = ('  bar = "barreau de Paris"\n'
        '  iban = "FR76 3000 6000 0112 3456 7890 189"\n'
        '  bic = "AGRIFRPP"\n'
        '  mediator = "Médiateur de la consommation de la profession d\'avocat, '
        'https://mediateur-consommation-avocat.fr"\n')

# (language, kind, how many): a client each, its own address.  The cases
# with several invoices are under a signed fee agreement with the interest
# clause (SPEC §2 rule 13), the others under none: each stage is read with
# and without a clause.
CASES = [
    ('fr', 'individual', 'one'), ('fr', 'individual', 'several'),
    ('fr', 'professional', 'one'), ('fr', 'professional', 'several'),
    ('en', 'individual', 'one'), ('en', 'professional', 'several'),
]


def make_client(env, lang, kind, many):
    """The client of a case and its invoices (numbers F-…, amounts below the
    approval threshold); several: one invoice partly paid.  A payment link
    for professionals, none for individuals (the bank transfer text)."""
    tag = '%s-%s-%s' % (lang, kind, many)
    email = '%s@golden.example' % tag
    if kind == 'individual':
        c = env.client(email, kind='individual', first='Paul', last='Lefèvre',
                       language=lang, address_line1='12 avenue des Tilleuls',
                       postal_code='69003', city='Lyon')
    else:
        c = env.client(email, company='Dupuis & Fils SARL', first='Marie', last='Dupuis',
                       language=lang, address_line1='3 quai des Chartrons',
                       postal_code='33000', city='Bordeaux')
    base = {'fr-individual-one': 100, 'fr-individual-several': 110,
            'fr-professional-one': 120, 'fr-professional-several': 130,
            'en-individual-one': 140, 'en-professional-several': 150}[tag]
    numbers = ['F-2026-%04d' % base] + (['F-2026-%04d' % (base + 1)] if many == 'several' else [])
    agreement = env.agreement(c, multiplier='1.25') if many == 'several' else None
    for i, n in enumerate(numbers):
        url = 'https://paiement.cabinet.example/p/%s' % n if kind == 'professional' else None
        env.invoice(n, c, '2026-03-02', amount=('1500.00', '980.00')[i],
                    issued_on='2026-01-31', payment_url=url, agreement_id=agreement)
    if many == 'several':
        env.pay(numbers[1], '80.00', at('2026-03-02', '09:00'))
    return email, numbers


def visible(s):
    """S with its no-break spaces made visible, for a diff a reader can use."""
    return s.replace('\u00a0', '⍽').replace('\u202f', '⎵')


def golden(name, got):
    """Compare GOT with tests/golden/NAME (or write it when updating)."""
    path = os.path.join(GOLDEN, name)
    if UPDATE:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8', newline='') as f:
            f.write(got)
        return None
    if not os.path.exists(path):
        return '%s: no golden file (DUNNING_GOLDEN_UPDATE=1 writes it)' % name
    with open(path, encoding='utf-8', newline='') as f:
        want = f.read()
    if want == got:
        return None
    diff = difflib.unified_diff(visible(want).splitlines(True), visible(got).splitlines(True),
                                'tests/golden/' + name + ' (reviewed)', 'rendered now')
    return ''.join(diff)


def mail_text(m):
    """What a client reads: the subject, a blank line, the text part as
    sent (no-break spaces kept)."""
    return 'Subject: %s\n\n%s' % (m.subject, m.body)


def without_head(text):
    """The digest's audit head changes with every run's timestamps."""
    return re.sub(r'audit head \d+:[0-9a-f]{64}', 'audit head SEQ:HASH', text)


def run_all(env):
    out = {}
    clients = {}
    for lang, kind, many in CASES:
        clients[make_client(env, lang, kind, many)[0]] = (lang, kind, many)
    for stage in ('j03', 'j10', 'j30'):
        env.cycle(at(DAYS[stage][1]))
        sent = {m.rcpt: m for m in env.new_mails()}
        for email, (lang, kind, many) in clients.items():
            assert email in sent, (stage, email, list(sent))
            out['%s/%s-%s-%s.txt' % (lang, stage, kind, many)] = mail_text(sent[email])
            if (lang, kind, many) == HTML_CASE and stage != 'j30':
                html = sent[email].msg.get_body(preferencelist=('html',)).get_content()
                out['%s/%s-%s-%s.html' % (lang, stage, kind, many)] = html.replace('\r\n', '\n')
    lawyer = env.lawyer_mails()
    watch = [m for m in lawyer if '2 factures de Dupuis' in m.subject]
    assert watch, [m.subject for m in lawyer]
    out['fr/lawyer_alert-watch-several.txt'] = mail_text(watch[0])
    env.cycle(at(DAYS['j45'][1]))
    digests = [m for m in env.lawyer_mails() if '.digest.' in m.message_id]
    assert digests, [m.subject for m in env.lawyer_mails()]
    out['fr/lawyer_digest-held.txt'] = without_head(mail_text(digests[-1]))
    for email, (lang, kind, many) in clients.items():
        ids = env.sql("SELECT r.id FROM dunning.reminder r JOIN dunning.invoice i "
                      "ON i.id = r.invoice_id JOIN dunning.client c ON c.id = i.client_id "
                      "WHERE c.email = %s AND r.stage = 'j45' ORDER BY r.id", (email,))
        assert ids, email
        for (rid,) in ids:
            env.sql('SELECT dunning.approve(%s)', (rid,), now=APPROVED_AT)
        r = env.ctl('preview', '--raw', str(ids[0][0]), now=APPROVED_AT, check=0)
        out['%s/j45-%s-%s.txt' % (lang, kind, many)] = r.stdout
    return out


def test_golden_texts(make_env):
    """Every case's text is its reviewed golden file, byte for byte."""
    out = run_all(make_env(firm_conf=FIRM))
    problems = [p for p in (golden(name, text) for name, text in sorted(out.items())) if p]
    if UPDATE:
        return
    assert not problems, '\n'.join(problems)
    # Every golden file is still produced: none left over from a case removed.
    on_disk = {os.path.relpath(os.path.join(d, f), GOLDEN)
               for d, _, fs in os.walk(GOLDEN) for f in fs if f.endswith(('.txt', '.html'))
               and not os.path.relpath(d, GOLDEN).startswith('link')}
    assert on_disk == set(out), sorted(on_disk ^ set(out))


# Issue 19: with web.base_url, each client mail carries its page's link
# (rule 12), signed with this fixed key at the fixed clock: the same text
# every run.  The cases above run without base_url and are unchanged.
LINK_KEY = 'golden-key-0123456789abcdef0123456789abcdef'
LINK_CASES = [('fr', 'individual', 'one'), ('en', 'professional', 'several')]


def test_golden_texts_with_links(make_env, tmp_path):
    """j3 (pay, report) and j10 (a plan too) with the page's link:
    tests/golden/link/, byte for byte."""
    secret = tmp_path / 'web_secret'
    secret.write_text(LINK_KEY + '\n')
    secret.chmod(0o600)
    env = make_env(firm_conf=FIRM, extra_conf='web { base_url = "https://client.cabinet.example/" '
                   'secret_file = "%s" }\n' % secret)
    clients = {make_client(env, *case)[0]: case for case in LINK_CASES}
    out = {}
    for stage in ('j03', 'j10'):
        env.cycle(at(DAYS[stage][1]))
        sent = {m.rcpt: m for m in env.new_mails()}
        for email, (lang, kind, many) in clients.items():
            m = sent[email]
            out['link/%s/%s-%s-%s.txt' % (lang, stage, kind, many)] = mail_text(m)
            html = m.msg.get_body(preferencelist=('html',)).get_content()
            assert 'href="https://client.cabinet.example/r/1.' in html, html
    problems = [p for p in (golden(name, text) for name, text in sorted(out.items())) if p]
    assert not problems, '\n'.join(problems)
