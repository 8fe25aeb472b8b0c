"""The audit chain against every role, its owner included (issue 17 items 2
and 3, SPEC §3.5 last paragraph, §3.1 one clock): the head published
outside the database (each pass's log line, `audit verify`, the lawyers'
digest) and `audit verify --head SEQ:HASH` against it; the canonical text
and hash computed by dunningctl, not by a function the owner can replace;
dunning.audit_head guarded like the log; the actor is the session's, and a
replayed row says when it was really written."""
import datetime as dt
import re

import psycopg2
import pytest

from harness import allow_simulated_clock, at
from lawyer_mails import digests

HEAD = re.compile(r'audit head (\d+):([0-9a-f]{64})\b')
LAWYER, COMPTA, DAEMON = 'ah_lawyer', 'ah_compta', 'ah_daemon'
OWNER = 'ah_owner'


def roles(env):
    env.cluster.ensure_role(LAWYER, 'dunning_lawyer')
    env.cluster.ensure_role(COMPTA, 'dunning_accountant')
    env.cluster.ensure_role(DAEMON, 'dunning_daemon')


def db_head(env):
    seq, h = env.one('SELECT last_seq, encode(last_hash, \'hex\') FROM dunning.audit_head')
    return '%d:%s' % (seq, h)


def published(text):
    """The last 'audit head SEQ:HASH' in TEXT, as SEQ:HASH."""
    found = HEAD.findall(text)
    assert found, text
    return '%s:%s' % found[-1]


def verify(env, *args):
    return env.ctl('audit', 'verify', *args)


def some_rows(env, n=6):
    c = env.client('head@client.example')
    for i in range(n):
        env.invoice('AH-%d' % i, c, '2026-03-02')
        env.sql("SELECT dunning.flag_dispute(%s, 'contestation')", ('AH-%d' % i,))


def refused(conn, stmt, match='append-only|refused|permission denied|must be owner'):
    with pytest.raises(psycopg2.Error, match=match):
        with conn.cursor() as cur:
            cur.execute(stmt)


def owned_by_a_plain_role(make_env):
    """A database migrated by a role that is not a superuser: the tables'
    owner (tests/sql/test_rls.py::test_owner_that_is_not_superuser); its
    connection, with a log of a few rows; dunningctl then connects as the
    accountant."""
    env = make_env(empty=True)
    roles(env)
    env.cluster.ensure_role(OWNER)
    env.cluster.admin('GRANT CREATE ON DATABASE %s TO %s' % (env.dbname, OWNER))
    env.write_config(db_user=OWNER)
    env.ctl('migrate', check=0)
    assert env.one('SELECT rolsuper FROM pg_roles WHERE rolname = %s', (OWNER,)) is False
    env.write_config(db_user=COMPTA)        # the accountant verifies: reads the whole log
    some_rows(env)
    return env, env.connect(user=OWNER)


def set_triggers(conn, on, log=('audit_log_no_change',), head=()):
    with conn.cursor() as cur:
        for table, names in (('audit_log', log), ('audit_head', head)):
            for t in names:
                cur.execute('ALTER TABLE dunning.%s %s TRIGGER %s' % (
                    table, 'ENABLE ALWAYS' if on else 'DISABLE', t))


# ----------------------------------------------------------- published --

def test_the_head_is_published_by_the_pass_and_by_verify(env):
    """Each pass's log line ends with the head; audit verify prints it; both
    are the database's head, and verify --head accepts it."""
    c = env.client('pub@client.example')
    env.invoice('P-1', c, '2026-03-02')
    r = env.cycle(at('2026-03-05'))
    line = [x for x in r.stderr.splitlines() if 'cycle ' in x and 'invoices examined' in x]
    assert len(line) == 1, r.stderr
    # The cycle's head, then the daemon_stopped row after it.
    head = published(line[0])
    seq = env.one("SELECT chain_seq FROM dunning.audit_log WHERE action = 'daemon_stopped'")
    assert head == '%d:%s' % (seq - 1, env.one(
        "SELECT encode(hash, 'hex') FROM dunning.audit_log WHERE chain_seq = %s", (seq - 1,)))
    assert verify(env, '--head', head).returncode == 0
    r = env.daemon('--plan-only', now=at('2026-03-06'), check=0)
    assert HEAD.search(r.stderr), r.stderr
    assert verify(env, '--head', published(r.stderr)).returncode == 0
    out = verify(env).stdout
    assert out.splitlines()[-1] == 'audit head ' + db_head(env), out
    r = verify(env, '--head', db_head(env))
    assert r.returncode == 0 and 'OK' in r.stdout, (r.stdout, r.stderr)


