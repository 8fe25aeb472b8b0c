"""Need to know (SPEC §3.1 roles, issue 4 item 6, sql/009): two lawyers, an
accountant, the daemon and an administrator log in as themselves, and each
boundary is crossed from every side: tables, the report views, COPY, the
lawyers' functions, direct writes, forged session settings, the one clock,
and a whole daemon cycle run by a non-superuser daemon login."""
import datetime as dt
import io
from decimal import Decimal as Dec

import psycopg2
import psycopg2.errors
import pytest

from harness import allow_simulated_clock, at

NOW = '2026-03-10T12:00:00+01:00'
TABLES = ('client', 'invoice', 'payment', 'reminder', 'audit_log')
# The functions a lawyer calls (SPEC §3.1, 003 and 007).
LAWYER_FUNCTIONS = ('flag_dispute(text, text)', 'clear_dispute(text, text)',
                    'approve(bigint)', 'reject(bigint, text)',
                    'pause_client(bigint, date, text)', 'pause_invoice(text, date, text)',
                    'resend(bigint, text)', 'mark_sent(bigint, text)')

MAITRE_A, MAITRE_B = 'maitre_a', 'maitre_b'
COMPTA, DAEMON, ADMIN = 'rls_compta', 'rls_daemon', 'rls_admin'


def roles(env):
    env.cluster.ensure_role(MAITRE_A, 'dunning_lawyer')
    env.cluster.ensure_role(MAITRE_B, 'dunning_lawyer')
    env.cluster.ensure_role(COMPTA, 'dunning_accountant')
    env.cluster.ensure_role(DAEMON, 'dunning_daemon')
    env.cluster.ensure_role(ADMIN, 'dunning_admin')


def reminder(env, number, stage, state, sent=False):
    return env.one("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for, "
                   "sent_at, message_id) SELECT id, %s, %s, '2026-02-05 09:00+01', %s, %s "
                   "FROM dunning.invoice WHERE number = %s RETURNING id",
                   (stage, state, '2026-02-05 09:00+01' if sent else None,
                    '<%s.%s@test>' % (number, stage) if sent else None, number))


def files(env, x, lawyer):
    """Lawyer X's file: a client, X-1 (1000.00, a held j3) and X-2 (2000.00,
    disputed, 500.00 paid, its j3 sent, its j10 failed, its j30 in doubt),
    and the client paused then resumed (audit rows about the client)."""
    c = env.client('%s@client.example' % x.lower(), lawyer=lawyer)
    env.invoice('%s-1' % x, c, '2026-03-02', amount='1000.00')
    env.invoice('%s-2' % x, c, '2026-02-02', amount='2000.00')
    held = reminder(env, '%s-1' % x, 'j3', 'held')
    sent = reminder(env, '%s-2' % x, 'j3', 'sent', sent=True)
    failed = reminder(env, '%s-2' % x, 'j10', 'failed')
    doubt = reminder(env, '%s-2' % x, 'j30', 'in_doubt')
    env.pay('%s-2' % x, '500.00', '2026-02-20T10:00:00+01:00')
    env.sql("SELECT dunning.flag_dispute(%s, 'honoraires contestés')", ('%s-2' % x,), now=NOW)
    env.sql("SELECT dunning.pause_client(%s, '2026-04-01', 'appel')", (c,), now=NOW)
    env.sql("SELECT dunning.pause_client(%s, NULL, 'fin')", (c,), now=NOW)
    return dict(client=c, held=held, sent=sent, failed=failed, in_doubt=doubt)


@pytest.fixture
def world(env):
    """Two lawyers' files, one audit row about no file, and the roles."""
    roles(env)
    la = env.lawyer('Maître A', 'a@cabinet.example', db_role=MAITRE_A)
    lb = env.lawyer('Maître B', 'b@cabinet.example', db_role=MAITRE_B)
    w = dict(env=env, A=files(env, 'A', la), B=files(env, 'B', lb), conns=[])
    env.sql("INSERT INTO dunning.audit_log (actor, action) VALUES ('daemon', 'config_reloaded')")

    def login(role):
        c = env.connect(user=role)
        w['conns'].append(c)
        return c
    w['login'] = login
    yield w
    for c in w['conns']:
        c.close()


