"""A backlog planned in one pass (issue: planning a backlog): a firm that
installs dunningd with thousands of overdue invoices, none reminded yet.
Its first planning pass and the escalation pass a week later must write
exactly the reminders and the audit actions recorded in
tests/data/backlog_expected.json — the decisions of the per-invoice pass
this project had before planning wrote in chunks — whatever the way the
pass writes them.  Regenerate the file only when the policy changes on
purpose: DUNNING_RECORD_BACKLOG=1."""
import json
import os

from harness import SOURCE_ROOT

EXPECTED = os.path.join(SOURCE_ROOT, 'tests', 'data', 'backlog_expected.json')
N = 2000
FIRST = '2024-12-31T10:00:00+01:00'
LATER = '2025-01-07T10:00:00+01:00'


def load_backlog(env):
    """N invoices, 10 per client, invoice i 3 + (i*7919) mod 118 days
    overdue on 2024-12-31, due 30 days after issue, amount 50.00 +
    ((i*104729) mod 495100)/100 EUR; every 7th client strategic, every 11th
    paused into January, every 13th invoice disputed, every 17th in CHF
    (no threshold: held from its approval stage), a few partly paid."""
    lawyer = env.lawyer()
    env.sql("""
        INSERT INTO dunning.client (id, kind, company_name, first_name, last_name, email,
                                    lawyer_id, strategic, paused_until, address_line1,
                                    postal_code, city)
        SELECT c, CASE WHEN c %% 3 = 0 THEN 'individual' ELSE 'professional' END,
               CASE WHEN c %% 3 = 0 THEN NULL ELSE 'Société ' || c END,
               CASE WHEN c %% 3 = 0 THEN 'Jean' END,
               CASE WHEN c %% 3 = 0 THEN 'Client' || c END,
               'client' || c || '@client.example', %s, c %% 7 = 0,
               CASE WHEN c %% 11 = 0 THEN DATE '2025-01-03' END,
               '1 rue du Port', '13002', 'Marseille'
        FROM generate_series(1, %s) c""", (lawyer, N // 10))
    env.sql("""
        INSERT INTO dunning.invoice (id, number, client_id, matter_ref, issued_on, due_on,
                                     amount, currency)
        SELECT i, 'B-' || lpad(i::text, 6, '0'), (i - 1) / 10 + 1, 'D-' || i,
               DATE '2024-12-31' - (3 + (i * 7919) %% 118) - 30,
               DATE '2024-12-31' - (3 + (i * 7919) %% 118),
               50.00 + ((i::bigint * 104729) %% 495100) / 100.0,
               CASE WHEN i %% 17 = 0 THEN 'CHF' ELSE 'EUR' END
        FROM generate_series(1, %s) i""", (N,))
    env.sql("SELECT setval(pg_get_serial_sequence('dunning.client', 'id'), %s)", (N // 10,))
    env.sql("SELECT setval(pg_get_serial_sequence('dunning.invoice', 'id'), %s)", (N,))
    for i in range(13, N + 1, 13 * 7):
        env.sql("SELECT dunning.flag_dispute(%s, 'contestation')", ('B-%06d' % i,),
                now='2024-12-20T10:00:00+01:00')
    for i in range(5, N + 1, 97):
        env.pay('B-%06d' % i, '20.00', '2024-12-15T10:00:00+01:00')


def between(env):
    """The week between the passes: most first reminders left (marked sent
    as the sender would), some paid in full (their pending rows are
    cancelled), some partly paid the morning of the second pass (their
    next stage waits for the grace period)."""
    env.sql("UPDATE dunning.reminder SET state = 'sent', sent_at = %s "
            "WHERE state = 'planned' AND invoice_id %% 5 <> 0", (FIRST,))
    env.sql("INSERT INTO dunning.payment (invoice_id, amount, received_at) "
            "SELECT id, amount, '2025-01-06 10:00+01' FROM dunning.invoice "
            "WHERE id % 23 = 0", now='2025-01-06T10:00:00+01:00')
    env.sql("INSERT INTO dunning.payment (invoice_id, amount, received_at) "
            "SELECT id, 10.00, '2025-01-07 08:00+01' FROM dunning.invoice "
            "WHERE id % 29 = 0 AND id % 23 <> 0", now='2025-01-07T08:00:00+01:00')


def snapshot(env):
    """The reminders and the audit actions of the planner, by invoice, in a
    form that does not depend on row ids, on the order of the rows or on
    the real instant a replayed row was written (real_at)."""
    rems = env.sql("""
        SELECT i.number, r.stage, r.state, r.scheduled_for::text, coalesce(r.reason, '')
        FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id
        ORDER BY 1, 2""")
    audit = env.sql("""
        SELECT i.number, a.action, coalesce(r.stage, ''),
               coalesce((a.details - 'previous_state' - 'real_at')::text, '')
        FROM dunning.audit_log a
        JOIN dunning.invoice i ON i.id = a.invoice_id
        LEFT JOIN dunning.reminder r ON r.id = a.reminder_id
        WHERE a.actor = 'daemon'
        ORDER BY 1, 2, 3, 4""")
    return {'reminders': ['\t'.join(r) for r in rems], 'audit': ['\t'.join(a) for a in audit]}


def test_a_backlog_planned_in_one_pass_writes_what_the_per_invoice_pass_wrote(make_env):
    env = make_env(smtp=False, extra_conf='approval { threshold "EUR" { amount = 5000 } }\n')
    load_backlog(env)
    # The daemon as production connects it: a dunning_daemon login, whose
    # audit rows' actor is 'daemon' (the setup's are the superuser's).
    env.write_config(db_user=env.cluster.ensure_role('backlog_daemon', 'dunning_daemon'))
    r = env.daemon('--plan-only', now=FIRST, check=0)
    first = snapshot(env)
    between(env)
    env.daemon('--plan-only', now=LATER, check=0)
    later = snapshot(env)
    got = {'first': first, 'later': later}
    # The passes did speak: a reminder for most of the backlog, holds,
    # waits, disputes left alone.
    states = {row.split('\t')[2] for row in first['reminders']}
    assert len(first['reminders']) > N // 2 and {'planned', 'held'} <= states, r.stderr
    actions = {row.split('\t')[1] for row in later['audit']}
    assert {'planned', 'held', 'cancelled', 'rescheduled'} <= actions, actions
    if os.environ.get('DUNNING_RECORD_BACKLOG'):
        with open(EXPECTED, 'w', encoding='utf-8') as f:
            json.dump(got, f, ensure_ascii=False, indent=0, separators=(',', ':'))
    with open(EXPECTED, encoding='utf-8') as f:
        want = json.load(f)
    for step in ('first', 'later'):
        for kind in ('reminders', 'audit'):
            assert got[step][kind] == want[step][kind], (step, kind)
    env.verify_audit()
