"""SPEC §2 rules 3 (payments), 4 (disputes), 5 (the human switch) and 6
(pauses), replayed day by day against a real PostgreSQL and a real relay."""
import re

import psycopg2
import pytest

from harness import assert_table, at, instant


# ------------------------------------------------------------ rule 3 ----

def test_rule3_payment_cancels_pending(env):
    """Rule 3: a full payment cancels the planned reminder before it
    leaves, and nothing is ever sent for that invoice again."""
    c = env.client('payeur@client.example')
    env.invoice('F-300', c, '2026-03-02', amount='800.00')
    env.cycle(at('2026-03-05', '19:00'))             # j3 planned for tomorrow 09:00
    assert env.reminders('F-300')['j3']['state'] == 'planned'
    env.pay('F-300', '800.00', at('2026-03-05', '20:15'), reference='VIR-1')
    got = env.replay('2026-03-06', '2026-04-03', weekends=False)
    assert got == []
    rem = env.reminders('F-300')
    assert list(rem) == ['j3']
    assert rem['j3']['state'] == 'cancelled' and rem['j3']['reason'] == 'paid'
    cancelled = env.audit('cancelled', 'F-300')
    assert len(cancelled) == 1 and cancelled[0]['details']['reason'] == 'paid'
    assert cancelled[0]['actor'] == env.daemon_actor
    assert env.audit('payment_recorded', 'F-300')


def test_rule3_credit_note_and_overpayment_count_as_paid(env):
    """Rule 3: a credit note (a payment with its number in reference) and an
    overpayment (negative balance) both mean paid: nothing is sent."""
    c = env.client('avoir@client.example')
    env.invoice('F-301', c, '2026-03-02', amount='500.00')
    env.invoice('F-302', c, '2026-03-02', amount='500.00')
    env.pay('F-301', '200.00', at('2026-03-03', '10:00'), reference='VIR')
    env.pay('F-301', '300.00', at('2026-03-03', '11:00'), reference='AVOIR A-17')
    env.pay('F-302', '650.00', at('2026-03-03', '10:00'))
    got = env.replay('2026-03-02', '2026-03-20')
    assert got == []
    assert env.count('dunning.reminder') == 0


def test_rule3_payment_cancels_held_reminder(env):
    """Rule 3: a payment cancels a reminder held for approval, too."""
    c = env.client('gros@client.example')
    env.invoice('F-303', c, '2026-03-02', amount='9000.00')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01'])
    assert env.reminders('F-303')['j30']['state'] == 'held'
    env.pay('F-303', '9000.00', at('2026-04-01', '15:00'))
    env.cycle(at('2026-04-02'))
    rem = env.reminders('F-303')['j30']
    assert rem['state'] == 'cancelled' and rem['reason'] == 'paid'
    with pytest.raises(psycopg2.Error, match='not held'):
        env.sql('SELECT dunning.approve(%s)', (rem['id'],), now=at('2026-04-02', '11:00'))


def test_rule3_payment_23h_before_defers_until_grace_then_states_balance(env):
    """Rule 3: a partial payment received 23 h before the stage is due
    defers it until the 24 h grace window has passed; the message then
    states the remaining balance, not the original amount."""
    c = env.client('partiel@client.example')
    env.invoice('F-310', c, '2026-03-02', amount='1000.00')
    env.pay('F-310', '400.00', at('2026-03-04', '11:00'), reference='VIR-310')
    env.cycle(at('2026-03-05', '10:00'))
    env.cycle(at('2026-03-05', '10:59'))
    assert env.mails() == []
    rem = env.reminders('F-310')['j3']
    assert rem['state'] == 'planned'
    assert rem['scheduled_for'] == instant('2026-03-05', '11:00')
    env.cycle(at('2026-03-05', '11:00'))
    mails = env.mails()
    assert [m.rcpt for m in mails] == ['partiel@client.example']
    text = mails[0].text
    assert 'reste dû 600,00 €' in text
    # The amount claimed is the balance: never "...: 1 000,00 €" as owed.
    assert not re.search(r'échue le [^:]*: 1 000,00 €', text), text
    # j10 a week later: the total claimed is the balance.
    env.replay('2026-03-06', '2026-03-12')
    j10 = env.mails()[-1]
    assert env.stage_of(j10.message_id)[0] == 'j10'
    assert 'Total restant dû : 600,00 €' in j10.text
    assert 'Total restant dû : 1 000,00 €' not in j10.text