def ids(env, table, conn=None):
    return {r[0] for r in env.sql('SELECT id FROM dunning.%s' % table, conn=conn)}


def expected(env, lawyer_role):
    """The ids of each table a lawyer may see, worked out in Python from the
    superuser's view of the rows (not with the policies' SQL)."""
    lawyers = dict(env.sql('SELECT db_role, id FROM dunning.lawyer'))
    clients = {c for c, lw in env.sql('SELECT id, lawyer_id FROM dunning.client')
               if lw == lawyers[lawyer_role]}
    invoices = {i for i, c in env.sql('SELECT id, client_id FROM dunning.invoice')
                if c in clients}
    out = {'client': clients, 'invoice': invoices}
    for t in ('payment', 'reminder'):
        out[t] = {i for i, inv in env.sql('SELECT id, invoice_id FROM dunning.%s' % t)
                  if inv in invoices}
    out['audit_log'] = {i for i, inv, d in env.sql(
        'SELECT id, invoice_id, details FROM dunning.audit_log')
        if inv in invoices or d.get('client_id') in clients}
    return out


def snapshot(env):
    out = {}
    for t in TABLES + ('lawyer', 'setting', 'audit_head'):
        out[t] = env.sql('SELECT to_jsonb(x)::text FROM dunning.%s x ORDER BY 1' % t)
    return out


def copy_out(conn, sql):
    buf = io.StringIO()
    with conn.cursor() as cur:
        cur.copy_expert(sql, buf)
    return [line for line in buf.getvalue().splitlines() if line]


# --------------------------------------------------------------- reading --

def test_rls_is_enabled_and_forced_and_the_reports_run_as_their_caller(env):
    got = env.sql("SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                  "WHERE relnamespace = 'dunning'::regnamespace AND relname = ANY(%s) "
                  "ORDER BY relname", (list(TABLES),))
    assert got == sorted((t, True, True) for t in TABLES)
    for v in ('aging', 'aging_invoices', 'kpi', 'stage_effectiveness'):
        assert env.one("SELECT reloptions FROM pg_class WHERE oid = %s::regclass",
                       ('dunning.' + v,)) == ['security_invoker=true'], v
    assert env.sql("SELECT proname FROM pg_proc WHERE pronamespace = 'dunning'::regnamespace "
                   "AND prosecdef AND proname IN ('aging_at', 'aging_invoices_at', 'dso', "
                   "'kpi_at', 'stage_effectiveness_at')") == []
    # No group role, and no login of the tests, bypasses the policies.
    roles(env)
    assert env.sql("SELECT rolname FROM pg_roles WHERE (rolbypassrls OR rolsuper) AND "
                   "rolname = ANY(%s)", ([MAITRE_A, MAITRE_B, COMPTA, DAEMON, ADMIN,
                                          'dunning_daemon', 'dunning_lawyer',
                                          'dunning_accountant', 'dunning_admin'],)) == []


def test_definer_functions_pin_their_search_path(env):
    """A SECURITY DEFINER function runs as the owner: each pins its
    search_path, so a caller's schema cannot slip an object under it, and
    puts pg_temp last, so a caller's temporary table or function cannot
    either (pg_temp is searched first unless it is named)."""
    unpinned = env.sql("SELECT p.oid::regprocedure::text FROM pg_proc p "
                       "WHERE p.pronamespace = 'dunning'::regnamespace AND p.prosecdef "
                       "AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c "
                       "                WHERE c LIKE 'search_path=%%pg_temp')")
    assert unpinned == []


