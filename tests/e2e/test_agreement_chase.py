"""The chase of fee agreements sent for signature and not signed (SPEC §2
rule 13, issue 18 item 1; sql/025, pipeline/chase.c): a1, a3 and a7 one,
three and seven days after sent_on, each moved to the next send-window
opening (rule 7, min_gap_days not applied), each once (rule 2), audited
(rule 10); a signature stops it at once; the lawyer told at J+10.

The dates: 2 March 2026 is a Monday; Easter Monday 2026 is 6 April."""
import time

import pytest

from harness import Worker, allow_simulated_clock, at, days, instant, wait_until

from lawyer_mails import alerts

NBSP = '\u00a0'
URL = 'https://sign.example/c/AbC123'
SECRET_REF = 'CONV-SECRET-42'
DAEMON = 'chase_daemon'


def chase(env):
    """Every agreement reminder, oldest first."""
    return env.sql("SELECT agreement_id, stage, state, reason, attempts, scheduled_for, "
                   "sent_at, message_id FROM dunning.agreement_reminder ORDER BY id")


def sent(env):
    """(local day, stage) of each agreement e-mail the relay took."""
    out = []
    for m in env.mails():
        assert m.message_id.startswith('<dunning-agreement.'), m.message_id
        stage = m.message_id.split('.')[2].split('@')[0]
        out.append((m.date.date().isoformat(), stage))
    return out


def agr_audit(env):
    return [a for a in env.audit() if a['action'].startswith('agreement_reminder_')]


@pytest.fixture
def pro(env):
    c = env.client('signature@client.example', kind='professional',
                   company='Boulangerie Dupain')
    a = env.agreement(c, clause=True, signed_on=None, sent_on='2026-03-02',
                      signature_url=URL, matter_ref=SECRET_REF)
    return env, c, a


def test_stages_in_order_each_at_its_offset_once(pro):
    """Rules 1, 2, 10: sent Monday 2 March; a cycle every day at 10:00
    (twice on the days a stage leaves): a1 on Tuesday 3, a3 on Thursday 5,
    a7 on Monday 9, nothing on the day it was sent, each once; the lawyer
    told on 12 March (J+10), once; every action audited, the chain
    verifies.  The daemon connects as a dunning_daemon login."""
    env, c, a = pro
    env.cluster.ensure_role(DAEMON, 'dunning_daemon')
    env.write_config(db_user=DAEMON)
    for d in days('2026-03-02', '2026-03-14'):
        env.cycle(at(d, '10:00'))
        env.cycle(at(d, '10:30'))
    assert sent(env) == [('2026-03-03', 'a1'), ('2026-03-05', 'a3'), ('2026-03-09', 'a7')]
    rows = chase(env)
    assert [(r[1], r[2], r[4]) for r in rows] == [('a1', 'sent', 1), ('a3', 'sent', 1),
                                                  ('a7', 'sent', 1)]
    # the Message-ID is the row's
    assert [m.message_id for m in env.mails()] == [r[7] for r in rows]
    m1, m3, m7 = env.mails()
    assert m1.rcpt == 'signature@client.example'
    assert m1.subject == "Convention d'honoraires" + NBSP + ': votre signature'
    assert 'le 2 mars 2026' in m1.text and URL in m1.body
    assert "Nous vous prions d'agréer" in m1.text and 'Maître Alice Martin' in m1.text
    assert m3.subject.startswith('Rappel' + NBSP + ':')
    assert m7.subject.startswith('Deuxième rappel' + NBSP + ':')
    assert 'protège' in m7.text
    for m in env.mails():
        assert SECRET_REF not in m.raw and 'dossier' not in m.text, m.text
    # J+10: one alert, named by the agreement
    (al,) = alerts(env)
    assert al.date.date().isoformat() == '2026-03-12'
    assert al.subject == ("Convention d'honoraires non signée" + NBSP + ': Boulangerie Dupain')
    assert 'toujours pas signée, 10 jours après son envoi' in al.text
    assert 'dunningctl agreement-signed %d' % a in al.text
    assert env.sql("SELECT event_key FROM dunning.lawyer_alert "
                   "WHERE kind = 'agreement_unsigned'") == [('agreement_unsigned:%d' % a,)]
    acts = [x['action'] for x in agr_audit(env)]
    assert acts == ['agreement_reminder_planned', 'agreement_reminder_sending',
                    'agreement_reminder_sent'] * 3, acts
    assert {x['actor'] for x in agr_audit(env)} == {'daemon'}
    assert all(x['details']['agreement_id'] == a for x in agr_audit(env))
    assert env.ctl('audit', 'verify').returncode == 0