def test_rule3_payment_25h_before_does_not_defer(env):
    """Rule 3: a payment received more than payment_grace_hours ago does not
    defer the stage (the grace window is 24 h, not a day)."""
    c = env.client('ancien@client.example')
    env.invoice('F-311', c, '2026-03-02', amount='1000.00')
    env.pay('F-311', '100.00', at('2026-03-04', '09:00'))
    env.cycle(at('2026-03-05', '10:00'))
    assert [m.rcpt for m in env.mails()] == ['ancien@client.example']
    assert 'reste dû 900,00 €' in env.mails()[0].text


# ------------------------------------------------------------ rule 4 ----

def test_rule4_dispute_cancels_pending_and_clearing_resumes_after_min_gap(env):
    """Rule 4: flagging a dispute cancels the planned reminder at once (in
    the same call, with audit rows); no message while disputed; clearing
    resumes the escalation, the next stage min_gap_days after the clearing."""
    c = env.client('litige@client.example')
    env.invoice('F-400', c, '2026-03-02', amount='1500.00')
    got = env.replay('2026-03-02', '2026-03-11')
    env.cycle(at('2026-03-12', '08:00'))             # j10 planned for 09:00
    assert env.reminders('F-400')['j10']['state'] == 'planned'
    env.sql("SELECT dunning.flag_dispute('F-400', 'honoraires contestés')",
            now=at('2026-03-12', '08:30'))
    # At once: the SQL call itself cancelled it.
    rem = env.reminders('F-400')['j10']
    assert rem['state'] == 'cancelled' and rem['reason'] == 'disputed'
    flagged = env.audit('dispute_flagged', 'F-400')
    assert len(flagged) == 1 and flagged[0]['details']['reason'] == 'honoraires contestés'
    assert flagged[0]['at'] == instant('2026-03-12', '08:30')
    assert env.audit('cancelled', 'F-400')[0]['details']['reason'] == 'disputed'
    got += env.replay('2026-03-12', '2026-03-19')
    got += env.replay('2026-03-20', '2026-04-03', events={
        '2026-03-20': lambda: env.sql("SELECT dunning.clear_dispute('F-400', 'accord')",
                                      now=at('2026-03-20', '08:00'))})
    assert_table(got, [
        ('2026-03-05', 'litige@client.example', 'j3'),
        ('2026-03-25', 'litige@client.example', 'j10'),   # cleared 20/3 + 5 days
        ('2026-04-01', 'litige@client.example', 'j30'),   # due + 30 (later than 30/3)
    ])
    assert env.audit('dispute_cleared', 'F-400')
    env.verify_audit()


def test_rule4_dispute_cancels_held_and_stops_everything(env):
    """Rule 4: a dispute cancels a held reminder too; nothing can be
    approved, and nothing leaves however long we wait."""
    c = env.client('strat@client.example', strategic=True)
    env.invoice('F-401', c, '2026-03-02', amount='300.00')
    env.cycle(at('2026-03-05'))
    held = env.reminders('F-401')['j3']
    assert held['state'] == 'held'
    env.sql("SELECT dunning.flag_dispute('F-401', 'erreur de facturation')",
            now=at('2026-03-05', '11:00'))
    assert env.reminders('F-401')['j3']['state'] == 'cancelled'
    with pytest.raises(psycopg2.Error, match='not held'):
        env.sql('SELECT dunning.approve(%s)', (held['id'],), now=at('2026-03-05', '11:05'))
    assert env.replay('2026-03-06', '2026-04-24', weekends=False) == []
    assert env.plan(at('2026-04-24'))[0]['reason'] == 'disputed'


