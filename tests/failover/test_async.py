"""What asynchronous replication risks, shown (issue 21), and the warning
dunningd --check-config and dunningctl status give a primary without a
synchronous standby.

With the standby out of the quorum (pg_autoctl set node
replication-quorum false: synchronous_standby_names empty), a commit
returns before the standby has it.  The test makes the loss certain
rather than likely: the primary's walsender is stopped (SIGSTOP) before
the daemon sends, so the 'sending' mark and the outcome committed on the
primary never leave it; the primary dies; the standby, promoted, has the
reminder still due, and the daemon sends it a second time."""
import os
import signal
import subprocess

from harness import DUNNINGD, at, wait_until

MONDAY = '2026-03-09'
WARNING = 'is a primary with 1 replica(s) but no synchronous standby'


def check_config(env):
    return subprocess.run([DUNNINGD, '--check-config', '-c', env.config],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def test_status_and_check_config_warn_without_synchronous_standby(make_ha_env, formation):
    env = make_ha_env()
    # Synchronous (pg_auto_failover's default with one standby): nothing to say.
    st = env.ctl('status', check=0)
    assert 'replication          1 replica(s), 1 synchronous' in st.stdout, st.stdout
    assert 'warning' not in st.stdout
    r = check_config(env)
    assert r.returncode == 0 and 'configuration OK' in r.stdout, r.stderr
    assert 'synchronous' not in r.stderr, r.stderr
    # Asynchronous: a warning, not an error.
    formation.make_async()
    st = env.ctl('status', check=0)
    assert 'replication          1 replica(s), 0 synchronous' in st.stdout, st.stdout
    assert 'warning: the database ' + WARNING in st.stdout, st.stdout
    assert 'synchronous_standby_names is empty' in st.stdout
    r = check_config(env)
    assert r.returncode == 0 and 'configuration OK' in r.stdout, r.stderr
    assert 'warning: the database ' + WARNING in r.stderr, r.stderr
    # The daemon says it at start too.
    r = env.cycle(at(MONDAY, '10:00'))
    assert WARNING in r.stderr, r.stderr


def test_async_failover_loses_the_mark_and_sends_twice(make_ha_env, formation):
    formation.make_async()
    env = make_ha_env()
    c = env.client('double@client.example')
    env.invoice('A-1', c, '2026-03-02')
    old, new = formation.primary(), formation.standby()
    # Planned, and the standby has replayed it.
    env.daemon('--plan-only', now=at(MONDAY, '10:00'), check=0)
    assert env.reminders('A-1')['j3']['state'] == 'planned'
    lsn = old.sql('SELECT pg_current_wal_lsn()::text')[0][0]
    wait_until('the standby replayed the plan', lambda: new.sql(
        'SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn', (lsn,))[0][0], deadline=30)

    # The walsender stopped: nothing more leaves the primary.
    walsender = old.sql('SELECT pid FROM pg_stat_replication')[0][0]
    os.kill(walsender, signal.SIGSTOP)
    try:
        env.cycle(at(MONDAY, '10:00'))
        assert len(env.mails()) == 1
        assert env.reminders('A-1')['j3']['state'] == 'sent'     # on the primary
        env.conn.close()
    finally:
        old.kill()
        try:
            os.kill(walsender, signal.SIGKILL)
        except ProcessLookupError:
            pass

    # The standby lacks the committed marks: A-1's j3 still due there.
    rows = new.sql("SELECT r.state, r.message_id FROM dunning.reminder r "
                   "JOIN dunning.invoice i ON i.id = r.invoice_id WHERE i.number = 'A-1'",
                   dbname=env.dbname)
    assert rows == [('planned', None)], rows
    assert new.sql("SELECT count(*) FROM dunning.audit_log WHERE action IN "
                   "('sending', 'sent')", dbname=env.dbname) == [(0,)]

    # Promoted, it sends the reminder again: the client gets it twice.
    wait_until('the standby promoted', lambda: new.answers(read_write=True), deadline=300,
               interval=0.2)
    env.cycle(at(MONDAY, '10:05'))
    mails = env.mails()
    assert [m.rcpt for m in mails] == ['double@client.example'] * 2
    assert env.reminders('A-1')['j3']['state'] == 'sent'
