"""Payment plans in SQL (SPEC §2 rule 11, §3.1, issue 19 item 3): the
instalments computed on the remaining balance, automatic acceptance below
plan.auto_accept_max and none after a broken plan, one proposed or active
plan per invoice (the database's rule), the lawyer's approval, rejection and
cancellation under row-level security, the daemon's pass (breach,
completion, the instalment reminders queued), the view dunning.plans and the
prescription interrupted by an accepted plan."""
import datetime as dt
from decimal import Decimal

import psycopg2
import pytest

from harness import allow_simulated_clock

MAITRE_A, MAITRE_B, ACCOUNTANT = 'plans_a', 'plans_b', 'plans_acct'
TODAY = '2026-12-07T10:00:00+01:00'
D = dt.date.fromisoformat


@pytest.fixture
def world(env):
    env.cluster.ensure_role(MAITRE_A, 'dunning_lawyer')
    env.cluster.ensure_role(MAITRE_B, 'dunning_lawyer')
    env.cluster.ensure_role(ACCOUNTANT, 'dunning_accountant')
    allow_simulated_clock(env, True)
    la = env.lawyer('Maître A', 'a@cabinet.example', db_role=MAITRE_A)
    lb = env.lawyer('Maître B', 'b@cabinet.example', db_role=MAITRE_B)
    pro = env.client('pro@client.example', company='Société Pro', lawyer=la)
    small = env.client('small@client.example', company='Petite SARL', lawyer=la)
    other = env.client('other@client.example', lawyer=lb)
    env.invoice('PL-1', pro, '2026-11-01', amount='1000.00')
    env.pay('PL-1', '100.01', '2026-11-20T12:00:00+01:00')
    env.invoice('PL-2', pro, '2026-11-10', amount='2500.00')
    env.invoice('PL-USD', pro, '2026-11-10', amount='100.00', currency='USD')
    env.invoice('PL-S', small, '2026-11-01', amount='600.00')
    env.invoice('PL-S2', small, '2026-11-02', amount='300.00')
    env.invoice('PL-B', other, '2026-11-01', amount='500.00')
    w = dict(env=env, conns=[], pro=pro, small=small, other=other)

    def login(role):
        c = env.connect(user=role)
        w['conns'].append(c)
        return c
    w['login'] = login
    yield w
    for c in w['conns']:
        c.close()
    allow_simulated_clock(env, False)


def propose(env, conn, numbers, n=3, first='2026-12-15', now=TODAY, note='appel du client'):
    return env.one('SELECT dunning.propose_plan(%s, %s, %s, %s)', (numbers, n, first, note),
                   now=now, conn=conn)


def instalments(env, plan):
    return env.sql('SELECT seq, due_on, amount FROM dunning.plan_instalment '
                   'WHERE plan_id = %s ORDER BY seq', (plan,))


def state(env, plan):
    return env.one('SELECT state FROM dunning.payment_plan WHERE id = %s', (plan,))


def test_instalments_share_the_remaining_balance(world):
    env, a = world['env'], world['login'](MAITRE_A)
    plan = propose(env, a, ['PL-1'])
    # 1 000,00 - 100,01 = 899,99: 299,99 twice, the last 300,01
    assert instalments(env, plan) == [
        (1, D('2026-12-15'), Decimal('299.99')), (2, D('2027-01-15'), Decimal('299.99')),
        (3, D('2027-02-15'), Decimal('300.01'))]
    assert env.one('SELECT total FROM dunning.payment_plan WHERE id = %s', (plan,)) \
        == Decimal('899.99')
    # below 1 500 EUR, no broken plan: accepted at once
    assert state(env, plan) == 'active'
    assert env.one("SELECT count(*) FROM dunning.audit_log WHERE action = 'plan_accepted' "
                   "AND (details->>'plan_id')::bigint = %s", (plan,)) == 1
    assert env.one("SELECT proposed_by FROM dunning.payment_plan WHERE id = %s", (plan,)) \
        == 'lawyer'
    env.verify_audit()


def test_a_plan_above_the_threshold_waits_for_the_lawyer(world):
    env, a = world['env'], world['login'](MAITRE_A)
    plan = propose(env, a, ['PL-2'], n=2)
    assert state(env, plan) == 'proposed'
    assert env.one("SELECT count(*) FROM dunning.lawyer_alert WHERE kind = 'plan_proposed' "
                   "AND (details->>'plan_id')::bigint = %s", (plan,)) == 1
    env.sql('SELECT dunning.approve_plan(%s)', (plan,), now=TODAY, conn=a)
    assert state(env, plan) == 'active'
    with pytest.raises(psycopg2.errors.InvalidParameterValue, match='is active, not proposed'):
        env.sql('SELECT dunning.approve_plan(%s)', (plan,), now=TODAY, conn=a)


