"""`dunningctl plan --json` (SPEC §3.3): the decisions a cycle would take,
with nothing written; then the daemon takes exactly those decisions.
Also the escalation hand-over, the daemon running as dunning_daemon, and
what a planning pass reads."""

import re

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
    assert len(esc) == 1 and esc[0]['actor'] == env.daemon_actor
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


def test_pass_reads_only_the_invoices_whose_time_has_come(env, monkeypatch):
    """The first pass (the rules never seen: plan_rules) examines the
    invoices open, not paid in full (the payments' sum, however many) and
    not handed over, those whose facts changed, and those with a reminder
    that has not left; not the history paid in full or written off, even
    loaded as a restore would.  Each decision leaves its bookmark
    (dunning.invoice_next_action, sql/017): the next pass at the same instant
    examines nothing, and the day C-LATER's j3 falls due, it alone.  The
    candidate queries read partial indexes (invoice_to_chase_idx of sql/014,
    invoice_next_action_at_idx of sql/017), never scanning dunning.invoice,
    and the daemon's session runs them without JIT even where the server
    would compile every query (jit_above_cost = 0)."""
    c = env.client('book@client.example')
    # The history, loaded as a restore would (bench/portfolio.sql): without
    # the triggers, the totals of sql/013 written with the rows.  20 000
    # invoices of 2025 paid in full in two payments, 5 000 written off
    # unpaid, and 2 000 open, unpaid and not due yet.
    env.sql("SET session_replication_role = replica")
    env.sql("INSERT INTO dunning.invoice (number, client_id, issued_on, due_on, amount, "
            "  matter_ref, paid_total, last_paid_at) "
            "SELECT 'H-' || g, %s, d - 30, d, 500.00, 'D-H', 500.00, d + 5 "
            "FROM generate_series(1, 20000) g, LATERAL (SELECT date '2025-01-31' + g %% 300) x(d)",
            (c,))
    env.sql("INSERT INTO dunning.payment (invoice_id, amount, received_at) "
            "SELECT i.id, x.amount, i.due_on + x.days "
            "FROM dunning.invoice i, (VALUES (200.00, 0), (300.00, 5)) x(amount, days)")
    env.sql("INSERT INTO dunning.invoice (number, client_id, issued_on, due_on, amount, "
            "  matter_ref, status, written_off_on, status_closed_on) "
            "SELECT 'W-' || g, %s, d - 30, d, 500.00, 'D-W', 'written_off', d + 200, d + 200 "
            "FROM generate_series(1, 5000) g, LATERAL (SELECT date '2024-01-31' + g %% 300) x(d)",
            (c,))
    env.sql("INSERT INTO dunning.invoice (number, client_id, issued_on, due_on, amount, "
            "  matter_ref) "
            "SELECT 'N-' || g, %s, d - 30, d, 500.00, 'D-N' "
            "FROM generate_series(1, 2000) g, LATERAL (SELECT date '2026-03-20' + g %% 40) x(d)",
            (c,))
    env.sql("RESET session_replication_role")
    env.invoice('C-UNPAID', c, '2026-03-02')
    env.invoice('C-PARTIAL', c, '2026-03-02')
    env.pay('C-PARTIAL', '400.00', at('2026-03-03'))
    env.pay('C-PARTIAL', '599.99', at('2026-03-04'))
    env.invoice('C-PAID', c, '2026-03-02')
    env.pay('C-PAID', '600.00', at('2026-03-03'))
    env.pay('C-PAID', '400.00', at('2026-03-04'))
    env.invoice('C-OVERPAID', c, '2026-03-02')
    env.pay('C-OVERPAID', '1010.00', at('2026-03-04'))
    env.invoice('C-LATER', c, '2026-03-09')           # its j3 is on 12 March
    env.invoice('C-WRITTEN-OFF', c, '2025-06-02', status='written_off')
    env.invoice('C-HANDED-OVER', c, '2025-06-02')
    env.sql("UPDATE dunning.invoice SET escalated_at = '2025-08-01 10:00+02' "
            "WHERE number = 'C-HANDED-OVER'")
    # Paid in full with its j3 still planned: examined, to cancel it.
    pid = env.invoice('C-SETTLED', c, '2026-02-27')
    env.sql("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for) "
            "VALUES (%s, 'j3', 'planned', '2026-03-11 09:00+01')", (pid,))
    env.pay('C-SETTLED', '1000.00', at('2026-03-05'))
    env.sql('VACUUM ANALYZE dunning.invoice, dunning.payment, dunning.reminder, dunning.client')

    monkeypatch.setenv('PGOPTIONS', '-c session_preload_libraries=auto_explain '
                       '-c auto_explain.log_min_duration=0 -c jit_above_cost=0')

    def plan_only(now):
        """The pass's log line, and the plans of its candidate query."""
        with open(env.cluster.log, 'rb') as f:
            f.seek(0, 2)
            start = f.tell()
        r = env.daemon('--plan-only', now=now, check=0)
        with open(env.cluster.log, 'rb') as f:
            f.seek(start)
            log = f.read().decode('utf-8', 'replace')
        # auto_explain's entries: a line of the server's prefix, then the
        # plan indented with tabs.
        entries = re.split(r'\n(?=\S)', log)
        plans = [e for e in entries if 'Query Text:' in e and 'next_action_at <= $1' in e]
        assert len(plans) == 1, log
        plan = plans[0]
        assert 'Seq Scan on invoice' not in plan, plan
        assert 'JIT' not in plan, plan
        return r.stderr, plan

    # The 2 000 N- invoices not due yet, and C-UNPAID, C-PARTIAL, C-LATER,
    # C-PAID, C-OVERPAID, C-SETTLED (paid: examined once, for their facts
    # changed) and C-HANDED-OVER (its hand-over recorded).
    err, plan = plan_only(NOW)
    assert re.search(r'planning pass \S+: 2007 invoices examined; 2 planned, 0 held, '
                     r'0 rescheduled, 1 cancelled', err), err
    assert 'invoice_to_chase_idx' in plan and 'invoice_next_action_at_idx' in plan, plan
    assert {n: {s: x['state'] for s, x in env.reminders(n).items()}
            for n in ('C-UNPAID', 'C-PARTIAL', 'C-SETTLED', 'C-PAID', 'C-OVERPAID')} == {
        'C-UNPAID': {'j3': 'planned'}, 'C-PARTIAL': {'j3': 'planned'},
        'C-SETTLED': {'j3': 'cancelled'}, 'C-PAID': {}, 'C-OVERPAID': {}}
    assert env.one("SELECT count(*) FROM dunning.invoice_next_action WHERE next_action_at "
                   "<= '2026-03-10 10:00+01'") == 0

    err, plan = plan_only(NOW)
    assert re.search(r'planning pass \S+: 0 invoices examined; 0 planned', err), err
    assert 'invoice_next_action_at_idx' in plan and 'invoice_to_chase_idx' not in plan, plan

    # 12 March: C-LATER's j3 falls due; C-UNPAID's and C-PARTIAL's j3, due
    # to leave on the 10th and still there (nothing sends here), are looked
    # at again once their day's window has closed.
    err, _ = plan_only(at('2026-03-12', '10:00'))
    assert re.search(r'planning pass \S+: 3 invoices examined; 1 planned', err), err
    assert env.reminders('C-LATER')['j3']['state'] == 'planned'
