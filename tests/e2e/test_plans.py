"""Payment plans end to end (SPEC §2 rule 11, issue 19 item 3), real
PostgreSQL and SMTP, --now replays: a plan proposed with dunningctl on the
balance after a partial payment, accepted at once below
plan.auto_accept_max; no escalation message while it runs; the client
reminded 3 days before an instalment and 3 days after a missed one, with
that instalment's amount and the plan's remaining balance; the plan broken
10 days after a missed instalment, the lawyer told at once, the escalation
resuming with the next stage min_gap_days after the breach.  A plan above
the threshold held, told to the lawyer at once and in the digest, approved,
then completed; another lawyer sees nothing and can do nothing; the
commands' exit codes.  Dates computed by hand (2026: 2 March a Monday)."""
import json

from harness import at, norm_spaces
from harness.clock import allow_simulated_clock
from lawyer_mails import ALICE, alerts, digests

NBSP = '\u00a0'
CLIENT = 'pro@client.example'


def world(env, amount='1000.00'):
    role = env.cluster.ensure_role('maitre_plans', 'dunning_lawyer')
    other = env.cluster.ensure_role('maitre_autre', 'dunning_lawyer')
    allow_simulated_clock(env)
    la = env.lawyer('Maître Alice Martin', ALICE, db_role=role)
    env.lawyer('Maître Bob', 'bob@cabinet.example', db_role=other)
    c = env.client(CLIENT, company='Société Pro', lawyer=la)
    env.invoice('F-1', c, '2026-03-02', amount=amount)
    return role, other


def stages(env):
    """The stages of the reminders sent, in order."""
    return [r[0] for r in env.sql("SELECT stage FROM dunning.reminder WHERE state = 'sent' "
                                  "ORDER BY sent_at")]


def plan_mails(env):
    return [m for m in env.mails() if m.message_id.startswith('<dunning-plan.')]


def test_plan_suspends_reminds_breaks_and_escalation_resumes(env):
    role, _ = world(env)
    # the daemon as production runs it: a dunning_daemon login, under the
    # plans' grants and row-level security
    env.write_config(db_user=env.cluster.ensure_role('plans_daemon', 'dunning_daemon'))
    env.pay('F-1', '100.01', at('2026-03-04'))
    env.cycle(at('2026-03-05'))
    env.cycle(at('2026-03-12'))
    assert stages(env) == ['j3', 'j10']
    r = env.ctl('-U', role, 'plan-propose', 'F-1', '--instalments', '3', '--first-due',
                '2026-03-25', '--note', 'accord au téléphone', now=at('2026-03-16'), check=0)
    # on the balance, 899,99: 299,99 twice, the last absorbing the cent
    assert '  instalment 1: 299.99 on 2026-03-25' in r.stdout
    assert '  instalment 2: 299.99 on 2026-04-25' in r.stdout
    assert '  instalment 3: 300.01 on 2026-05-25' in r.stdout
    assert 'accepted at once' in r.stdout
    env.cycle(at('2026-03-16'))
    env.cycle(at('2026-03-20'))
    assert plan_mails(env) == []
    # 3 days before the 25th is Sunday 22: it leaves at Monday's window
    env.cycle(at('2026-03-22'))
    assert plan_mails(env) == []
    env.cycle(at('2026-03-23'))
    [due] = plan_mails(env)
    assert due.rcpt == CLIENT
    assert due.subject == 'Échéancier' + NBSP + ': échéance n°' + NBSP + '1 du 25 mars 2026'
    text = ' '.join(norm_spaces(due.body).split())
    assert "l'échéance n° 1 sur 3, d'un montant de 299,99 €, est à régler le 25 mars 2026" in text
    assert 'cette échéance comprise, est de 899,99 €' in text
    assert '1 000,00' not in text and 'D-F-1' not in text      # never the original, no matter
    env.pay('F-1', '299.99', at('2026-03-24'))
    # J+30 is 1 April: no j30 while the plan runs
    for day in ('2026-03-28', '2026-04-01', '2026-04-02', '2026-04-21'):
        env.cycle(at(day))
    assert stages(env) == ['j3', 'j10']
    assert len(plan_mails(env)) == 1                # paid on time: no late reminder
    env.cycle(at('2026-04-22'))                     # 25 April - 3
    assert len(plan_mails(env)) == 2
    env.cycle(at('2026-04-27'))
    assert len(plan_mails(env)) == 2
    env.cycle(at('2026-04-28'))                     # 25 April + 3, unpaid
    late = plan_mails(env)[2]
    assert late.subject == ('Échéancier' + NBSP + ': échéance n°' + NBSP
                            + '2 du 25 avril 2026 non reçue')
    text = ' '.join(norm_spaces(late.body).split())
    assert 'il reste dû à ce titre 299,99 €' in text
    assert "restant dû au titre de l'échéancier est de 600,00 €" in text
    env.cycle(at('2026-05-04'))
    assert env.one('SELECT state FROM dunning.payment_plan') == 'active'
    assert [m for m in alerts(env, ALICE) if 'rompu' in m.subject] == []
    env.cycle(at('2026-05-05'))                     # 25 April + 10: broken
    assert env.one('SELECT state FROM dunning.payment_plan') == 'broken'
    [told] = [m for m in alerts(env, ALICE) if 'rompu' in m.subject]
    assert told.subject == 'Échéancier rompu' + NBSP + ': facture n°' + NBSP + 'F-1'
    assert 'Sur 899,99 €, 299,99 € ont été réglés' in norm_spaces(told.body)
    # the escalation resumes with j30, min_gap_days (5) after the breach:
    # 10 May, a Sunday, so Monday 11
    env.cycle(at('2026-05-08'))
    assert stages(env) == ['j3', 'j10']
    env.cycle(at('2026-05-11'))
    assert stages(env) == ['j3', 'j10', 'j30']
    assert len(plan_mails(env)) == 3                # no reminder after the breach
    assert env.sql("SELECT kind, state FROM dunning.plan_message ORDER BY id") == [
        ('due', 'sent'), ('due', 'sent'), ('late', 'sent')]
    acts = [a for (a,) in env.sql("SELECT action FROM dunning.audit_log "
                                  "WHERE action LIKE 'plan%' ORDER BY id")]
    assert acts.count('plan_reminder_sent') == 3 and 'plan_broken' in acts
    assert acts.index('plan_proposed') < acts.index('plan_accepted')
    env.verify_audit()


