"""The legal rates as data (SPEC §2.1, issue 18 finding 11): the table
shipped with the program (data/legal_rates.conf) that the configuration's
legal_rate rows add to; `dunningctl rates`; the half-year missing from it
made visible in --check-config and in the lawyers' digest."""
import re

from harness import at
from lawyer_mails import ALICE, digests

NOW = at('2026-12-07', '09:05')        # a Monday of 2026-H2, inside the window

# The configuration's rows: one half-year the shipped table lacks (2022-H1,
# on line 3 of the block), one it holds, given other rates (2025-H2).
ROWS = ('interest {\n'
        '  multiplier = 1.5\n'
        '  legal_rate "2022-H1" { other_cases = 0.76 individual_creditor = 3.15 }\n'
        '  legal_rate "2025-H2" { other_cases = 2.80 individual_creditor = 6.65 }\n'
        '}\n')


def conf_line(env, text):
    """The line of the configuration file that holds TEXT."""
    with open(env.config, encoding='utf-8') as f:
        (n,) = [i for i, line in enumerate(f, 1) if text in line]
    return n


def table(out):
    """{half-year: (other cases, individual creditor, from)} of the table
    `dunningctl rates` prints first."""
    rows = {}
    for line in out.split('\n\n')[0].splitlines()[2:]:
        m = re.match(r'^(\d{4}-H[12]) +(\S+ %) +(\S+ %)  (.*)$', line)
        assert m, line
        rows[m.group(1)] = (m.group(2), m.group(3), m.group(4))
    return rows


def missing(out):
    """{half-year: open invoices} of the list `dunningctl rates` prints last."""
    part = out.split('\n\n')[1]
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r'(?m)^(\d{4}-H[12]) +(\d+)', part)}


def test_rates_adds_the_configuration_rows_to_the_shipped_table(make_env):
    """A legal_rate row in the configuration adds a half-year and keeps
    every shipped one (before: declaring one row replaced the whole
    built-in table); a row for a shipped half-year replaces it, and the
    table says where each row comes from."""
    env = make_env(extra_conf=ROWS)
    r = env.ctl('rates', now=at('2026-03-10'))
    assert r.returncode == 0, r.stdout + r.stderr
    rows = table(r.stdout)
    assert list(rows) == ['2022-H1', '2023-H1', '2023-H2', '2024-H1', '2024-H2', '2025-H1',
                          '2025-H2', '2026-H1'], r.stdout
    assert rows['2023-H1'] == ('2.06 %', '4.47 %', 'shipped with dunningd 0.1.0')
    assert rows['2026-H1'] == ('2.62 %', '6.67 %', 'shipped with dunningd 0.1.0')
    assert rows['2022-H1'] == ('0.76 %', '3.15 %', '%s:%d' % (
        env.config, conf_line(env, '"2022-H1"')))
    assert rows['2025-H2'] == ('2.80 %', '6.65 %', '%s:%d (replaces the shipped 2.76 %%, '
                               '6.65 %%)' % (env.config, conf_line(env, '"2025-H2"')))
    assert 'none: every open invoice has the legal rate of its issue date' in r.stdout


def test_rates_counts_the_open_invoices_of_each_missing_half_year(make_env):
    """The half-years the table lacks, counted over the open invoices with a
    balance due that claim interest (a signed agreement with the clause, no
    legal aid: SPEC §2 rule 13), whoever their lawyer: 2022-H2 (one),
    2026-H2 (four, the current half-year); not the paid, cancelled or
    covered ones, nor those with no clause to claim under.  Exit 1."""
    env = make_env(extra_conf=ROWS)
    bob = env.lawyer('Maître Bob Durand', 'bob.durand@cabinet.example')
    a = env.client('a@client.example', company='Alpha SA')
    b = env.client('b@client.example', company='Beta SA', lawyer=bob)
    ga, gb = env.agreement(a), env.agreement(b)
    env.invoice('R-OLD', a, '2023-01-15', issued_on='2022-12-15', agreement_id=ga)  # 2022-H2
    env.invoice('R-COVERED', a, '2022-04-01', issued_on='2022-03-01',               # the file's
                agreement_id=ga)
    env.invoice('R-H2-1', a, '2027-01-15', issued_on='2026-07-15', agreement_id=ga)
    env.invoice('R-H2-2', a, '2027-01-15', issued_on='2026-09-01', amount='500.00',
                agreement_id=ga)
    env.invoice('R-H2-3', b, '2027-01-15', issued_on='2026-12-31', agreement_id=gb)  # Bob's
    env.invoice('R-H2-PAID', a, '2027-01-15', issued_on='2026-10-01', amount='200.00',
                agreement_id=ga)
    env.pay('R-H2-PAID', '200.00', at('2026-11-02'))
    env.invoice('R-H2-CANCELLED', a, '2027-01-15', issued_on='2026-10-01', status='cancelled',
                agreement_id=ga)
    env.invoice('R-H2-PART', a, '2027-01-15', issued_on='2026-11-02', amount='300.00',
                agreement_id=ga)
    env.pay('R-H2-PART', '100.00', at('2026-11-03'))                       # still due: counted
    # No interest to claim, no rate needed: no agreement, one not signed,
    # one without the clause, one under legal aid.
    env.invoice('R-H2-NONE', a, '2027-01-15', issued_on='2026-08-01')
    for n, g in (('R-H2-UNSIGNED', env.agreement(a, signed_on=None)),
                 ('R-H2-NOCLAUSE', env.agreement(a, clause=False)),
                 ('R-H2-AID', env.agreement(a, clause=False, legal_aid='partial'))):
        env.invoice(n, a, '2027-01-15', issued_on='2026-08-01', agreement_id=g)
    r = env.ctl('rates', now=NOW)
    assert r.returncode == 1, r.stdout + r.stderr
    assert missing(r.stdout) == {'2022-H2': 1, '2026-H2': 4}, r.stdout
    assert re.search(r'(?m)^2026-H2 +4  \(the current half-year\)$', r.stdout), r.stdout
    assert 'legal_rate "YYYY-Hn" { other_cases = … individual_creditor = … }' in r.stdout
    # Only the current half-year missing, with no invoice in it: still 1.
    env.sql("UPDATE dunning.invoice SET status = 'cancelled' WHERE number LIKE 'R-%'")
    r = env.ctl('rates', now=NOW)
    assert r.returncode == 1 and missing(r.stdout) == {'2026-H2': 0}, r.stdout


