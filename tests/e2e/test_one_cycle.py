"""One cycle (pipeline/cycle.c): `dunningd --once` and the running daemon
call the same passes, so a test of --once is a test of the daemon.  The
same two weeks are replayed on two databases holding the same data: once
with `--once` each day, once with the daemon started each day under
`--now` with a one-second poll, left running until a send pass finds
nothing left to do, then stopped.  Both give the same audit rows in the
same order and the same messages, on the same days."""
import re

from harness import at, days

FIRST, LAST = '2026-03-09', '2026-03-20'
CONF = 'schedule { min_gap_days = 2 poll_interval = 1 }\n'
# The audit chain's head a digest publishes (SPEC §3.5).
AUDIT_HEAD = re.compile(r'audit head \d+:[0-9a-f]{64}')


def portfolio(env):
    """Clients and invoices that reach every pass within the two weeks:
    grouping, the stages up to the formal notice, a strategic client, the
    amount threshold, a refused address, a payment and a dispute."""
    a = env.client('groupe@client.example')
    env.invoice('W-1', a, '2026-02-01', amount='1200.00')
    env.invoice('W-2', a, '2026-02-01', amount='800.00')
    b = env.client('strategique@client.example', strategic=True)
    env.invoice('W-3', b, '2026-03-04')
    c = env.client('particulier@client.example', kind='individual')
    env.invoice('W-4', c, '2026-03-05', amount='450.00')
    d = env.client('acompte@client.example')
    env.invoice('W-5', d, '2026-03-03', amount='2000.00')
    e = env.client('conteste@client.example')
    env.invoice('W-6', e, '2026-03-02', amount='640.00')
    f = env.client('refuse@client.example')
    env.invoice('W-7', f, '2026-03-02', amount='300.00')
    g = env.client('gros@client.example')
    env.invoice('W-8', g, '2026-02-01', amount='7000.00')


def events(env):
    """What the firm and the lawyer do before a day's run, by day."""
    def approve(number, stage, day):
        env.sql('SELECT dunning.approve(%s)', (env.reminders(number)[stage]['id'],),
                now=at(day, '08:00'))

    return {
        '2026-03-10': [
            lambda: approve('W-3', 'j3', '2026-03-10'),
            lambda: env.pay('W-4', '450.00', at('2026-03-10', '08:00')),
            lambda: env.sql("SELECT dunning.flag_dispute('W-6', 'montant contesté')",
                            now=at('2026-03-10', '08:00')),
        ],
        '2026-03-11': [lambda: env.pay('W-5', '500.00', at('2026-03-11', '08:00'))],
        '2026-03-16': [lambda: env.sql("SELECT dunning.clear_dispute('W-6', 'accord')",
                                       now=at('2026-03-16', '08:00'))],
        '2026-03-17': [lambda: env.sql("SELECT dunning.flag_dispute('W-8', 'prestation')",
                                       now=at('2026-03-17', '08:00'))],
        '2026-03-19': [lambda: approve('W-1', 'j45', '2026-03-19'),
                       lambda: approve('W-2', 'j45', '2026-03-19')],
    }


def weekdays():
    return [d for d in days(FIRST, LAST) if d.weekday() < 5]


def run_once(env):
    todo = events(env)
    for day in weekdays():
        for fn in todo.get(day.isoformat(), []):
            fn()
        env.cycle(at(day, '10:00'))


def run_daemon(env):
    """The daemon each day, until a send pass (clients' and lawyers' mail)
    finds nothing to do after the first full pass; then SIGTERM."""
    todo = events(env)
    idle = re.compile(r'send pass: 0 sent, 0 letters, 0 retried, 0 failed, 0 in doubt; '
                      r'lawyers: 0 alerts, 0 digests')
    for day in weekdays():
        for fn in todo.get(day.isoformat(), []):
            fn()
        d = env.start_daemon(now=at(day, '10:00'), args=['-v'])
        first = d.wait_log(r'cycle %s' % day.isoformat(), deadline=30)
        d.wait_log(idle.pattern, after=first + 1, deadline=30)
        assert d.stop() == 0, d.log()


def audit_rows(env):
    """Every audit row as (actor, action, invoice, stage, details) without
    what differs between two runs by nature: instants (real_at: when a
    replayed row was really written), the process, whether it ran --once,
    and each run's own spool directory; a free text is compared as text
    (021: its hash in the row is salted)."""
    volatile = {'pid', 'host', 'once', 'version', 'scheduled_for', 'at', 'sent_at',
                'retry_at', 'path', 'real_at'}
    rows = env.sql('SELECT a.actor, a.action, i.number, r.stage, '
                   'dunning.audit_details(a.id, a.details) '
                   'FROM dunning.audit_log a '
                   'LEFT JOIN dunning.invoice i ON i.id = a.invoice_id '
                   'LEFT JOIN dunning.reminder r ON r.id = a.reminder_id ORDER BY a.id')
    def same(v):
        return v.replace(env.spool, 'SPOOL') if isinstance(v, str) else v

    return [(actor, action, number, stage,
             {k: same(v) for k, v in (details or {}).items()
              if k not in volatile and not k.endswith('_sha256')})
            for actor, action, number, stage, details in rows]


def messages(env):
    """Every message the relay accepted: recipient, Message-ID, subject and
    text (the letter's path in the lawyer's alert is each run's own, the
    audit head in the digest each run's chain of instants), in the order
    received."""
    return [(m.rcpt, m.message_id, m.subject,
             AUDIT_HEAD.sub('audit head SEQ:HASH', m.text.replace(env.spool, 'SPOOL')))
            for m in env.all_mails()]


def letters(env):
    return sorted(env.letters())


def test_once_and_the_daemon_run_the_same_cycle(make_env):
    once = make_env(extra_conf=CONF, reject=r'^refuse@')
    daemon = make_env(extra_conf=CONF, reject=r'^refuse@')
    for env in (once, daemon):
        portfolio(env)
    run_once(once)
    run_daemon(daemon)

    want = audit_rows(once)
    got = audit_rows(daemon)
    actions = [r[1] for r in want]
    # The weeks reached every pass: planning, holds and approvals, sends,
    # a refusal, a letter, a dispute and the lawyers' mail.
    for action in ('planned', 'held', 'approved', 'sent', 'failed', 'cancelled',
                   'dispute_flagged', 'dispute_cleared', 'lawyer_alerted',
                   'digest_sent'):
        assert action in actions, (action, sorted(set(actions)))
    assert got == want
    assert messages(daemon) == messages(once)
    assert letters(daemon) == letters(once)
    once.verify_audit()
    daemon.verify_audit()