def test_english_text(env):
    c = env.client('sign@client.example', kind='individual', first='Jane', last='Doe',
                   language='en')
    env.agreement(c, clause=False, signed_on=None, sent_on='2026-03-02', signature_url=URL,
                  matter_ref=SECRET_REF)
    env.cycle(at('2026-03-03', '10:00'))
    (m,) = env.mails()
    assert m.subject == 'Fee agreement: your signature'
    assert m.text.startswith('Dear Sir or Madam,')
    assert 'On 2 March 2026 we sent you the fee agreement' in m.text
    assert URL in m.body and SECRET_REF not in m.raw and 'Yours faithfully' in m.text


def test_window_holiday_and_no_min_gap(env):
    """Rule 7: sent Thursday 2 April 2026.  a1 (Friday 3) planned at 07:00
    leaves at the 09:00 opening; a3 falls on Sunday 5, Easter Monday 6 is
    a holiday: it leaves Tuesday 7 at 09:00, four days after a1 although
    min_gap_days is 5 (not applied between an agreement's stages)."""
    c = env.client('w@client.example')
    env.agreement(c, clause=False, signed_on=None, sent_on='2026-04-02', signature_url=URL)
    env.cycle(at('2026-04-03', '07:00'))
    assert env.mails() == []
    (r,) = chase(env)
    assert r[1:3] == ('a1', 'planned') and r[5] == instant('2026-04-03', '09:00')
    env.cycle(at('2026-04-03', '09:00'))
    for d, hm in (('2026-04-04', '10:00'), ('2026-04-05', '10:00'), ('2026-04-06', '10:00'),
                  ('2026-04-06', '17:00'), ('2026-04-07', '08:59')):
        env.cycle(at(d, hm))
    assert sent(env) == [('2026-04-03', 'a1')]
    a3 = [x for x in chase(env) if x[1] == 'a3'][0]
    assert a3[2] == 'planned' and a3[5] == instant('2026-04-07', '09:00')
    env.cycle(at('2026-04-07', '09:00'))
    assert sent(env) == [('2026-04-03', 'a1'), ('2026-04-07', 'a3')]


def test_daemon_down_sends_one_not_a_burst(pro):
    """The daemon down from the 2nd to the 6th: a1 and a3 are both due; a1
    is recorded skipped (audited), only a3 leaves; a7 on the 9th."""
    env, c, a = pro
    env.cycle(at('2026-03-06', '10:00'))
    env.cycle(at('2026-03-06', '11:00'))
    assert sent(env) == [('2026-03-06', 'a3')]
    assert [(r[1], r[2], r[3]) for r in chase(env)] == [('a1', 'cancelled', 'stage_skipped'),
                                                         ('a3', 'sent', None)]
    sk = [x for x in agr_audit(env) if x['action'] == 'agreement_reminder_skipped']
    assert len(sk) == 1 and sk[0]['details']['stage'] == 'a1'
    env.cycle(at('2026-03-09', '10:00'))
    assert sent(env)[-1] == ('2026-03-09', 'a7')


def test_signed_between_a1_and_a3_stops_the_chase(pro):
    """agreement_signed on the 4th: no a3, no a7, no J+10 alert."""
    env, c, a = pro
    allow_simulated_clock(env)
    env.cycle(at('2026-03-03', '10:00'))
    env.sql('SELECT dunning.agreement_signed(%s, %s)', (a, '2026-03-04'),
            now=at('2026-03-04', '10:00'))
    for d in days('2026-03-04', '2026-03-14'):
        env.cycle(at(d, '10:00'))
    assert sent(env) == [('2026-03-03', 'a1')]
    assert [r[1] for r in chase(env)] == ['a1']
    assert alerts(env) == []


def test_signature_cancels_a_planned_reminder_at_once(env):
    """Sent Thursday 5 March: a1 Friday 6; a3 (Sunday 8) planned on Sunday
    for Monday 09:00.  The firm's software writes signed_on on Sunday: the
    planned a3 is cancelled in that transaction, audited; Monday sends
    nothing."""
    c = env.client('s@client.example')
    a = env.agreement(c, clause=False, signed_on=None, sent_on='2026-03-05', signature_url=URL)
    for d in ('2026-03-06', '2026-03-07', '2026-03-08'):
        env.cycle(at(d, '10:00'))
    assert [r[1:3] for r in chase(env)] == [('a1', 'sent'), ('a3', 'planned')]
    env.sql('UPDATE dunning.fee_agreement SET signed_on = %s WHERE id = %s', ('2026-03-08', a))
    assert [r[1:4] for r in chase(env)] == [('a1', 'sent', None),
                                            ('a3', 'cancelled', 'agreement_signed')]
    (x,) = [x for x in agr_audit(env) if x['action'] == 'agreement_reminder_cancelled']
    assert x['details']['reason'] == 'agreement_signed' and x['details']['stage'] == 'a3'
    env.cycle(at('2026-03-09', '10:00'))
    env.cycle(at('2026-03-12', '10:00'))
    assert sent(env) == [('2026-03-06', 'a1')]
    assert env.ctl('audit', 'verify').returncode == 0