# ------------------------------------------------------------ rule 5 ----

def test_rule5_threshold_hold_then_approve_sends_at_next_window(env):
    """Rule 5: balance >= 5 000 EUR: j3 and j10 leave, j30 waits for a
    lawyer; approved in the evening, it leaves at the next window opening."""
    lw = env.lawyer('Maître Claire Roux', 'claire.roux@cabinet.example')
    c = env.client('grand@client.example', lawyer=lw)
    env.invoice('F-500', c, '2026-03-02', amount='5000.00')
    got = env.replay('2026-03-02', '2026-04-02')
    assert_table(got, [
        ('2026-03-05', 'grand@client.example', 'j3'),
        ('2026-03-12', 'grand@client.example', 'j10'),
    ])
    held = env.reminders('F-500')['j30']
    assert held['state'] == 'held'
    assert env.audit('held', 'F-500')[0]['details']['reason'] == 'approval_threshold'
    env.sql('SELECT dunning.approve(%s)', (held['id'],), now=at('2026-04-02', '19:30'))
    approved = env.audit('approved', 'F-500')
    assert len(approved) == 1 and approved[0]['actor'] == 'postgres'
    env.cycle(at('2026-04-02', '19:45'))
    env.cycle(at('2026-04-03', '08:55'))
    assert len(env.mails()) == 2
    env.cycle(at('2026-04-03', '09:00'))
    mails = env.mails()
    assert len(mails) == 3 and env.stage_of(mails[-1].message_id)[0] == 'j30'
    assert mails[-1].date == instant('2026-04-03', '09:00')
    assert env.reminders('F-500')['j30']['state'] == 'sent'


def test_rule5_threshold_is_on_the_balance(env):
    """Rule 5: the threshold applies to the balance: 6 000 invoiced with
    1 500 paid (4 500 due) is not held at j30; 4 999.99 is not held."""
    c = env.client('solde@client.example')
    d = env.client('juste@client.example')
    env.invoice('F-501', c, '2026-03-02', amount='6000.00')
    env.invoice('F-502', d, '2026-03-02', amount='4999.99')
    env.pay('F-501', '1500.00', at('2026-03-03', '10:00'))
    got = env.replay('2026-03-30', '2026-04-01')
    assert_table(got, [
        ('2026-03-30', 'solde@client.example', 'j3'),
        ('2026-03-30', 'juste@client.example', 'j3'),
    ])
    got = env.replay('2026-04-01', '2026-04-14')
    assert [g[2] for g in got if g[2] == 'j30'] == ['j30', 'j30']


def test_rule5_currency_without_threshold_is_held(env):
    """Rule 5: an invoice in a currency with no configured threshold is
    treated as above the threshold (from j30 on)."""
    c = env.client('usd@client.example')
    env.invoice('F-503', c, '2026-03-02', amount='100.00', currency='USD')
    got = env.replay('2026-03-02', '2026-04-03')
    assert [g[2] for g in got] == ['j3', 'j10']
    rem = env.reminders('F-503')['j30']
    assert rem['state'] == 'held' and rem['reason'] == 'no_threshold_for_currency'


def test_rule5_strategic_client_every_stage_held(env):
    """Rule 5: a strategic client's reminders all wait for approval, from
    j3 on; the approved one leaves, the next is held again."""
    c = env.client('strategique@client.example', strategic=True)
    env.invoice('F-504', c, '2026-03-02', amount='200.00')
    assert env.replay('2026-03-02', '2026-03-09') == []
    j3 = env.reminders('F-504')['j3']
    assert j3['state'] == 'held' and j3['reason'] == 'strategic_client'
    got = env.replay('2026-03-10', '2026-03-20', events={
        '2026-03-10': lambda: env.sql('SELECT dunning.approve(%s)', (j3['id'],),
                                      now=at('2026-03-10', '08:00'))})
    assert_table(got, [('2026-03-10', 'strategique@client.example', 'j3')])
    assert env.reminders('F-504')['j10']['state'] == 'held'


