"""The fixture portfolio of the tests of the accountant's reports
(tests/sql/test_reports*.py: aging, aging_invoices, dso, kpi and
stage_effectiveness, SPEC §3.1 "Reports", sql/005_reports.sql), the
fixture pf that loads it, and the helpers of those tests: reminders
written as the daemon writes them, a report read at a date.

Every expected figure of tests/sql/test_reports*.py is computed by hand
from this portfolio, the arithmetic in the comments; none is obtained by
running SQL like the reports'.  The portfolio (28 invoices, four clients,
EUR and USD) is read at two dates:

    T = 2026-03-31 (dunning.now = 2026-03-31 18:00+02, Paris summer time);
        the end of T is 2026-04-01 00:00+02 = 2026-03-31 22:00 UTC
    B = 2026-02-28; the end of B is 2026-03-01 00:00+01 = 2026-02-28 23:00 UTC

Invoices (issued -> due, amount, payments as Paris wall-clock time):

  client 1 "SARL Alpha" (professional)
    A1  2026-03-20 -> 04-19  1000.00  -
    A2  2026-02-10 -> 03-12  2000.00  -                  j3 sent, j10 held
    A3  2026-01-05 -> 02-04  1500.00  500 on 02-20, 400 on 03-20 (paid in parts)
    A4  2025-12-01 -> 12-31  3000.00  -                  disputed
    A5  2025-11-01 -> 12-01   800.00  -
    A6  2026-03-10 -> 04-09  1234.56  1234.56 on 03-10 15:00 (issued and paid the same day)
    A7  2026-01-20 -> 02-19  1000.00  1010.00 on 03-05 (overpaid by 10)
    A8  2026-02-01 -> 03-01   250.00  -
    A9  2026-02-28 -> 03-30   100.00  -
    A10 2025-11-30 -> 12-30  1100.00  -                  its j3 failed
    A11 2026-02-05 -> 03-07   640.00  640 on 03-31 23:00 (before the end of T)
    A12 2025-12-20 -> 01-19   500.00  500 on 03-05 23:30 (last minutes of J+45)
    A13 2025-12-20 -> 01-19   400.00  400 on 03-06 00:30 (first minutes after J+45)
    A14 2025-12-01 -> 12-31  1000.00  600 on 02-10, 400 on 03-10
  client 2 "Jean Dupont" (individual; paused until T, i.e. not paused at T)
    B1  2026-02-01 -> 03-03  1200.00  credit note AV-2026-0001 of 200 on 03-05, 1000 on 03-16
    B2  2026-03-01 -> 03-31   600.00  -
    B3  2025-12-15 -> 01-14   900.00  900 on 04-01 00:30 (after the end of T)
    B4  2026-01-01 -> 01-31   450.00  450 on 03-31 23:30 (before the end of T)
    B5  2026-01-10 -> 01-30   300.00  -                  invoice paused until 04-15
    B6  2026-01-29 -> 02-28   700.00  -
    B7  2025-12-30 -> 01-29   350.00  -
  client 3 "SAS Gamma" (professional; paused until 2026-04-10)
    G1  2026-03-25 -> 04-24  4000.00  -
    G2  2026-01-15 -> 02-14  2500.00 USD  1000 on 03-01
    G3  2026-03-15 -> 04-14  1000.00 USD  -
    G4  2025-12-01 -> 12-31  3000.00 USD  3000 on 01-19 23:00
  client 4 "Marie Curie" (individual)
    D1  2026-03-05 -> 04-04  5000.00  cancelled
    D2  2025-09-01 -> 10-01   800.00  300 on 2025-10-20; written off on 2026-03-15
    D3  2026-01-01 -> 01-31   700.00  cancelled (after its j3 left)

A credit note is entered as a payment carrying its number in `reference`
(SPEC §3.1: invoice and payment amounts are positive), which is how the
"negative invoice" of the issue is tested (B1).
"""
import datetime as dt

import pytest

T_NOW = '2026-03-31 18:00+02'
T = dt.date(2026, 3, 31)
B = dt.date(2026, 2, 28)
B_NOW = '2026-02-28 18:00+01'


