"""The accountant's aging reports and DSO (SPEC §3.1 "Reports",
sql/005_reports.sql): aging, aging_invoices and dso, against a real
PostgreSQL 15, on the hand-computed portfolio of reports_portfolio.py."""
import datetime as dt
from decimal import Decimal as Dec

import psycopg2
import psycopg2.errors
import pytest

from reports_portfolio import B, B_NOW, T, pf, rows  # noqa: F401  (pf: a fixture)


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