def test_a_head_published_earlier_still_verifies_as_the_log_grows(env):
    some_rows(env, 2)
    old = published(verify(env).stdout)
    some_rows_more = env.client('more@client.example')
    env.invoice('M-1', some_rows_more, '2026-03-02')
    env.sql("SELECT dunning.flag_dispute('M-1', 'encore')")
    assert db_head(env) != old
    r = verify(env, '--head', old)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert 'the published audit head %s is in the chain' % old in r.stdout
    # The empty log's head is in every chain.
    r = verify(env, '--head', '0:' + '0' * 64)
    assert r.returncode == 0, (r.stdout, r.stderr)


def test_head_argument_malformed_is_a_usage_error(env):
    some_rows(env, 1)
    for bad in ('12', '12:abc', 'x:' + 'a' * 64, '-1:' + 'a' * 64, '1:' + 'g' * 64,
                '0:' + 'a' * 64, '1:' + 'a' * 65):
        r = verify(env, '--head', bad)
        assert r.returncode == 2 and 'SEQ:HASH' in r.stderr, (bad, r.stderr)
    r = verify(env, '--head')
    assert r.returncode == 2, r.stderr


@pytest.mark.parametrize('lang,said', [
    ('fr', 'Tête du journal d\'audit\u00a0: '),        # a no-break space before the colon
    ('en', 'Audit log head: ')])
def test_the_digest_publishes_the_head(make_env, lang, said):
    """The lawyer's daily digest ends with the head, in the firm's
    language; it is a head verify --head accepts."""
    env = make_env(firm_conf='  language = "%s"\n' % lang)
    c = env.client('strat@client.example', strategic=True)
    env.invoice('D-1', c, '2026-03-02')
    env.cycle(at('2026-03-05', '10:00'))
    d = digests(env)
    assert len(d) == 1
    m = re.search(re.escape(said) + 'audit head (\\d+:[0-9a-f]{64})\n', d[0].body)
    assert m, d[0].body
    r = verify(env, '--head', m.group(1))
    assert r.returncode == 0, (r.stdout, r.stderr)


# ---------------------------------------------------------- the owner --

def test_owner_cuts_the_tail_and_only_the_published_head_shows_it(make_env):
    """The tables' owner (not a superuser) cannot move the head back while
    its guard is on; with the guards disabled it deletes the last rows and
    moves the head: verify alone passes, verify --head with the head
    published before the cut fails."""
    env, own = owned_by_a_plain_role(make_env)
    try:
        before = published(verify(env).stdout)
        seq = int(before.split(':')[0])
        cut = seq - 2
        set_triggers(own, False)
        with own.cursor() as cur:
            cur.execute('DELETE FROM dunning.audit_log WHERE chain_seq > %s', (cut,))
        set_triggers(own, True)
        # The head's guard: never back, never to a row that is not the last.
        refused(own, "UPDATE dunning.audit_head SET last_seq = %d, last_hash = (SELECT hash "
                     "FROM dunning.audit_log WHERE chain_seq = %d)" % (cut, cut))
        refused(own, 'DELETE FROM dunning.audit_head')
        refused(own, 'TRUNCATE dunning.audit_head')
        r = verify(env)
        assert r.returncode == 3 and 'rows removed' in r.stdout, r.stdout
        set_triggers(own, False, log=(), head=('audit_head_guard',))
        with own.cursor() as cur:
            cur.execute("UPDATE dunning.audit_head SET last_seq = %s, last_hash = (SELECT hash "
                        "FROM dunning.audit_log WHERE chain_seq = %s)", (cut, cut))
        set_triggers(own, True, log=(), head=('audit_head_guard',))
        r = verify(env)
        assert r.returncode == 0 and 'OK' in r.stdout, r.stdout
        r = verify(env, '--head', before)
        assert r.returncode == 3, r.stdout
        assert 'the log was cut: row %d is gone' % seq in r.stdout, r.stdout
    finally:
        own.close()


def test_owner_rewrites_a_row_and_every_hash_after_it(make_env):
    """The owner edits a row, recomputes the chain from there and moves the
    head: verify alone passes, verify --head says the published row was
    rewritten."""
    env, own = owned_by_a_plain_role(make_env)
    try:
        before = published(verify(env).stdout)
        seq = int(before.split(':')[0])
        set_triggers(own, False, log=('audit_log_no_change', 'audit_log_chain_check_update'),
                     head=('audit_head_guard',))
        with own.cursor() as cur:
            cur.execute("UPDATE dunning.audit_log SET actor = 'mallory' WHERE chain_seq = 2")
            cur.execute("""
DO $$
DECLARE r record; p bytea;
BEGIN
	SELECT hash INTO p FROM dunning.audit_log WHERE chain_seq = 1;
	FOR r IN SELECT id FROM dunning.audit_log WHERE chain_seq >= 2 ORDER BY chain_seq LOOP
		UPDATE dunning.audit_log a SET prev_hash = p,
		    hash = sha256(p || convert_to(dunning.audit_canonical(a), 'UTF8'))
		WHERE a.id = r.id RETURNING a.hash INTO p;
	END LOOP;
	UPDATE dunning.audit_head SET last_hash = p;
END $$""")
        set_triggers(own, True, log=('audit_log_no_change', 'audit_log_chain_check_update'),
                     head=('audit_head_guard',))
        r = verify(env)
        assert r.returncode == 0 and 'OK' in r.stdout, r.stdout
        r = verify(env, '--head', before)
        assert r.returncode == 3 and 'row %d was rewritten' % seq in r.stdout, r.stdout
    finally:
        own.close()