def test_signed_while_claimed_is_not_sent(env):
    """Two agreements due in one session; the relay holds the first
    message's answer.  Meanwhile the second (claimed, not yet marked) is
    signed: cancelled, never handed.  A signature of the first, whose
    message is being handed, waits for its outcome: sent, then signed."""
    c1 = env.client('one@client.example')
    c2 = env.client('two@client.example')
    a1 = env.agreement(c1, clause=False, signed_on=None, sent_on='2026-03-02',
                       signature_url=URL)
    a2 = env.agreement(c2, clause=False, signed_on=None, sent_on='2026-03-02',
                       signature_url=URL)
    env.smtp.faults(delay={'eom': 4})
    w = Worker(lambda: env.cycle(at('2026-03-03', '10:00')))
    wait_until('the first message is handed',
               lambda: any(e['event'] == 'eom' for e in env.smtp.events()))
    env.sql('UPDATE dunning.fee_agreement SET signed_on = %s WHERE id = %s', ('2026-03-03', a2))
    t0 = time.monotonic()
    signer = env.connect()
    env.sql('UPDATE dunning.fee_agreement SET signed_on = %s WHERE id = %s',
            ('2026-03-03', a1), conn=signer)
    waited = time.monotonic() - t0
    signer.close()
    w.outcome()
    env.smtp.faults()
    assert [m.rcpt for m in env.mails()] == ['one@client.example']
    assert {r[0]: r[2:4] for r in chase(env)} == {a1: ('sent', None),
                                                   a2: ('cancelled', 'agreement_signed')}
    assert waited > 1, waited       # the signature of a1 waited for its send
    acts = [(x['details']['agreement_id'], x['action']) for x in agr_audit(env)]
    assert (a2, 'agreement_reminder_cancelled') in acts
    assert (a2, 'agreement_reminder_sending') not in acts


def test_unknown_outcome_is_in_doubt_never_resent(pro):
    """Rule 2: the relay takes the data and never answers: in_doubt; a
    reminder left 'sending' by a daemon that died is in_doubt after its
    lease; neither is sent again, and a3 follows on its day."""
    env, c, a = pro
    env.smtp.faults(drop='eom')
    env.cycle(at('2026-03-03', '10:00'))
    env.smtp.faults()
    (r,) = chase(env)
    assert r[1:3] == ('a1', 'in_doubt')
    env.cycle(at('2026-03-03', '11:00'))
    env.cycle(at('2026-03-04', '10:00'))
    assert env.mails() == [] and len(chase(env)) == 1
    # a daemon that died after marking a3: in_doubt once the lease ran out
    env.sql("INSERT INTO dunning.agreement_reminder (agreement_id, stage, state, scheduled_for, "
            "attempts, lease_until) VALUES (%s, 'a3', 'sending', %s, 1, %s)",
            (a, instant('2026-03-05', '09:00'), instant('2026-03-05', '09:15')))
    env.cycle(at('2026-03-05', '09:10'))
    assert chase(env)[1][2] == 'sending'            # its lease still runs
    env.cycle(at('2026-03-05', '09:20'))
    assert [x[2:4] for x in chase(env)] == [('in_doubt', 'no_answer_after_data'),
                                            ('in_doubt', 'lease_expired')]
    env.cycle(at('2026-03-06', '10:00'))
    env.cycle(at('2026-03-09', '10:00'))
    assert sent(env) == [('2026-03-09', 'a7')]
    acts = [x['action'] for x in agr_audit(env)]
    assert acts.count('agreement_reminder_in_doubt') == 2
    assert env.ctl('audit', 'verify').returncode == 0