def remind(env, number, stage, state, scheduled_for, sent_at=None):
    env.sql("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for, sent_at, "
            "message_id) SELECT id, %s, %s, %s, %s, %s FROM dunning.invoice WHERE number = %s",
            (stage, state, scheduled_for, sent_at,
             '<%s.%s@test>' % (number, stage) if state == 'sent' else None, number))


def sent(env, number, stage, at):
    remind(env, number, stage, 'sent', at, at)


def portfolio(env):
    """The portfolio of the module docstring; returns the client ids."""
    lw = env.lawyer()
    c = {
        'alpha': env.client('compta@alpha.example', company='SARL Alpha', lawyer=lw),
        'dupont': env.client('jean@dupont.example', kind='individual', first='Jean',
                             last='Dupont', lawyer=lw, paused_until='2026-03-31'),
        'gamma': env.client('ap@gamma.example', company='SAS Gamma', lawyer=lw,
                            paused_until='2026-04-10'),
        'curie': env.client('marie@curie.example', kind='individual', first='Marie',
                            last='Curie', lawyer=lw),
    }
    inv = [
        # number, client, issued, due, amount, extra columns
        ('A1', 'alpha', '2026-03-20', '2026-04-19', '1000.00', {}),
        ('A2', 'alpha', '2026-02-10', '2026-03-12', '2000.00', {}),
        ('A3', 'alpha', '2026-01-05', '2026-02-04', '1500.00', {}),
        ('A4', 'alpha', '2025-12-01', '2025-12-31', '3000.00',
         {'disputed_at': '2026-02-10 10:00+01', 'dispute_reason': 'hours contested'}),
        ('A5', 'alpha', '2025-11-01', '2025-12-01', '800.00', {}),
        ('A6', 'alpha', '2026-03-10', '2026-04-09', '1234.56', {}),
        ('A7', 'alpha', '2026-01-20', '2026-02-19', '1000.00', {}),
        ('A8', 'alpha', '2026-02-01', '2026-03-01', '250.00', {}),
        ('A9', 'alpha', '2026-02-28', '2026-03-30', '100.00', {}),
        ('A10', 'alpha', '2025-11-30', '2025-12-30', '1100.00', {}),
        ('A11', 'alpha', '2026-02-05', '2026-03-07', '640.00', {}),
        ('A12', 'alpha', '2025-12-20', '2026-01-19', '500.00', {}),
        ('A13', 'alpha', '2025-12-20', '2026-01-19', '400.00', {}),
        ('A14', 'alpha', '2025-12-01', '2025-12-31', '1000.00', {}),
        ('B1', 'dupont', '2026-02-01', '2026-03-03', '1200.00', {}),
        ('B2', 'dupont', '2026-03-01', '2026-03-31', '600.00', {}),
        ('B3', 'dupont', '2025-12-15', '2026-01-14', '900.00', {}),
        ('B4', 'dupont', '2026-01-01', '2026-01-31', '450.00', {}),
        ('B5', 'dupont', '2026-01-10', '2026-01-30', '300.00', {'paused_until': '2026-04-15'}),
        ('B6', 'dupont', '2026-01-29', '2026-02-28', '700.00', {}),
        ('B7', 'dupont', '2025-12-30', '2026-01-29', '350.00', {}),
        ('G1', 'gamma', '2026-03-25', '2026-04-24', '4000.00', {}),
        ('G2', 'gamma', '2026-01-15', '2026-02-14', '2500.00', {'currency': 'USD'}),
        ('G3', 'gamma', '2026-03-15', '2026-04-14', '1000.00', {'currency': 'USD'}),
        ('G4', 'gamma', '2025-12-01', '2025-12-31', '3000.00', {'currency': 'USD'}),
        ('D1', 'curie', '2026-03-05', '2026-04-04', '5000.00', {'status': 'cancelled'}),
        ('D2', 'curie', '2025-09-01', '2025-10-01', '800.00', {}),
        ('D3', 'curie', '2026-01-01', '2026-01-31', '700.00', {}),
    ]
    for number, cl, issued, due, amount, extra in inv:
        env.invoice(number, c[cl], due, amount=amount, issued_on=issued, **extra)

    for number, amount, at, ref in [
        ('A3', '500.00', '2026-02-20 10:00+01', None),
        ('A3', '400.00', '2026-03-20 10:00+01', None),
        ('A6', '1234.56', '2026-03-10 15:00+01', None),
        ('A7', '1010.00', '2026-03-05 10:00+01', None),
        ('A11', '640.00', '2026-03-31 23:00+02', None),
        ('A12', '500.00', '2026-03-05 23:30+01', None),
        ('A13', '400.00', '2026-03-06 00:30+01', None),
        ('A14', '600.00', '2026-02-10 10:00+01', None),
        ('A14', '400.00', '2026-03-10 10:00+01', None),
        ('B1', '200.00', '2026-03-05 10:00+01', 'AV-2026-0001'),
        ('B1', '1000.00', '2026-03-16 10:00+01', 'VIR B1'),
        ('B3', '900.00', '2026-04-01 00:30+02', None),
        ('B4', '450.00', '2026-03-31 23:30+02', None),
        ('G2', '1000.00', '2026-03-01 10:00+01', None),
        ('G4', '3000.00', '2026-01-19 23:00+01', None),
        ('D2', '300.00', '2025-10-20 10:00+02', None),
    ]:
        env.pay(number, amount, at, reference=ref)

    # D3 is cancelled after its first reminder left; D2 is written off on
    # 15 March (the trigger records the firm's date).
    sent(env, 'D3', 'j3', '2026-02-03 10:00+01')
    env.sql("UPDATE dunning.invoice SET status = 'cancelled' WHERE number = 'D3'")
    env.sql("UPDATE dunning.invoice SET status = 'written_off' WHERE number = 'D2'",
            now='2026-03-15 11:00+01')

    for number, stage, at in [
        ('A3', 'j3', '2026-02-09 10:00+01'), ('A3', 'j10', '2026-02-16 10:00+01'),
        ('A3', 'j30', '2026-03-06 10:00+01'),
        ('A7', 'j3', '2026-02-23 10:00+01'), ('A7', 'j10', '2026-03-02 10:00+01'),
        ('B1', 'j3', '2026-03-06 10:00+01'),
        ('B4', 'j3', '2026-02-03 10:00+01'), ('B4', 'j10', '2026-02-10 10:00+01'),
        ('B4', 'j30', '2026-03-02 10:00+01'), ('B4', 'j45', '2026-03-17 10:00+01'),
        ('A11', 'j3', '2026-03-10 10:00+01'), ('A11', 'j10', '2026-03-24 10:00+01'),
        ('A8', 'j3', '2026-03-04 10:00+01'), ('A8', 'j10', '2026-03-26 10:00+01'),
        ('A2', 'j3', '2026-03-16 10:00+01'),
        ('A5', 'j3', '2025-12-04 10:00+01'), ('A5', 'j10', '2025-12-11 10:00+01'),
        ('A5', 'j30', '2025-12-31 10:00+01'), ('A5', 'j45', '2026-01-15 10:00+01'),
        ('A4', 'j30', '2026-01-30 10:00+01'),
        ('B7', 'j3', '2026-02-02 10:00+01'), ('B7', 'j30', '2026-03-01 23:30+01'),
        ('B3', 'j3', '2026-01-19 10:00+01'),
        ('G2', 'j3', '2026-02-17 10:00+01'), ('G2', 'j10', '2026-02-24 10:00+01'),
        ('G4', 'j3', '2026-01-05 10:00+01'), ('G4', 'j10', '2026-01-12 10:00+01'),
    ]:
        sent(env, number, stage, at)
    remind(env, 'A2', 'j10', 'held', '2026-03-23 09:00+01')
    remind(env, 'G2', 'j30', 'held', '2026-03-16 09:00+01')
    remind(env, 'A4', 'j45', 'cancelled', '2026-02-14 09:00+01')
    remind(env, 'A8', 'j30', 'planned', '2026-04-01 09:00+02')
    remind(env, 'B3', 'j10', 'approved', '2026-04-02 09:00+02')
    remind(env, 'A10', 'j3', 'failed', '2026-01-02 09:00+01')
    return c


@pytest.fixture
def pf(env):
    return env, portfolio(env)


def rows(env, query, params=None, now=T_NOW):
    return env.sql(query, params, now=now)