def test_each_role_sees_its_rows_through_the_tables(world):
    env = world['env']
    everything = {t: ids(env, t) for t in TABLES}
    exp_a, exp_b = expected(env, MAITRE_A), expected(env, MAITRE_B)
    for t in TABLES:
        # The fixture gives each lawyer rows of every kind, none shared.
        assert exp_a[t] and exp_b[t] and not exp_a[t] & exp_b[t], t
    # One audit row (config_reloaded) is about no file: no lawyer sees it.
    assert exp_a['audit_log'] | exp_b['audit_log'] < everything['audit_log']
    a, b = world['login'](MAITRE_A), world['login'](MAITRE_B)
    for t in TABLES:
        assert ids(env, t, a) == exp_a[t], t
        assert ids(env, t, b) == exp_b[t], t
    # Through a join and a filter naming the other lawyer's file, too.
    assert env.sql("SELECT i.number FROM dunning.invoice i JOIN dunning.client c "
                   "ON c.id = i.client_id WHERE i.number LIKE 'B-%%'", conn=a) == []
    about_invoices = {x for x, inv in env.sql('SELECT id, invoice_id FROM dunning.audit_log')
                      if inv is not None}
    assert ids(env, 'audit_log WHERE invoice_id IN (SELECT id FROM dunning.invoice)', b) == \
        exp_b['audit_log'] & about_invoices
    # The accountant, the daemon and the administrator read every row.
    for role in (COMPTA, DAEMON, ADMIN):
        conn = world['login'](role)
        for t in TABLES:
            assert ids(env, t, conn) == everything[t], (role, t)


def test_a_lawyer_reads_the_bookmarks_of_their_own_invoices_only(world):
    """The planner's bookmarks (sql/017) are read like the invoices: a
    lawyer sees those of their files (dunningctl preview reads the facts
    with them), the accountant, the daemon and the administrator all."""
    env = world['env']
    env.sql("INSERT INTO dunning.invoice_next_action (invoice_id, next_action_at) "
            "SELECT id, '2026-04-01 09:00+02' FROM dunning.invoice "
            "ON CONFLICT (invoice_id) DO NOTHING")
    q = 'SELECT invoice_id FROM dunning.invoice_next_action ORDER BY 1'
    every = [r[0] for r in env.sql(q)]
    for role in (MAITRE_A, MAITRE_B):
        conn = world['login'](role)
        own = [r[0] for r in env.sql('SELECT id FROM dunning.invoice ORDER BY 1', conn=conn)]
        assert own and [r[0] for r in env.sql(q, conn=conn)] == own != every, role
    for role in (COMPTA, DAEMON, ADMIN):
        assert [r[0] for r in env.sql(q, conn=world['login'](role))] == every, role


def test_report_views_and_functions_apply_the_callers_policies(world):
    env = world['env']
    a, b, acc = world['login'](MAITRE_A), world['login'](MAITRE_B), world['login'](COMPTA)
    ca, cb = world['A']['client'], world['B']['client']
    for conn, clients, numbers in ((a, {ca}, {'A-1', 'A-2'}), (b, {cb}, {'B-1', 'B-2'}),
                                   (acc, {ca, cb}, {'A-1', 'A-2', 'B-1', 'B-2'})):
        assert {r[0] for r in env.sql('SELECT client_id FROM dunning.aging', conn=conn)} == \
            clients
        assert {r[0] for r in env.sql('SELECT invoice_number FROM dunning.aging_invoices',
                                      conn=conn)} == numbers
    # Open balances: A 1000 + (2000 - 500) = 2500; B the same; together 5000.
    q = 'SELECT currency, receivables, reminders_held FROM dunning.kpi'
    assert env.sql(q, conn=a) == [('EUR', Dec('2500.00'), 1)]
    assert env.sql(q, conn=b) == [('EUR', Dec('2500.00'), 1)]
    assert env.sql(q, conn=acc) == [('EUR', Dec('5000.00'), 2)]
    q = 'SELECT stage, sent FROM dunning.stage_effectiveness'
    assert env.sql(q, conn=a) == [('j3', 1)] and env.sql(q, conn=acc) == [('j3', 2)]
    q = "SELECT total FROM dunning.aging_at('2026-03-31')"
    assert env.sql(q, conn=a) == [(Dec('2500.00'),)]
    assert sorted(env.sql(q, conn=acc)) == [(Dec('2500.00'),), (Dec('2500.00'),)]
    # DSO at the end of 31 March over 90 days: A invoiced 3000 (issued in
    # January), 2500 receivable: 2500 x 90 / 3000 = 75.0; B has a third
    # invoice for the accountant to see: 5000 + 700 = 5700 receivable over
    # 3000 + 3000 + 700 = 6700 invoiced: 5700 x 90 / 6700 = 76.57 -> 76.6.
    env.invoice('B-3', cb, '2026-03-20', amount='700.00', issued_on='2026-03-01')
    q = "SELECT dunning.dso(90, '2026-03-31')"
    assert env.sql(q, conn=a) == [(Dec('75.0'),)]
    assert env.sql(q, conn=acc) == [(Dec('76.6'),)]