def test_paused_client_waits_for_the_end_of_the_pause(pro):
    """The client paused until Friday 6 March: a1, planned on the 3rd for
    the end of the pause, leaves on Friday 6; a3 (due on the 5th, planned
    that day for the next day's opening) on Monday 9, a7 on Tuesday 10:
    one reminder a day at most, never a burst."""
    env, c, a = pro
    env.sql('UPDATE dunning.client SET paused_until = %s WHERE id = %s', ('2026-03-06', c))
    env.cycle(at('2026-03-03', '10:00'))
    (r,) = chase(env)
    assert r[1:3] == ('a1', 'planned') and r[5] == instant('2026-03-06', '09:00')
    for d in days('2026-03-02', '2026-03-05'):
        env.cycle(at(d, '10:00'))
    assert env.mails() == []
    env.cycle(at('2026-03-06', '10:00'))
    env.cycle(at('2026-03-06', '11:00'))
    assert sent(env) == [('2026-03-06', 'a1')]
    env.cycle(at('2026-03-09', '10:00'))
    env.cycle(at('2026-03-09', '11:00'))
    env.cycle(at('2026-03-10', '10:00'))
    assert sent(env) == [('2026-03-06', 'a1'), ('2026-03-09', 'a3'), ('2026-03-10', 'a7')]


def test_no_email_fails_with_its_reason_and_the_lawyer_is_told(env):
    c = env.client('x@client.example')
    env.sql('UPDATE dunning.client SET email = NULL WHERE id = %s', (c,))
    a = env.agreement(c, clause=False, signed_on=None, sent_on='2026-03-02',
                      signature_url=URL, matter_ref='AGR-7')
    env.cycle(at('2026-03-03', '10:00'))
    env.cycle(at('2026-03-03', '11:00'))
    assert env.mails() == []
    (r,) = chase(env)
    assert r[1:4] == ('a1', 'failed', 'no_email')
    (al,) = alerts(env)
    assert 'relance de signature (étape a1)' in al.text
    assert "le client n'a pas d'adresse électronique" in al.text
    assert 'dossier AGR-7' in al.text       # the lawyer's mail names the file
    f = [x for x in agr_audit(env) if x['action'] == 'agreement_reminder_failed']
    assert len(f) == 1 and f[0]['details']['reason'] == 'no_email'


@pytest.mark.parametrize('url', ['http://sign.example/x', 'javascript:alert(1)',
                                 'https://sign.example/a b'])
def test_a_signature_link_not_https_is_refused(env, url):
    c = env.client('u@client.example')
    env.agreement(c, clause=False, signed_on=None, sent_on='2026-03-02', signature_url=url)
    env.cycle(at('2026-03-03', '10:00'))
    assert env.mails() == []
    assert [r[2:4] for r in chase(env)] == [('failed', 'signature_url_refused')]
    (al,) = alerts(env)
    assert "n'est pas une adresse https:// sûre" in al.text


def test_no_link_or_old_agreement_is_not_chased(env):
    """No signature_url: nothing to sign online, no chase (the J+10 alert
    still tells the lawyer).  Sent long ago: no chase either."""
    c = env.client('n@client.example')
    env.agreement(c, clause=False, signed_on=None, sent_on='2026-03-02')
    env.agreement(c, clause=False, signed_on=None, sent_on='2025-06-02', signature_url=URL)
    for d in days('2026-03-02', '2026-03-12'):
        env.cycle(at(d, '10:00'))
    assert env.mails() == [] and chase(env) == []
    assert len(alerts(env)) == 1


def test_configuration_of_the_agreement_section(env):
    """agreement { … }: the defaults; stages and the alert day set in the
    file; a malformed value names its line; a missing template is refused
    by --check-config."""
    ok = env.daemon('--check-config')
    assert ok.returncode == 0, ok.stderr
    env.write_config(extra_conf='agreement {\n'
                     '  stage "b2" { offset_days = 2 template = "a01" }\n'
                     '  unsigned_alert_days = 5\n}\n')
    c = env.client('cfg@client.example')
    env.agreement(c, clause=False, signed_on=None, sent_on='2026-03-02', signature_url=URL)
    for d in days('2026-03-02', '2026-03-09'):
        env.cycle(at(d, '10:00'))
    assert sent(env) == [('2026-03-04', 'b2')]
    assert alerts(env)[0].date.date().isoformat() == '2026-03-09'   # 2 + 5 = 7, a Saturday
    env.write_config(extra_conf='agreement {\n'
                     '  stage "a1" { offset_days = 1 template = "nope" }\n'
                     '  stage "a3" { offset_days = 0 template = "a03" }\n'
                     '  stage "a7" { offset_days = 7 template = "a07" channel = "letter" }\n'
                     '  unsigned_alert_days = 0\n}\n')
    r = env.daemon('--check-config')
    assert r.returncode != 0
    lines = {}
    with open(env.config) as f:
        for n, text in enumerate(f, 1):
            lines[n] = text
    base = [n for n, t in lines.items() if t.startswith('agreement {')][0]
    err = r.stderr
    assert '%s:%d:' % (env.config, base + 1) in err and 'nope.txt is missing' in err, err
    assert '%s:%d:' % (env.config, base + 2) in err, err
    assert '%s:%d:' % (env.config, base + 3) in err and 'channel does not apply' in err, err
    assert '%s:%d:' % (env.config, base + 4) in err and 'unsigned_alert_days' in err, err