def test_check_config_names_the_missing_half_year_and_a_replaced_row(make_env):
    """--check-config on 7 December 2026: 2026-H2 is in neither the file
    nor the shipped table (a warning that says both, and how to add it);
    the file's 2025-H2 replaces the shipped row (a warning naming its line
    and both rates).  Warnings only: the configuration is OK."""
    env = make_env(extra_conf=ROWS)
    r = env.daemon('--check-config', now=NOW)
    assert r.returncode == 0 and 'configuration OK' in r.stdout, r.stdout + r.stderr
    assert ('warning: %s:%d: legal_rate "2025-H2" replaces the rates shipped with dunningd '
            '(other_cases = 2.76 individual_creditor = 6.65) with other_cases = 2.80 '
            'individual_creditor = 6.65: check them against the arrêté'
            % (env.config, conf_line(env, '"2025-H2"'))) in r.stderr, r.stderr
    assert ('warning: %s: no legal_rate "2026-H2" in the interest section, nor among the '
            'rates shipped with dunningd (2023-H1 to 2026-H1): add the rates published for '
            'this half-year, legal_rate "2026-H2" { other_cases = … individual_creditor = … }'
            % env.config) in r.stderr, r.stderr
    # Added in the file: no warning about 2026-H2 any more.
    env.write_config(extra_conf=ROWS[:-2] + (
        '  legal_rate "2026-H2" { other_cases = 3.15 individual_creditor = 6.90 }\n}\n'))
    r = env.daemon('--check-config', now=NOW)
    assert r.returncode == 0 and '2026-H2' not in r.stderr, r.stderr


def test_digest_says_which_half_year_is_missing_and_how_many_invoices(make_env):
    """Alice's clients have three open invoices issued in 2026-H2 and one in
    2022-H2 under a signed interest clause, half-years the table lacks: her
    digest says so, one line per half-year (French typography: a no-break
    space before the colon), even with nothing else to say; an invoice with
    no clause needs no rate and is not counted.  Bob's invoices all have
    their rate: no digest.  In English with firm.language = "en"."""
    env = make_env()
    bob = env.lawyer('Maître Bob Durand', 'bob.durand@cabinet.example')
    a = env.client('a@client.example', company='Alpha SA')
    b = env.client('b@client.example', company='Beta SA', lawyer=bob)
    ga = env.agreement(a)
    env.invoice('D-OLD', a, '2027-01-15', issued_on='2022-12-15', agreement_id=ga)
    for n, day in (('D-1', '2026-07-15'), ('D-2', '2026-09-01'), ('D-3', '2026-11-30')):
        env.invoice(n, a, '2027-01-15', issued_on=day, agreement_id=ga)
    env.invoice('D-NOCLAUSE', a, '2027-01-15', issued_on='2026-10-01')
    env.invoice('D-BOB', b, '2027-01-15', issued_on='2026-03-02', agreement_id=env.agreement(b))
    env.cycle(NOW)
    (m,) = digests(env)
    assert m.rcpt == ALICE
    assert m.subject == 'Relances\u00a0: 2 éléments demandent votre attention'
    assert ("Taux de l'intérêt légal manquant pour le second semestre 2022\u00a0: 1 facture "
            "sans montant d'intérêts.\n"
            "Taux de l'intérêt légal manquant pour le second semestre 2026\u00a0: 3 factures "
            "sans montant d'intérêts.\n"
            "Tant que la table des taux n'est pas complétée, les relances de ces factures "
            "n'indiquent pas d'intérêts de retard\u00a0: faites-la compléter (dunningctl rates)."
            ) in m.body, m.body

    en = make_env(firm_conf='  language = "en"\n')
    c = en.client('c@client.example', company='Gamma Ltd')
    en.invoice('E-1', c, '2027-01-15', issued_on='2026-08-03', agreement_id=en.agreement(c))
    en.cycle(NOW)
    (m,) = digests(en)
    assert ('Legal interest rate missing for the second half of 2026: 1 invoice without an '
            'interest figure.\n'
            'Until the rate table is completed, the reminders of these invoices state no late '
            'interest: have it completed (dunningctl rates).') in m.body, m.body


def test_no_digest_line_when_the_table_is_complete(make_env):
    """Nothing missing, nothing said: with 2026-H2 added in the
    configuration, the same invoices give no digest at all."""
    env = make_env(extra_conf='interest {\n'
                   '  legal_rate "2026-H2" { other_cases = 3.15 individual_creditor = 6.90 }\n'
                   '}\n')
    a = env.client('a@client.example', company='Alpha SA')
    env.invoice('N-1', a, '2027-01-15', issued_on='2026-07-15')
    env.cycle(NOW)
    assert digests(env) == []
    r = env.ctl('rates', now=NOW)
    assert r.returncode == 0 and missing(r.stdout) == {}, r.stdout
