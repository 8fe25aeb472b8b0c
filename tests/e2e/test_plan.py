"""`dunningctl plan --json` (SPEC §3.3): the decisions a cycle would take,
with nothing written; then the daemon takes exactly those decisions.
Also the escalation hand-over and the daemon running as dunning_daemon."""

from harness import assert_table, at, instant

NOW = at('2026-03-10', '10:00')      # a Tuesday, inside the window


def table_digest(env):
    out = {}
    for t in ('invoice', 'client', 'payment', 'reminder', 'audit_log', 'audit_head',
              'setting'):
        out[t] = env.sql('SELECT md5(coalesce(string_agg(to_jsonb(x)::text, %s ORDER BY '
                         'to_jsonb(x)::text), %s)), count(*) FROM dunning.' + t + ' x',
                         ('|', ''))[0]
    return out


def scenario(env):
    """One invoice per decision of SPEC §3.3."""
    send = env.client('send@client.example')
    env.invoice('P-SEND', send, '2026-03-02')
    hold = env.client('hold@client.example', strategic=True)
    env.invoice('P-HOLD', hold, '2026-03-02')
    grace = env.client('grace@client.example')
    env.invoice('P-WAIT', grace, '2026-03-02')
    env.pay('P-WAIT', '10.00', at('2026-03-10', '08:00'))
    paid = env.client('paid@client.example')
    pid = env.invoice('P-CANCEL', paid, '2026-03-02')
    env.sql("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for) "
            "VALUES (%s, 'j3', 'planned', '2026-03-06 09:00+01')", (pid,))
    env.pay('P-CANCEL', '1000.00', at('2026-03-06', '08:00'))
    esc = env.client('esc@client.example')
    eid = env.invoice('P-ESC', esc, '2025-12-01')
    for stage, day in (('j3', '2025-12-04'), ('j10', '2025-12-11'), ('j30', '2025-12-31'),
                       ('j45', '2026-01-15')):
        env.sql("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for, "
                "sent_at, message_id) VALUES (%s, %s, 'sent', %s, %s, %s)",
                (eid, stage, at(day), at(day), '<%s.%s@t>' % (eid, stage)))
    disp = env.client('disp@client.example')
    env.invoice('P-DISPUTED', disp, '2026-03-02')
    env.sql("SELECT dunning.flag_dispute('P-DISPUTED', 'contestation')",
            now=at('2026-03-04', '10:00'))
    future = env.client('future@client.example')
    env.invoice('P-FUTURE', future, '2026-03-20')


def test_plan_json_prints_decisions_and_writes_nothing(env):
    """plan --json prints one object per decision, with invoice_number,
    stage, action (send, hold_for_approval, wait, cancel, escalate) and
    reason; it writes nothing and sends nothing."""
    scenario(env)
    before = table_digest(env)
    plan = env.plan(NOW)
    assert table_digest(env) == before
    assert env.mails() == []
    for p in plan:
        assert {'invoice_number', 'stage', 'action', 'reason'} <= set(p), p
        assert p['action'] in ('send', 'hold_for_approval', 'wait', 'cancel', 'escalate')
    by = {p['invoice_number']: p for p in plan}
    assert set(by) == {'P-SEND', 'P-HOLD', 'P-WAIT', 'P-CANCEL', 'P-ESC', 'P-DISPUTED'}
    assert (by['P-SEND']['stage'], by['P-SEND']['action']) == ('j3', 'send')
    assert (by['P-HOLD']['stage'], by['P-HOLD']['action']) == ('j3', 'hold_for_approval')
    assert 'strategic' in by['P-HOLD']['reason']
    assert (by['P-WAIT']['stage'], by['P-WAIT']['action']) == ('j3', 'wait')
    assert 'payment' in by['P-WAIT']['reason']
    assert by['P-WAIT']['send_at'] == '2026-03-11T08:00:00Z'     # 09:00 in Paris
    assert by['P-CANCEL']['action'] == 'cancel' and by['P-CANCEL']['reason'] == 'paid'
    assert by['P-ESC']['action'] == 'escalate'
    assert by['P-DISPUTED']['action'] == 'wait' and by['P-DISPUTED']['reason'] == 'disputed'
    # Asked twice, the same answer: nothing moved.
    assert env.plan(NOW) == plan
    assert table_digest(env) == before