def test_held_plan_told_approved_then_completed(env):
    role, other = world(env, amount='3000.00')
    # usage errors: exit 2, nothing made
    r = env.ctl('-U', role, 'plan-propose', 'F-1', '--first-due', '2026-03-25',
                now=at('2026-03-16'))
    assert r.returncode == 2
    r = env.ctl('-U', role, 'plan-propose', 'F-1', '--instalments', '2', '--first-due',
                'demain', now=at('2026-03-16'))
    assert r.returncode == 2 and 'not a date' in r.stderr
    # refused by the rules: exit 1, the server's words
    r = env.ctl('-U', role, 'plan-propose', 'F-1', '--instalments', '4', '--first-due',
                '2026-03-25', now=at('2026-03-16'))
    assert r.returncode == 1 and '2 to 3 instalments' in r.stderr
    assert env.count('dunning.payment_plan') == 0
    r = env.ctl('-U', role, 'plan-propose', 'F-1', '--instalments', '2', '--first-due',
                '2026-03-25', now=at('2026-03-16'), check=0)
    assert 'waiting for a lawyer\'s approval (dunningctl plan-approve' in r.stdout
    plan = env.one('SELECT id FROM dunning.payment_plan')
    # one proposed or active plan per invoice
    r = env.ctl('-U', role, 'plan-propose', 'F-1', '--instalments', '3', '--first-due',
                '2026-03-25', now=at('2026-03-16'))
    assert r.returncode == 1 and 'already in plan %d' % plan in r.stderr
    env.cycle(at('2026-03-16'))
    [told] = [m for m in alerts(env, ALICE) if 'approuver' in m.subject]
    body = norm_spaces(told.body)
    assert 'Un échéancier (n° %d) est proposé par le cabinet pour Société Pro : 3 000,00 € en 2 ' \
        'échéances, la première le 25 mars 2026.' % plan in body
    assert 'dunningctl plan-approve %d' % plan in body
    [dg] = [d for d in digests(env, ALICE) if 'Échéanciers à approuver' in d.body]
    assert 'échéancier n° %d, Société Pro : 3 000,00 € en 2 échéances (facture n° F-1, ' \
        'dossier D-F-1) ; proposé le 16 mars 2026' % plan in norm_spaces(dg.body)
    # another lawyer sees no plan and cannot decide it
    r = env.ctl('-U', other, 'plans', '--json', now=at('2026-03-17'), check=0)
    assert json.loads(r.stdout) == []
    r = env.ctl('-U', other, 'plan-approve', str(plan), now=at('2026-03-17'))
    assert r.returncode == 1 and 'no payment plan with id %d' % plan in r.stderr
    r = env.ctl('-U', other, 'plan-cancel', str(plan), 'non', now=at('2026-03-17'))
    assert r.returncode == 1
    r = env.ctl('-U', role, 'plans', '--json', now=at('2026-03-17'), check=0)
    [row] = json.loads(r.stdout)
    assert (row['plan_id'], row['state'], row['total'], row['paid'], row['next_due_on'],
            row['next_amount'], row['late_amount']) == (plan, 'proposed', '3000.00', '0.00',
                                                         '2026-03-25', '1500.00', '0.00')
    # held, the reminders go on: j10 on 12 March was before; j30 on 1 April
    env.ctl('-U', role, 'plan-approve', str(plan), now=at('2026-03-17'), check=0)
    assert env.one('SELECT state FROM dunning.payment_plan') == 'active'
    env.pay('F-1', '1500.00', at('2026-03-24'))
    env.cycle(at('2026-04-01'))
    assert 'j30' not in stages(env)
    env.pay('F-1', '1500.00', at('2026-04-20'))
    env.cycle(at('2026-04-21'))
    assert env.one('SELECT state FROM dunning.payment_plan') == 'completed'
    r = env.ctl('-U', role, 'plans', now=at('2026-04-21'), check=0)
    assert 'completed' in r.stdout and '1 payment plan' in r.stdout
    # the client's access request (GDPR) holds the plan
    client = env.one("SELECT id FROM dunning.client WHERE email = %s", (CLIENT,))
    doc = json.loads(env.ctl('export-client', str(client), check=0).stdout)
    [p] = doc['payment_plans']
    assert (p['id'], p['state'], p['total'], p['invoices']) == (plan, 'completed', '3000.00',
                                                                ['F-1'])
    assert p['instalments'] == [{'seq': 1, 'due_on': '2026-03-25', 'amount': '1500.00'},
                                {'seq': 2, 'due_on': '2026-04-25', 'amount': '1500.00'}]
    env.verify_audit()


