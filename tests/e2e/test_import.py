"""dunningctl import and import-statement (issue 20, SPEC §3.3): the
practice software's CSV exports and the bank's statements.  Good rows go in,
bad ones are reported with their line in the file; a file imported twice
records nothing new; the paid invoices get no reminder."""
import json
import os
import re

import pytest

SOURCE = os.environ.get('DUNNING_SOURCE_ROOT', '.')
DATA = os.path.join(SOURCE, 'tests', 'data', 'import')

# The firm's export as Kleos-like software writes it: ';', Windows-1252,
# "1 234,56", dd/mm/yyyy, its own column names.
EXPORT_CONF = '''
import {
  separator = ";"
  encoding = "windows-1252"
  decimal_mark = ","
  date_format = "dd/mm/yyyy"
  columns = "number = N° facture, client_ref = Code client, client_email = Courriel, client_company_name = Raison sociale, client_last_name = Nom, client_first_name = Prénom, matter_ref = Dossier, issued_on = Date facture, due_on = Échéance, amount = Montant TTC, email = Courriel, iban = IBAN"
}
'''
HEADER = 'N° facture;Code client;Raison sociale;Nom;Prénom;Courriel;Dossier;Date facture;Échéance;Montant TTC'


def export_rows(n=50):
    """N good rows: invoices F-2026-001… of ten clients, due in January and
    February 2026, amounts 1 234,56 and up."""
    rows = []
    for i in range(1, n + 1):
        c = (i - 1) % 10 + 1
        company = 'Société Élan %02d' % c if c % 2 else ''
        last = '' if c % 2 else 'Dupré-%02d' % c
        first = '' if c % 2 else 'Hélène'
        due_day = (i - 1) % 28 + 1
        month = 1 if i <= 25 else 2
        rows.append('F-2026-%03d;CL%03d;%s;%s;%s;client%02d@exemple.fr;D-%03d;'
                    '%02d/%02d/2025;%02d/%02d/2026;"%s"' % (
                        i, c, company, last, first, c, i, due_day, 12, due_day, month,
                        '1 %03d,%02d' % (200 + i, i)))
    return rows


def amount_of(i):
    return '%d.%02d' % (1200 + i, i)


def write_export(path, rows):
    with open(path, 'wb') as f:
        f.write(('\r\n'.join([HEADER] + rows) + '\r\n').encode('cp1252'))


@pytest.fixture
def ienv(make_env):
    return make_env(extra_conf=EXPORT_CONF)


def bad_export(tmp_path):
    """The 50 good rows with three bad ones at lines 5, 20 and 41 (the
    header is line 1)."""
    rows = export_rows()
    rows.insert(3, 'F-2026-901;CL901;;Inconnu;Paul;;D-901;01/12/2025;01/01/2026;100,00')
    rows.insert(18, 'F-2026-902;CL001;Société Élan 01;;;client01@exemple.fr;D-902;'
                    '01/12/2025;01/01/2026;-120,00')
    rows.insert(39, 'F-2026-903;CL001;Société Élan 01;;;client01@exemple.fr;D-903;'
                    '01/12/2025;31/02/2026;"2 000,00"')
    path = str(tmp_path / 'factures.csv')
    write_export(path, rows)
    return path


def refused_lines(out):
    return {int(m.group(1)): m.group(2)
            for m in re.finditer(r'^\S+:(\d+): refused(?: \S+)?: (.*)$', out, re.M)}