def test_cycle_does_what_plan_said(env):
    """The daemon's cycle at the same instant takes the planned decisions:
    P-SEND mailed, P-HOLD held, P-WAIT deferred past its grace (08:00) to
    the 09:00 opening on 11 March, P-CANCEL cancelled, P-ESC handed over
    (an audit row, no client message)."""
    scenario(env)
    env.cycle(NOW)
    assert [m.rcpt for m in env.mails()] == ['send@client.example']
    assert env.reminders('P-HOLD')['j3']['state'] == 'held'
    wait = env.reminders('P-WAIT')['j3']
    assert wait['state'] == 'planned' and wait['scheduled_for'] == instant('2026-03-11', '09:00')
    assert env.reminders('P-CANCEL')['j3']['state'] == 'cancelled'
    esc = env.audit('escalated', 'P-ESC')
    assert len(esc) == 1 and esc[0]['actor'] == 'daemon'
    assert env.one("SELECT escalated_at FROM dunning.invoice WHERE number = 'P-ESC'") == \
        instant('2026-03-10', '10:00')
    assert 'P-ESC' not in {p['invoice_number'] for p in env.plan(at('2026-03-11'))}
    env.cycle(at('2026-03-11', '10:00'))
    assert sorted(m.rcpt for m in env.mails()) == ['grace@client.example', 'send@client.example']
    assert len(env.audit('escalated')) == 1          # handed over once
    env.verify_audit()


def test_escalation_after_last_stage_is_internal_only(env):
    """After j45 (approved and written), N = 15 days without payment: the
    file is handed over (audited), and no further client message leaves."""
    c = env.client('fin@client.example')
    env.invoice('P-END', c, '2026-03-02', amount='600.00')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01', '2026-04-16'])
    env.sql('SELECT dunning.approve(%s)', (env.reminders('P-END')['j45']['id'],),
            now=at('2026-04-16', '12:00'))
    got = env.replay_on(['2026-04-16', '2026-04-30', '2026-05-01', '2026-05-04'], hhmm='14:00')
    assert_table(got, [('2026-04-16', 'letter', 'j45', ['P-END'])])
    esc = env.audit('escalated', 'P-END')
    assert len(esc) == 1
    assert esc[0]['at'] == instant('2026-05-01', '14:00')    # 16/4 + 15 days
    assert len(env.mails()) == 3


def test_daemon_runs_as_dunning_daemon_role(make_env):
    """The daemon connected as a login member of dunning_daemon (not a
    superuser) plans, holds, cancels, sends and audits; audit verify works
    with that role too."""
    env = make_env()
    role = env.cluster.ensure_role('dunningd_svc', 'dunning_daemon')
    env.write_config(db_user=role)
    a = env.client('role@client.example')
    env.invoice('R-1', a, '2026-03-02')
    b = env.client('rolebig@client.example', strategic=True)
    env.invoice('R-2', b, '2026-03-02')
    c = env.client('rolepaid@client.example')
    env.invoice('R-3', c, '2026-03-02')
    env.cycle(at('2026-03-05', '18:30'))
    env.pay('R-3', '1000.00', at('2026-03-05', '19:00'))
    env.cycle(at('2026-03-06', '10:00'))
    assert [m.rcpt for m in env.mails()] == ['role@client.example']
    assert env.reminders('R-2')['j3']['state'] == 'held'
    assert env.reminders('R-3')['j3']['state'] == 'cancelled'
    assert {a['actor'] for a in env.audit() if a['action'] in ('planned', 'sent', 'held')} == \
        {'daemon'}
    env.verify_audit()


def test_rule5_approved_then_paid_is_not_sent(env):
    """Rule 5: approval sends at the next window after re-checking rule 3:
    paid in between, the approved reminder is cancelled, never sent."""
    c = env.client('approuve@client.example', strategic=True)
    env.invoice('P-AP', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    rid = env.reminders('P-AP')['j3']['id']
    env.sql('SELECT dunning.approve(%s)', (rid,), now=at('2026-03-05', '18:30'))
    env.pay('P-AP', '1000.00', at('2026-03-05', '20:00'))
    env.cycle(at('2026-03-06', '09:00'))
    assert env.mails() == []
    assert env.reminders('P-AP')['j3']['state'] == 'cancelled'


def test_rule4_approved_then_disputed_is_not_sent(env):
    """Rule 5 + 4: an approved reminder is cancelled by a dispute before
    the window opens."""
    c = env.client('approuve2@client.example', strategic=True)
    env.invoice('P-AD', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    rid = env.reminders('P-AD')['j3']['id']
    env.sql('SELECT dunning.approve(%s)', (rid,), now=at('2026-03-05', '18:30'))
    env.sql("SELECT dunning.flag_dispute('P-AD', 'contestation')", now=at('2026-03-06', '08:00'))
    assert env.reminders('P-AD')['j3']['state'] == 'cancelled'
    env.cycle(at('2026-03-06', '09:00'))
    assert env.mails() == []