def test_owner_replacing_audit_canonical_hides_nothing(make_env):
    """The owner edits a row and replaces dunning.audit_canonical() with a
    function that gives the edited row's old text: verify, which builds the
    text itself, still finds the edit."""
    env, own = owned_by_a_plain_role(make_env)
    try:
        rid, text = env.one('SELECT id, dunning.audit_canonical(a) FROM dunning.audit_log a '
                            'WHERE chain_seq = 3')
        set_triggers(own, False, log=('audit_log_no_change', 'audit_log_chain_check_update'))
        with own.cursor() as cur:
            cur.execute("UPDATE dunning.audit_log SET actor = 'mallory' WHERE id = %s", (rid,))
            cur.execute('ALTER FUNCTION dunning.audit_canonical(dunning.audit_log) '
                        'RENAME TO audit_canonical_true')
            cur.execute("CREATE FUNCTION dunning.audit_canonical(a dunning.audit_log) "
                        "RETURNS text LANGUAGE sql IMMUTABLE AS $f$ SELECT CASE WHEN a.id = %s "
                        "THEN %s ELSE dunning.audit_canonical_true(a) END $f$", (rid, text))
        set_triggers(own, True, log=('audit_log_no_change', 'audit_log_chain_check_update'))
        assert env.one("SELECT dunning.audit_canonical(a) = %s AND a.actor = 'mallory' "
                       "FROM dunning.audit_log a WHERE id = %s", (text, rid))
        r = verify(env)
        assert r.returncode == 3, r.stdout
        assert 'row %d: content does not match its hash' % rid in r.stdout, r.stdout
    finally:
        own.close()


# ------------------------------------------------------- the other roles --

@pytest.mark.parametrize('role', [LAWYER, COMPTA, DAEMON])
def test_what_each_role_cannot_do_to_the_log(env, role):
    """A lawyer, the accountant and the daemon's role: no change, deletion
    or truncation of the log or its head, no trigger switched off, no
    function of the chain replaced."""
    roles(env)
    some_rows(env, 2)
    conn = env.connect(user=role)
    try:
        for stmt in ("UPDATE dunning.audit_log SET actor = 'x'",
                     'DELETE FROM dunning.audit_log',
                     'TRUNCATE dunning.audit_log',
                     'UPDATE dunning.audit_head SET last_seq = 0',
                     'DELETE FROM dunning.audit_head',
                     'TRUNCATE dunning.audit_head',
                     'ALTER TABLE dunning.audit_log DISABLE TRIGGER audit_log_no_change',
                     'ALTER TABLE dunning.audit_head DISABLE TRIGGER audit_head_guard',
                     "CREATE OR REPLACE FUNCTION dunning.audit_canonical(a dunning.audit_log) "
                     "RETURNS text LANGUAGE sql AS $f$ SELECT ''::text $f$"):
            refused(conn, stmt)
        if role != DAEMON:
            refused(conn, "INSERT INTO dunning.audit_log (actor, action) VALUES ('bob', 'x')")
    finally:
        conn.close()
    assert verify(env).returncode == 0


def test_the_superuser_cannot_move_the_head_either(env):
    some_rows(env, 2)
    for stmt in ('UPDATE dunning.audit_head SET last_seq = last_seq - 1',
                 'UPDATE dunning.audit_head SET last_hash = NULL',
                 'DELETE FROM dunning.audit_head', 'TRUNCATE dunning.audit_head'):
        refused(env.conn, stmt, match='dunning.audit_head follows the audit log')
    env.sql('SET session_replication_role = replica')
    try:
        refused(env.conn, 'DELETE FROM dunning.audit_head',
                match='dunning.audit_head follows the audit log')
    finally:
        env.sql('SET session_replication_role = origin')


# ------------------------------------------------- actors and the clock --