def test_import_invoices_from_the_firms_export(ienv, tmp_path):
    path = bad_export(tmp_path)
    r = ienv.ctl('import', 'invoices', path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    bad = refused_lines(r.stdout)
    assert sorted(bad) == [5, 20, 41], r.stdout
    assert 'missing e-mail' in bad[5]
    assert 'negative amount' in bad[20]
    assert 'bad date' in bad[41] and '31/02/2026' in bad[41]
    assert '53 rows, 50 new, 0 updated, 0 unchanged, 3 refused, 10 clients created' in r.stdout
    assert ienv.count('dunning.invoice') == 50
    assert ienv.count('dunning.client') == 10
    # the export's values, converted: Windows-1252 names, amounts, dates
    assert ienv.one("SELECT amount::text FROM dunning.invoice WHERE number = 'F-2026-007'") \
        == amount_of(7)
    assert ienv.sql("SELECT issued_on::text, due_on::text, matter_ref FROM dunning.invoice "
                    "WHERE number = 'F-2026-030'") == [('2025-12-02', '2026-02-02', 'D-030')]
    assert ienv.sql("SELECT kind, company_name, email, client_ref FROM dunning.client "
                    "WHERE client_ref = 'CL001'") == [
        ('professional', 'Société Élan 01', 'client01@exemple.fr', 'CL001')]
    assert ienv.sql("SELECT kind, first_name, last_name FROM dunning.client "
                    "WHERE client_ref = 'CL002'") == [('individual', 'Hélène', 'Dupré-02')]
    audit = ienv.audit('import_invoices')
    assert len(audit) == 1
    d = audit[0]['details']
    assert (d['rows'], d['inserted'], d['updated'], d['refused'], d['clients_created']) == \
        (53, 50, 0, 3, 10), d


def test_import_again_updates_what_changed_and_says_so(ienv, tmp_path):
    path = str(tmp_path / 'factures.csv')
    rows = export_rows()
    write_export(path, rows)
    ienv.ctl('import', 'invoices', path, check=0)
    r = ienv.ctl('import', 'invoices', path, check=0)
    assert '50 rows, 0 new, 0 updated, 50 unchanged, 0 refused, 0 clients created' in r.stdout
    rows[6] = rows[6].replace('"1 207,07"', '"1 300,00"').replace('07/01/2026', '15/01/2026')
    write_export(path, rows)
    r = ienv.ctl('import', 'invoices', path, check=0)
    assert re.search(r'^\S+:8: updated F-2026-007: due_on, amount 1207\.07 → 1300\.00$',
                     r.stdout, re.M), r.stdout
    assert '0 new, 1 updated, 49 unchanged' in r.stdout
    assert ienv.sql("SELECT amount::text, due_on::text FROM dunning.invoice "
                    "WHERE number = 'F-2026-007'") == [('1300.00', '2026-01-15')]
    assert len(ienv.audit('import_invoices')) == 3


def test_dry_run_writes_nothing(ienv, tmp_path):
    path = bad_export(tmp_path)
    r = ienv.ctl('import', 'invoices', path, '--dry-run')
    assert r.returncode == 1
    assert 'dry run, nothing written: invoices: 53 rows, 50 new' in r.stdout
    assert ienv.count('dunning.invoice') == 0 and ienv.count('dunning.client') == 0
    assert ienv.audit('import_invoices') == []


def test_line_break_in_a_name_and_a_quote_never_closed(ienv, tmp_path):
    rows = export_rows(3)
    rows.insert(1, 'F-2026-950;CL950;"Société\r\nCoupée";;;x@exemple.fr;D;01/12/2025;'
                   '01/01/2026;10,00')
    rows.append('F-2026-951;CL951;"Jamais fermée;;;y@exemple.fr;D;01/12/2025;01/01/2026;1')
    path = str(tmp_path / 'f.csv')
    write_export(path, rows)
    r = ienv.ctl('import', 'invoices', path)
    assert r.returncode == 1
    bad = refused_lines(r.stdout)
    # the quoted line break spans lines 3-4: the next row is line 5
    assert sorted(bad) == [3, 7], r.stdout
    assert 'line break in client_company_name' in bad[3]
    assert 'not closed' in bad[7]
    assert ienv.count('dunning.invoice') == 3


def test_missing_column_is_named(ienv, tmp_path):
    path = str(tmp_path / 'f.csv')
    with open(path, 'wb') as f:
        f.write('N° facture;Courriel;Montant TTC\r\nF-1;a@b.fr;1,00\r\n'.encode('cp1252'))
    r = ienv.ctl('import', 'invoices', path)
    assert r.returncode == 1
    assert 'no column «Date facture» (issued_on' in r.stderr
    assert ienv.count('dunning.invoice') == 0


def test_import_clients_and_payments(make_env, tmp_path):
    env = make_env()        # the default format: ',', UTF-8, ISO dates, '.'
    clients = tmp_path / 'clients.csv'
    clients.write_text('\ufeffclient_ref,email,kind,company_name,last_name,iban\r\n'
                       'C1,a@exemple.fr,professional,Alpha SARL,,FR76 3000 6000 0112 3456 7890 189\r\n'
                       'C2,,individual,,Martin,\r\n'
                       'C3,c@exemple.fr,individual,,Durand,FR76 0000 0000 0000 0000 0000 001\r\n',
                       encoding='utf-8')
    r = env.ctl('import', 'clients', str(clients))
    assert r.returncode == 1
    bad = refused_lines(r.stdout)
    assert sorted(bad) == [3, 4], r.stdout
    assert 'missing e-mail' in bad[3] and 'not an IBAN' in bad[4]
    assert env.sql("SELECT iban FROM dunning.client WHERE client_ref = 'C1'") == \
        [('FR7630006000011234567890189',)]
    clients.write_text('client_ref,email,city\nC1,alpha@exemple.fr,Lyon\n', encoding='utf-8')
    r = env.ctl('import', 'clients', str(clients), check=0)
    assert re.search(r':2: updated C1: email, address$', r.stdout, re.M), r.stdout

    cid = env.one("SELECT id FROM dunning.client WHERE client_ref = 'C1'")
    env.invoice('F-1', cid, '2026-01-10', amount='500.00')
    pay = tmp_path / 'payments.csv'
    pay.write_text('invoice_number,amount,received_on,reference\n'
                   'F-1,200.00,2026-01-05,VIR-1\n'
                   'F-404,10.00,2026-01-05,VIR-2\n'
                   'F-1,50.00,2026-01-06,AV-2026-001\n', encoding='utf-8')
    r = env.ctl('import', 'payments', str(pay))
    assert r.returncode == 1
    assert refused_lines(r.stdout) == {3: 'unknown invoice F-404'}, r.stdout
    assert env.one("SELECT sum(amount)::text FROM dunning.payment") == '250.00'
    assert len(env.audit('payment_recorded')) == 2
    r = env.ctl('import', 'payments', str(pay))
    assert '0 new, 0 updated, 2 unchanged, 1 refused' in r.stdout
    assert env.count('dunning.payment') == 2


def ibans():
    with open(os.path.join(DATA, 'ibans.txt')) as f:
        return dict(line.split() for line in f)


def sample(name):
    return os.path.join(DATA, name)


def paid_numbers(env):
    return [r[0] for r in env.sql(
        'SELECT i.number FROM dunning.invoice i JOIN dunning.payment p ON p.invoice_id = i.id '
        'GROUP BY i.number ORDER BY i.number')]


def test_statements_pay_invoices_and_the_paid_ones_get_no_reminder(ienv, tmp_path):
    """Issue 20's "done means", less the package: the firm's export with
    three bad rows, then a camt.053 and a CFONB 120 statement (and a
    camt.054 notification) that pay some invoices, each imported twice;
    the next cycle reminds only the unpaid ones."""
    ib = ibans()
    clients = str(tmp_path / 'clients.csv')
    with open(clients, 'wb') as f:
        f.write(('Code client;Courriel;IBAN\r\nCL003;client03@exemple.fr;%s\r\n'
                 'CL007;client07@exemple.fr;%s\r\n' % (ib['CL003'], ib['CL007'])).encode('cp1252'))
    r = ienv.ctl('import', 'invoices', bad_export(tmp_path))
    assert r.returncode == 1 and sorted(refused_lines(r.stdout)) == [5, 20, 41], r.stdout
    print(r.stdout)
    r = ienv.ctl('import', 'clients', clients, check=0)
    assert '2 rows, 0 new, 2 updated' in r.stdout, r.stdout

    r = ienv.ctl('import-statement', sample('camt053.xml'), check=0)
    print(r.stdout)
    assert re.search(r'^paid +BQ260112-0001 .* → F-2026-001 \(its number', r.stdout, re.M)
    assert re.search(r'^paid +BQ260112-0002 .* → F-2026-002 \(its number', r.stdout, re.M)
    assert re.search(r'^paid +BQ260113-0003 .* → F-2026-003 \(amount and the client',
                     r.stdout, re.M)
    assert re.search(r'^unmatched BQ260113-0004 +2026-01-13 +350\.00 EUR +M\. INCONNU', r.stdout,
                     re.M)
    assert ('camt.053 %s: 6 credits, 5 paid (4 by number, 1 by amount and IBAN), 1 unmatched, '
            '0 already imported; 1 debit or pending left aside' % sample('camt053.xml')) \
        in r.stdout
    r = ienv.ctl('import-statement', sample('cfonb120.txt'), check=0)
    print(r.stdout)
    assert 'cfonb120' in r.stdout and '2 paid (1 by number, 1 by amount and IBAN)' in r.stdout
    r = ienv.ctl('import-statement', sample('camt054.xml'), check=0)
    assert '1 paid (1 by number, 0 by amount and IBAN)' in r.stdout, r.stdout
    paid = ['F-2026-%03d' % i for i in range(1, 9)]
    assert paid_numbers(ienv) == paid
    assert ienv.count('dunning.payment') == 8
    assert ienv.count('dunning.statement_entry') == 9

    # each statement again: nothing new
    for name in ('camt053.xml', 'cfonb120.txt', 'camt054.xml'):
        r = ienv.ctl('import-statement', sample(name), check=0)
        assert ' 0 paid (0 by number, 0 by amount and IBAN), 0 unmatched' in r.stdout, r.stdout
    assert ienv.count('dunning.payment') == 8
    assert ienv.count('dunning.statement_entry') == 9
    assert len(ienv.audit('import_statement')) == 6
    assert len(ienv.audit('payment_recorded')) == 8

    # the accountant's list, then the one left placed by hand
    r = ienv.ctl('import-statement', '--unmatched', check=0)
    assert re.search(r'^unmatched BQ260113-0004 ', r.stdout, re.M), r.stdout
    assert '1 entry unmatched' in r.stdout
    ienv.ctl('payment-assign', 'BQ260113-0004', 'F-2026-009', check=0)
    r = ienv.ctl('payment-assign', 'BQ260113-0004', 'F-2026-010')
    assert r.returncode == 1 and 'already a payment of invoice F-2026-009' in r.stderr
    assert '0 entries unmatched' in ienv.ctl('import-statement', '--unmatched', check=0).stdout

    r = ienv.cycle('2026-03-10T10:00:00+01:00')
    reminded = {rem['number'] for rem in ienv.reminders()}
    print(sorted(reminded))
    assert not reminded & set(paid), sorted(reminded & set(paid))
    # F-2026-009 only partly paid (350.00 of 1 209,09): still reminded
    assert 'F-2026-009' in reminded
    assert len(reminded) == 50 - 8, sorted(reminded)
    ienv.verify_audit()


def test_dry_run_statement_writes_nothing(ienv, tmp_path):
    ienv.ctl('import', 'invoices', bad_export(tmp_path))
    r = ienv.ctl('import-statement', sample('camt053.xml'), '--dry-run', check=0)
    assert 'dry run, nothing written: camt.053' in r.stdout and '4 paid' in r.stdout
    assert ienv.count('dunning.payment') == 0 and ienv.count('dunning.statement_entry') == 0


def test_statement_refused_whole(ienv, tmp_path):
    bad = tmp_path / 'evil.xml'
    bad.write_text('<?xml version="1.0"?><!DOCTYPE Document SYSTEM "file:///etc/passwd">'
                   '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>')
    r = ienv.ctl('import-statement', str(bad))
    assert r.returncode == 1 and 'DOCTYPE' in r.stderr and 'nothing imported' in r.stderr
    assert ienv.count('dunning.statement_entry') == 0


def test_the_administrator_imports_the_accountant_reads(ienv, tmp_path):
    """Who may import (028): the administrator (the firm's software, the
    operator); the accountant reads the entries and writes nothing; a
    lawyer does not read the bank's statements."""
    admin = ienv.cluster.ensure_role('import_admin', 'dunning_admin')
    compta = ienv.cluster.ensure_role('import_compta', 'dunning_accountant')
    lawyer = ienv.cluster.ensure_role('import_maitre', 'dunning_lawyer')
    path = bad_export(tmp_path)

    r = ienv.ctl('-U', compta, 'import', 'invoices', path)
    assert r.returncode == 1 and 'permission denied' in r.stderr, (r.stdout, r.stderr)
    assert ienv.count('dunning.invoice') == 0
    r = ienv.ctl('-U', admin, 'import', 'invoices', path)
    assert r.returncode == 1 and '50 new' in r.stdout, (r.stdout, r.stderr)
    assert ienv.audit('import_invoices')[0]['actor'] == admin

    r = ienv.ctl('-U', compta, 'import-statement', sample('camt053.xml'))
    assert r.returncode == 1 and 'permission denied' in r.stderr, (r.stdout, r.stderr)
    ienv.ctl('-U', admin, 'import-statement', sample('camt053.xml'), check=0)
    assert ienv.count('dunning.payment') == 4
    r = ienv.ctl('-U', compta, 'import-statement', '--unmatched', check=0)
    assert '2 entries unmatched' in r.stdout
    r = ienv.ctl('-U', compta, 'payment-assign', 'BQ260113-0004', 'F-2026-010')
    assert r.returncode == 1 and 'permission denied' in r.stderr
    r = ienv.ctl('-U', lawyer, 'import-statement', '--unmatched')
    assert r.returncode == 1 and 'permission denied' in r.stderr
    ienv.ctl('-U', admin, 'payment-assign', 'BQ260113-0004', 'F-2026-010', check=0)
    assert ienv.audit('statement_entry_assigned')[0]['number'] == 'F-2026-010'


def test_purge_forgets_the_clients_iban_and_the_banks_words(make_env):
    """GDPR (retention.years): a purged client's IBAN goes, and so do the
    payer's name, account and words of their transfers; amounts and the
    bank's references stay for the accounts."""
    env = make_env()
    cid = env.client('client03@exemple.fr', iban=ibans()['CL003'])
    env.invoice('F-2026-003', cid, '2025-12-31', amount='1203.03')
    env.ctl('import-statement', sample('camt053.xml'), check=0)
    entry = ("SELECT debtor_name, debtor_iban, remittance, end_to_end_id, amount::text "
             "FROM dunning.statement_entry WHERE entry_ref = 'BQ260113-0003'")
    assert env.sql(entry) == [('SOCIETE ELAN 03', ibans()['CL003'], 'HONORAIRES', None,
                               '1203.03')]
    r = env.ctl('purge', now='2030-01-20T10:00:00+01:00', check=0)
    assert '1 client anonymised' in r.stdout, r.stdout
    assert env.one('SELECT iban FROM dunning.client WHERE id = %s', (cid,)) is None
    assert env.sql(entry) == [(None, None, None, None, '1203.03')]