@pytest.mark.parametrize('table', TABLES)
def test_copy_applies_the_policies(world, table):
    env = world['env']
    a = world['login'](MAITRE_A)
    mine = expected(env, MAITRE_A)[table]
    got = copy_out(a, 'COPY dunning.%s (id) TO STDOUT' % table)
    assert {int(x) for x in got} == mine
    got = copy_out(a, 'COPY (SELECT id FROM dunning.%s) TO STDOUT' % table)
    assert {int(x) for x in got} == mine
    got = copy_out(a, 'COPY dunning.%s TO STDOUT' % table)
    assert len(got) == len(mine)
    acc = world['login'](COMPTA)
    assert {int(x) for x in copy_out(acc, 'COPY dunning.%s (id) TO STDOUT' % table)} == \
        ids(env, table)


# ------------------------------------------------------- the functions --

# (function call, the fixture's key of lawyer B's object, an unknown one,
#  the error message with {} for the argument)
CROSS = [
    ("SELECT dunning.flag_dispute(%s, 'contestation')", '-1', 'NOPE-1',
     'no invoice numbered "{}"'),
    ("SELECT dunning.clear_dispute(%s, 'accord')", '-2', 'NOPE-2',
     'no invoice numbered "{}"'),
    ("SELECT dunning.pause_invoice(%s, NULL, 'appel')", '-1', 'NOPE-1',
     'no invoice numbered "{}"'),
    ("SELECT dunning.pause_client(%s, NULL, 'appel')", 'client', 987654,
     'no client with id {}'),
    ("SELECT dunning.approve(%s)", 'held', 987654, 'no reminder with id {}'),
    ("SELECT dunning.reject(%s, 'non')", 'held', 987654, 'no reminder with id {}'),
    ("SELECT dunning.resend(%s, 'encore')", 'failed', 987654, 'no reminder with id {}'),
    ("SELECT dunning.mark_sent(%s, 'reçu')", 'in_doubt', 987654, 'no reminder with id {}'),
]


def target(world, who, key):
    return who + key if key.startswith('-') else world[who][key]


def refused(env, conn, call, arg):
    with pytest.raises(psycopg2.Error) as e:
        env.sql(call, (arg,), conn=conn)
    d = e.value.diag
    return e.value.pgcode, d.message_primary, d.message_detail, d.message_hint, d.context


@pytest.mark.parametrize('call, key, unknown, message', CROSS)
def test_another_lawyers_file_is_unknown_to_the_functions(world, call, key, unknown, message):
    """Lawyer A acting on lawyer B's invoice, client or reminder gets
    exactly the error of an unknown one (code, message, detail, hint,
    context), and nothing changes; the same call on A's own file works,
    and an administrator may act on B's."""
    env = world['env']
    a = world['login'](MAITRE_A)
    before = snapshot(env)
    theirs = refused(env, a, call, target(world, 'B', key))
    unknown_err = refused(env, a, call, unknown)
    assert theirs[1] == message.format(target(world, 'B', key))
    assert unknown_err[1] == message.format(unknown)
    assert theirs[0] == unknown_err[0] == 'P0002'           # no_data_found
    assert theirs[2:] == unknown_err[2:]
    assert snapshot(env) == before
    # Not a blanket refusal: A's own file, and B's for the staff.
    env.sql(call, (target(world, 'A', key),), conn=a)
    assert snapshot(env) != before
    env.sql(call, (target(world, 'B', key),), conn=world['login'](ADMIN))


