"""The operator's way out of 'failed' and 'in_doubt' (SPEC §3.5), and the
send lock on billing-side updates (payments changed or deleted, invoices
updated) while a message is in flight."""
import psycopg2
import pytest

from harness import at


def test_failed_reminder_resent_after_the_address_is_fixed(env):
    """A reminder failed on a bad address; the firm fixes the address and
    calls dunning.resend: it leaves at the next cycle, audited, once."""
    c = env.client('pas-une-adresse', company='Adresse Corrigée SA')
    env.invoice('F-970', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    rem = env.reminders('F-970')['j3']
    assert rem['state'] == 'failed'
    env.sql("UPDATE dunning.client SET email = 'corrige@client.example' WHERE id = %s", (c,))
    env.sql("SELECT dunning.resend(%s, 'address corrected')", (rem['id'],),
            now='2026-03-05 11:00+01')
    env.cycle(at('2026-03-05', '11:30'))
    rem = env.reminders('F-970')['j3']
    assert rem['state'] == 'sent'
    (m,) = env.mails()
    assert m.rcpt == 'corrige@client.example'
    assert m.message_id == rem['message_id']
    (a,) = env.audit('resend_requested', 'F-970')
    assert a['actor'] == 'postgres' and a['details']['previous_state'] == 'failed'


def test_in_doubt_resend_keeps_the_message_id(env):
    """An in-doubt reminder resent goes out with the Message-ID it had."""
    c = env.client('doute@client.example')
    env.invoice('F-971', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    rem = env.reminders('F-971')['j3']
    assert rem['state'] == 'sent'
    mid = rem['message_id']
    # As if the connection had dropped after DATA: the row is in doubt.
    env.sql("UPDATE dunning.reminder SET state = 'in_doubt', sent_at = NULL WHERE id = %s",
            (rem['id'],))
    env.sql("SELECT dunning.resend(%s, 'the relay has no trace of it')", (rem['id'],),
            now='2026-03-05 12:00+01')
    env.cycle(at('2026-03-05', '12:30'))
    rem = env.reminders('F-971')['j3']
    assert rem['state'] == 'sent' and rem['message_id'] == mid
    assert [m.message_id for m in env.mails()] == [mid, mid]


def test_mark_sent_and_refusals(env):
    """mark_sent records an in-doubt reminder as sent; both functions refuse
    other states and empty reasons, changing nothing."""
    c = env.client('marque@client.example')
    env.invoice('F-972', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    rem = env.reminders('F-972')['j3']
    audit_rows = len(env.audit())
    with pytest.raises(psycopg2.Error, match='is sent, not failed or in_doubt'):
        env.sql("SELECT dunning.resend(%s, 'again')", (rem['id'],))
    with pytest.raises(psycopg2.Error, match='not in_doubt'):
        env.sql("SELECT dunning.mark_sent(%s, 'seen in the relay log')", (rem['id'],))
    env.sql("UPDATE dunning.reminder SET state = 'in_doubt' WHERE id = %s", (rem['id'],))
    with pytest.raises(psycopg2.Error, match='must not be empty'):
        env.sql("SELECT dunning.mark_sent(%s, '  ')", (rem['id'],))
    assert len(env.audit()) == audit_rows
    env.sql("SELECT dunning.mark_sent(%s, 'seen in the relay log')", (rem['id'],),
            now='2026-03-05 15:00+01')
    assert env.reminders('F-972')['j3']['state'] == 'sent'
    (a,) = env.audit('marked_sent', 'F-972')
    assert a['details']['note'] == 'seen in the relay log'
    env.cycle(at('2026-03-06'))
    assert len(env.mails()) == 1                      # nothing resent


@pytest.mark.parametrize('change', [
    "UPDATE dunning.payment SET amount = amount + 1 WHERE invoice_id = %s",
    "DELETE FROM dunning.payment WHERE invoice_id = %s",
    "UPDATE dunning.invoice SET status = 'cancelled' WHERE id = %s",
    "UPDATE dunning.invoice SET amount = amount + 1 WHERE id = %s",
])
def test_billing_changes_wait_for_a_send_in_flight(env, change):
    """While the sender holds an invoice's send lock (its row of
    dunning.send_lock locked, sql/020), a change to its payments or its
    amount/status waits (here: until a statement timeout)."""
    c = env.client('verrou@client.example')
    inv = env.invoice('F-973', c, '2026-03-02')
    env.pay('F-973', '10.00', '2026-03-03 10:00+01')
    holder = env.connect(autocommit=False)
    holder.cursor().execute("SELECT 1 FROM dunning.send_lock WHERE invoice_id = %s "
                            "FOR UPDATE", (inv,))
    waiter = env.connect(autocommit=False)
    cur = waiter.cursor()
    cur.execute("SET statement_timeout = '500ms'")
    with pytest.raises(psycopg2.errors.QueryCanceled):
        cur.execute(change, (inv,))
    waiter.rollback()
    holder.rollback()
    cur.execute(change, (inv,))                       # free now: goes through
    waiter.commit()
    holder.close()
    waiter.close()


def test_dunningctl_in_doubt_resend_and_mark_sent(env):
    """dunningctl lists the in-doubt reminders, resends one, marks another
    sent; refusals exit non-zero with the reason."""
    c1 = env.client('un@client.example')
    c2 = env.client('deux@client.example')
    env.invoice('F-980', c1, '2026-03-02')
    env.invoice('F-981', c2, '2026-03-02')
    env.cycle(at('2026-03-05'))
    r1, r2 = env.reminders('F-980')['j3'], env.reminders('F-981')['j3']
    env.sql("UPDATE dunning.reminder SET state = 'in_doubt', sent_at = NULL "
            "WHERE id IN (%s, %s)", (r1['id'], r2['id']))
    out = env.ctl('in-doubt', check=0).stdout
    assert 'F-980' in out and 'F-981' in out and '2 reminders in_doubt' in out
    assert r1['message_id'] in out
    assert 'F-980' not in env.ctl('in-doubt', '--failed', check=0).stdout
    env.ctl('resend', str(r1['id']), 'no trace at the relay', check=0,
            now='2026-03-05T12:00:00+01:00')
    env.ctl('mark-sent', str(r2['id']), 'client answered', check=0,
            now='2026-03-05T12:00:00+01:00')
    bad = env.ctl('mark-sent', str(r2['id']), 'again')
    assert bad.returncode == 1 and 'not in_doubt' in bad.stderr
    assert env.ctl('resend', 'abc', 'x').returncode == 2
    env.cycle(at('2026-03-05', '12:30'))
    assert env.reminders('F-980')['j3']['state'] == 'sent'
    assert env.reminders('F-981')['j3']['state'] == 'sent'
    assert [m.rcpt for m in env.mails()].count('un@client.example') == 2
    assert [m.rcpt for m in env.mails()].count('deux@client.example') == 1
    assert len(env.audit('resend_requested')) == 1 and len(env.audit('marked_sent')) == 1


def test_dunningctl_status_counts_and_flags_what_waits(env):
    """dunningctl status: reminders per state, the last start and send; exit
    0 when nothing waits for the operator, 1 when a reminder is in doubt."""
    c = env.client('statut@client.example')
    env.invoice('F-990', c, '2026-03-02')
    env.invoice('F-991', c, '2026-03-03')
    r = env.ctl('status', check=0)
    assert 'last reminder sent   never' in r.stdout
    env.cycle(at('2026-03-06'))
    r = env.ctl('status', check=0)
    lines = dict(l.split(None, 1) for l in r.stdout.splitlines() if l.startswith('  ') and
                 not l.strip().startswith('last'))
    assert lines['sent'].strip() == '2' and lines['in_doubt'].strip() == '0', r.stdout
    import re
    (have, know) = re.search(r'version (\d+) \(this dunningctl knows (\d+)\)', r.stdout).groups()
    assert have == know, r.stdout
    assert 'last reminder sent   2026-03-06T09:00:00Z' in r.stdout, r.stdout
    rem = env.reminders('F-990')['j3']
    env.sql("UPDATE dunning.reminder SET state = 'in_doubt' WHERE id = %s", (rem['id'],))
    r = env.ctl('status')
    assert r.returncode == 1 and 'attention' in r.stdout