def test_the_lawyer_reads_only_their_clients_reminders(env):
    """Row-level security as fee_agreement: a lawyer sees the reminders of
    their own clients' agreements only, and writes none."""
    ra = env.cluster.ensure_role('maitre_rls_a', 'dunning_lawyer')
    rb = env.cluster.ensure_role('maitre_rls_b', 'dunning_lawyer')
    la = env.lawyer('Maître A', 'a@cabinet.example', db_role=ra)
    lb = env.lawyer('Maître B', 'b@cabinet.example', db_role=rb)
    ca = env.client('ca@client.example', lawyer=la)
    cb = env.client('cb@client.example', lawyer=lb)
    aa = env.agreement(ca, clause=False, signed_on=None, sent_on='2026-03-02',
                       signature_url=URL)
    env.agreement(cb, clause=False, signed_on=None, sent_on='2026-03-02', signature_url=URL)
    env.cycle(at('2026-03-03', '10:00'))
    assert len(chase(env)) == 2
    conn = env.connect(user=ra)
    try:
        assert env.sql('SELECT agreement_id FROM dunning.agreement_reminder',
                       conn=conn) == [(aa,)]
        with pytest.raises(Exception) as e:
            env.sql("UPDATE dunning.agreement_reminder SET state = 'cancelled'", conn=conn)
        assert 'permission denied' in str(e.value)
    finally:
        conn.close()


def test_agreement_being_changed_withholds_without_spinning(pro):
    """A transaction of the firm's software holds the agreement's row (an
    update not yet committed): the reminder, marked, cannot be held; it is
    withheld (audited, not an attempt) and due again after a backoff, so
    the pass ends instead of trying again and again; once committed, the
    next pass after the backoff sends it."""
    env, c, a = pro
    other = env.connect(autocommit=False)
    try:
        with other.cursor() as cur:
            cur.execute('UPDATE dunning.fee_agreement SET mission_ended_on = NULL '
                        'WHERE id = %s', (a,))
        env.cycle(at('2026-03-03', '10:00'))
        assert env.mails() == []
        (r,) = chase(env)
        assert r[1:3] == ('a1', 'planned') and r[4] == 0
        assert r[5] > instant('2026-03-03', '10:00')
        acts = [x['action'] for x in agr_audit(env)]
        assert acts.count('agreement_reminder_withheld') == 1, acts
    finally:
        other.rollback()
        other.close()
    env.cycle(at('2026-03-03', '11:00'))
    assert sent(env) == [('2026-03-03', 'a1')]
    assert chase(env)[0][4] == 1


def test_signature_between_claim_and_hand_withholds(env):
    """The last check before a message is handed: a signature that reached
    the row without the trigger (a session replicating the firm's data,
    triggers off) after the claim and before the hold: the reminder is
    withheld and cancelled, never handed, not counted as an attempt."""
    c1 = env.client('first@client.example')
    c2 = env.client('second@client.example')
    env.agreement(c1, clause=False, signed_on=None, sent_on='2026-03-02', signature_url=URL)
    a2 = env.agreement(c2, clause=False, signed_on=None, sent_on='2026-03-02',
                       signature_url=URL)
    env.smtp.faults(delay={'eom': 3})
    w = Worker(lambda: env.cycle(at('2026-03-03', '10:00')))
    wait_until('the first message is handed',
               lambda: any(e['event'] == 'eom' for e in env.smtp.events()))
    replica = env.connect()
    try:
        with replica.cursor() as cur:
            cur.execute('SET session_replication_role = replica')
        env.sql('UPDATE dunning.fee_agreement SET signed_on = %s WHERE id = %s',
                ('2026-03-03', a2), conn=replica)
    finally:
        replica.close()
    w.outcome()
    env.smtp.faults()
    assert [m.rcpt for m in env.mails()] == ['first@client.example']
    r2 = [r for r in chase(env) if r[0] == a2][0]
    assert r2[2:5] == ('cancelled', 'agreement_signed', 0)
    acts = [x['action'] for x in agr_audit(env) if x['details']['agreement_id'] == a2]
    assert acts == ['agreement_reminder_planned', 'agreement_reminder_sending',
                    'agreement_reminder_cancelled'], acts
