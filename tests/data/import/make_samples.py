#!/usr/bin/python3
"""Write the sample bank statements of tests/e2e/test_import.py and the
unit tests (tests/unit/test_statement.c), built from the published layouts:
ISO 20022 camt.053.001.02 and camt.054.001.08 (the XML schemas' element
names and nesting), CFONB 120 (« relevé de compte sur support
informatique »: records 01, 04, 05, 07).  No bank's file is reachable
here; these are shaped like them.  Run it again after changing it:

    python3 tests/data/import/make_samples.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def iban(country, bban):
    """COUNTRY + check digits + BBAN (ISO 13616, mod 97)."""
    digits = ''.join(str(int(c, 36)) for c in bban + country + '00')
    return '%s%02d%s' % (country, 98 - int(digits) % 97, bban)


# The clients' accounts the sample export knows (clients.csv: CL003, CL007).
IBAN_CL003 = iban('FR', '3000600001000000000310' + '3')
IBAN_CL007 = iban('FR', '3000400828000000000717' + '6')
IBAN_STRANGER = iban('FR', '1027800001000123456789' + '0')
FIRM = iban('FR', '3000300501000500012345' + '6')


def camt053():
    def ntry(ref, amount, cdi, booked, tx, sts='BOOK'):
        return '''    <Ntry>
      <Amt Ccy="EUR">%s</Amt>
      <CdtDbtInd>%s</CdtDbtInd>
      <Sts>%s</Sts>
      <BookgDt><Dt>%s</Dt></BookgDt>
      <ValDt><Dt>%s</Dt></ValDt>
      <AcctSvcrRef>%s</AcctSvcrRef>
      <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
      <NtryDtls>
%s      </NtryDtls>
    </Ntry>
''' % (amount, cdi, sts, booked, booked, ref, tx)

    def tx(e2e, name, acct, ustrd=None, strd=None, amount=None, ref=None):
        out = '        <TxDtls>\n'
        out += '          <Refs>%s<EndToEndId>%s</EndToEndId></Refs>\n' % (
            '<AcctSvcrRef>%s</AcctSvcrRef>' % ref if ref else '', e2e)
        if amount:
            out += '          <AmtDtls><TxAmt><Amt Ccy="EUR">%s</Amt></TxAmt></AmtDtls>\n' % amount
        out += '          <RltdPties><Dbtr><Nm>%s</Nm></Dbtr>' % name
        if acct:
            out += '<DbtrAcct><Id><IBAN>%s</IBAN></Id></DbtrAcct>' % acct
        out += '</RltdPties>\n'
        if ustrd or strd:
            out += '          <RmtInf>'
            if ustrd:
                out += '<Ustrd>%s</Ustrd>' % ustrd
            if strd:
                out += ('<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>'
                        '<Ref>%s</Ref></CdtrRefInf></Strd>' % strd)
            out += '</RmtInf>\n'
        return out + '        </TxDtls>\n'

    entries = ''.join([
        # the invoice number in the unstructured remittance information
        ntry('BQ260112-0001', '1201.01', 'CRDT', '2026-01-12',
             tx('CL001-20260110', 'SOCIETE ELAN 01', None, ustrd='Reglement facture F-2026-001 merci')),
        # in the end-to-end id only
        ntry('BQ260112-0002', '1202.02', 'CRDT', '2026-01-12',
             tx('F-2026-002', 'DUPRE-02 HELENE', None, ustrd='VIREMENT')),
        # no number: the amount and the debtor's IBAN (client CL003)
        ntry('BQ260113-0003', '1203.03', 'CRDT', '2026-01-13',
             tx('NOTPROVIDED', 'SOCIETE ELAN 03', IBAN_CL003, ustrd='HONORAIRES')),
        # nobody's: left unmatched
        ntry('BQ260113-0004', '350.00', 'CRDT', '2026-01-13',
             tx('NOTPROVIDED', 'M. INCONNU', IBAN_STRANGER, ustrd='PROVISION DOSSIER')),
        # a debit: left aside
        ntry('BQ260114-0005', '80.00', 'DBIT', '2026-01-14',
             tx('FRAIS-01', 'BANQUE', None, ustrd='COMMISSION')),
        # a batch of two transfers, a structured reference in each
        '''    <Ntry>
      <Amt Ccy="EUR">2409.09</Amt>
      <CdtDbtInd>CRDT</CdtDbtInd>
      <Sts>BOOK</Sts>
      <BookgDt><Dt>2026-01-14</Dt></BookgDt>
      <ValDt><Dt>2026-01-14</Dt></ValDt>
      <AcctSvcrRef>BQ260114-0006</AcctSvcrRef>
      <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
      <NtryDtls>
        <Btch><NbOfTxs>2</NbOfTxs></Btch>
%s%s      </NtryDtls>
    </Ntry>
''' % (tx('E2E-4', 'DUPRE-04 HELENE', None, strd='F-2026-004', amount='1204.04', ref='T1'),
       tx('E2E-5', 'SOCIETE ELAN 05', None, strd='F-2026-005', amount='1205.05', ref='T2')),
    ])
    return '''<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STMT-20260114-01</MsgId><CreDtTm>2026-01-15T06:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-20260114-01</Id>
      <ElctrncSeqNb>14</ElctrncSeqNb>
      <CreDtTm>2026-01-15T06:00:00+01:00</CreDtTm>
      <FrToDt><FrDtTm>2026-01-12T00:00:00+01:00</FrDtTm><ToDtTm>2026-01-14T23:59:59+01:00</ToDtTm></FrToDt>
      <Acct><Id><IBAN>%s</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">10000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-01-12</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">17315.19</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-01-14</Dt></Dt></Bal>
%s    </Stmt>
  </BkToCstmrStmt>
</Document>
''' % (FIRM, entries.replace('\n    <Ntry>', '\n      <Ntry>'))


def camt054():
    """A camt.054.001.08 notification: Sts/Cd, the debtor under Pty."""
    return '''<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr><MsgId>NTF-20260116-7</MsgId><CreDtTm>2026-01-16T18:00:00+01:00</CreDtTm></GrpHdr>
    <Ntfctn>
      <Id>NTF-20260116-7</Id>
      <Acct><Id><IBAN>%s</IBAN></Id></Acct>
      <Ntry>
        <NtryRef>N0001</NtryRef>
        <Amt Ccy="EUR">1208.08</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><DtTm>2026-01-16T10:12:00+01:00</DtTm></BookgDt>
        <ValDt><Dt>2026-01-16</Dt></ValDt>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
          <Amt Ccy="EUR">1208.08</Amt>
          <RltdPties><Dbtr><Pty><Nm>DUPRE-08 HELENE</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>%s</IBAN></Id></DbtrAcct></RltdPties>
          <RmtInf><Strd><RfrdDocInf><Nb>F-2026-008</Nb></RfrdDocInf></Strd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <NtryRef>N0002</NtryRef>
        <Amt Ccy="EUR">99.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>PDNG</Cd></Sts>
        <BookgDt><Dt>2026-01-16</Dt></BookgDt>
      </Ntry>
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
''' % (FIRM, IBAN_STRANGER)


def cfonb(amount_cents, positive=True):
    """The 14 characters of a CFONB amount, 2 decimals: the last digit and
    the sign in one character."""
    s = '%014d' % amount_cents
    last = int(s[-1])
    return s[:-1] + ('{ABCDEFGHI' if positive else '}JKLMNOPQR')[last]


def rec(code, opcode='    ', interbank='  ', date='      ', label='', number='       ',
        amount=None, ref='', qualifier='', detail=''):
    bank, branch, acct = '30003', '00501', '00050001234'
    if code in ('01', '07'):
        line = code + bank + '    ' + branch + 'EUR2 ' + acct + '  ' + date
        line = line.ljust(90) + amount + ''.ljust(16)
    elif code == '04':
        line = (code + bank + opcode + branch + 'EUR2 ' + acct + interbank + date + '  ' + date
                + label.ljust(32)[:32] + ' ' + number + '  ' + amount + ref.ljust(16)[:16])
    else:
        line = (code + bank + opcode + branch + 'EUR2 ' + acct + interbank + date + '     '
                + qualifier + detail.ljust(70)[:70] + '  ')
    assert len(line) == 120, (code, len(line), line)
    return line


def cfonb120():
    lines = [
        rec('01', date='140126', amount=cfonb(1000000)),
        # the invoice number in the label
        rec('04', '0158', '05', '150126', 'VIR SEPA ELAN 06 F-2026-006', '0000101',
            cfonb(120606), 'VIR0000101'),
        rec('05', '0158', '05', '150126', qualifier='NPY', detail='SOCIETE ELAN 06'),
        rec('05', '0158', '05', '150126', qualifier='RCN', detail='E2E-CL006-01'),
        # no number: CL007's IBAN (IPY) and F-2026-007's amount
        rec('04', '0158', '05', '150126', 'VIR SEPA ELAN 07', '0000102', cfonb(120707),
            'VIR0000102'),
        rec('05', '0158', '05', '150126', qualifier='NPY', detail='SOCIETE ELAN 07'),
        rec('05', '0158', '05', '150126', qualifier='IPY', detail=IBAN_CL007),
        rec('05', '0158', '05', '150126', qualifier='LIB', detail='HONORAIRES DECEMBRE'),
        # a debit (bank charges)
        rec('04', '0117', '62', '150126', ' F COMMISSION D INTERVENTION', '0000103',
            cfonb(800, positive=False), ''),
        rec('07', date='150126', amount=cfonb(1240513)),
    ]
    return '\r\n'.join(lines) + '\r\n'


def main():
    for name, text in (('camt053.xml', camt053()), ('camt054.xml', camt054()),
                       ('cfonb120.txt', cfonb120())):
        with open(os.path.join(HERE, name), 'w', encoding='utf-8', newline='') as f:
            f.write(text)
    with open(os.path.join(HERE, 'ibans.txt'), 'w') as f:
        f.write('CL003 %s\nCL007 %s\nstranger %s\n' % (IBAN_CL003, IBAN_CL007, IBAN_STRANGER))


if __name__ == '__main__':
    main()