def test_a_client_with_a_plan_broken_200_days_ago_is_held(world):
    env, a = world['env'], world['login'](MAITRE_A)
    old = env.one("INSERT INTO dunning.payment_plan (client_id, currency, state, proposed_by, "
                  "total, accepted_at, ended_at, breached_at) VALUES (%s, 'EUR', 'broken', "
                  "'client', 50, %s, %s, %s) RETURNING id",
                  (world['small'], '2026-04-01T10:00+02:00', '2026-05-21T10:00+02:00',
                   '2026-05-21T10:00+02:00'))
    assert old
    plan = propose(env, a, ['PL-S', 'PL-S2'], n=2)
    assert state(env, plan) == 'proposed'
    assert env.one("SELECT details->>'held_why' FROM dunning.lawyer_alert "
                   "WHERE kind = 'plan_proposed'") == 'broken_plan'


def test_one_open_plan_per_invoice(world):
    env, a = world['env'], world['login'](MAITRE_A)
    propose(env, a, ['PL-1'])
    with pytest.raises(psycopg2.errors.InvalidParameterValue, match='already in plan'):
        propose(env, a, ['PL-1'], n=2)
    # the database's own rule, whoever writes
    plan = env.one("INSERT INTO dunning.payment_plan (client_id, currency, state, proposed_by, "
                   "total) VALUES (%s, 'EUR', 'proposed', 'client', 10) RETURNING id",
                   (world['pro'],))
    with pytest.raises(psycopg2.errors.UniqueViolation):
        env.sql('INSERT INTO dunning.plan_invoice (plan_id, invoice_id) '
                "SELECT %s, id FROM dunning.invoice WHERE number = 'PL-1'", (plan,))


@pytest.mark.parametrize('args, match', [
    ((['PL-1'], 4, '2026-12-15'), '2 to 3 instalments'),
    ((['PL-1'], 1, '2026-12-15'), '2 to 3 instalments'),
    ((['PL-1'], 2, '2027-01-07'), 'between 2026-12-07 and 2027-01-06'),
    ((['PL-1'], 2, '2026-12-06'), 'between'),
    ((['PL-1', 'PL-USD'], 2, '2026-12-15'), 'one currency'),
    ((['PL-1', 'PL-S'], 2, '2026-12-15'), "one client's"),
])
def test_refusals(world, args, match):
    env, a = world['env'], world['login'](MAITRE_A)
    with pytest.raises(psycopg2.Error, match=match):
        propose(env, a, *args)
    assert env.count('dunning.payment_plan') == 0


def test_a_disputed_or_paid_invoice_gets_no_plan(world):
    env, a = world['env'], world['login'](MAITRE_A)
    env.sql("UPDATE dunning.invoice SET disputed_at = now(), dispute_reason = 'x' "
            "WHERE number = 'PL-S'")
    with pytest.raises(psycopg2.errors.InvalidParameterValue, match='"PL-S" is disputed'):
        propose(env, a, ['PL-S'], n=2)
    env.pay('PL-S2', '300.00', '2026-12-01T10:00:00+01:00')
    with pytest.raises(psycopg2.errors.InvalidParameterValue, match='"PL-S2" is paid'):
        propose(env, a, ['PL-S2'], n=2)


def test_row_level_security(world):
    env, a, b = world['env'], world['login'](MAITRE_A), world['login'](MAITRE_B)
    plan = propose(env, a, ['PL-2'], n=2)
    # another lawyer sees nothing and cannot act
    assert env.sql('SELECT plan_id FROM dunning.plans', conn=b) == []
    assert env.sql('SELECT id FROM dunning.payment_plan', conn=b) == []
    assert env.sql('SELECT seq FROM dunning.plan_instalment', conn=b) == []
    for q, p in [('SELECT dunning.approve_plan(%s)', (plan,)),
                 ('SELECT dunning.reject_plan(%s, %s)', (plan, 'non')),
                 ('SELECT dunning.cancel_plan(%s, %s)', (plan, 'non'))]:
        with pytest.raises(psycopg2.errors.NoDataFound, match='no payment plan with id'):
            env.sql(q, p, now=TODAY, conn=b)
    with pytest.raises(psycopg2.errors.NoDataFound, match='no invoice numbered "PL-1"'):
        propose(env, b, ['PL-1'])
    assert state(env, plan) == 'proposed'
    # nobody but the definer functions calls plan_propose_for
    for c in (a, b, world['login'](ACCOUNTANT)):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            env.sql('SELECT dunning.plan_propose_for(%s, ARRAY[1]::bigint[], 2, %s, NULL, '
                    "'client')", (world['pro'], '2026-12-15'), conn=c)
    # a lawyer writes no plan table directly
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        env.sql("UPDATE dunning.payment_plan SET state = 'active'", conn=a)
    # the accountant reads every plan, changes none
    acct = world['login'](ACCOUNTANT)
    assert [r[0] for r in env.sql('SELECT plan_id FROM dunning.plans', conn=acct)] == [plan]
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        env.sql('SELECT dunning.approve_plan(%s)', (plan,), conn=acct)
    # the owner lawyer rejects it, with a reason kept out of the table
    env.sql('SELECT dunning.reject_plan(%s, %s)', (plan, 'trop long'), now=TODAY, conn=a)
    assert state(env, plan) == 'rejected'
    assert env.one("SELECT count(*) FROM dunning.plan_invoice WHERE open") == 0
    env.verify_audit()


