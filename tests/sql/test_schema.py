"""The database side of the contract (SPEC §3.1, §2 rule 10): migrations,
schema version checks, constraints, the append-only hash-chained audit
log, and the lawyers' functions, against a real PostgreSQL 15."""
import datetime as dt
import os
import select
import subprocess
import time

import psycopg2
import psycopg2.errors
import pytest

from harness import PG_BIN, SOURCE_ROOT, allow_simulated_clock, at, instant

from test_audit_chain import tamper

NOW = '2026-03-10T12:00:00+01:00'


def pg_dump_schema(env):
    r = subprocess.run([os.path.join(PG_BIN, 'pg_dump'), '-h', env.cluster.host, '-p',
                        str(env.cluster.port), '-U', 'postgres', '--schema-only',
                        '--no-owner', env.dbname], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # pg_dump >= 15.14 brackets the dump with a random \restrict key.
    return '\n'.join(line for line in r.stdout.splitlines()
                     if not line.startswith(('\\restrict', '\\unrestrict')))


def snapshot(env):
    """Everything a lawyer's function could change."""
    out = {}
    for t in ('invoice', 'client', 'reminder', 'payment', 'audit_log', 'audit_head'):
        out[t] = env.sql('SELECT to_jsonb(x)::text FROM dunning.%s x ORDER BY 1' % t)
    return out


def seed(env):
    """A lawyer, a client, two invoices: one with a held reminder, one with
    a planned one and a sent one."""
    lw = env.lawyer()
    c = env.client('sql@client.example', lawyer=lw)
    i1 = env.invoice('S-1', c, '2026-03-02', amount='900.00')
    i2 = env.invoice('S-2', c, '2026-02-02', amount='900.00')
    held = env.one("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for) "
                   "VALUES (%s, 'j3', 'held', '2026-03-05 09:00+01') RETURNING id", (i1,))
    planned = env.one("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for) "
                      "VALUES (%s, 'j10', 'planned', '2026-03-12 09:00+01') RETURNING id", (i2,))
    sent = env.one("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for, "
                   "sent_at, message_id) VALUES (%s, 'j3', 'sent', '2026-02-05 09:00+01', "
                   "'2026-02-05 09:00+01', '<x@y>') RETURNING id", (i2,))
    return dict(lawyer=lw, client=c, i1=i1, i2=i2, held=held, planned=planned, sent=sent)


# ------------------------------------------------------------ migrations --

def test_migrations_applied_twice_change_nothing(make_env):
    env = make_env(smtp=False, empty=True)
    files = sorted(f[:-4] for f in os.listdir(os.path.join(SOURCE_ROOT, 'sql'))
                   if f.endswith('.sql'))
    r = env.ctl('migrate', check=0)
    for name in files:
        assert 'applied %s' % name in r.stdout, r.stdout
    assert '%d migrations applied' % len(files) in r.stdout, r.stdout
    versions = env.sql('SELECT version, name FROM dunning.schema_migration ORDER BY version')
    assert versions == [(int(f[:3]), f) for f in files]
    dump1 = pg_dump_schema(env)
    assert 'CREATE TABLE dunning.reminder' in dump1 and 'audit_log_no_change' in dump1
    data1 = env.sql('SELECT key, value FROM dunning.setting ORDER BY key')
    head1 = env.sql('SELECT last_hash FROM dunning.audit_head')
    r = env.ctl('migrate', check=0)
    assert '0 migrations applied' in r.stdout and 'applied 0' not in r.stdout, r.stdout
    assert pg_dump_schema(env) == dump1
    assert env.sql('SELECT version, name FROM dunning.schema_migration ORDER BY version') == \
        versions
    assert env.sql('SELECT key, value FROM dunning.setting ORDER BY key') == data1
    assert env.sql('SELECT last_hash FROM dunning.audit_head') == head1
    # The roles of SPEC §3.1 exist.
    roles = {r[0] for r in env.sql("SELECT rolname FROM pg_roles WHERE rolname LIKE 'dunning_%'")}
    assert {'dunning_daemon', 'dunning_lawyer', 'dunning_accountant', 'dunning_admin'} <= roles


def test_migrate_refuses_a_newer_schema(env):
    env.sql("INSERT INTO dunning.schema_migration (version, name) VALUES (99, '099_future')")
    r = env.ctl('migrate')
    assert r.returncode != 0
    assert 'version 99' in r.stderr and 'newer' in r.stderr, r.stderr


def test_daemon_refuses_unknown_schema_version(make_env):
    env = make_env()
    env.sql("INSERT INTO dunning.schema_migration (version, name) VALUES (99, '099_future')")
    c = env.client('v99@client.example')
    env.invoice('V-1', c, '2026-03-02')
    before = env.count('dunning.audit_log')
    r = env.cycle(at('2026-03-05'), check=None)
    assert r.returncode != 0
    assert 'schema version 99' in r.stderr and 'upgrade dunningd' in r.stderr, r.stderr
    assert env.count('dunning.audit_log') == before
    assert env.count('dunning.reminder') == 0
    assert env.mails() == []


def test_daemon_refuses_unmigrated_database(make_env):
    env = make_env(smtp=False, empty=True)
    r = env.cycle(at('2026-03-05'), check=None)
    assert r.returncode != 0
    assert 'schema version 0' in r.stderr and 'dunningctl migrate' in r.stderr, r.stderr
    assert env.sql("SELECT to_regclass('dunning.audit_log')") == [(None,)]


def test_daemon_refuses_missing_database(make_env):
    env = make_env(smtp=False)
    env.close()                       # drops the database
    r = env.cycle(at('2026-03-05'), check=None)
    assert r.returncode != 0 and 'database' in r.stderr, r.stderr


# ------------------------------------------------------------ constraints --

@pytest.mark.parametrize('sql, constraint', [
    ("INSERT INTO dunning.invoice (number, client_id, issued_on, due_on, amount) "
     "VALUES ('N-1', {c}, '2026-01-01', '2026-01-31', -10)", 'invoice_amount_positive'),
    ("INSERT INTO dunning.invoice (number, client_id, issued_on, due_on, amount) "
     "VALUES ('N-1', {c}, '2026-01-01', '2026-01-31', 0)", 'invoice_amount_positive'),
    ("INSERT INTO dunning.payment (invoice_id, amount) VALUES ({i}, -5)",
     'payment_amount_positive'),
    ("INSERT INTO dunning.payment (invoice_id, amount) VALUES ({i}, 0)",
     'payment_amount_positive'),
    ("INSERT INTO dunning.client (kind, company_name) VALUES ('robot', 'X')",
     'client_kind_check'),
    ("INSERT INTO dunning.client (kind, company_name, language) "
     "VALUES ('professional', 'X', 'de')", 'client_language_check'),
    ("INSERT INTO dunning.invoice (number, client_id, issued_on, due_on, amount, currency) "
     "VALUES ('N-1', {c}, '2026-01-01', '2026-01-31', 10, 'eu1')", 'invoice_currency_check'),
    ("INSERT INTO dunning.invoice (number, client_id, issued_on, due_on, amount, status) "
     "VALUES ('N-1', {c}, '2026-01-01', '2026-01-31', 10, 'paid')", 'invoice_status_check'),
    ("UPDATE dunning.invoice SET status = 'settled' WHERE id = {i}", 'invoice_status_check'),
    ("UPDATE dunning.invoice SET amount = -1 WHERE id = {i}", 'invoice_amount_positive'),
    ("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for) "
     "VALUES ({i}, 'j3', 'bogus', now())", 'reminder_state_check'),
    ("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for) "
     "VALUES ({i}, 'j10', 'planned', now())", 'reminder_once'),
])
def test_constraint_refuses_bad_row_by_name(env, sql, constraint):
    """Bad amounts, kinds, currencies, statuses and states, and a second
    (invoice, stage) reminder, are refused with the constraint's name."""
    c = env.client('cons@client.example')
    i = env.invoice('C-1', c, '2026-03-02')
    env.sql("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for) "
            "VALUES (%s, 'j10', 'planned', now())", (i,))
    counts = {t: env.count('dunning.' + t) for t in ('client', 'invoice', 'payment', 'reminder')}
    with pytest.raises(psycopg2.IntegrityError) as e:
        env.sql(sql.format(c=c, i=i))
    assert e.value.diag.constraint_name == constraint
    assert constraint in str(e.value)
    assert {t: env.count('dunning.' + t) for t in counts} == counts
    assert env.one('SELECT amount::text || status FROM dunning.invoice WHERE id = %s',
                   (i,)) == '1000.00open'


def test_reminder_once_holds_across_concurrent_transactions(env):
    """Rule 2 in the database: two transactions inserting the same
    (invoice, stage) at once: one wins, the other is refused."""
    c = env.client('once@client.example')
    i = env.invoice('C-2', c, '2026-03-02')
    a, b = env.connect(autocommit=False), env.connect(autocommit=False)
    try:
        q = ("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for) "
             "VALUES (%s, 'j3', 'planned', now())")
        a.cursor().execute(q, (i,))
        b.cursor().execute('SET lock_timeout = 200')
        with pytest.raises(psycopg2.errors.LockNotAvailable):
            b.cursor().execute(q, (i,))       # waits for a, then gives up
        b.rollback()
        a.commit()
        with pytest.raises(psycopg2.IntegrityError) as e:
            b.cursor().execute(q, (i,))
        assert e.value.diag.constraint_name == 'reminder_once'
        b.rollback()
    finally:
        a.close()
        b.close()
    assert env.count('dunning.reminder') == 1


# -------------------------------------------------------------- audit log --

def write_some_audit(env):
    s = seed(env)
    env.sql("SELECT dunning.flag_dispute('S-1', 'contestation')", now=NOW)
    env.sql("SELECT dunning.clear_dispute('S-1', 'réglé')", now=NOW)
    env.sql("SELECT dunning.pause_client(%s, '2026-04-01', 'échéancier')", (s['client'],),
            now=NOW)
    env.pay('S-2', '100.00', NOW)
    return s


@pytest.mark.parametrize('replica', [False, True])
@pytest.mark.parametrize('stmt', [
    "UPDATE dunning.audit_log SET actor = 'mallory' WHERE id = {id}",
    "UPDATE dunning.audit_log SET details = '{{}}'",
    "DELETE FROM dunning.audit_log WHERE id = {id}",
    "DELETE FROM dunning.audit_log",
    "TRUNCATE dunning.audit_log",
])
def test_audit_log_is_append_only_even_for_superuser(env, stmt, replica):
    """Rule 10: UPDATE, DELETE and TRUNCATE of the audit log are refused,
    to the superuser too, also under session_replication_role = replica."""
    write_some_audit(env)
    assert env.one('SELECT rolsuper FROM pg_roles WHERE rolname = current_user')
    before = env.sql('SELECT to_jsonb(a)::text FROM dunning.audit_log a ORDER BY id')
    last = env.one('SELECT max(id) FROM dunning.audit_log')
    conn = env.connect()
    try:
        if replica:
            conn.cursor().execute('SET session_replication_role = replica')
        with pytest.raises(psycopg2.Error) as e:
            conn.cursor().execute(stmt.format(id=last))
        assert 'append-only' in str(e.value)
    finally:
        conn.close()
    assert env.sql('SELECT to_jsonb(a)::text FROM dunning.audit_log a ORDER BY id') == before
    env.verify_audit()


def test_audit_rows_cannot_be_forged_on_insert(env):
    """The chain, not the writer, decides id, time, prev_hash and hash."""
    write_some_audit(env)
    env.sql("INSERT INTO dunning.audit_log (id, at, actor, action, prev_hash, hash) "
            "VALUES (1, '2000-01-01', 'mallory', 'forged', '\\x00', '\\x00')", now=NOW)
    row = env.sql("SELECT id, at, hash FROM dunning.audit_log WHERE action = 'forged'")[0]
    assert row[0] > 1 and row[1] == dt.datetime.fromisoformat(NOW) and bytes(row[2]) != b'\x00'
    env.verify_audit()


def test_audit_verify_ok_on_clean_log(env):
    write_some_audit(env)
    n = env.count('dunning.audit_log')
    assert n >= 5
    r = env.ctl('audit', 'verify', check=0)
    assert 'OK' in r.stdout and ('%d rows' % n) in r.stdout


def test_audit_verify_ok_on_empty_log(env):
    r = env.ctl('audit', 'verify', check=0)
    assert 'OK' in r.stdout and '0 rows' in r.stdout


@pytest.mark.parametrize('group', ['dunning_daemon', 'dunning_admin', 'dunning_accountant'])
def test_audit_verify_as_non_superuser_roles(env, group):
    """The operator runs `audit verify` with the daemon's configuration (a
    dunning_daemon login), or as an admin or accountant: it must work
    without superuser rights."""
    write_some_audit(env)
    role = env.cluster.ensure_role('verify_' + group.split('_')[1], group)
    env.write_config(db_user=role)
    r = env.ctl('audit', 'verify')
    assert r.returncode == 0 and 'OK' in r.stdout, (r.stdout, r.stderr)
    env.write_config(db_user='postgres')
    tamper(env, "UPDATE dunning.audit_log SET actor = 'x' WHERE id = "
                "(SELECT min(id) FROM dunning.audit_log)")
    env.write_config(db_user=role)
    r = env.ctl('audit', 'verify')
    assert r.returncode == 3 and 'BROKEN' in r.stdout, (r.stdout, r.stderr)


def test_audit_verify_as_a_lawyer_says_it_cannot_see_the_whole_log(env):
    """Row-level security shows a lawyer the audit rows of their own files
    only: verify must say so (exit 1), not report a broken chain."""
    write_some_audit(env)
    role = env.cluster.ensure_role('verify_lawyer', 'dunning_lawyer')
    env.write_config(db_user=role)
    r = env.ctl('audit', 'verify')
    assert r.returncode == 1 and 'BROKEN' not in r.stdout, (r.stdout, r.stderr)
    assert 'needs a role that reads the whole log' in r.stderr, r.stderr
    assert 'verify_lawyer' in r.stderr


def test_audit_verify_broken_after_superuser_edits_a_row(env):
    """Rule 10: a superuser who disables the trigger and edits a row is
    caught: BROKEN, exit 3, naming the row."""
    write_some_audit(env)
    target = env.one("SELECT min(id) FROM dunning.audit_log WHERE action = 'dispute_flagged'")
    tamper(env, "UPDATE dunning.audit_log SET details = '{\"reason\": \"autre\"}' "
                "WHERE id = %d" % target)
    r = env.ctl('audit', 'verify')
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert 'BROKEN' in r.stdout and ('row %d' % target) in r.stdout


def test_audit_verify_broken_after_edit_with_recomputed_hash(env):
    """Even with the edited row's own hash recomputed, the next row's
    prev_hash gives it away."""
    write_some_audit(env)
    target = env.one("SELECT min(id) FROM dunning.audit_log WHERE action = 'dispute_flagged'")
    tamper(env, "UPDATE dunning.audit_log a SET actor = 'mallory', hash = sha256("
                "coalesce(a.prev_hash, ''::bytea) || convert_to(dunning.audit_canonical("
                "ROW(a.id, a.at, 'mallory', a.action, a.invoice_id, a.reminder_id, a.details, "
                "a.prev_hash, a.hash, a.chain_seq)::dunning.audit_log), 'UTF8')) "
                "WHERE id = %d" % target)
    r = env.ctl('audit', 'verify')
    assert r.returncode == 3 and 'BROKEN' in r.stdout, (r.stdout, r.stderr)
    assert ('row %d' % (target + 1)) in r.stdout


def test_audit_verify_broken_after_deleting_the_last_row(env):
    write_some_audit(env)
    last = env.one('SELECT max(id) FROM dunning.audit_log')
    tamper(env, 'DELETE FROM dunning.audit_log WHERE id = %d' % last)
    r = env.ctl('audit', 'verify')
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert 'BROKEN' in r.stdout


def test_audit_verify_broken_after_deleting_a_middle_row(env):
    write_some_audit(env)
    mid = env.one("SELECT min(id) FROM dunning.audit_log WHERE action = 'dispute_cleared'")
    tamper(env, 'DELETE FROM dunning.audit_log WHERE id = %d' % mid)
    r = env.ctl('audit', 'verify')
    assert r.returncode == 3 and 'BROKEN' in r.stdout, (r.stdout, r.stderr)


# ------------------------------------------------------ lawyers' functions --

BAD_CALLS = [
    ("SELECT dunning.flag_dispute('NOPE', 'x')", 'no invoice numbered "NOPE"'),
    ("SELECT dunning.flag_dispute('S-1', '')", 'must not be empty'),
    ("SELECT dunning.flag_dispute('S-1', '   ')", 'must not be empty'),
    ("SELECT dunning.flag_dispute('S-1', NULL)", 'must not be empty'),
    ("SELECT dunning.clear_dispute('S-1', 'note')", 'not disputed'),
    ("SELECT dunning.clear_dispute('NOPE', 'note')", 'no invoice numbered'),
    ("SELECT dunning.approve({planned})", 'not held'),
    ("SELECT dunning.approve({sent})", 'not held'),
    ("SELECT dunning.approve(987654)", 'no reminder with id 987654'),
    ("SELECT dunning.reject({held}, '')", 'must not be empty'),
    ("SELECT dunning.reject({sent}, 'non')", 'not held'),
    ("SELECT dunning.pause_client(987654, '2026-04-01', 'x')", 'no client with id 987654'),
    ("SELECT dunning.pause_client({client}, '2026-03-09', 'x')", 'in the past'),
    ("SELECT dunning.pause_client({client}, '2026-04-01', '')", 'must not be empty'),
    ("SELECT dunning.pause_invoice('S-1', '2026-01-01', 'x')", 'in the past'),
    ("SELECT dunning.pause_invoice('NOPE', '2026-04-01', 'x')", 'no invoice numbered'),
]


@pytest.mark.parametrize('call, message', BAD_CALLS)
def test_lawyer_function_rejects_bad_input_and_changes_nothing(env, call, message):
    """Unknown invoice or client, empty reason, approving a reminder that is
    not held, a pause date in the past (by dunning.now: 10 March 2026):
    a clear error, nothing changed, no audit row."""
    s = seed(env)
    before = snapshot(env)
    with pytest.raises(psycopg2.Error) as e:
        env.sql(call.format(**s), now=NOW)
    assert message in e.value.diag.message_primary, e.value.diag.message_primary
    assert snapshot(env) == before


def test_flag_dispute_twice_is_refused(env):
    seed(env)
    env.sql("SELECT dunning.flag_dispute('S-1', 'contestation')", now=NOW)
    before = snapshot(env)
    with pytest.raises(psycopg2.Error, match='already disputed'):
        env.sql("SELECT dunning.flag_dispute('S-1', 'encore')", now=NOW)
    assert snapshot(env) == before


def test_lawyer_functions_audit_with_the_callers_role(env):
    """Each function writes its audit row with the calling database role as
    actor, at the one clock's time, and leaves the data as asked."""
    s = seed(env)
    role = env.cluster.ensure_role('maitre_martin', 'dunning_lawyer')
    env.sql('UPDATE dunning.lawyer SET db_role = %s WHERE id = %s', (role, s['lawyer']))
    allow_simulated_clock(env)      # the lawyer's actions at replayed instants
    conn = env.connect(user=role)
    try:
        calls = [
            ("SELECT dunning.flag_dispute('S-2', 'honoraires contestés')", 'dispute_flagged'),
            ("SELECT dunning.clear_dispute('S-2', 'accord')", 'dispute_cleared'),
            ("SELECT dunning.approve(%d)" % s['held'], 'approved'),
            ("SELECT dunning.pause_client(%d, '2026-03-20', 'appel du client')" % s['client'],
             'client_paused'),
            ("SELECT dunning.pause_client(%d, NULL, 'fin')" % s['client'],
             'client_pause_lifted'),
            ("SELECT dunning.pause_invoice('S-1', '2026-03-10', 'échéancier')",
             'invoice_paused'),
        ]
        for i, (call, action) in enumerate(calls):
            when = instant('2026-03-10', '12:%02d' % i)
            top = env.one('SELECT coalesce(max(id), 0) FROM dunning.audit_log')
            env.sql(call, now=when, conn=conn)
            new = env.sql('SELECT actor, action, at FROM dunning.audit_log WHERE id > %s '
                          'ORDER BY id', (top,))
            assert (role, action, when) in new, (call, new)
            assert all(a == role and t == when for a, _, t in new), new
    finally:
        conn.close()
    # What they did.
    inv2 = env.sql("SELECT disputed_at, dispute_reason, dispute_cleared_at FROM dunning.invoice "
                   "WHERE number = 'S-2'")[0]
    assert inv2 == (None, None, instant('2026-03-10', '12:01'))
    rem = env.sql('SELECT state, decided_by, decided_at FROM dunning.reminder WHERE id = %s',
                  (s['held'],))[0]
    assert rem == ('approved', role, instant('2026-03-10', '12:02'))
    # The dispute cancelled S-2's planned reminder, audited as the lawyer.
    assert env.one('SELECT state FROM dunning.reminder WHERE id = %s', (s['planned'],)) == \
        'cancelled'
    cancel = env.audit('cancelled', 'S-2')
    assert len(cancel) == 1 and cancel[0]['actor'] == role
    assert env.one("SELECT paused_until FROM dunning.invoice WHERE number = 'S-1'") == \
        dt.date(2026, 3, 10)
    assert env.one('SELECT paused_until FROM dunning.client WHERE id = %s', (s['client'],)) is None
    env.verify_audit()


def test_reject_audits_reason_and_actor(env):
    s = seed(env)
    role = env.cluster.ensure_role('maitre_martin', 'dunning_lawyer')
    env.sql('UPDATE dunning.lawyer SET db_role = %s WHERE id = %s', (role, s['lawyer']))
    allow_simulated_clock(env)
    conn = env.connect(user=role)
    try:
        env.sql("SELECT dunning.reject(%s, 'client fragile')", (s['held'],), now=NOW, conn=conn)
    finally:
        conn.close()
    rem = env.sql('SELECT state, reason, last_error, decided_by FROM dunning.reminder '
                  'WHERE id = %s', (s['held'],))[0]
    assert rem == ('cancelled', 'rejected', 'client fragile', role)
    (a,) = env.audit('rejected')
    assert a['actor'] == role and a['details']['reason'] == 'client fragile'
    assert a['at'] == dt.datetime.fromisoformat(NOW)


def test_lawyer_functions_not_executable_by_accountant(env):
    s = seed(env)
    role = env.cluster.ensure_role('compta_jean', 'dunning_accountant')
    conn = env.connect(user=role)
    before = snapshot(env)
    try:
        for call in ("SELECT dunning.flag_dispute('S-1', 'x')",
                     "SELECT dunning.approve(%d)" % s['held']):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                env.sql(call, now=NOW, conn=conn)
    finally:
        conn.close()
    assert snapshot(env) == before


def test_payment_is_audited_with_its_actor(env):
    seed(env)
    env.pay('S-1', '250.00', NOW, reference='VIR-77')
    (a,) = env.audit('payment_recorded')
    assert a['actor'] == 'postgres' and a['number'] == 'S-1'
    assert a['details']['amount'] == 250.0 and a['details']['reference'] == 'VIR-77'


def test_functions_wake_the_daemon(env):
    """Each function NOTIFYs channel 'dunning', with no payload (any role
    may LISTEN), and queues the invoice concerned where only the daemon
    reads it (sql/020)."""
    s = seed(env)
    listener = env.connect()
    try:
        listener.cursor().execute('LISTEN dunning')
        env.sql("SELECT dunning.flag_dispute('S-1', 'x')", now=NOW)
        end = time.monotonic() + 5
        while not listener.notifies and time.monotonic() < end:
            if select.select([listener], [], [], 0.1)[0]:
                listener.poll()
        assert listener.notifies, 'no NOTIFY within 5 s'
        n = listener.notifies[0]
        assert n.channel == 'dunning'
        assert n.payload == ''
        queued = env.sql('SELECT event, invoice_id FROM dunning.wake_queue')
        assert ('dispute', s['i1']) in queued        # and the invoice trigger's
        assert {i for _, i in queued} == {s['i1']}
    finally:
        listener.close()


# ---------------------------------------------------------- the one clock --

def test_functions_follow_dunning_now(env):
    """SPEC §3.1 one clock: the functions read dunning.now, not the real
    clock; today is in the firm's time zone."""
    s = seed(env)
    t = '2026-03-10T23:30:00+00:00'            # 11 March, 00:30 in Paris
    assert env.one('SELECT dunning.now()', now=t) == dt.datetime.fromisoformat(t)
    assert env.one('SELECT dunning.today()', now=t) == dt.date(2026, 3, 11)
    env.sql("SELECT dunning.flag_dispute('S-1', 'x')", now=t)
    assert env.one("SELECT disputed_at FROM dunning.invoice WHERE number = 'S-1'") == \
        dt.datetime.fromisoformat(t)
    assert env.audit('dispute_flagged')[0]['at'] == dt.datetime.fromisoformat(t)
    # 10 March is in the past in Paris at that instant; 11 March is not.
    with pytest.raises(psycopg2.Error, match='in the past'):
        env.sql("SELECT dunning.pause_client(%s, '2026-03-10', 'x')", (s['client'],), now=t)
    env.sql("SELECT dunning.pause_client(%s, '2026-03-11', 'x')", (s['client'],), now=t)
    # A date long past by the real clock is accepted when dunning.now says so.
    env.sql("SELECT dunning.pause_invoice('S-2', '2026-03-12', 'x')", now=t)
    # A payment's default received_at is the one clock.
    pid = env.one("INSERT INTO dunning.payment (invoice_id, amount) VALUES (%s, 1) RETURNING id",
                  (s['i1'],), now=t)
    assert env.one('SELECT received_at FROM dunning.payment WHERE id = %s', (pid,)) == \
        dt.datetime.fromisoformat(t)
    # Unset: the real clock.
    real = env.one('SELECT dunning.now()')
    assert abs((real - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 60


def test_today_follows_the_configured_time_zone(make_env):
    """The daemon publishes its time zone; dunning.today() follows it."""
    env = make_env(smtp=False, extra_conf='schedule { timezone = "America/New_York" }\n')
    t = '2026-03-11T02:00:00+00:00'            # 10 March, 22:00 in New York
    env.cycle(t)
    assert env.one("SELECT value FROM dunning.setting WHERE key = 'timezone'") == \
        'America/New_York'
    assert env.one('SELECT dunning.today()', now=t) == dt.date(2026, 3, 10)