def test_identity_functions(world):
    env = world['env']
    a, adm = world['login'](MAITRE_A), world['login'](ADMIN)
    ca, cb = world['A']['client'], world['B']['client']
    q = 'SELECT dunning.is_staff(), dunning.my_client(%s), dunning.my_client(%s), ' \
        'dunning.my_client(987654)'
    assert env.sql(q, (ca, cb), conn=a) == [(False, True, False, False)]
    assert env.sql(q, (ca, cb), conn=adm) == [(True, True, True, True)]
    assert env.sql(q, (ca, cb), conn=world['login'](DAEMON))[0][0] is True
    assert env.sql(q, (ca, cb), conn=world['login'](COMPTA)) == [(False, False, False, False)]
    assert env.sql(q, (ca, cb))[0][0] is True                # superuser


# ---------------------------------------------------------------- writing --

WRITES = [
    "UPDATE dunning.invoice SET disputed_at = now(), dispute_reason = 'x' WHERE number = '{X}-1'",
    "UPDATE dunning.invoice SET paused_until = '2030-01-01'",
    "UPDATE dunning.client SET paused_until = '2030-01-01'",
    "UPDATE dunning.reminder SET state = 'approved' WHERE state = 'held'",
    "DELETE FROM dunning.payment",
    "DELETE FROM dunning.reminder",
    "INSERT INTO dunning.payment (invoice_id, amount) "
    "SELECT id, 5000 FROM dunning.invoice WHERE number = '{X}-1'",
    "INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for) "
    "SELECT id, 'j99', 'approved', now() FROM dunning.invoice WHERE number = '{X}-1'",
    "INSERT INTO dunning.audit_log (actor, action) VALUES ('daemon', 'forged')",
    "UPDATE dunning.audit_log SET actor = 'x'",
    "DELETE FROM dunning.audit_log",
    "TRUNCATE dunning.client CASCADE",
    "TRUNCATE dunning.audit_log",
    "UPDATE dunning.lawyer SET db_role = current_user WHERE db_role <> current_user",
    "INSERT INTO dunning.lawyer (full_name, email, db_role) VALUES ('X', 'x@x.example', 'x')",
    "INSERT INTO dunning.setting VALUES ('simulated_clock', 'allowed')",
    "UPDATE dunning.setting SET value = 'UTC'",
    "SELECT * FROM dunning.invoice WHERE number = '{X}-1' FOR UPDATE",
    "COPY dunning.payment (invoice_id, amount) FROM STDIN",
]


@pytest.mark.parametrize('role', [MAITRE_A, COMPTA])
@pytest.mark.parametrize('stmt', WRITES)
def test_lawyers_and_the_accountant_write_nothing_directly(world, role, stmt):
    """A lawyer acts only through the functions, even on their own file;
    the accountant writes nothing: each write is refused for want of the
    privilege, and nothing changes."""
    env = world['env']
    conn = world['login'](role)
    before = snapshot(env)
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        with conn.cursor() as cur:
            cur.execute(stmt.format(X='A'))
    assert snapshot(env) == before


