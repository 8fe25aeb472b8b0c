"""An idle daemon's connections (issue 21, item 2): with database.idle_close,
the planner and the sender close theirs once idle that long, and the
start's session (the daemon_started/daemon_stopped audit rows) holds none
while the daemon runs: an idle daemon holds one PostgreSQL backend, the
listener's, which carries the wake-ups.  A wake-up is still planned and
sent at once, on connections opened again, then released again."""
import re

from harness import at, wait_until

MONDAY = '2026-03-09'
SLOW_POLL = 'schedule { poll_interval = 3600 }\n'   # only a notification acts


def idle_close(env, seconds):
    """ENV's configuration with database.idle_close = SECONDS."""
    with open(env.config, encoding='utf-8') as f:
        text = f.read()
    text, n = re.subn(r'(database \{ conninfo = "[^"]*")', r'\1 idle_close = %d' % seconds, text)
    assert n == 1
    with open(env.config, 'w', encoding='utf-8') as f:
        f.write(text)


def state(env, number, stage='j3'):
    r = env.reminders(number).get(stage)
    return r['state'] if r else None


def backends(env):
    """The queries of the other sessions on the test's database: the
    daemon's (the test's own connection excluded)."""
    return sorted(r[0] for r in env.sql(
        "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"))


def only_the_listener(env):
    q = backends(env)
    return len(q) == 1 and q[0].startswith('LISTEN')


def test_an_idle_daemon_holds_only_the_listeners_connection(make_env):
    env = make_env(extra_conf=SLOW_POLL)
    idle_close(env, 2)
    c = env.client('i-1@client.example', strategic=True)
    env.invoice('I-1', c, '2026-03-02')
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    d.wait_log(r'cycle 2026-03-09')
    assert state(env, 'I-1') == 'held', env.reminders('I-1')
    wait_until('only the listener connected', lambda: only_the_listener(env), deadline=15)
    # A wake-up (an approval's NOTIFY): planned and sent at once, the
    # connections opened again.
    env.sql('SELECT dunning.approve(%s)', (env.reminders('I-1')['j3']['id'],),
            now=at(MONDAY, '10:00'))
    wait_until('the approved j3 sent', lambda: state(env, 'I-1') == 'sent', deadline=10)
    assert [m.rcpt for m in env.mails()] == ['i-1@client.example']
    # Idle again: released again.
    wait_until('only the listener again', lambda: only_the_listener(env), deadline=15)
    assert d.stop() == 0
    assert len(env.audit('daemon_stopped')) == 1    # the stop's row, on a session opened again
    env.verify_audit()


def test_without_idle_close_the_connections_stay(make_env):
    """database.idle_close = 0 (the default): the planner's, the sender's and
    the listener's stay open (the start's session is released all the same)."""
    env = make_env(extra_conf=SLOW_POLL)
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    d.wait_log(r'cycle 2026-03-09')
    wait_until('three sessions', lambda: len(backends(env)) == 3)
    assert sum(q.startswith('LISTEN') for q in backends(env)) == 1
    assert d.stop() == 0


def test_released_connections_and_a_postgres_restart(make_private_env, private_cluster):
    """PostgreSQL restarted while the planner's and sender's connections are
    released: the listener reconnects as before (a full pass follows it),
    and an approval after it is acted on at once, on new sessions; then
    they are released again."""
    env = make_private_env(extra_conf=SLOW_POLL)
    idle_close(env, 2)
    c = env.client('r-1@client.example', strategic=True)
    env.invoice('R-1', c, '2026-03-02')
    d = env.start_daemon(now=at(MONDAY, '10:00'))
    d.wait_log(r'cycle 2026-03-09')
    wait_until('only the listener connected', lambda: only_the_listener(env), deadline=15)
    mark = d.mark()
    private_cluster.restart()
    env.conn.close()
    d.wait_log('listening for payments', after=mark, deadline=60)
    rid = env.reminders('R-1')['j3']['id']
    env.sql('SELECT dunning.approve(%s)', (rid,), now=at(MONDAY, '10:05'))
    wait_until('the approved j3 sent', lambda: state(env, 'R-1') == 'sent', deadline=15)
    assert [m.rcpt for m in env.mails()] == ['r-1@client.example']
    wait_until('only the listener again', lambda: only_the_listener(env), deadline=15)
    assert d.stop() == 0
    env.verify_audit()