def test_cancel_resumes_after_the_gap(env):
    role, _ = world(env)
    env.cycle(at('2026-03-05'))
    env.cycle(at('2026-03-12'))
    r = env.ctl('-U', role, 'plan-propose', 'F-1', '--instalments', '2', '--first-due',
                '2026-04-10', now=at('2026-03-30'), check=0)
    assert 'accepted at once' in r.stdout
    plan = env.one('SELECT id FROM dunning.payment_plan')
    env.cycle(at('2026-04-01'))
    assert stages(env) == ['j3', 'j10']
    r = env.ctl('-U', role, 'plan-cancel', str(plan), 'le client conteste', now=at('2026-04-02'),
                check=0)
    assert 'cancelled' in r.stdout
    env.cycle(at('2026-04-06'))                     # 2 April + 5 is the 7th
    assert stages(env) == ['j3', 'j10']
    env.cycle(at('2026-04-07'))
    assert stages(env) == ['j3', 'j10', 'j30']


def test_instalment_reminders_keep_the_outbox_guarantees(make_env):
    """Inside the send window only; a relay's temporary refusal retried,
    then sent once; a claim whose sender stopped is in doubt, never sent
    again blindly; an English client reads English."""
    env = make_env(tempfail=r'^pro@')
    role, _ = world(env)
    env.sql("UPDATE dunning.client SET language = 'en'")
    env.ctl('-U', role, 'plan-propose', 'F-1', '--instalments', '2', '--first-due',
            '2026-03-25', now=at('2026-03-16'), check=0)
    env.cycle(at('2026-03-23', '07:00'))            # before the window: queued only
    assert env.sql('SELECT kind, state, attempts FROM dunning.plan_message') == [
        ('due', 'planned', 0)]
    env.cycle(at('2026-03-23', '09:30'))            # the relay says 451
    assert env.sql('SELECT state, attempts, last_error IS NOT NULL FROM dunning.plan_message'
                   ) == [('planned', 1, True)]
    assert plan_mails(env) == []
    env.restart_smtp()
    env.cycle(at('2026-03-23', '11:00'))            # after the backoff
    [m] = plan_mails(env)
    assert m.subject == 'Payment plan: instalment 1 due on 25 March 2026'
    text = ' '.join(m.body.split())
    assert 'instalment 1 of 2, for €500.00, falls due on 25 March 2026.' in text
    assert 'this instalment included, is €1,000.00.' in text
    env.cycle(at('2026-03-23', '15:00'))
    env.cycle(at('2026-03-24'))
    assert len(plan_mails(env)) == 1                # never twice
    assert env.sql('SELECT state, attempts, last_error FROM dunning.plan_message') == [
        ('sent', 2, None)]
    # a sender that stopped after marking the late reminder 'sending'
    env.sql('SELECT dunning.plans_pass(3, 3, 10)', now=at('2026-03-28'))
    env.sql("UPDATE dunning.plan_message SET state = 'sending', attempts = 1, "
            "lease_until = %s, message_id = '<dunning-plan.x@test>' WHERE kind = 'late'",
            (at('2026-03-28', '09:05'),))
    env.cycle(at('2026-03-30'))
    assert env.sql("SELECT state, reason FROM dunning.plan_message WHERE kind = 'late'") == [
        ('in_doubt', 'lease_expired')]
    assert len(plan_mails(env)) == 1
    assert env.one("SELECT count(*) FROM dunning.audit_log "
                   "WHERE action = 'plan_reminder_in_doubt'") == 1
    env.verify_audit()