def test_rule5_j45_held_then_approved_letter_in_spool(env):
    """Rule 5: j45 (formal notice) always waits for approval; approved, it
    is written to the spool as a letter, and the client gets no e-mail."""
    c = env.client('mise@client.example', kind='individual', first='Paul', last='Lefèvre')
    env.invoice('F-505', c, '2026-03-02', amount='700.00')
    got = env.replay('2026-03-02', '2026-04-17')
    assert [g[2] for g in got] == ['j3', 'j10', 'j30']
    j45 = env.reminders('F-505')['j45']
    assert j45['state'] == 'held' and j45['reason'] == 'stage_requires_approval'
    assert env.letters() == {}
    got = env.replay('2026-04-20', '2026-04-21', events={
        '2026-04-20': lambda: env.sql('SELECT dunning.approve(%s)', (j45['id'],),
                                      now=at('2026-04-20', '08:00'))})
    assert got == [('2026-04-20', 'letter', 'j45', ['F-505'])]
    assert len(env.mails()) == 3                    # no e-mail for the letter
    (name, text), = env.letters().items()
    assert 'MISE EN DEMEURE' in text.upper() and 'F-505' in text
    assert 'Paul Lefèvre' in text and 'Lyon' in text
    assert 'reste dû 700,00 €' in text.replace('\u202f', ' ').replace('\u00a0', ' ')
    assert 'indemnité forfaitaire' not in text      # individual client: no 40 EUR
    assert env.reminders('F-505')['j45']['state'] == 'sent'


def test_rule5_reject_cancels_with_reason(env):
    """Rule 5: rejecting a held reminder cancels it with the lawyer's reason
    (audited with the actor); it never leaves."""
    c = env.client('rejet@client.example')
    env.invoice('F-506', c, '2026-03-02', amount='8000.00')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01'])
    held = env.reminders('F-506')['j30']
    assert held['state'] == 'held'
    env.sql("SELECT dunning.reject(%s, 'client en procédure collective')", (held['id'],),
            now=at('2026-04-01', '16:00'))
    rem = env.reminders('F-506')['j30']
    assert rem['state'] == 'cancelled' and rem['reason'] == 'rejected'
    assert rem['last_error'] == 'client en procédure collective'
    rej = env.audit('rejected', 'F-506')
    assert len(rej) == 1 and rej[0]['details']['reason'] == 'client en procédure collective'
    assert rej[0]['actor'] == 'postgres'
    got = env.replay('2026-04-02', '2026-04-24', weekends=False)
    assert [g for g in got if g[2] == 'j30'] == []
    assert env.reminders('F-506')['j30']['state'] == 'cancelled'
    # Nothing leaves without a lawyer: the formal notice is held, not sent.
    assert got == []


# ------------------------------------------------------------ rule 6 ----

def test_rule6_client_pause_until_date(env):
    """Rule 6: pause_client until Monday 9 March: j3 (due Thursday 5) leaves
    on the 9th, and j10 follows rule 1 from there (9 + 5 = Saturday 14 →
    Monday 16)."""
    c = env.client('pause@client.example')
    env.invoice('F-600', c, '2026-03-02', amount='400.00')
    got = env.replay('2026-03-02', '2026-03-20', events={
        '2026-03-04': lambda: env.sql("SELECT dunning.pause_client(%s, '2026-03-09', "
                                      "'échéancier convenu')", (c,),
                                      now=at('2026-03-04', '15:00'))})
    assert_table(got, [
        ('2026-03-09', 'pause@client.example', 'j3'),
        ('2026-03-16', 'pause@client.example', 'j10'),
    ])
    paused = env.audit('client_paused')
    assert len(paused) == 1 and paused[0]['details']['until'] == '2026-03-09'