def test_accountant_executes_no_lawyer_function(world):
    env = world['env']
    acc = world['login'](COMPTA)
    for f in LAWYER_FUNCTIONS:
        assert env.one("SELECT has_function_privilege(%s, %s, 'EXECUTE')",
                       (COMPTA, 'dunning.' + f)) is False, f
    before = snapshot(env)
    for call, key, _, _ in CROSS:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            env.sql(call, (target(world, 'A', key),), conn=acc)
    assert snapshot(env) == before
    # Of every SECURITY DEFINER function of the schema (this and later
    # migrations), the accountant may call only the identity and clock
    # checks; trigger functions cannot be called at all.
    callable_ = env.sql("SELECT p.proname FROM pg_proc p WHERE p.pronamespace = "
                        "'dunning'::regnamespace AND p.prosecdef "
                        "AND p.prorettype <> 'trigger'::regtype "
                        "AND has_function_privilege(%s, p.oid, 'EXECUTE') ORDER BY 1", (COMPTA,))
    assert callable_ == [('my_client',), ('simulated_clock_allowed',)]


def test_daemon_cannot_change_audit_rows_and_owns_nothing(world):
    env = world['env']
    d = world['login'](DAEMON)
    for priv in ('UPDATE', 'DELETE', 'TRUNCATE'):
        assert env.one('SELECT has_table_privilege(%s, %s, %s)',
                       (DAEMON, 'dunning.audit_log', priv)) is False, priv
    before = snapshot(env)
    for stmt in ("UPDATE dunning.audit_log SET actor = 'x'", 'DELETE FROM dunning.audit_log',
                 'TRUNCATE dunning.audit_log', 'DELETE FROM dunning.reminder',
                 'DELETE FROM dunning.payment',
                 "UPDATE dunning.invoice SET amount = 1 WHERE number = 'A-1'"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            with d.cursor() as cur:
                cur.execute(stmt)
    assert snapshot(env) == before
    owned = env.sql("SELECT c.relname FROM pg_class c WHERE c.relnamespace = "
                    "'dunning'::regnamespace AND (pg_has_role(%s, c.relowner, 'MEMBER') "
                    "OR pg_has_role('dunning_daemon', c.relowner, 'MEMBER'))", (DAEMON,))
    assert owned == []
    assert env.one("SELECT pg_has_role(%s, nspowner, 'MEMBER') FROM pg_namespace "
                   "WHERE nspname = 'dunning'", (DAEMON,)) is False


# ------------------------------------------------------ forged settings --

def test_forged_session_settings_change_nothing(world):
    env = world['env']
    a = world['login'](MAITRE_A)
    mine = expected(env, MAITRE_A)
    before = snapshot(env)
    with a.cursor() as cur:
        cur.execute("SET dunning.lawyer = 'maitre_b'")
        cur.execute("SET dunning.role = 'dunning_admin'")
    for t in TABLES:
        assert ids(env, t, a) == mine[t], t
    assert refused(env, a, "SELECT dunning.flag_dispute(%s, 'x')", 'B-1')[1] == \
        'no invoice numbered "B-1"'
    for stmt in ('SET ROLE maitre_b', "SET ROLE 'dunning_admin'", 'SET ROLE dunning_daemon',
                 'SET SESSION AUTHORIZATION maitre_b', 'SET SESSION AUTHORIZATION postgres'):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            with a.cursor() as cur:
                cur.execute(stmt)
    assert env.one('SELECT current_user::text || session_user::text', conn=a) == \
        MAITRE_A + MAITRE_A
    # row_security = off: a query the policies would filter is an error,
    # never a way round them.
    with a.cursor() as cur:
        cur.execute('SET row_security = off')
    for t in TABLES:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege,
                           match='row-level security'):
            env.sql('SELECT id FROM dunning.%s' % t, conn=a)
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        copy_out(a, 'COPY dunning.invoice TO STDOUT')
    with a.cursor() as cur:
        cur.execute('RESET row_security')
    # The group role itself is nobody's lawyer: it sees nothing.
    with a.cursor() as cur:
        cur.execute('SET ROLE dunning_lawyer')
    for t in TABLES:
        assert ids(env, t, a) == set(), t
    assert snapshot(env) == before


# ------------------------------------------------------------ the clock --

