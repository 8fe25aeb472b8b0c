"""Fee agreements (SPEC §2 rule 13, §3.1, issue 18): the table under
need-to-know like the clients' and invoices', and the lawyers' functions
agreement_signed and agreement_filed, each checking its caller, writing
its audit row and waking the daemon."""
import psycopg2
import psycopg2.errors
import pytest

MAITRE_A, MAITRE_B, ADMIN, COMPTA = 'agr_a', 'agr_b', 'agr_admin', 'agr_compta'


@pytest.fixture
def world(env):
    env.cluster.ensure_role(MAITRE_A, 'dunning_lawyer')
    env.cluster.ensure_role(MAITRE_B, 'dunning_lawyer')
    env.cluster.ensure_role(ADMIN, 'dunning_admin')
    env.cluster.ensure_role(COMPTA, 'dunning_accountant')
    la = env.lawyer('Maître A', 'a@cabinet.example', db_role=MAITRE_A)
    lb = env.lawyer('Maître B', 'b@cabinet.example', db_role=MAITRE_B)
    ca = env.client('a@client.example', lawyer=la)
    cb = env.client('b@client.example', lawyer=lb)
    w = dict(env=env, ca=ca, cb=cb, conns=[],
             A=env.agreement(ca, signed_on=None, sent_on='2026-01-05'),
             B=env.agreement(cb, signed_on=None, sent_on='2026-01-05'),
             Bpartial=env.agreement(cb, clause=False, signed_on='2026-01-10',
                                    legal_aid='partial'))

    def login(role):
        c = env.connect(user=role)
        w['conns'].append(c)
        return c
    w['login'] = login
    yield w
    for c in w['conns']:
        c.close()


def snapshot(env):
    return [env.sql('SELECT to_jsonb(x)::text FROM dunning.%s x ORDER BY 1' % t)
            for t in ('fee_agreement', 'audit_log', 'wake_queue')]


def refused(env, conn, call, args):
    with pytest.raises(psycopg2.Error) as e:
        env.sql(call, args, conn=conn)
    d = e.value.diag
    return e.value.pgcode, d.message_primary, d.message_detail, d.message_hint, d.context


@pytest.mark.parametrize('call, key', [
    ("SELECT dunning.agreement_signed(%s, %s)", 'B'),
    ("SELECT dunning.agreement_filed(%s, %s)", 'Bpartial'),
])
def test_a_lawyer_cannot_act_on_another_lawyers_agreement(world, call, key):
    """Lawyer A calling agreement_signed (or agreement_filed) on lawyer B's
    agreement gets exactly the error of an unknown one, and nothing
    changes; B's agreement is the administrator's to record."""
    env = world['env']
    a = world['login'](MAITRE_A)
    before = snapshot(env)
    theirs = refused(env, a, call, (world[key], '2026-01-12'))
    unknown = refused(env, a, call, (987654, '2026-01-12'))
    assert theirs[1] == 'no fee agreement with id %d' % world[key]
    assert unknown[1] == 'no fee agreement with id 987654'
    assert theirs[0] == unknown[0] == 'P0002'
    assert theirs[2:] == unknown[2:]
    assert snapshot(env) == before
    env.sql(call, (world[key], '2026-01-12'), conn=world['login'](ADMIN))
    assert snapshot(env) != before


def test_agreement_signed_records_audits_and_wakes(world):
    env = world['env']
    a = world['login'](MAITRE_A)
    env.sql("SELECT dunning.agreement_signed(%s, '2026-01-12')", (world['A'],), conn=a)
    assert str(env.one('SELECT signed_on FROM dunning.fee_agreement WHERE id = %s',
                       (world['A'],))) == '2026-01-12'
    actor, details = env.one("SELECT actor, details FROM dunning.audit_log "
                             "WHERE action = 'agreement_signed'")
    assert actor == MAITRE_A
    assert details['agreement_id'] == world['A'] and details['client_id'] == world['ca']
    assert env.count('dunning.wake_queue', "event = 'agreement' AND client_id = %s",
                     (world['ca'],)) == 1
    # Once only, never before it was sent nor in the future.
    assert 'already recorded as signed' in refused(
        env, a, "SELECT dunning.agreement_signed(%s, '2026-01-13')", (world['A'],))[1]
    other = env.agreement(world['ca'], signed_on=None, sent_on='2026-01-05')
    assert 'cannot be signed on 2026-01-04' in refused(
        env, a, "SELECT dunning.agreement_signed(%s, '2026-01-04')", (other,))[1]
    assert 'is in the future' in refused(
        env, a, "SELECT dunning.agreement_signed(%s, '2999-01-01')", (other,))[1]


def test_agreement_filed_only_under_partial_legal_aid(world):
    env = world['env']
    b = world['login'](MAITRE_B)
    assert 'not under partial legal aid' in refused(
        env, b, "SELECT dunning.agreement_filed(%s, '2026-01-12')", (world['B'],))[1]
    assert 'cannot be filed on 2026-01-09' in refused(
        env, b, "SELECT dunning.agreement_filed(%s, '2026-01-09')", (world['Bpartial'],))[1]
    env.sql("SELECT dunning.agreement_filed(%s, '2026-01-20')", (world['Bpartial'],), conn=b)
    assert str(env.one('SELECT batonnier_filed_on FROM dunning.fee_agreement WHERE id = %s',
                       (world['Bpartial'],))) == '2026-01-20'
    assert env.one("SELECT actor FROM dunning.audit_log WHERE action = 'agreement_filed'") \
        == MAITRE_B


def test_need_to_know_on_the_table(world):
    """A lawyer reads the agreements of their own clients only and writes
    none directly; the accountant reads them all and writes none."""
    env = world['env']
    a = world['login'](MAITRE_A)
    assert {r[0] for r in env.sql('SELECT id FROM dunning.fee_agreement', conn=a)} == \
        {world['A']}
    compta = world['login'](COMPTA)
    assert len(env.sql('SELECT id FROM dunning.fee_agreement', conn=compta)) == 3
    for conn in (a, compta):
        for stmt in ("UPDATE dunning.fee_agreement SET signed_on = '2026-01-12'",
                     "INSERT INTO dunning.fee_agreement (client_id) VALUES (%d)" % world['ca']):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                env.sql(stmt, conn=conn)
            conn.rollback()


def test_the_table_refuses_what_rule_13_forbids(world):
    """An interest clause under legal aid, and an invoice naming another
    client's agreement, are refused by name."""
    env = world['env']
    with pytest.raises(psycopg2.errors.CheckViolation) as e:
        env.agreement(world['ca'], clause=True, legal_aid='partial')
    assert e.value.diag.constraint_name == 'fee_agreement_legal_aid_no_clause'
    env.conn.rollback()
    with pytest.raises(psycopg2.errors.ForeignKeyViolation) as e:
        env.invoice('F-AGR-1', world['ca'], '2026-02-01', agreement_id=world['B'])
    assert e.value.diag.constraint_name == 'invoice_agreement_fkey'
    env.conn.rollback()
    env.invoice('F-AGR-2', world['ca'], '2026-02-01', agreement_id=world['A'])