def test_rule6_invoice_pause_reschedules_planned_reminder(env):
    """Rule 6: pausing an invoice whose reminder is already planned moves
    it to the pause date; another invoice of the client is not paused."""
    c = env.client('pausef@client.example')
    env.invoice('F-601', c, '2026-03-02', amount='400.00')
    d = env.client('libre@client.example')
    env.invoice('F-602', d, '2026-03-02', amount='400.00')
    env.cycle(at('2026-03-05', '18:30'))            # both planned for Friday 09:00
    env.sql("SELECT dunning.pause_invoice('F-601', '2026-03-11', 'client a appelé')",
            now=at('2026-03-05', '19:00'))
    got = env.replay('2026-03-06', '2026-03-11')
    assert_table(got, [
        ('2026-03-06', 'libre@client.example', 'j3'),
        ('2026-03-11', 'pausef@client.example', 'j3'),
    ])
    assert env.audit('rescheduled', 'F-601')


def test_rule6_lifting_a_pause(env):
    """Rule 6: a pause lifted (NULL) lets the stage leave at once."""
    c = env.client('leve@client.example')
    env.invoice('F-603', c, '2026-03-02', amount='400.00')
    env.sql("SELECT dunning.pause_client(%s, '2026-06-01', 'attente')", (c,),
            now=at('2026-03-03', '10:00'))
    assert env.replay('2026-03-03', '2026-03-10') == []
    env.sql("SELECT dunning.pause_client(%s, NULL, 'paiement promis non tenu')", (c,),
            now=at('2026-03-11', '08:00'))
    got = env.replay('2026-03-11', '2026-03-11')
    assert_table(got, [('2026-03-11', 'leve@client.example', 'j3')])
    assert env.audit('client_pause_lifted')


@pytest.mark.parametrize('status', ['written_off', 'cancelled'])
def test_rule3_closed_invoice_cancels_pending(env, status):
    """An invoice the billing software marks written off or cancelled gets
    its pending reminders cancelled (with that reason) and no message."""
    c = env.client('clos@client.example')
    env.invoice('F-320', c, '2026-03-02')
    env.cycle(at('2026-03-05', '19:00'))
    env.sql('UPDATE dunning.invoice SET status = %s WHERE number = %s', (status, 'F-320'))
    assert env.replay('2026-03-06', '2026-03-13') == []
    rem = env.reminders('F-320')['j3']
    assert rem['state'] == 'cancelled'
    assert rem['reason'] == ('written_off' if status == 'written_off' else 'invoice_cancelled')


STAGES_J45_FREE = '''
stage "j3"  { offset_days = 3  template = "j03" channel = "email" }
stage "j10" { offset_days = 10 template = "j10" channel = "email" }
stage "j30" { offset_days = 30 template = "j30" channel = "email" }
stage "j45" { offset_days = 45 template = "j45" channel = "letter" requires_approval = false }
'''


def test_rule5_j45_without_approval_when_operator_says_so(make_env):
    """Rule 5: with requires_approval = false on j45, the formal notice is
    written on its day without a lawyer (below the threshold)."""
    env = make_env(extra_conf=STAGES_J45_FREE)
    c = env.client('libre45@client.example')
    env.invoice('F-507', c, '2026-03-02', amount='700.00')
    got = env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01', '2026-04-15', '2026-04-16'])
    assert_table(got, [
        ('2026-03-05', 'libre45@client.example', 'j3'),
        ('2026-03-12', 'libre45@client.example', 'j10'),
        ('2026-04-01', 'libre45@client.example', 'j30'),
        ('2026-04-16', 'letter', 'j45'),
    ])
    assert env.audit('approved') == []
