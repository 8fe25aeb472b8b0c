"""The legal substance of the J+30 message and the formal notice (SPEC §2
rule 13, §2.1; issue 18, findings 1, 2, 3, 4, 6, 7, 8 and 10's j30): late
interest only under a signed fee agreement with the clause, at its own
multiplier printed exactly; otherwise only the legal rate from the
notice, with no figure; the 40 EUR indemnity per invoice to professional
clients only; the consumer mediator named to individuals only; the bar,
the bâtonnier's decision made enforceable, eight days from the first
presentation, the bank account for transfers.  The real daemon renders
each text; the letter is read back from its PDF."""
import os
import re

from harness import at, norm_spaces, pdf_text, pdf_words

ESCALATION = ['2026-03-05', '2026-03-12', '2026-04-01', '2026-04-16']
LETTER_DAY = '2026-04-17'
FIRM = ('bar = "barreau de Paris"\n'
        'iban = "FR76 3000 6000 0112 3456 7890 189"\n'
        'bic = "AGRIFRPP"\n'
        'mediator = "Médiateur de la consommation de la profession d\'avocat, '
        'https://mediateur-consommation-avocat.fr"\n')


def firm_env(make_env, extra=''):
    return make_env(firm_conf=FIRM, extra_conf=extra)


def run_to_letters(env, numbers):
    """j3, j10, j30, then each held j45 approved and written: {number: text
    of its letter} (pdftotext, spaces as printed)."""
    env.replay_on(ESCALATION)
    for n in numbers:
        env.sql('SELECT dunning.approve(%s)', (env.reminders(n)['j45']['id'],),
                now=at('2026-04-16', '17:00'))
    env.replay_on([LETTER_DAY])
    out = {}
    for n in numbers:
        path = env.reminders(n)['j45']['letter_path']
        assert path and os.path.exists(path), env.reminders(n)['j45']
        out[n] = path
    return out


def words(path):
    """The letter's words, without the page numbers between its pages."""
    return re.sub(r' page \d+/\d+', '', pdf_words(path))


def j30_of(env, number):
    (m,) = [m for m in env.mails() if env.stage_of(m.message_id)[0] == 'j30'
            and number in m.text]
    return m


def test_individual_without_clause_gets_no_interest_figure_and_the_mediator(make_env):
    """An individual client whose invoice names no agreement: the j30 claims
    no contractual interest nor indemnity; the formal notice says only that
    interest at the legal rate runs from its date (art. 1231-6 and 1344-1
    C. civ.), with no figure, names the consumer mediator, the bar, the
    bâtonnier's decision made enforceable, eight days from the first
    presentation, the IBAN."""
    env = firm_env(make_env)
    c = env.client('paul@client.example', kind='individual', first='Paul', last='Lefèvre')
    env.invoice('P-1', c, '2026-03-02', amount='1500.00', issued_on='2026-01-15')
    (path,) = run_to_letters(env, ['P-1']).values()

    j30 = norm_spaces(j30_of(env, 'P-1').text)
    assert 'convention' not in j30 and 'intérêt' not in j30, j30
    assert 'indemnité' not in j30 and '40,00 €' not in j30, j30
    assert 'reste dû 1 500,00 € en principal' in j30, j30
    assert 'nous régler la somme de 1 500,00 € en principal, au plus tard le' in j30, j30
    assert "IBAN FR76 3000 6000 0112 3456 7890 189, BIC AGRIFRPP" in j30, j30

    raw = pdf_text(path)
    print('--- formal notice, individual, no clause ---\n' + raw)
    t = words(path)
    for phrase in [
            "Cette somme porte intérêt au taux légal à compter de la date de la présente "
            "mise en demeure (articles 1231-6 et 1344-1 du Code civil).",
            "dans un délai de huit jours à compter de la première présentation de la "
            "présente lettre recommandée",
            "le bâtonnier de l'Ordre des avocats du barreau de Paris",
            "La décision du bâtonnier pourra être rendue exécutoire par ordonnance du "
            "président du tribunal judiciaire (article 178 du même décret).",
            "articles L. 612-1 et L. 616-1 du Code de la consommation",
            "recourir gratuitement au médiateur de la consommation de la profession : "
            "Médiateur de la consommation de la profession d'avocat, "
            "https://mediateur-consommation-avocat.fr.",
            "IBAN FR76 3000 6000 0112 3456 7890 189, BIC AGRIFRPP"]:
        assert phrase in t, (phrase, t)
    for absent in ('convention', 'fois le taux', 'intérêts de retard courus', 'indemnité',
                   '40,00 €', 'titre exécutoire', 'à compter de la réception'):
        assert absent not in t, (absent, t)
    assert t.endswith('Maître Alice Martin Avocat au barreau de Paris Cabinet Test'), t[-200:]
    # French typography: no-break spaces before « : » and after « n° »,
    # as the letter was written (its kept copy) and in the j30 mail.
    body = env.one("SELECT body FROM dunning.message_copy WHERE stage = 'j45'")
    assert 'n°\u00a0P-1' in body and 'Objet\u00a0:' in body, body[:400]
    mail = j30_of(env, 'P-1').body
    assert 'n°\u00a0P-1' in mail and 'à ce jour\u00a0:' in mail, mail[:400]


