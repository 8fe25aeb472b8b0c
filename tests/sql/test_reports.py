"""The accountant's reports (SPEC §3.1 "Reports", sql/005_reports.sql):
aging, aging_invoices, dso, kpi and stage_effectiveness, against a real
PostgreSQL 15.

Every expected figure below is computed by hand from the fixture portfolio,
the arithmetic in the comments; none is obtained by running SQL like the
reports'.  The portfolio (28 invoices, four clients, EUR and USD) is read at
two dates:

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
from decimal import Decimal as Dec

import psycopg2
import psycopg2.errors
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


# ----------------------------------------------------------------- aging --

def test_aging_today_per_client_currency_and_bucket(pf):
    env, c = pf
    # Days past due at T (T - due_on) and balances at the end of T:
    #   SARL Alpha EUR
    #     not_due  A1 (-19) 1000.00                                  = 1000.00
    #     d1_30    A2 (19) 2000.00 + A8 (30) 250.00 + A9 (1) 100.00  = 2350.00
    #     d31_60   A3 (55) 1500 - 500 - 400                          =  600.00
    #     d61_90   A4 (90) 3000.00                                   = 3000.00
    #     d90_plus A5 (120) 800.00 + A10 (91) 1100.00                = 1900.00
    #     A6, A12, A13, A14 paid; A7 overpaid (balance -10: counts 0);
    #     A11 paid at 23:00 on T, before its end
    #     total 1000 + 2350 + 600 + 3000 + 1900                      = 8850.00
    #   Jean Dupont EUR
    #     not_due  B2 (0) 600.00                                     =  600.00
    #     d31_60   B5 (60) 300.00 + B6 (31) 700.00                   = 1000.00
    #     d61_90   B3 (76) 900.00 (paid after the end of T) + B7 (61) 350.00 = 1250.00
    #     B1 paid by a credit note 200 + 1000; B4 paid at 23:30 on T
    #     total 600 + 1000 + 1250                                    = 2850.00
    #   SAS Gamma EUR: G1 (-24) 4000.00 not due
    #   SAS Gamma USD: G3 (-14) 1000.00 not due; G2 (45) 2500 - 1000 = 1500.00
    #   Marie Curie: D1, D3 cancelled, D2 written off on 03-15: no row
    z = Dec('0.00')
    assert rows(env, 'SELECT * FROM dunning.aging') == [
        (c['dupont'], 'Jean Dupont', 'EUR', Dec('600.00'), z, Dec('1000.00'), Dec('1250.00'),
         z, Dec('2850.00')),
        (c['alpha'], 'SARL Alpha', 'EUR', Dec('1000.00'), Dec('2350.00'), Dec('600.00'),
         Dec('3000.00'), Dec('1900.00'), Dec('8850.00')),
        (c['gamma'], 'SAS Gamma', 'EUR', Dec('4000.00'), z, z, z, z, Dec('4000.00')),
        (c['gamma'], 'SAS Gamma', 'USD', Dec('1000.00'), z, Dec('1500.00'), z, z,
         Dec('2500.00')),
    ]


def test_aging_at_the_end_of_february(pf):
    env, c = pf
    # At B only the payments received by 2026-02-28 24:00 Paris count:
    # A3's 500 (02-20), A14's 600 (02-10), G4's 3000 (01-19), D2's 300.
    # Not yet issued: A1, A6, B2, G1, G3.  D2 was written off after B, so it
    # was still receivable then.  Days past due = B - due_on:
    #   SARL Alpha EUR
    #     not_due  A2 (-12) 2000 + A8 (-1) 250 + A9 (-30) 100 + A11 (-7) 640 = 2990.00
    #     d1_30    A3 (24) 1500 - 500 + A7 (9) 1000                         = 2000.00
    #     d31_60   A4 (59) 3000 + A10 (60) 1100 + A12 (40) 500 + A13 (40) 400
    #              + A14 (59) 1000 - 600                                    = 5400.00
    #     d61_90   A5 (89) 800                                              =  800.00
    #     total 2990 + 2000 + 5400 + 800                                    = 11190.00
    #   Jean Dupont EUR
    #     not_due  B1 (-3) 1200 + B6 (0) 700                                = 1900.00
    #     d1_30    B4 (28) 450 + B5 (29) 300 + B7 (30) 350                  = 1100.00
    #     d31_60   B3 (45) 900                                              =  900.00
    #     total                                                             = 3900.00
    #   Marie Curie EUR: D2 (150) 800 - 300 = 500.00 in d90_plus
    #   SAS Gamma USD: G2 (14) 2500.00 in d1_30 (its 1000 came on 03-01)
    z = Dec('0.00')
    expected = [
        (c['dupont'], 'Jean Dupont', 'EUR', Dec('1900.00'), Dec('1100.00'), Dec('900.00'), z,
         z, Dec('3900.00')),
        (c['curie'], 'Marie Curie', 'EUR', z, z, z, z, Dec('500.00'), Dec('500.00')),
        (c['alpha'], 'SARL Alpha', 'EUR', Dec('2990.00'), Dec('2000.00'), Dec('5400.00'),
         Dec('800.00'), z, Dec('11190.00')),
        (c['gamma'], 'SAS Gamma', 'USD', z, Dec('2500.00'), z, z, z, Dec('2500.00')),
    ]
    assert rows(env, 'SELECT * FROM dunning.aging_at(%s)', (B,)) == expected
    # The view follows the one clock: on B it shows the same.
    assert rows(env, 'SELECT * FROM dunning.aging', now=B_NOW) == expected


def test_aging_invoices_columns(pf):
    env, _ = pf
    # Receivable invoices at T, by days past due (oldest first) then number;
    # last_stage = the last reminder sent, next_* = the one not sent yet
    # (planned, held or approved; A4's j45 is cancelled, A10's j3 failed);
    # paused: B5 (invoice until 04-15), SAS Gamma's (client until 04-10), not
    # Jean Dupont's other invoices (paused until T: messages may leave on T).
    j10_a2 = dt.datetime(2026, 3, 23, 8, 0, tzinfo=dt.timezone.utc)    # 09:00+01
    j30_g2 = dt.datetime(2026, 3, 16, 8, 0, tzinfo=dt.timezone.utc)    # 09:00+01
    j30_a8 = dt.datetime(2026, 4, 1, 7, 0, tzinfo=dt.timezone.utc)     # 09:00+02
    j10_b3 = dt.datetime(2026, 4, 2, 7, 0, tzinfo=dt.timezone.utc)     # 09:00+02
    got = rows(env, 'SELECT * FROM dunning.aging_invoices')
    got = [r[:8] + (r[8].astimezone(dt.timezone.utc) if r[8] else None,) + r[9:] for r in got]
    assert got == [
        ('A5', 'SARL Alpha', 'EUR', Dec('800.00'), 120, 'd90_plus', 'j45', None, None,
         False, False, False),
        ('A10', 'SARL Alpha', 'EUR', Dec('1100.00'), 91, 'd90_plus', None, None, None,
         False, False, False),
        ('A4', 'SARL Alpha', 'EUR', Dec('3000.00'), 90, 'd61_90', 'j30', None, None,
         False, False, True),
        ('B3', 'Jean Dupont', 'EUR', Dec('900.00'), 76, 'd61_90', 'j3', 'j10', j10_b3,
         False, False, False),
        ('B7', 'Jean Dupont', 'EUR', Dec('350.00'), 61, 'd61_90', 'j30', None, None,
         False, False, False),
        ('B5', 'Jean Dupont', 'EUR', Dec('300.00'), 60, 'd31_60', None, None, None,
         False, True, False),
        ('A3', 'SARL Alpha', 'EUR', Dec('600.00'), 55, 'd31_60', 'j30', None, None,
         False, False, False),
        ('G2', 'SAS Gamma', 'USD', Dec('1500.00'), 45, 'd31_60', 'j10', 'j30', j30_g2,
         True, True, False),
        ('B6', 'Jean Dupont', 'EUR', Dec('700.00'), 31, 'd31_60', None, None, None,
         False, False, False),
        ('A8', 'SARL Alpha', 'EUR', Dec('250.00'), 30, 'd1_30', 'j10', 'j30', j30_a8,
         False, False, False),
        ('A2', 'SARL Alpha', 'EUR', Dec('2000.00'), 19, 'd1_30', 'j3', 'j10', j10_a2,
         True, False, False),
        ('A9', 'SARL Alpha', 'EUR', Dec('100.00'), 1, 'd1_30', None, None, None,
         False, False, False),
        ('B2', 'Jean Dupont', 'EUR', Dec('600.00'), 0, 'not_due', None, None, None,
         False, False, False),
        ('G3', 'SAS Gamma', 'USD', Dec('1000.00'), -14, 'not_due', None, None, None,
         False, True, False),
        ('A1', 'SARL Alpha', 'EUR', Dec('1000.00'), -19, 'not_due', None, None, None,
         False, False, False),
        ('G1', 'SAS Gamma', 'EUR', Dec('4000.00'), -24, 'not_due', None, None, None,
         False, True, False),
    ]


def test_end_of_day_is_in_the_firms_time_zone(pf):
    env, c = pf
    # In UTC the end of T is 2026-04-01 00:00 UTC: B3's payment (2026-04-01
    # 00:30+02 = 03-31 22:30 UTC) now counts, so Jean Dupont's d61_90 is B7
    # alone, 350.00, and his total 600 + 1000 + 350 = 1950.00.  The session's
    # own TimeZone never matters.
    dupont = 'SELECT * FROM dunning.aging WHERE client_id = %s'
    z = Dec('0.00')
    paris = [(c['dupont'], 'Jean Dupont', 'EUR', Dec('600.00'), z, Dec('1000.00'),
              Dec('1250.00'), z, Dec('2850.00'))]
    env.sql("SET TimeZone = 'Pacific/Kiritimati'")
    assert rows(env, dupont, (c['dupont'],)) == paris
    env.sql("UPDATE dunning.setting SET value = 'UTC' WHERE key = 'timezone'")
    assert rows(env, dupont, (c['dupont'],)) == [
        (c['dupont'], 'Jean Dupont', 'EUR', Dec('600.00'), z, Dec('1000.00'), Dec('350.00'),
         z, Dec('1950.00'))]


# ------------------------------------------------------------------- dso --

@pytest.mark.parametrize('period, as_of, currency, expected', [
    # Receivables EUR at the end of T = aging total 8850 + 2850 + 4000 = 15700.
    # Invoiced EUR (cancelled D1, D3 left out; written-off D2 in):
    #   30 days 03-02..03-31: A1 1000 + A6 1234.56 + G1 4000 = 6234.56
    #     15700 x 30 / 6234.56 = 471000 / 6234.56 = 75.547 -> 75.5
    (30, T, 'EUR', Dec('75.5')),
    #   90 days 01-01..03-31: A1 1000 + A2 2000 + A3 1500 + A6 1234.56 + A7 1000
    #     + A8 250 + A9 100 + A11 640 + B1 1200 + B2 600 + B4 450 + B5 300
    #     + B6 700 + G1 4000 = 14974.56
    #     15700 x 90 / 14974.56 = 1413000 / 14974.56 = 94.360 -> 94.4
    (90, T, 'EUR', Dec('94.4')),
    #   365 days 2025-04-01..03-31: 14974.56 + A4 3000 + A5 800 + A10 1100
    #     + A12 500 + A13 400 + A14 1000 + B3 900 + B7 350 + D2 800 = 23824.56
    #     15700 x 365 / 23824.56 = 5730500 / 23824.56 = 240.529 -> 240.5
    (365, T, 'EUR', Dec('240.5')),
    # Receivables EUR at the end of B = 11190 + 3900 + 500 = 15590 (aging_at(B)).
    #   30 days 01-30..02-28: A2 2000 + A8 250 + A9 100 + A11 640 + B1 1200 = 4190
    #     15590 x 30 / 4190 = 467700 / 4190 = 111.623 -> 111.6
    (30, B, 'EUR', Dec('111.6')),
    #   90 days 2025-12-01..02-28: A2 2000 + A3 1500 + A4 3000 + A7 1000 + A8 250
    #     + A9 100 + A11 640 + A12 500 + A13 400 + A14 1000 + B1 1200 + B3 900
    #     + B4 450 + B5 300 + B6 700 + B7 350 = 14290
    #     15590 x 90 / 14290 = 1403100 / 14290 = 98.188 -> 98.2
    (90, B, 'EUR', Dec('98.2')),
    #   365 days 2025-03-01..02-28: 14290 + A5 800 + A10 1100 + D2 800 = 16990
    #     15590 x 365 / 16990 = 5690350 / 16990 = 334.923 -> 334.9
    (365, B, 'EUR', Dec('334.9')),
    # USD at T: receivables G2 1500 + G3 1000 = 2500.
    #   90 days: G2 2500 + G3 1000 = 3500; 2500 x 90 / 3500 = 64.286 -> 64.3
    (90, T, 'USD', Dec('64.3')),
    #   365 days: 3500 + G4 3000 = 6500; 2500 x 365 / 6500 = 140.385 -> 140.4
    (365, T, 'USD', Dec('140.4')),
    # Nothing invoiced from 2025-10-02 to 10-31 (D2 was issued on 09-01, A5
    # on 11-01), although D2's 500 was receivable then: NULL, not an error.
    (30, dt.date(2025, 10, 31), 'EUR', None),
    # A currency the firm never invoiced in.
    (90, T, 'GBP', None),
])
def test_dso(pf, period, as_of, currency, expected):
    env, _ = pf
    assert rows(env, 'SELECT dunning.dso(%s, %s, %s)', (period, as_of, currency)) == \
        [(expected,)]


def test_dso_defaults_are_90_days_today_eur(pf):
    env, _ = pf
    # dso() at T = dso(90, T, 'EUR') = 94.4 (above); at B, 98.2.
    assert rows(env, 'SELECT dunning.dso(), dunning.dso(30)') == [(Dec('94.4'), Dec('75.5'))]
    assert rows(env, 'SELECT dunning.dso()', now=B_NOW) == [(Dec('98.2'),)]


@pytest.mark.parametrize('period', [0, -30, None])
def test_dso_refuses_a_period_that_is_not_a_number_of_days(pf, period):
    env, _ = pf
    with pytest.raises(psycopg2.errors.InvalidParameterValue) as e:
        rows(env, 'SELECT dunning.dso(%s::integer)', (period,))
    assert 'period_days must be a positive number of days' in str(e.value)


# ------------------------------------------------------------------- kpi --

def test_kpi_today(pf):
    env, _ = pf
    # EUR
    #   receivables = 15700.00 (aging)
    #   overdue_over_30: receivables more than 30 days past due at T:
    #     A3 600 (55) + A4 3000 (90) + A5 800 (120) + A10 1100 (91) + B3 900 (76)
    #     + B5 300 (60) + B6 700 (31) + B7 350 (61) = 7750 (not A8 at 30 days)
    #     100 x 7750 / 15700 = 49.36 -> 49.4
    #   recovery_j45: invoices due by T - 45 = 02-14 (A7 due 02-19 is not),
    #   paid by the end of due + 45 (Paris time):
    #     A3  1500, J+45 = 03-21: 500 + 400            ->  900
    #     A4  3000, A5 800, A10 1100, B5 300, B7 350   ->    0
    #     A12  500, J+45 = 03-05: 500 at 03-05 23:30   ->  500
    #     A13  400, J+45 = 03-05: 400 at 03-06 00:30   ->    0
    #     A14 1000, J+45 = 02-14: 600 on 02-10 (400 on 03-10 too late) -> 600
    #     B3   900, J+45 = 02-28: paid 04-01           ->    0
    #     B4   450, J+45 = 03-17: paid 03-31           ->    0
    #     D2   800, J+45 = 2025-11-15: 300 on 10-20    ->  300  (written off, still counted)
    #     due: 1500 + 3000 + 800 + 1100 + 300 + 350 + 500 + 400 + 1000 + 900
    #          + 450 + 800 = 11100; recovered 900 + 500 + 600 + 300 = 2300
    #     100 x 2300 / 11100 = 20.72 -> 20.7
    #   avg_days_to_pay: fully paid, last payment in 2025-04-01..T, days from
    #   issue to the (Paris) date of the last payment, weighted by amount:
    #     A6  1234.56 x  0 (03-10 -> 03-10)    =      0
    #     A7  1000    x 44 (01-20 -> 03-05)    =  44000
    #     A11  640    x 54 (02-05 -> 03-31)    =  34560
    #     A12  500    x 75 (2025-12-20 -> 03-05) = 37500
    #     A13  400    x 76 (2025-12-20 -> 03-06) = 30400
    #     A14 1000    x 99 (2025-12-01 -> 03-10) = 99000
    #     B1  1200    x 43 (02-01 -> 03-16)    =  51600
    #     B4   450    x 89 (01-01 -> 03-31)    =  40050
    #     337110 / 6424.56 = 52.47 -> 52.5  (unweighted it would be 480 / 8 = 60.0)
    #   reminders_sent_30d, 03-02 00:00 to 04-01 00:00: A3 j30, A7 j10, B1 j3,
    #     B4 j30, B4 j45, A11 j3, A11 j10, A8 j3, A8 j10, A2 j3 = 10
    #     (B7 j30 left at 03-01 23:30; D3 is cancelled)
    #   reminders_held: A2 j10 = 1
    #   written_off_365d: D2 written off on 03-15, 800 - 300 = 500.00
    # USD
    #   receivables G2 1500 + G3 1000 = 2500.00
    #   overdue_over_30: G2 (45 days) 1500 / 2500 = 60.0
    #   recovery_j45: G2 2500 (due 02-14, J+45 = 03-31: 1000 on 03-01) -> 1000,
    #     G4 3000 (J+45 = 02-14: 3000 on 01-19) -> 3000; 4000 / 5500 = 72.73 -> 72.7
    #   avg_days_to_pay: G4 3000 x 49 (2025-12-01 -> 01-19) / 3000 = 49.0
    #   reminders: none sent since 03-02, G2 j30 held; nothing written off
    assert rows(env, 'SELECT * FROM dunning.kpi') == [
        ('EUR', Dec('15700.00'), Dec('49.4'), Dec('20.7'), Dec('52.5'), 10, 1, Dec('500.00')),
        ('USD', Dec('2500.00'), Dec('60.0'), Dec('72.7'), Dec('49.0'), 0, 1, Dec('0.00')),
    ]
    assert rows(env, 'SELECT * FROM dunning.kpi_at(%s)', (T,)) == \
        rows(env, 'SELECT * FROM dunning.kpi')


def test_kpi_at_the_end_of_february(pf):
    env, _ = pf
    # EUR at B
    #   receivables 15590.00 (aging_at(B)); D2 was written off after B
    #   overdue_over_30 (B - due_on > 30): A4 3000 (59) + A5 800 (89) + A10 1100 (60)
    #     + A12 500 (40) + A13 400 (40) + A14 400 (59) + B3 900 (45) + D2 500 (150)
    #     = 7600; 100 x 7600 / 15590 = 48.75 -> 48.7
    #   recovery_j45: due by B - 45 = 01-14: A4 3000, A5 800, A10 1100 -> 0;
    #     A14 1000 -> 600 (02-10); B3 900 (J+45 = 02-28) -> 0; D2 800 -> 300
    #     900 / 7600 = 11.84 -> 11.8
    #   avg_days_to_pay: no EUR invoice fully paid by B -> NULL
    #   reminders_sent_30d, 01-30 00:00 to 03-01 00:00: A3 j3, A3 j10, A7 j3,
    #     B4 j3, B4 j10, B7 j3, A4 j30 (01-30 10:00) = 7
    #   reminders_held: the current state, 1
    #   written_off_365d: D2 was written off on 03-15, after B -> 0.00
    # USD at B
    #   receivables G2 2500.00 (14 days past due) -> overdue 0.0
    #   recovery_j45: G4 3000, paid within 45 days -> 100.0
    #   avg_days_to_pay: G4 49.0; reminders sent: G2 j3, G2 j10 = 2; held 1
    assert rows(env, 'SELECT * FROM dunning.kpi_at(%s)', (B,)) == [
        ('EUR', Dec('15590.00'), Dec('48.7'), Dec('11.8'), None, 7, 1, Dec('0.00')),
        ('USD', Dec('2500.00'), Dec('0.0'), Dec('100.0'), Dec('49.0'), 2, 1, Dec('0.00')),
    ]


# --------------------------------------------------- stage effectiveness --

def test_stage_effectiveness(pf):
    env, _ = pf
    # When each reminded invoice was fully paid (by the end of T):
    #   A7 03-05 10:00 (overpaid: the payment that reached 1000), B1 03-16 10:00
    #   (credit note + payment), B4 03-31 23:30+02, A11 03-31 23:00+02,
    #   G4 01-19 23:00; never: A2, A3, A4, A5, A8, B7, G2, B3 (paid after T).
    # A message counts in the 7-day rate when it left by T - 7 = 03-24, in the
    # 14-day rate by T - 14 = 03-17; paid within N days = fully paid by the end
    # of (day it left + N).
    #   j3: A3 A7 B1 B4 A11 A8 A2 A5 B7 B3 G2 G4 = 12 sent (D3 cancelled),
    #       all by 03-17.  7 days: none (A7 02-23 -> 03-02 < 03-05; B1 03-06
    #       -> 03-13 < 03-16; G4 01-05 -> 01-12 < 01-19) -> 0 / 12 = 0.0
    #       14 days: A7 (-> 03-09), B1 (-> 03-20), G4 (-> 01-19, paid 23:00)
    #       -> 3 / 12 = 25.0
    #   j10: A3 A7 B4 A11 A8 G2 G4 A5 = 8 sent; A8 (03-26) too recent for
    #       both rates, A11 (03-24) for the 14-day one.  7 days: A7 (03-02 ->
    #       03-09), A11 (03-24 -> 03-31, paid 23:00+02: 7 days and 13 hours
    #       later, across the change to summer time), G4 (01-12 -> 01-19
    #       23:00) -> 3 / 7 = 42.86 -> 42.9
    #       14 days: A7, G4 of A3 A7 B4 G2 G4 A5 -> 2 / 6 = 33.33 -> 33.3
    #   j30: A3 B4 A5 A4 B7 = 5 sent; none paid in time -> 0.0, 0.0
    #   j45: B4 A5 = 2 sent.  7 days: B4 03-17 -> 03-24, no -> 0 / 2 = 0.0
    #       14 days: B4 03-17 -> 03-31, paid at 23:30 -> 1 / 2 = 50.0
    assert rows(env, 'SELECT * FROM dunning.stage_effectiveness') == [
        ('j3', 12, Dec('0.0'), Dec('25.0')),
        ('j10', 8, Dec('42.9'), Dec('33.3')),
        ('j30', 5, Dec('0.0'), Dec('0.0')),
        ('j45', 2, Dec('0.0'), Dec('50.0')),
    ]


def test_stage_effectiveness_without_messages_old_enough_is_null(pf):
    env, _ = pf
    # At 2026-01-10 only A5's j3 (2025-12-04), j10 (12-11), j30 (12-31) and
    # G4's j3 (01-05) had left, and nothing was paid.  j3: 2 sent, only A5's
    # by 01-03 (7 days) and by 12-27 (14 days) -> 0 / 1 = 0.0 twice.  j10:
    # A5's -> 0.0 twice.  j30: A5's left 12-31, by 01-03 but after 12-27:
    # 0.0 at 7 days, and no message old enough for 14 days -> NULL.
    assert rows(env, 'SELECT * FROM dunning.stage_effectiveness_at(%s)',
                (dt.date(2026, 1, 10),)) == [
        ('j3', 2, Dec('0.0'), Dec('0.0')),
        ('j10', 1, Dec('0.0'), Dec('0.0')),
        ('j30', 1, Dec('0.0'), None),
    ]


# -------------------------------------------------------- written off on --

def test_written_off_on_is_the_firms_date_of_the_status_change(env):
    c = env.client('w@off.example')
    env.invoice('W-1', c, '2026-01-31', amount='100.00')
    # 23:30 UTC on 03-15 is already 03-16 in Paris.
    env.sql("UPDATE dunning.invoice SET status = 'written_off' WHERE number = 'W-1'",
            now='2026-03-15 23:30+00')
    assert env.one("SELECT written_off_on FROM dunning.invoice WHERE number = 'W-1'") == \
        dt.date(2026, 3, 16)
    # Touching the status again keeps the date; reopening clears it.
    env.sql("UPDATE dunning.invoice SET status = 'written_off' WHERE number = 'W-1'",
            now='2026-03-20 10:00+01')
    assert env.one("SELECT written_off_on FROM dunning.invoice WHERE number = 'W-1'") == \
        dt.date(2026, 3, 16)
    env.sql("UPDATE dunning.invoice SET status = 'open' WHERE number = 'W-1'")
    assert env.one("SELECT written_off_on FROM dunning.invoice WHERE number = 'W-1'") is None
    # A date the writer gives is kept, also on insert.
    env.sql("UPDATE dunning.invoice SET status = 'written_off', written_off_on = '2026-02-01' "
            "WHERE number = 'W-1'", now='2026-03-20 10:00+01')
    env.invoice('W-2', c, '2026-01-31', amount='100.00', status='written_off')
    env.invoice('W-3', c, '2026-01-31', amount='100.00', status='written_off',
                written_off_on='2025-12-31')
    got = env.sql("SELECT number, written_off_on FROM dunning.invoice ORDER BY number")
    assert got[0] == ('W-1', dt.date(2026, 2, 1))
    assert got[1][0] == 'W-2' and got[1][1] is not None
    assert got[2] == ('W-3', dt.date(2025, 12, 31))


# ----------------------------------------------------------------- roles --

@pytest.mark.parametrize('group', ['dunning_accountant', 'dunning_lawyer', 'dunning_admin',
                                   'dunning_daemon'])
def test_every_role_reads_the_reports(pf, group):
    env, c = pf
    user = env.cluster.ensure_role('rep_' + group.split('_')[1], member_of=group)
    if group == 'dunning_lawyer':   # a lawyer reads the reports of their own clients
        env.sql('UPDATE dunning.lawyer SET db_role = %s', (user,))
    conn = env.connect(user=user)
    try:
        for q in ('SELECT count(*) FROM dunning.aging',
                  'SELECT count(*) FROM dunning.aging_invoices',
                  'SELECT count(*) FROM dunning.kpi',
                  'SELECT count(*) FROM dunning.stage_effectiveness',
                  'SELECT dunning.dso(90)'):
            assert env.sql(q, now=T_NOW, conn=conn) is not None
        assert env.sql('SELECT total FROM dunning.aging_at(%s) WHERE client_id = %s',
                       (T, c['alpha']), now=T_NOW, conn=conn) == [(Dec('8850.00'),)]
        if group == 'dunning_accountant':
            # Reads, writes nothing.
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                env.sql("INSERT INTO dunning.payment (invoice_id, amount) "
                        "SELECT id, 1 FROM dunning.invoice WHERE number = 'A1'", conn=conn)
    finally:
        conn.close()


# ------------------------------------------------------------- migration --

def test_reports_are_documented_in_the_database(env):
    assert env.sql("SELECT name FROM dunning.schema_migration WHERE version = 5") == \
        [('005_reports',)]
    for obj, words in [
            ("'dunning.aging'::regclass, 'pg_class'", ['d90_plus (91 and more)', 'today - due_on']),
            ("'dunning.aging_invoices'::regclass, 'pg_class'", ['next_at', 'held']),
            ("'dunning.kpi'::regclass, 'pg_class'", ['weighted by invoice amount',
                                                     'due_on + 45']),
            ("'dunning.stage_effectiveness'::regclass, 'pg_class'", ['7th day']),
            ("'dunning.dso(integer,date,character)'::regprocedure, 'pg_proc'",
             ['x PERIOD_DAYS', 'NULL when nothing was invoiced'])]:
        text = env.one('SELECT obj_description(%s)' % obj)
        for w in words:
            assert w in text, (obj, w, text)


def test_paid_when_the_amount_was_reached_not_at_a_later_duplicate(env):
    # X: 1000.00 issued 2026-01-30, due 03-01; j3 left 03-04; paid 1000.00 on
    # 03-09 and, by mistake, 1000.00 again on 03-20 (overpaid by 1000).
    # It became fully paid on 03-09, within 7 days of the j3 (by the end of
    # 03-11): j3 1 sent, 1 / 1 = 100.0 at 7 and 14 days.  Taking the last
    # payment (03-20) would give 0.0.  avg_days_to_pay, by its definition, is
    # from the issue date to the last payment: 01-30 -> 03-20 = 49.0.
    c = env.client('dup@client.example')
    env.invoice('X', c, '2026-03-01', amount='1000.00', issued_on='2026-01-30')
    sent(env, 'X', 'j3', '2026-03-04 10:00+01')
    env.pay('X', '1000.00', '2026-03-09 10:00+01')
    env.pay('X', '1000.00', '2026-03-20 10:00+01')
    assert rows(env, 'SELECT * FROM dunning.stage_effectiveness') == [
        ('j3', 1, Dec('100.0'), Dec('100.0'))]
    assert rows(env, 'SELECT receivables, avg_days_to_pay FROM dunning.kpi') == [
        (Dec('0.00'), Dec('49.0'))]
    assert rows(env, 'SELECT count(*) FROM dunning.aging') == [(0,)]


# ------------------------------------------------- paid totals (sql/013) --

def paid(env, number):
    return env.one('SELECT paid_total, last_paid_at FROM dunning.invoice WHERE number = %s',
                   (number,))


def test_paid_total_follows_every_change_of_the_payments(env):
    # P1 1000.00 and P2 500.00, both due 2026-03-01.  Each step below says
    # what the payments are; the totals are their sum and the last instant.
    c = env.client('tot@client.example')
    env.invoice('P1', c, '2026-03-01', amount='1000.00', issued_on='2026-01-30')
    env.invoice('P2', c, '2026-03-01', amount='500.00', issued_on='2026-01-30')
    assert paid(env, 'P1') == (Dec('0.00'), None)
    a = env.pay('P1', '300.00', '2026-03-05 10:00+01')
    b = env.pay('P1', '200.00', '2026-03-10 10:00+01')
    # P1: 300 on 03-05, 200 on 03-10
    assert paid(env, 'P1') == (Dec('500.00'), dt.datetime.fromisoformat('2026-03-10 10:00+01:00'))
    env.sql('UPDATE dunning.payment SET amount = 250 WHERE id = %s', (b,))
    # P1: 300 on 03-05, 250 on 03-10
    assert paid(env, 'P1') == (Dec('550.00'), dt.datetime.fromisoformat('2026-03-10 10:00+01:00'))
    env.sql("UPDATE dunning.payment SET received_at = '2026-03-02 10:00+01' WHERE id = %s", (b,))
    # P1: 250 on 03-02, 300 on 03-05 (the last one is now the 300)
    assert paid(env, 'P1') == (Dec('550.00'), dt.datetime.fromisoformat('2026-03-05 10:00+01:00'))
    env.sql('UPDATE dunning.payment SET invoice_id = (SELECT id FROM dunning.invoice '
            "WHERE number = 'P2') WHERE id = %s", (a,))
    # P1: 250 on 03-02; P2: 300 on 03-05
    assert paid(env, 'P1') == (Dec('250.00'), dt.datetime.fromisoformat('2026-03-02 10:00+01:00'))
    assert paid(env, 'P2') == (Dec('300.00'), dt.datetime.fromisoformat('2026-03-05 10:00+01:00'))
    env.sql('DELETE FROM dunning.payment WHERE id = %s', (b,))
    # P1: nothing
    assert paid(env, 'P1') == (Dec('0.00'), None)
    # Only the payments write the totals: a value written directly is ignored.
    env.sql("UPDATE dunning.invoice SET paid_total = 999, last_paid_at = '2026-03-20 10:00+01' "
            "WHERE number = 'P2'")
    assert paid(env, 'P2') == (Dec('300.00'), dt.datetime.fromisoformat('2026-03-05 10:00+01:00'))
    env.invoice('P3', c, '2026-03-01', amount='100.00', paid_total='100.00',
                last_paid_at='2026-03-01 10:00+01')
    assert paid(env, 'P3') == (Dec('0.00'), None)
    # The reports agree: P1 owes 1000.00, P2 200.00, P3 100.00, 30 days past due at T.
    assert rows(env, 'SELECT invoice_number, balance, days_past_due FROM dunning.aging_invoices') \
        == [('P1', Dec('1000.00'), 30), ('P2', Dec('200.00'), 30), ('P3', Dec('100.00'), 30)]


def test_a_past_date_counts_the_payments_received_by_then_only(env):
    # Q1 1000.00 issued 2026-01-15, due 02-14: 400 on 02-20, 600 on 03-10;
    #    j3 sent 02-17.
    # Q2 500.00 issued 2026-01-10, due 02-09: 500 on 02-20, then 50 more by
    #    mistake on 03-15 (overpaid); j3 sent 02-12.
    # Both are paid in full today (T); at B (02-28) only Q2 was, on 02-20.
    c = env.client('past@client.example')
    env.invoice('Q1', c, '2026-02-14', amount='1000.00', issued_on='2026-01-15')
    env.invoice('Q2', c, '2026-02-09', amount='500.00', issued_on='2026-01-10')
    env.pay('Q1', '400.00', '2026-02-20 10:00+01')
    env.pay('Q1', '600.00', '2026-03-10 10:00+01')
    env.pay('Q2', '500.00', '2026-02-20 10:00+01')
    env.pay('Q2', '50.00', '2026-03-15 10:00+01')
    sent(env, 'Q1', 'j3', '2026-02-17 10:00+01')
    sent(env, 'Q2', 'j3', '2026-02-12 10:00+01')

    # At B: Q1 owes 1000 - 400 = 600.00, 02-28 - 02-14 = 14 days past due.
    assert rows(env, 'SELECT client_id, d1_30, total FROM dunning.aging_at(%s)', (B,)) == [
        (c, Dec('600.00'), Dec('600.00'))]
    assert rows(env, 'SELECT invoice_number, balance, days_past_due, bucket '
                'FROM dunning.aging_invoices_at(%s)', (B,)) == [
        ('Q1', Dec('600.00'), 14, 'd1_30')]
    # dso(90) at B: 600 x 90 / (1000 + 500 invoiced since 2025-12-01) = 36.0.
    assert rows(env, 'SELECT dunning.dso(90, %s)', (B,)) == [(Dec('36.0'),)]
    # kpi at B: receivables 600.00, none over 30 days: 0.0; nothing due by
    # B - 45 = 01-14: NULL; paid in full by then: Q2 only, from 01-10 to
    # its last payment by B, 02-20 (not the 03-15 one): 41 days; j3 of Q1
    # (02-17) and Q2 (02-12) both in the 30 days ending B.
    assert rows(env, 'SELECT * FROM dunning.kpi_at(%s)', (B,)) == [
        ('EUR', Dec('600.00'), Dec('0.0'), None, Dec('41.0'), 2, 0, Dec('0.00'))]
    # stage effectiveness at B: Q2 became paid on 02-20 10:00, outside the 7
    # days of its j3 (end of 02-19), inside the 14 (end of 02-26); Q1 was
    # not paid.  7 days: both j3 old enough, 0 / 2; 14 days: only Q2's
    # (sent by the end of 02-14), 1 / 1.
    assert rows(env, 'SELECT * FROM dunning.stage_effectiveness_at(%s)', (B,)) == [
        ('j3', 2, Dec('0.0'), Dec('100.0'))]

    # Today: nothing owed.  recovery: Q1 (due 02-14 = T - 45) paid 1000 by
    # J+45, Q2 (due 02-09) 550 by J+45, counted 500: 1500 / 1500 = 100.0;
    # avg days: Q1 01-15 -> 03-10 = 54, Q2 01-10 -> 03-15 = 64:
    # (1000 x 54 + 500 x 64) / 1500 = 57.33 -> 57.3.
    assert rows(env, 'SELECT count(*) FROM dunning.aging') == [(0,)]
    assert rows(env, 'SELECT dunning.dso(90)') == [(Dec('0.0'),)]
    assert rows(env, 'SELECT * FROM dunning.kpi') == [
        ('EUR', Dec('0.00'), None, Dec('100.0'), Dec('57.3'), 0, 0, Dec('0.00'))]
    # Q2 overpaid: paid when the running total reached 500, on 02-20, still
    # 14 days but not 7 after its j3; Q1 paid on 03-10, 21 days after its
    # j3: 0 / 2 and 1 / 2.
    assert rows(env, 'SELECT * FROM dunning.stage_effectiveness') == [
        ('j3', 2, Dec('0.0'), Dec('50.0'))]
