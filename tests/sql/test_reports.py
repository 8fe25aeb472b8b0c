"""The accountant's reports (SPEC §3.1 "Reports", sql/005_reports.sql)
beyond the figures of each report (tests/sql/test_reports_aging.py,
test_reports_kpi.py): the write-off date and the paid totals they rely on
(sql/013), who may read them, their documentation in the database, and
when an invoice counts as paid; against a real PostgreSQL 15.
"""
import datetime as dt
from decimal import Decimal as Dec

import psycopg2
import psycopg2.errors
import pytest

from reports_portfolio import B, T, T_NOW, pf, rows, sent  # noqa: F401  (pf: a fixture)


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