def test_the_pass_reminds_breaks_and_completes(world):
    env, a = world['env'], world['login'](MAITRE_A)
    plan = propose(env, a, ['PL-1'])   # 299,99 on 15/12, 15/01; 300,01 on 15/02

    def run(day):
        env.sql('SELECT dunning.plans_pass(3, 3, 10)', now=day + 'T10:00:00+01:00')
        return sorted(env.sql('SELECT seq, kind, state FROM dunning.plan_message '
                              'WHERE plan_id = %s', (plan,)))

    assert run('2026-12-11') == []
    assert run('2026-12-12') == [(1, 'due', 'planned')]
    # paid on time (the reminder not sent yet: cancelled), no late
    # reminder; the next one 3 days before 15/01
    env.pay('PL-1', '299.99', '2026-12-14T10:00:00+01:00')
    assert run('2026-12-18') == [(1, 'due', 'cancelled')]
    assert run('2027-01-12') == [(1, 'due', 'cancelled'), (2, 'due', 'planned')]
    # the second instalment missed: late at +3, broken at +10
    assert run('2027-01-17') == [(1, 'due', 'cancelled'), (2, 'due', 'planned')]
    assert run('2027-01-18') == [(1, 'due', 'cancelled'), (2, 'due', 'planned'),
                                 (2, 'late', 'planned')]
    assert state(env, plan) == 'active'
    view = env.one('SELECT total, paid, next_due_on, next_amount, late_amount '
                   'FROM dunning.plans WHERE plan_id = %s', (plan,), now='2027-01-18T10:00+01')
    assert view == (Decimal('899.99'), Decimal('299.99'), D('2027-02-15'), Decimal('300.01'),
                    Decimal('299.99'))
    run('2027-01-24')
    assert state(env, plan) == 'active'
    assert run('2027-01-25') == [(1, 'due', 'cancelled'), (2, 'due', 'cancelled'),
                                 (2, 'late', 'cancelled')]
    assert state(env, plan) == 'broken'
    assert env.one("SELECT count(*) FROM dunning.lawyer_alert WHERE kind = 'plan_broken'") == 1
    assert env.one('SELECT dunning.plan_resumed_at(id) IS NOT NULL FROM dunning.invoice '
                   "WHERE number = 'PL-1'")
    env.verify_audit()


def test_a_plan_paid_in_full_completes(world):
    env, a = world['env'], world['login'](MAITRE_A)
    plan = propose(env, a, ['PL-S', 'PL-S2'], n=2)
    assert state(env, plan) == 'active'
    env.pay('PL-S', '600.00', '2026-12-10T10:00:00+01:00')
    env.sql('SELECT dunning.plans_pass(3, 3, 10)', now='2026-12-10T11:00:00+01:00')
    assert state(env, plan) == 'active'
    env.pay('PL-S2', '300.00', '2026-12-20T10:00:00+01:00')
    env.sql('SELECT dunning.plans_pass(3, 3, 10)', now='2026-12-20T11:00:00+01:00')
    assert state(env, plan) == 'completed'
    assert env.one("SELECT count(*) FROM dunning.audit_log WHERE action = 'plan_completed'") == 1


def test_cancel_frees_the_invoices(world):
    env, a = world['env'], world['login'](MAITRE_A)
    plan = propose(env, a, ['PL-1'])
    env.sql('SELECT dunning.cancel_plan(%s, %s)', (plan, 'le client a changé d\'avis'),
            now=TODAY, conn=a)
    assert state(env, plan) == 'cancelled'
    second = propose(env, a, ['PL-1'], n=2)
    assert state(env, second) == 'active'
    # the reason lives in the audit log's texts, not in a plain column
    assert env.one("SELECT details ? 'note_sha256' FROM dunning.audit_log "
                   "WHERE action = 'plan_cancelled'")


def test_an_accepted_plan_interrupts_prescription(world):
    env, a = world['env'], world['login'](MAITRE_A)
    before = env.one("SELECT last_interruption FROM dunning.prescription "
                     "WHERE invoice_number = 'PL-S'", now=TODAY)
    assert before is None
    propose(env, a, ['PL-S'], n=2)
    assert env.one("SELECT last_interruption FROM dunning.prescription "
                   "WHERE invoice_number = 'PL-S'", now=TODAY) == D('2026-12-07')


def test_a_dispute_stops_the_plans_reminders(world):
    env, a = world['env'], world['login'](MAITRE_A)
    plan = propose(env, a, ['PL-1'])
    env.sql('SELECT dunning.plans_pass(3, 3, 10)', now='2026-12-12T10:00:00+01:00')
    assert env.sql('SELECT kind, state FROM dunning.plan_message') == [('due', 'planned')]
    env.sql("SELECT dunning.flag_dispute('PL-1', 'conteste')", now='2026-12-12T11:00:00+01:00',
            conn=a)
    env.sql('SELECT dunning.plans_pass(3, 3, 10)', now='2026-12-12T11:01:00+01:00')
    assert env.sql('SELECT kind, state, reason FROM dunning.plan_message '
                   'WHERE plan_id = %s', (plan,)) == [('due', 'cancelled', 'disputed')]