def close_to_real_time(t):
    return abs((t - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 120


def clock(conn, setting):
    """dunning.now() in CONN's session after SET dunning.now = SETTING
    (env.sql would reset the setting first)."""
    with conn.cursor() as cur:
        cur.execute('SET dunning.now = %s', (setting,))
        cur.execute('SELECT dunning.now()')
        return cur.fetchone()[0]


def test_a_lawyer_cannot_date_their_audit_rows(world):
    """SET dunning.now before a lawyer's function: ignored (the real time
    is recorded) unless the operator allowed simulated clocks; the staff's
    setting is always followed."""
    env = world['env']
    a = world['login'](MAITRE_A)
    forged = dt.datetime.fromisoformat('2020-01-01T10:00:00+01:00')
    assert close_to_real_time(clock(a, '2020-01-01 10:00+01'))
    with a.cursor() as cur:
        cur.execute("SELECT dunning.flag_dispute('A-1', 'contestation')")
    (row,) = env.audit('dispute_flagged', 'A-1')
    assert row['actor'] == MAITRE_A and close_to_real_time(row['at']), row
    assert close_to_real_time(env.one("SELECT disputed_at FROM dunning.invoice "
                                      "WHERE number = 'A-1'"))
    # Nor through the accountant's session, nor a garbage value (no error).
    assert close_to_real_time(clock(world['login'](COMPTA), '2020-01-01 10:00+01'))
    assert close_to_real_time(clock(a, 'not a time'))
    # The staff: the daemon's and the administrator's replays are followed.
    for role in (DAEMON, ADMIN):
        assert clock(world['login'](role), '2020-01-01 10:00+01') == forged, role
    # The operator's replay switch, which only the staff may write.
    adm = world['login'](ADMIN)
    env.sql("INSERT INTO dunning.setting VALUES ('simulated_clock', 'allowed')", conn=adm)
    assert clock(a, '2020-01-02 10:00+01') == forged + dt.timedelta(days=1)
    with a.cursor() as cur:
        cur.execute("SELECT dunning.clear_dispute('A-1', 'accord')")
    (row,) = env.audit('dispute_cleared', 'A-1')
    assert row['at'] == forged + dt.timedelta(days=1)
    allow_simulated_clock(env, False)
    assert close_to_real_time(clock(a, '2020-01-02 10:00+01'))
    with a.cursor() as cur:
        cur.execute("SELECT dunning.flag_dispute('A-1', 'encore')")
    assert close_to_real_time(env.audit('dispute_flagged', 'A-1')[-1]['at'])
    env.verify_audit()


# ---------------------------------------------------- the daemon's cycle --

def test_daemon_cycle_under_rls_as_a_daemon_login(make_env):
    """dunningd --once connected as a login member of dunning_daemon (not a
    superuser, not the owner) plans, holds, cancels, sends and audits
    under the policies; each lawyer then sees only their own part of it."""
    env = make_env()
    roles(env)
    env.write_config(db_user=DAEMON)
    la = env.lawyer('Maître A', 'a@cabinet.example', db_role=MAITRE_A)
    lb = env.lawyer('Maître B', 'b@cabinet.example', db_role=MAITRE_B)
    ca = env.client('strat@client.example', lawyer=la, strategic=True)
    env.invoice('A-1', ca, '2026-03-02')
    cb = env.client('plain@client.example', lawyer=lb)
    env.invoice('B-1', cb, '2026-03-02')
    cc = env.client('paid@client.example', lawyer=lb)
    env.invoice('B-2', cc, '2026-03-02')
    env.cycle(at('2026-03-05', '18:30'))
    env.pay('B-2', '1000.00', at('2026-03-05', '19:00'))
    env.cycle(at('2026-03-06', '10:00'))
    assert [m.rcpt for m in env.mails()] == ['plain@client.example']
    assert env.reminders('A-1')['j3']['state'] == 'held'
    assert env.reminders('B-1')['j3']['state'] == 'sent'
    assert env.reminders('B-2')['j3']['state'] == 'cancelled'
    # Lawyer A approves the held reminder (a replay: simulated clock on);
    # the next cycle sends it.
    allow_simulated_clock(env)
    a = env.connect(user=MAITRE_A)
    b = env.connect(user=MAITRE_B)
    try:
        env.sql('SELECT dunning.approve(%s)', (env.reminders('A-1')['j3']['id'],),
                now=at('2026-03-06', '11:00'), conn=a)
        env.cycle(at('2026-03-06', '12:00'))
        assert sorted(m.rcpt for m in env.mails()) == ['plain@client.example',
                                                       'strat@client.example']
        acts = {(x['number'], x['action'], x['actor']) for x in env.audit()}
        assert {('A-1', 'held', 'daemon'), ('A-1', 'approved', MAITRE_A),
                ('A-1', 'sent', 'daemon'), ('B-1', 'sent', 'daemon'),
                ('B-2', 'cancelled', 'daemon')} <= acts
        for conn, mine in ((a, {'A-1'}), (b, {'B-1', 'B-2'})):
            seen = env.sql('SELECT DISTINCT i.number FROM dunning.audit_log x '
                           'JOIN dunning.invoice i ON i.id = x.invoice_id', conn=conn)
            assert {r[0] for r in seen} == mine
            assert env.one("SELECT count(*) FROM dunning.audit_log "
                           "WHERE action = 'daemon_started' OR invoice_id IS NULL",
                           conn=conn) == 0
    finally:
        a.close()
        b.close()
    env.verify_audit()


def test_owner_that_is_not_superuser(make_env):
    """Migrated by a role that is not a superuser, the tables' owner is
    bound by the policies too (FORCE): its own policy keeps the lawyers'
    functions, the payment trigger, the audit chain and the daemon
    working."""
    env = make_env(empty=True)
    roles(env)
    owner = env.cluster.ensure_role('rls_owner')
    env.cluster.admin('GRANT CREATE ON DATABASE %s TO %s' % (env.dbname, owner))
    env.write_config(db_user=owner)
    env.ctl('migrate', check=0)
    assert env.one("SELECT count(*) FROM pg_class WHERE relnamespace = "
                   "'dunning'::regnamespace AND relname = ANY(%s) "
                   "AND relowner = %s::regrole AND relforcerowsecurity",
                   (list(TABLES), owner)) == len(TABLES)
    assert env.one('SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = %s',
                   (owner,)) is False
    la = env.lawyer('Maître A', 'a@cabinet.example', db_role=MAITRE_A)
    env.lawyer('Maître B', 'b@cabinet.example', db_role=MAITRE_B)
    ca = env.client('own@client.example', lawyer=la)
    env.invoice('A-1', ca, '2026-03-02')
    env.invoice('A-2', ca, '2026-03-02')
    env.write_config(db_user=DAEMON)
    env.cycle(at('2026-03-05'))
    assert [m.rcpt for m in env.mails()] == ['own@client.example']
    adm = env.connect(user=ADMIN)
    a = env.connect(user=MAITRE_A)
    b = env.connect(user=MAITRE_B)
    try:
        env.sql("INSERT INTO dunning.payment (invoice_id, amount) "
                "SELECT id, 1000 FROM dunning.invoice WHERE number = 'A-2'", conn=adm)
        env.sql("SELECT dunning.flag_dispute('A-1', 'contestation')", conn=a)
        with pytest.raises(psycopg2.Error, match='no invoice numbered "A-1"'):
            env.sql("SELECT dunning.clear_dispute('A-1', 'x')", conn=b)
        # The owner itself reads through its policy.
        own = env.connect(user=owner)
        try:
            assert env.one('SELECT count(*) FROM dunning.invoice', conn=own) == 2
        finally:
            own.close()
    finally:
        adm.close()
        a.close()
        b.close()
    assert {x['action'] for x in env.audit()} >= {'payment_recorded', 'dispute_flagged',
                                                  'sent', 'planned'}
    env.verify_audit()