def close_to_now(text):
    t = dt.datetime.strptime(text, '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=dt.timezone.utc)
    return abs((dt.datetime.now(dt.timezone.utc) - t).total_seconds()) < 120


def test_daemon_role_cannot_write_another_actor_nor_hide_a_replay(env):
    """The review's finding: a daemon-role session set dunning.now to 2020
    and wrote a chained, verified dispute_cleared row by "bob".  Now the
    row is the daemon's, and says when it was really written."""
    roles(env)
    c = env.client('bob@client.example')
    env.invoice('B-1', c, '2026-03-02')
    conn = env.connect(user=DAEMON)
    try:
        with conn.cursor() as cur:
            cur.execute("SET dunning.now = '2020-01-01 12:00+01'")
            cur.execute("SELECT dunning.audit('bob', 'dispute_cleared', id, NULL, "
                        "'{\"note\": \"x\"}') FROM dunning.invoice WHERE number = 'B-1'")
            cur.execute("INSERT INTO dunning.audit_log (actor, action, details) "
                        "VALUES ('bob', 'forged', '{\"real_at\": \"2020-01-01T11:00:00Z\"}')")
    finally:
        conn.close()
    rows = env.sql("SELECT actor, at, details FROM dunning.audit_log "
                   "WHERE action IN ('dispute_cleared', 'forged') ORDER BY id")
    assert [r[0] for r in rows] == ['daemon', 'daemon'], rows
    for actor, at_, details in rows:
        assert at_.year == 2020                           # the replay's instant...
        assert close_to_now(details['real_at']), details  # ...and the real one
    # The note is a free text: beside the row, its salted hash in the chain (021).
    assert 'note' not in rows[0][2] and 'note_sha256' in rows[0][2]
    assert env.one("SELECT dunning.audit_details(id, details)->>'note' FROM dunning.audit_log "
                   "WHERE action = 'dispute_cleared'") == 'x'
    assert verify(env).returncode == 0


def test_staff_replay_carries_the_real_instant_and_real_time_rows_do_not(env):
    """A staff session's replayed row (dunningd --now, the superuser's SET
    dunning.now) records the real instant; a row on the real clock has no
    real_at, even when the caller writes one."""
    c = env.client('replay@client.example')
    env.invoice('R-1', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    planned = env.audit('planned', 'R-1')
    assert planned and close_to_now(planned[0]['details']['real_at']), planned
    assert planned[0]['actor'] == 'postgres'      # a superuser's session: its own name
    env.sql("SELECT dunning.flag_dispute('R-1', 'replay')", now=at('2026-03-06'))
    flagged = env.audit('dispute_flagged', 'R-1')[0]
    assert flagged['at'].date() == dt.date(2026, 3, 6) and close_to_now(
        flagged['details']['real_at'])
    env.sql("SELECT dunning.audit('x', 'plain', NULL, NULL, "
            "'{\"real_at\": \"2020-01-01T00:00:00Z\"}')")
    plain = env.audit('plain')[0]
    assert 'real_at' not in plain['details'] and plain['actor'] == 'postgres'


def test_lawyer_actor_and_clock(env):
    """A lawyer's row carries the lawyer's login whatever is passed; the
    lawyer's dunning.now is ignored without the operator's switch (no
    real_at: the row is on the real clock), honoured with it (real_at)."""
    roles(env)
    lw = env.lawyer('Maître L', 'l@cabinet.example', db_role=LAWYER)
    c = env.client('law@client.example', lawyer=lw)
    env.invoice('L-1', c, '2026-03-02')
    env.invoice('L-2', c, '2026-03-02')
    conn = env.connect(user=LAWYER)
    try:
        env.sql("SELECT dunning.flag_dispute('L-1', 'a')", now=at('2020-01-02'), conn=conn)
        allow_simulated_clock(env)
        env.sql("SELECT dunning.flag_dispute('L-2', 'b')", now=at('2020-01-02'), conn=conn)
    finally:
        conn.close()
    one, two = env.audit('dispute_flagged', 'L-1')[0], env.audit('dispute_flagged', 'L-2')[0]
    assert one['actor'] == two['actor'] == LAWYER
    assert one['at'].year > 2020 and 'real_at' not in one['details'], one
    assert two['at'].year == 2020 and close_to_now(two['details']['real_at']), two
    assert verify(env).returncode == 0


def test_a_daemon_login_runs_a_cycle_as_daemon(env):
    """The daemon connected as a dunning_daemon login (as production does):
    its rows' actor is 'daemon'."""
    roles(env)
    env.write_config(db_user=DAEMON)
    c = env.client('dl@client.example')
    env.invoice('DL-1', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    assert {a['actor'] for a in env.audit()} >= {'daemon'}
    assert {a['actor'] for a in env.audit() if a['action'] in ('planned', 'sent',
                                                                'daemon_started')} == {'daemon'}