def test_professional_with_signed_clause_gets_its_terms_and_one_indemnity_per_invoice(
        make_env):
    """A professional client, two invoices under a signed agreement with the
    clause at 1.25 × the legal rate: the texts quote « 1,25 fois », the
    interest figure at 1.25 × 2.62 % = 3.275 %, the 40 € indemnity on each
    invoice (80 € in all), no mediator, no legal-rate sentence.

    Interest, each invoice issued 15 January 2026, from day 30 = 14 February:
      P-11 2 000,00 € to the j30 of 1 April (46 days): 200 000 × 46 × 0.03275
        / 365 = 825.48 c → 8,25 €; to the letter of 17 April (62 days):
        200 000 × 62 × 0.03275 / 365 = 1 112.60 c → 11,13 €
      P-12 1 000,00 €: 46 days → 412.74 c → 4,13 €; 62 days → 556.30 c → 5,56 €
      totals: 12,38 € (j30), 16,69 € (letter)."""
    env = firm_env(make_env)
    c = env.client('compta@dupuis.example', company='Dupuis & Fils SARL')
    agr = env.agreement(c, multiplier='1.25', start_days=30, signed_on='2025-12-01')
    for n, amount in (('P-11', '2000.00'), ('P-12', '1000.00')):
        env.invoice(n, c, '2026-03-02', amount=amount, issued_on='2026-01-15',
                    agreement_id=agr)
    paths = run_to_letters(env, ['P-11', 'P-12'])
    assert paths['P-11'] == paths['P-12']                      # one letter

    j30 = norm_spaces(j30_of(env, 'P-11').text)
    for phrase in [
            "conformément à notre convention d'honoraires, toute somme non payée dans les "
            "trente jours de l'émission de la note d'honoraires porte intérêt à 1,25 fois le "
            "taux de l'intérêt légal en vigueur au jour de cette émission.",
            "À ce jour, les intérêts de retard courus s'élèvent à 12,38 € "
            "(taux annuel de 3,275 %).",
            "reste dû 2 000,00 € en principal, intérêts de retard courus 8,25 €, indemnité "
            "forfaitaire pour frais de recouvrement 40,00 €",
            "reste dû 1 000,00 € en principal, intérêts de retard courus 4,13 €, indemnité "
            "forfaitaire pour frais de recouvrement 40,00 €",
            "indemnité forfaitaire pour frais de recouvrement de 40,00 € par note "
            "d'honoraires, soit 80,00 € pour les 2 notes d'honoraires ci-dessus.",
            "nous régler la somme de 3 000,00 € en principal, outre les intérêts de retard et "
            "les indemnités forfaitaires, au plus tard le 8 avril 2026"]:
        assert phrase in j30, (phrase, j30)
    assert 'L. 441-10' in j30 and 'médiateur' not in j30
    assert '1,2 fois' not in j30

    raw = pdf_text(paths['P-11'])
    print('--- formal notice, professional, signed clause 1.25 ---\n' + raw)
    t = words(paths['P-11'])
    for phrase in [
            "porte intérêt à 1,25 fois le taux de l'intérêt légal en vigueur au jour de "
            "cette émission. À ce jour, les intérêts de retard courus s'élèvent à 16,69 € "
            "(taux annuel de 3,275 %).",
            "reste dû 2 000,00 € en principal, intérêts de retard courus 11,13 €, indemnité "
            "forfaitaire pour frais de recouvrement 40,00 €",
            "reste dû 1 000,00 € en principal, intérêts de retard courus 5,56 €, indemnité "
            "forfaitaire pour frais de recouvrement 40,00 €",
            "soit 80,00 € pour les 2 notes d'honoraires ci-dessus",
            "le bâtonnier de l'Ordre des avocats du barreau de Paris"]:
        assert phrase in t, (phrase, t)
    for absent in ('médiateur', 'taux légal à compter', 'titre exécutoire'):
        assert absent not in t, (absent, t)
    assert t.endswith('Maître Alice Martin Avocat au barreau de Paris Cabinet Test'), t[-200:]


def test_unsigned_or_legal_aid_agreement_claims_no_interest(make_env):
    """An agreement with the clause but not signed, and one under partial
    legal aid (no clause): no contractual interest sentence nor figure; an
    individual with a signed clause gets it (1,5 → « une fois et demie »)
    but never the indemnity."""
    env = firm_env(make_env)
    a = env.client('a@client.example', kind='individual', first='Anne', last='Arnaud')
    b = env.client('b@client.example', kind='individual', first='Bruno', last='Bailly')
    d = env.client('d@client.example', kind='individual', first='Denise', last='Durand')
    env.invoice('U-1', a, '2026-03-02', issued_on='2026-01-15',
                agreement_id=env.agreement(a, signed_on=None))
    env.invoice('U-2', b, '2026-03-02', issued_on='2026-01-15',
                agreement_id=env.agreement(b, clause=False, legal_aid='partial'))
    env.invoice('U-3', d, '2026-03-02', issued_on='2026-01-15',
                agreement_id=env.agreement(d))
    env.replay_on(ESCALATION[:3])
    for n in ('U-1', 'U-2'):
        t = norm_spaces(j30_of(env, n).text)
        assert 'convention' not in t and 'intérêt' not in t, t
    t = norm_spaces(j30_of(env, 'U-3').text)
    assert "porte intérêt à une fois et demie le taux de l'intérêt légal" in t, t
    assert 'indemnité' not in t and '40,00 €' not in t


def test_professional_floor_raises_the_multiplier(make_env):
    """interest.professional_min_multiplier = 3: a professional client's
    agreement at 1.5 is quoted at « trois fois »; 3 × 2.62 % = 7.86 %."""
    env = firm_env(make_env, 'interest {\n  professional_min_multiplier = 3\n}\n')
    c = env.client('plancher@client.example', company='Plancher SA')
    env.invoice('M-1', c, '2026-03-02', issued_on='2026-01-15',
                agreement_id=env.agreement(c, multiplier='1.5'))
    env.replay_on(ESCALATION[:3])
    t = norm_spaces(j30_of(env, 'M-1').text)
    assert "porte intérêt à trois fois le taux de l'intérêt légal" in t, t
    assert '(taux annuel de 7,86 %)' in t, t
