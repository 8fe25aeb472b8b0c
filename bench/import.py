#!/usr/bin/python3
"""bench/import.py — dunningctl import and import-statement at scale
(issue 20; not part of the test suite): 100 000 invoices from a CSV export
(';', Windows-1252, "1 234,56", dd/mm/yyyy, renamed columns, 10 000
clients) into an empty database, the same file again (every row
unchanged), then a camt.053 statement of 10 000 credits (half naming
their invoice, a quarter matched by amount and IBAN, a quarter unmatched)
and the same statement again (nothing new), and a CFONB 120 statement of
10 000 credits shaped alike, for the next 10 000 invoices.  Each is timed with its peak RSS by /usr/bin/time -v,
against a PostgreSQL cluster as production runs it (fsync,
synchronous_commit and full_page_writes on: tests/lib/harness/pg.py,
Cluster(production=True)).

    /usr/bin/python3 bench/import.py [--invoices 100000] [--entries 10000]

The programs are those of $BENCH_BUILD (default build-bench/, built with
-Dbuildtype=release: meson setup build-bench -Dbuildtype=release).
Prints the rows of bench/results.md's table.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get('BENCH_BUILD', os.path.join(ROOT, 'build-bench'))
DUNNINGCTL = os.path.join(BUILD, 'ctl', 'dunningctl')
os.environ.setdefault('DUNNING_SOURCE_ROOT', ROOT)
os.environ.setdefault('DUNNINGD', os.path.join(BUILD, 'daemon', 'dunningd'))
os.environ.setdefault('DUNNINGCTL', DUNNINGCTL)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'lib'))

from harness.pg import Cluster  # noqa: E402

CONF = '''database {{ conninfo = "{conninfo}" }}
templates {{ dir = "{root}/templates" }}
spool {{ dir = "{spool}" }}
import {{
  separator = ";"  encoding = "windows-1252"  decimal_mark = ","
  date_format = "dd/mm/yyyy"
  columns = "number = N° facture, client_ref = Code client, client_email = Courriel, client_company_name = Raison sociale, issued_on = Date facture, due_on = Échéance, amount = Montant TTC, matter_ref = Dossier, iban = IBAN, email = Courriel"
}}
'''


def iban(n):
    bban = '30006%05d%011d%02d' % (n % 100000, n, n % 97)
    digits = ''.join(str(int(c, 36)) for c in bban + 'FR00')
    return 'FR%02d%s' % (98 - int(digits) % 97, bban)


def cents_fr(c):
    euros, cts = divmod(c, 100)
    s = '{:,}'.format(euros).replace(',', ' ')
    return '%s,%02d' % (s, cts)


def amount_of(i):
    return 100000 + (i * 7919) % 900000        # 1 000,00 to 9 999,99


def write_csv(path, n, clients):
    with open(path, 'wb') as f:
        f.write('N° facture;Code client;Raison sociale;Courriel;Dossier;Date facture;'
                'Échéance;Montant TTC\r\n'.encode('cp1252'))
        for i in range(1, n + 1):
            c = i % clients + 1
            f.write(('F-%07d;C%05d;Société Élan %05d;c%05d@exemple.fr;D-%d;15/12/2025;'
                     '%02d/01/2026;"%s"\r\n' % (i, c, c, c, i, i % 28 + 1,
                                                 cents_fr(amount_of(i)))).encode('cp1252'))


def write_clients(path, clients):
    with open(path, 'wb') as f:
        f.write('Code client;Courriel;IBAN\r\n'.encode('cp1252'))
        for c in range(1, clients + 1):
            f.write(('C%05d;c%05d@exemple.fr;%s\r\n' % (c, c, iban(c))).encode('cp1252'))


def entries(n, clients, offset=0):
    """(ref, cents, iban or None, remittance) of N credits: even ones name
    invoice OFFSET + k, one in four pays invoice OFFSET + k by amount from
    its client's IBAN, the rest nobody's."""
    out = []
    for k in range(1, n + 1):
        inv = offset + k
        if k % 2 == 0:
            out.append(('BQ%07d' % inv, amount_of(inv), None, 'Facture F-%07d' % inv))
        elif k % 4 == 1:
            out.append(('BQ%07d' % inv, amount_of(inv), iban(inv % clients + 1), 'HONORAIRES'))
        else:
            out.append(('BQ%07d' % inv, 4242, None, 'PROVISION %d' % inv))
    return out


def write_camt(path, n, clients):
    with open(path, 'w', encoding='utf-8') as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:'
                '20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>B</MsgId>'
                '<CreDtTm>2026-02-01T06:00:00</CreDtTm></GrpHdr><Stmt><Id>BENCH-1</Id>\n')
        for ref, cents, ib, rmt in entries(n, clients):
            f.write('<Ntry><Amt Ccy="EUR">%d.%02d</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK'
                    '</Sts><BookgDt><Dt>2026-01-30</Dt></BookgDt><AcctSvcrRef>%s</AcctSvcrRef>'
                    '<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>'
                    '<RltdPties><Dbtr><Nm>PAYEUR</Nm></Dbtr>%s</RltdPties><RmtInf><Ustrd>%s'
                    '</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n' % (
                        cents // 100, cents % 100, ref,
                        '<DbtrAcct><Id><IBAN>%s</IBAN></Id></DbtrAcct>' % ib if ib else '', rmt))
        f.write('</Stmt></BkToCstmrStmt></Document>\n')


def cfonb_amount(c):
    s = '%014d' % c
    return s[:-1] + '{ABCDEFGHI'[int(s[-1])]


def write_cfonb(path, n, clients):
    head = '30003' + '    ' + '00501' + 'EUR2 ' + '00050001234'
    with open(path, 'w', encoding='ascii', newline='') as f:
        f.write(('01' + head + '  ' + '010226').ljust(90) + cfonb_amount(0) + ' ' * 16 + '\r\n')
        for k, (ref, cents, ib, rmt) in enumerate(entries(n, clients, offset=n), 1):
            op = ('04' + '30003' + '0158' + '00501' + 'EUR2 ' + '00050001234' + '05' + '020226'
                  + '  ' + '020226' + ('VIR ' + rmt.replace('Facture ', ''))[:32].ljust(32)
                  + ' ' + '%07d' % k + '  ' + cfonb_amount(cents) + ('C' + ref)[:16].ljust(16))
            assert len(op) == 120
            f.write(op + '\r\n')
            if ib:
                f.write(('05' + '30003' + '0158' + '00501' + 'EUR2 ' + '00050001234' + '05'
                         + '020226' + '     ' + 'IPY' + ib.ljust(70) + '  ') + '\r\n')
        f.write(('07' + head + '  ' + '020226').ljust(90) + cfonb_amount(0) + ' ' * 16 + '\r\n')


def timed(conf, *args):
    """Run dunningctl ARGS under /usr/bin/time -v: (seconds, peak RSS kB,
    last line of its output)."""
    t0 = time.monotonic()
    r = subprocess.run(['/usr/bin/time', '-v', DUNNINGCTL, '-c', conf, *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    if r.returncode not in (0, 1):
        raise RuntimeError('%s: %s %s' % (args, r.stdout[-2000:], r.stderr[-2000:]))
    rss = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', r.stderr).group(1))
    last = [l for l in r.stdout.splitlines() if l][-1]
    return wall, rss, last


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--invoices', type=int, default=100000)
    ap.add_argument('--entries', type=int, default=10000)
    ap.add_argument('--clients', type=int, default=10000)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix='bench-import-')
    os.chmod(work, 0o755)
    cluster = Cluster(production=True)
    cluster.start()
    rows = []
    try:
        db = cluster.new_db_name('imp')
        cluster.admin('CREATE DATABASE %s' % db)
        conf = os.path.join(work, 'dunningd.conf')
        with open(conf, 'w', encoding='utf-8') as f:
            f.write(CONF.format(conninfo=cluster.conninfo(db), root=ROOT,
                                spool=os.path.join(work, 'spool')))
        subprocess.run([DUNNINGCTL, '-c', conf, 'migrate'], check=True,
                       stdout=subprocess.DEVNULL)
        csv, cl = os.path.join(work, 'factures.csv'), os.path.join(work, 'clients.csv')
        camt, cfonb = os.path.join(work, 'releve.xml'), os.path.join(work, 'releve.cfonb')
        write_csv(csv, a.invoices, a.clients)
        write_clients(cl, a.clients)
        write_camt(camt, a.entries, a.clients)
        write_cfonb(cfonb, a.entries, a.clients)
        size = lambda p: '%.1f MB' % (os.path.getsize(p) / 1e6)  # noqa: E731
        steps = [
            ('import invoices, %d rows (%s), empty database' % (a.invoices, size(csv)),
             ('import', 'invoices', csv)),
            ('import invoices, the same %d rows again (all unchanged)' % a.invoices,
             ('import', 'invoices', csv)),
            ('import clients, %d rows (IBANs)' % a.clients, ('import', 'clients', cl)),
            ('import-statement camt.053, %d credits (%s)' % (a.entries, size(camt)),
             ('import-statement', camt)),
            ('import-statement camt.053, the same %d credits again' % a.entries,
             ('import-statement', camt)),
            ('import-statement CFONB 120, %d credits (%s)' % (a.entries, size(cfonb)),
             ('import-statement', cfonb)),
        ]
        for label, args in steps:
            wall, rss, last = timed(conf, *args)
            rows.append((label, wall, rss, last))
            print('%-70s %8.2f s %8d kB  %s' % (label, wall, rss, last), flush=True)
    finally:
        cluster.stop()
    print()
    for label, wall, rss, last in rows:
        print('| %s (s; peak RSS) | %.2f; %d kB | — | — | report (%s) |' % (
            label, wall, rss, re.sub(r'^.*?: ', '', last.replace('|', '/'))[:120]))


if __name__ == '__main__':
    main()
