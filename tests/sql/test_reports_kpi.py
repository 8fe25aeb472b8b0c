"""The accountant's KPI and stage effectiveness reports (SPEC §3.1
"Reports", sql/005_reports.sql): kpi and stage_effectiveness, against a
real PostgreSQL 15, on the hand-computed portfolio of reports_portfolio.py."""
import datetime as dt
from decimal import Decimal as Dec

from reports_portfolio import B, T, pf, rows  # noqa: F401  (pf: a fixture)


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
