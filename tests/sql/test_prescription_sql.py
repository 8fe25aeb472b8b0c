"""The prescription watch (SPEC §2 rule 14, §3.1, issue 18): the view
dunning.prescription with dates computed by hand, the interruptions by a
payment and by a written acknowledgement (a registered letter is none), and
dunning.acknowledge_debt checking its caller, auditing and waking."""
import datetime as dt

import psycopg2
import pytest

MAITRE_A, MAITRE_B, ADMIN = 'presc_a', 'presc_b', 'presc_admin'
TODAY = '2026-12-07T10:00:00+01:00'


@pytest.fixture
def world(env):
    env.cluster.ensure_role(MAITRE_A, 'dunning_lawyer')
    env.cluster.ensure_role(MAITRE_B, 'dunning_lawyer')
    env.cluster.ensure_role(ADMIN, 'dunning_admin')
    la = env.lawyer('Maître A', 'a@cabinet.example', db_role=MAITRE_A)
    lb = env.lawyer('Maître B', 'b@cabinet.example', db_role=MAITRE_B)
    ind = env.client('jean@client.example', kind='individual', first='Jean', last='Durand',
                     lawyer=la)
    pro = env.client('pro@client.example', company='Société Pro', lawyer=la)
    other = env.client('b@client.example', lawyer=lb)
    ended = env.agreement(ind, mission_ended_on='2025-06-30')
    unknown = env.agreement(ind)
    # individual, mission ended 2025-06-30: prescribes 2027-06-30
    env.invoice('P-IND-END', ind, '2025-08-15', issued_on='2025-07-15', agreement_id=ended)
    # individual, end of mission unknown: the issue date 2025-03-10 + 2 years
    env.invoice('P-IND-ISS', ind, '2025-04-10', issued_on='2025-03-10', agreement_id=unknown)
    # individual, no agreement at all: the issue date 2025-02-01 + 2 years
    env.invoice('P-IND-NONE', ind, '2025-03-01', issued_on='2025-02-01')
    # professional: the due date 2022-01-31 + 5 years
    env.invoice('P-PRO', pro, '2022-01-31', issued_on='2022-01-01')
    env.invoice('P-OTHER', other, '2025-01-31')
    # paid in full: not listed
    env.invoice('P-PAID', pro, '2025-01-31', amount='100.00')
    env.pay('P-PAID', '100.00', '2025-02-10T12:00:00+01:00')
    w = dict(env=env, conns=[])

    def login(role):
        c = env.connect(user=role)
        w['conns'].append(c)
        return c
    w['login'] = login
    yield w
    for c in w['conns']:
        c.close()


def rows(env, conn=None):
    return {r[0]: r[1:] for r in env.sql(
        'SELECT invoice_number, client_name, kind, starts_on, prescribes_on, days_left, '
        'last_interruption FROM dunning.prescription ORDER BY 1', now=TODAY, conn=conn)}


D = dt.date.fromisoformat


def test_prescription_dates_by_hand(world):
    env = world['env']
    r = rows(env)
    assert 'P-PAID' not in r
    # 2027-06-30 - 2026-12-07 = 24 (Dec) + 31 + 28 + 31 + 30 + 31 + 30 = 205
    assert r['P-IND-END'] == ('Jean Durand', 'individual', D('2025-06-30'), D('2027-06-30'),
                              205, None)
    # 2027-03-10 - 2026-12-07 = 24 + 31 + 28 + 10 = 93
    assert r['P-IND-ISS'] == ('Jean Durand', 'individual', D('2025-03-10'), D('2027-03-10'),
                              93, None)
    # 2027-02-01 - 2026-12-07 = 24 + 31 + 1 = 56
    assert r['P-IND-NONE'][2:5] == (D('2025-02-01'), D('2027-02-01'), 56)
    # 2027-01-31 - 2026-12-07 = 24 + 31 = 55
    assert r['P-PRO'] == ('Société Pro', 'professional', D('2022-01-31'), D('2027-01-31'),
                          55, None)


def test_a_payment_and_an_acknowledgement_start_the_period_again(world):
    env = world['env']
    env.pay('P-PRO', '10.00', '2024-05-20T23:30:00+02:00')
    assert rows(env)['P-PRO'][2:] == (D('2024-05-20'), D('2029-05-20'),
                                      (D('2029-05-20') - D('2026-12-07')).days, D('2024-05-20'))
    env.sql("SELECT dunning.acknowledge_debt('P-IND-ISS', '2026-11-02', 'lettre du client')",
            now=TODAY, conn=world['login'](MAITRE_A))
    # 2028-11-02 - 2026-12-07 = 365 (to 2027-12-07) + 24 + 31 + 29 (2028 is leap)
    #   + 31 + 30 + 31 + 30 + 31 + 31 + 30 + 31 + 2 = 365 + 331 = 696
    assert rows(env)['P-IND-ISS'][2:] == (D('2026-11-02'), D('2028-11-02'), 696,
                                          D('2026-11-02'))
    actor, details = env.one("SELECT actor, dunning.audit_details(a.id, a.details) FROM dunning.audit_log a "
                             "WHERE action = 'debt_acknowledged'")
    assert actor == MAITRE_A
    assert details['on_date'] == '2026-11-02' and details['note'] == 'lettre du client'
    assert env.count('dunning.audit_text', "key = 'note'") == 1
    assert env.count('dunning.wake_queue') >= 1


def test_a_registered_letter_does_not_interrupt(world):
    env = world['env']
    before = rows(env)['P-PRO']
    env.sql("UPDATE dunning.invoice SET escalated_at = '2026-06-01' WHERE number = 'P-PRO'")
    assert rows(env)['P-PRO'] == before


def refused(env, conn, args):
    with pytest.raises(psycopg2.Error) as e:
        env.sql('SELECT dunning.acknowledge_debt(%s, %s, %s)', args, now=TODAY, conn=conn)
    return e.value.pgcode, e.value.diag.message_primary


def test_a_lawyer_cannot_acknowledge_another_lawyers_invoice(world):
    env = world['env']
    a = world['login'](MAITRE_A)
    theirs = refused(env, a, ('P-OTHER', '2026-11-02', None))
    unknown = refused(env, a, ('NO-SUCH', '2026-11-02', None))
    assert theirs == ('P0002', 'no invoice numbered "P-OTHER"')
    assert unknown == ('P0002', 'no invoice numbered "NO-SUCH"')
    assert env.count('dunning.debt_acknowledgement') == 0
    env.sql("SELECT dunning.acknowledge_debt('P-OTHER', '2026-11-02', NULL)", now=TODAY,
            conn=world['login'](ADMIN))
    assert env.count('dunning.debt_acknowledgement') == 1
    # the lawyer sees only their own files in the view
    assert 'P-OTHER' not in rows(env, conn=a) and 'P-PRO' in rows(env, conn=a)


def test_acknowledge_refuses_a_future_date_and_a_closed_invoice(world):
    env = world['env']
    a = world['login'](MAITRE_A)
    code, msg = refused(env, a, ('P-PRO', '2026-12-08', None))
    assert code == '22023' and 'in the future' in msg
    code, msg = refused(env, a, ('P-PAID', '2026-11-02', None))
    assert code == '22023' and msg == 'invoice "P-PAID" is closed (paid): nothing to acknowledge'
    assert env.count('dunning.debt_acknowledgement') == 0
