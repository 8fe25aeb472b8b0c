"""Telling the lawyer (issue 4, items 3 and 5): the immediate alerts and
the escalation that ends the automated sequence, then how the alerts and
the digests (tests/e2e/test_lawyer_digest.py) fare with several daemons,
unusable addresses, a relay that refuses and the send window; against a
real PostgreSQL and the SMTP recorder."""
import os
import re
import subprocess

import psycopg2
import pytest

from harness import DUNNINGD, at, instant, norm_spaces, wait_until
from lawyer_mails import ALICE, alerts, digests, item_lines, lawyer_mails


def through_j30(env, number, client, amount='1234.56', due='2026-03-02'):
    env.invoice(number, client, due, amount=amount)
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01'])


# ------------------------------------------------------ immediate alerts --

def test_j30_sent_alerts_the_lawyer_once_in_french(env):
    """A stage with notify_lawyer (j30) sent: one alert to the client's
    lawyer, not to the client, in sober French; j3 and j10 tell nobody;
    later cycles send nothing again."""
    lw = env.lawyer('Maître Claire Roux', 'claire.roux@cabinet.example')
    c = env.client('suivi@client.example', company='Suivi & Fils SARL', lawyer=lw)
    env.invoice('F-2026-0042', c, '2026-03-02', amount='1234.56')
    env.replay_on(['2026-03-05', '2026-03-12'])
    assert env.lawyer_mails() == []
    env.cycle(at('2026-04-01', '10:00'))
    env.cycle(at('2026-04-01', '11:00'))
    env.cycle(at('2026-04-02', '10:00'))
    (m,) = env.lawyer_mails()
    assert m.rcpt == 'claire.roux@cabinet.example' and m.envelope_rcpt == [m.rcpt]
    assert m.subject == 'Dossier à surveiller\u00a0: facture n°\u00a0F-2026-0042'
    assert m.msg['To'].addresses[0].display_name == 'Maître Claire Roux'
    assert m.msg['From'].addresses[0].addr_spec == 'relances@cabinet.example'
    assert m.msg['Auto-Submitted'] == 'auto-generated'
    assert m.msg.get_content_charset() == 'utf-8'
    assert m.date == instant('2026-04-01', '10:00')
    (a,) = env.sql("SELECT id, kind, state, message_id FROM dunning.lawyer_alert")
    assert a[1:3] == ('stage_sent', 'sent')
    assert m.message_id == '<dunning-lawyer.alert.%d@cabinet.example>' % a[0] == a[3]
    text = norm_spaces(m.body)
    assert ("La relance de l'étape j30 a été adressée le 1er avril 2026 à Suivi & Fils SARL "
            "pour la facture suivante :") in text
    assert item_lines(m) == ['- facture n° F-2026-0042 (dossier D-F-2026-0042) : '
                             'reste dû 1 234,56 €']
    assert ("Ce dossier est à surveiller : à défaut de règlement, l'étape suivante (j45) est "
            "la mise en demeure par lettre recommandée.") in text
    assert 'suivi@client.example' not in m.raw
    # The client got j3, j10 and j30; nothing else reached anyone.
    assert [env.stage_of(x.message_id)[0] for x in env.mails()] == ['j3', 'j10', 'j30']
    assert all(x.rcpt == 'suivi@client.example' for x in env.mails())
    (row,) = env.audit('lawyer_alerted')
    assert row['number'] == 'F-2026-0042' and row['actor'] == env.daemon_actor
    assert row['details']['kind'] == 'stage_sent' and row['details']['message_id'] == m.message_id
    env.verify_audit()


def test_grouped_j30_is_one_alert_listing_every_invoice(env):
    """Two invoices of a client in one j30 message: one alert naming both."""
    c = env.client('groupe@client.example', company='Groupe Dupont SA')
    env.invoice('F-11', c, '2026-03-02', amount='100.00')
    env.invoice('F-12', c, '2026-03-02', amount='250.50', matter_ref=None)
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01'])
    (m,) = env.lawyer_mails()
    assert m.rcpt == ALICE
    assert m.subject == 'Dossier à surveiller\u00a0: 2 factures de Groupe Dupont SA'
    assert item_lines(m) == ['- facture n° F-11 (dossier D-F-11) : reste dû 100,00 €',
                             '- facture n° F-12 : reste dû 250,50 €']
    assert 'pour les factures suivantes :' in m.text
    assert env.count('dunning.lawyer_alert') == 1


def test_letter_written_tells_the_lawyer_where_it_is(env):
    """The approved formal notice is written: one alert (not two, although
    j45 also has notify_lawyer) with the letter's path and what to do."""
    c = env.client('lettre@client.example', company='Lettre SAS')
    env.invoice('F-45', c, '2026-03-02', amount='700.00')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01', '2026-04-16'])
    j45 = env.reminders('F-45')['j45']
    assert j45['state'] == 'held'
    env.sql('SELECT dunning.approve(%s)', (j45['id'],), now=at('2026-04-16', '16:00'))
    before = len(alerts(env))
    env.cycle(at('2026-04-17', '10:00'))
    (m,) = alerts(env)[before:]
    assert m.subject == 'Passage en phase contentieuse\u00a0: facture n°\u00a0F-45'
    (path,) = re.findall(r'^  (/\S+)$', m.body, re.M)
    assert os.path.dirname(path) == env.spool and os.path.exists(path)
    assert env.reminders('F-45')['j45']['state'] == 'sent'
    text = norm_spaces(m.body)
    assert ("La mise en demeure (étape j45) destinée à Lettre SAS a été établie le "
            "17 avril 2026 pour la facture suivante :") in text
    assert 'recommandé avec demande d\'avis de réception' in text
    assert 'dunningctl letter-sent %d --tracking' % j45['id'] in text
    assert 'articles 174 et suivants du décret n° 91-1197' in text
    (a,) = env.sql("SELECT kind, details->>'path' FROM dunning.lawyer_alert "
                   "WHERE reminder_id = %s", (j45['id'],))
    assert a == ('letter_ready', path)


def test_rejected_address_alerts_without_quoting_it(make_env):
    """A 5xx on the client's address: the reminder fails and the lawyer is
    told why, the address itself left out (minimisation); the client's
    next stages wait, and the failure is told once."""
    env = make_env(reject='refuse@')
    c = env.client('refuse@client.example', company='Refus SA')
    env.invoice('F-55', c, '2026-03-02', amount='300.00')
    env.cycle(at('2026-03-05', '10:00'))
    assert env.reminders('F-55')['j3']['state'] == 'failed'
    env.cycle(at('2026-03-05', '11:00'))
    (m,) = alerts(env)
    assert m.rcpt == ALICE
    assert m.subject == 'Relance non délivrée\u00a0: facture n°\u00a0F-55'
    text = norm_spaces(m.body)
    assert ("La relance de l'étape j3 destinée à Refus SA n'a pas pu être délivrée le "
            "5 mars 2026 :") in text
    assert ('refus du serveur de messagerie : 550 5.1.1 (adresse): Recipient address '
            'rejected: User unknown') in text
    assert 'refuse@client.example' not in m.raw
    assert 'dunningctl resend %d' % env.reminders('F-55')['j3']['id'] in text
    (row,) = env.sql("SELECT details::text FROM dunning.lawyer_alert")
    assert 'refuse@' not in row[0]


def test_missing_client_address_alerts_in_french(env):
    c = env.client('x@y.example', company='Sans Adresse SA')
    env.sql('UPDATE dunning.client SET email = NULL WHERE id = %s', (c,))
    env.invoice('F-56', c, '2026-03-02')
    env.cycle(at('2026-03-05', '10:00'))
    (m,) = alerts(env)
    assert m.subject == 'Relance non délivrée\u00a0: facture n°\u00a0F-56'
    assert "le client n'a pas d'adresse électronique" in m.body


def test_nothing_happened_nothing_is_sent(env):
    """A month of j3 and j10 only, nothing held, failed or disputed: the
    lawyers get no mail at all, and each business day is looked at once."""
    bob = env.lawyer('Maître Bob Durand', 'bob.durand@cabinet.example')
    for i, lw in enumerate([None, bob]):
        c = env.client('calme%d@client.example' % i, lawyer=lw)
        env.invoice('F-6%d' % i, c, '2026-03-02', amount='100.00')
    env.replay('2026-03-02', '2026-03-27')
    assert len(env.mails()) == 4
    assert env.lawyer_mails() == []
    assert env.count('dunning.lawyer_alert') == 0
    assert env.sql("SELECT DISTINCT state FROM dunning.lawyer_digest") == [('empty',)]
    # 20 business days, 2 lawyers, one row each.
    assert env.count('dunning.lawyer_digest') == 40


# ------------------------------------------------------------ escalation --

def test_escalation_alerts_and_no_client_message_ever_leaves_again(env):
    """Item 5: J+45 written, no payment 15 days later: the invoice is
    escalated (audit row) and the lawyer alerted — at the next send window,
    as the escalation falls on a Saturday after a public holiday.  From
    then on nothing reaches the client, whatever happens: a dispute flagged
    and cleared, a pause set and lifted, a resend attempted, a partial
    payment."""
    c = env.client('fin@client.example', company='Fin de Course SA')
    env.invoice('F-90', c, '2026-03-02', amount='900.00')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01', '2026-04-16'])
    j45 = env.reminders('F-90')['j45']
    env.sql('SELECT dunning.approve(%s)', (j45['id'],), now=at('2026-04-16', '16:00'))
    got = env.replay('2026-04-17', '2026-05-04')
    assert got[0] == ('2026-04-17', 'letter', 'j45', ['F-90'])
    assert got[1:] == []
    (esc,) = env.audit('escalated', 'F-90')
    assert esc['at'] == instant('2026-05-02', '10:00')     # letter 17/4 + 15 days
    # real_at: the instant the replayed row was really written.
    assert esc['details'].pop('real_at')
    assert esc['details'] == {'last_stage': 'j45', 'after_days': 15}
    (m,) = [x for x in alerts(env) if 'Fin des relances' in x.subject]
    assert m.subject == 'Fin des relances automatiques\u00a0: facture n°\u00a0F-90'
    assert m.date == instant('2026-05-04', '10:00')        # Friday 1 May: holiday
    text = norm_spaces(m.body)
    assert ('La facture suivante de Fin de Course SA reste impayée 15 jours après la '
            'dernière étape de relance (j45) :') in text
    assert item_lines(m) == ['- facture n° F-90 (dossier D-F-90) : reste dû 900,00 €']
    assert 'aucun autre message ne sera adressé au client pour cette facture' in text
    (a,) = env.sql("SELECT kind, state, invoice_id FROM dunning.lawyer_alert "
                   "WHERE kind = 'escalated'")
    assert a[:2] == ('escalated', 'sent')
    # The digest of that Monday names it, once; not the next day's.
    (d,) = [x for x in digests(env) if x.date == instant('2026-05-04', '10:00')]
    assert 'Dossiers sortis des relances automatiques (1) :' in d.text
    assert 'facture n° F-90 (dossier D-F-90), Fin de Course SA, reste dû 900,00 € ; remis le ' \
        '2 mai 2026 après l\'étape j45' in norm_spaces(d.body)
    client_mails, letters = len(env.mails()), len(env.letters())
    rems = {s: r['state'] for s, r in env.reminders('F-90').items()}

    def dispute():
        env.sql("SELECT dunning.flag_dispute('F-90', 'contestation')", now=at('2026-05-05', '08:00'))

    def clear():
        env.sql("SELECT dunning.clear_dispute('F-90', 'accord trouvé')",
                now=at('2026-05-07', '08:00'))

    def pause():
        env.sql("SELECT dunning.pause_invoice('F-90', '2026-05-20', 'appel du client')",
                now=at('2026-05-11', '08:00'))

    def lift():
        env.sql("SELECT dunning.pause_invoice('F-90', NULL, 'fin de la pause')",
                now=at('2026-05-13', '08:00'))

    def resend():
        with pytest.raises(psycopg2.Error, match='not failed or in_doubt'):
            env.sql("SELECT dunning.resend(%s, 'encore')", (j45['id'],),
                    now=at('2026-05-15', '08:00'))

    def partial():
        env.pay('F-90', '100.00', at('2026-05-18', '08:00'))

    got = env.replay('2026-05-05', '2026-06-30', weekends=False, events={
        '2026-05-05': dispute, '2026-05-07': clear, '2026-05-11': pause,
        '2026-05-13': lift, '2026-05-15': resend, '2026-05-18': partial})
    assert got == []
    assert len(env.mails()) == client_mails and len(env.letters()) == letters
    assert {s: r['state'] for s, r in env.reminders('F-90').items()} == rems
    assert len(env.audit('escalated', 'F-90')) == 1
    assert env.count('dunning.lawyer_alert', "kind = 'escalated'") == 1
    assert env.count('dunning.reminder', "state IN ('planned', 'held', 'approved')") == 0
    env.verify_audit()


# -------------------------------------------- several daemons, bad lawyers --

def test_running_daemon_tells_the_lawyer_once(make_env):
    """The daemon as a service (sender thread): the j30 alert and the day's
    digest arrive once, however many passes follow."""
    env = make_env(extra_conf='schedule { poll_interval = 1 }\n')
    c = env.client('svc@client.example')
    env.invoice('V-1', c, '2026-03-02', amount='100.00')
    big = env.client('svcbig@client.example')
    env.invoice('V-2', big, '2026-03-02', amount='9000.00')
    env.replay_on(['2026-03-05', '2026-03-12'])
    d = env.start_daemon(now=at('2026-04-01', '10:00'))
    wait_until('the alert and the digest', lambda: len(env.lawyer_mails()) >= 2)
    mark = d.wait_log(r'lawyers: \d alerts, \d digests sent')
    for _ in range(3):                  # three more full passes, each with its send pass
        mark = d.wait_log(r'cycle 2026-04-01', after=mark + 1)
    assert d.stop() == 0
    assert sorted(m.subject for m in env.lawyer_mails()) == [
        'Dossier à surveiller\u00a0: facture n°\u00a0V-1',
        'Relances\u00a0: 1 élément demande votre attention']
    assert all(m.rcpt == ALICE for m in env.lawyer_mails())

def test_two_daemons_do_not_duplicate_alerts_or_digests(env):
    """Two daemons running the same cycles at the same instants: each alert
    and each digest reaches the lawyer once (the outbox's claim and the
    digest's (lawyer, day) row), and each client message leaves once."""
    bob = env.lawyer('Maître Bob Durand', 'bob.durand@cabinet.example')
    for i in range(6):
        c = env.client('duo%d@client.example' % i, lawyer=bob if i % 2 else None)
        env.invoice('T-%d' % i, c, '2026-03-02', amount='100.00')
    big = env.client('duobig@client.example', lawyer=bob)
    env.invoice('T-BIG', big, '2026-03-02', amount='7000.00')
    env.replay_on(['2026-03-05', '2026-03-12'])

    def both(when):
        argv = [DUNNINGD, '-c', env.config, '--once', '--now', when]
        ps = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True) for _ in range(2)]
        for p in ps:
            _, err = p.communicate(timeout=60)
            assert p.returncode == 0, err

    for hhmm in ('10:00', '10:01', '11:00'):
        both(at('2026-04-01', hhmm))
    for hhmm in ('10:00', '10:01'):
        both(at('2026-04-02', hhmm))
    ms = env.lawyer_mails()
    assert len(ms) == len({m.message_id for m in ms}), [m.message_id for m in ms]
    stage_alerts = [m for m in ms if m.subject.startswith('Dossier à surveiller')]
    assert sorted(m.subject[-3:] for m in stage_alerts) == ['T-%d' % i for i in range(6)]
    assert sorted((m.rcpt, m.date.day) for m in digests(env)) == [
        ('bob.durand@cabinet.example', 1), ('bob.durand@cabinet.example', 2)]
    assert env.count('dunning.audit_log', "action = 'lawyer_alerted'") == 6
    assert env.count('dunning.audit_log', "action = 'digest_sent'") == 2
    client = env.mails()
    assert len(client) == len({m.message_id for m in client}) == 6 * 3 + 2
    env.verify_audit()


def test_lawyer_without_a_usable_address_never_blocks_client_mail(env):
    """A lawyer whose address cannot be used: the alert and the digest are
    recorded failed and audited, the daemon carries on (exit 0) and the
    client's mail leaves as usual; nothing is tried again."""
    lw = env.lawyer('Maître Sans Courriel', 'personne@localhost')
    c = env.client('client-sc@client.example', lawyer=lw)
    env.invoice('N-1', c, '2026-03-02', amount='100.00')
    big = env.client('client-sc2@client.example', lawyer=lw)
    env.invoice('N-2', big, '2026-03-02', amount='6000.00')
    env.replay_on(['2026-03-05', '2026-03-12'])
    r = env.cycle(at('2026-04-01', '10:00'))
    assert 'no valid e-mail address' in r.stderr
    env.cycle(at('2026-04-01', '11:00'))
    assert env.lawyer_mails() == []
    assert [env.stage_of(m.message_id)[0] for m in env.mails()].count('j30') == 1
    assert env.sql("SELECT state, attempts, last_error FROM dunning.lawyer_alert") == [
        ('failed', 1, 'the lawyer has no valid e-mail address')]
    (f,) = env.audit('lawyer_alert_failed')
    assert f['number'] == 'N-1' and f['details']['kind'] == 'stage_sent'
    (g,) = env.audit('digest_failed')
    assert g['details']['lawyer_id'] == lw and g['details']['day'] == '2026-04-01'


def test_lawyer_address_refused_by_the_relay(make_env):
    """A 5xx on the lawyer's address: failed once, audited, not retried."""
    env = make_env(reject='^claire')
    lw = env.lawyer('Maître Claire Roux', 'claire.roux@cabinet.example')
    c = env.client('client-cr@client.example', lawyer=lw)
    env.invoice('C-1', c, '2026-03-02', amount='100.00')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01', '2026-04-02'])
    assert env.lawyer_mails() == []
    assert len(env.mails()) == 3
    (row,) = env.sql("SELECT state, attempts, last_error FROM dunning.lawyer_alert")
    assert row[:2] == ('failed', 1) and row[2].startswith('550 5.1.1 (adresse)')
    assert len(env.audit('lawyer_alert_failed')) == 1


def test_lawyer_relay_4xx_is_retried_with_the_same_message_id(make_env):
    """A 4xx on the lawyer's address: retried after the backoff (audited),
    delivered once, with the Message-ID of the first attempt."""
    env = make_env(tempfail='^alice')
    c = env.client('client-tf@client.example')
    env.invoice('R-1', c, '2026-03-02', amount='100.00')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01'])
    assert env.lawyer_mails() == [] and len(env.mails()) == 3
    (row,) = env.sql("SELECT state, attempts, next_try_at FROM dunning.lawyer_alert")
    assert row[:2] == ('pending', 1) and row[2] > instant('2026-04-01', '10:00')
    assert len(env.audit('lawyer_alert_retried')) == 1
    env.restart_smtp()
    env.cycle(at('2026-04-01', '10:01'))             # before the backoff: nothing
    assert env.lawyer_mails() == []
    env.cycle(at('2026-04-01', '12:00'))
    env.cycle(at('2026-04-01', '13:00'))
    (m,) = env.lawyer_mails()
    (aid,) = env.sql("SELECT id FROM dunning.lawyer_alert")[0]
    assert m.message_id == '<dunning-lawyer.alert.%d@cabinet.example>' % aid
    assert env.sql("SELECT state, attempts FROM dunning.lawyer_alert") == [('sent', 2)]


def test_alerts_wait_for_the_send_window(env):
    """Internal mail follows the send window: an escalation decided on a
    Saturday is told on Monday at the first cycle inside the window; a
    cycle in the evening sends nothing to anyone."""
    c = env.client('soir@client.example')
    env.invoice('W-1', c, '2026-03-02', amount='100.00')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01'])
    alerts_before = len(env.lawyer_mails())
    assert alerts_before == 1                        # j30's
    (j45,) = env.plan(at('2026-04-16', '10:00'))
    assert j45['action'] == 'hold_for_approval'
    env.cycle(at('2026-04-16', '19:00'))             # held in the evening: no digest
    assert len(env.lawyer_mails()) == alerts_before
    rid = env.reminders('W-1')['j45']['id']
    env.sql('SELECT dunning.approve(%s)', (rid,), now=at('2026-04-16', '19:30'))
    env.cycle(at('2026-04-17', '08:59'))
    assert len(env.lawyer_mails()) == alerts_before
    env.cycle(at('2026-04-17', '09:00'))             # the letter, then its alert
    new = env.lawyer_mails()[alerts_before:]
    assert [m.subject for m in new] == ['Passage en phase contentieuse\u00a0: facture n°\u00a0W-1']
    env.cycle(at('2026-05-02', '11:00'))             # Saturday: escalated, told Monday
    assert env.audit('escalated', 'W-1')
    assert len(env.lawyer_mails()) == alerts_before + 1
    env.cycle(at('2026-05-03', '12:00'))
    env.cycle(at('2026-05-04', '08:30'))
    assert len(env.lawyer_mails()) == alerts_before + 1
    env.cycle(at('2026-05-04', '09:00'))
    last = env.lawyer_mails()[alerts_before + 1:]
    assert sorted(m.subject for m in last) == [
        'Fin des relances automatiques\u00a0: facture n°\u00a0W-1',
        'Relances\u00a0: 1 élément demande votre attention']
    assert all(m.date == instant('2026-05-04', '09:00') for m in last)


def test_header_injection_through_names_and_numbers(env):
    """A lawyer's name and an invoice number with line breaks cannot add a
    header or a recipient to the lawyer's mail."""
    lw = env.lawyer('Maître Eve\r\nBcc: espion@evil.example', 'eve@cabinet.example')
    c = env.client('inj@client.example', lawyer=lw)
    env.invoice('F-1\r\nBcc: espion@evil.example', c, '2026-03-02')
    env.cycle(at('2026-03-05', '10:00'))
    ms = env.all_mails()                     # the alert, and the day's digest
    assert len(ms) == 2
    for m in ms:
        assert m.internal and m.envelope_rcpt == ['eve@cabinet.example']
        assert m.msg['Bcc'] is None and 'espion' not in str(m.msg['To'])
        assert len(m.msg.get_all('Subject')) == 1 and '\n' not in m.subject
    assert ms[0].subject.startswith('Relance non délivrée\u00a0: facture n°\u00a0F-1 ')
    assert "un nom contient un caractère de contrôle" in ms[0].body


def test_alert_tables_grants(env):
    """The outbox and the digest rows: the daemon and the admin write them,
    the accountant reads them, a lawyer has no access at all; the SQL
    functions are the daemon's and the admin's."""
    def priv(role, table, p):
        return env.one('SELECT has_table_privilege(%s, %s, %s)', (role, table, p))

    for t in ('dunning.lawyer_alert', 'dunning.lawyer_digest'):
        for p in ('SELECT', 'INSERT', 'UPDATE'):
            assert priv('dunning_daemon', t, p) and priv('dunning_admin', t, p)
        assert not priv('dunning_daemon', t, 'DELETE')
        assert priv('dunning_accountant', t, 'SELECT')
        assert not priv('dunning_accountant', t, 'INSERT')
        assert not priv('dunning_accountant', t, 'UPDATE')
        for p in ('SELECT', 'INSERT', 'UPDATE', 'DELETE'):
            assert not priv('dunning_lawyer', t, p)
    for f in ('dunning.lawyer_alert_add(text, text, bigint, bigint[], jsonb)',
              'dunning.digest_items(bigint, integer)'):
        assert env.one('SELECT has_function_privilege(%s, %s, %s)',
                       ('dunning_daemon', f, 'EXECUTE'))
        for r in ('dunning_lawyer', 'dunning_accountant'):
            assert not env.one('SELECT has_function_privilege(%s, %s, %s)', (r, f, 'EXECUTE'))


def test_one_event_one_alert(env):
    """The outbox's key: the same event queued twice gives one alert."""
    c = env.client('cle@client.example')
    inv = env.invoice('K-9', c, '2026-03-02')
    q = "SELECT dunning.lawyer_alert_add('escalated', 'escalated:' || %s, %s, NULL, '{}')"
    first = env.one(q, (inv, inv))
    again = env.one(q, (inv, inv))
    assert first is not None and again is None
    assert env.count('dunning.lawyer_alert') == 1


def test_lawyers_read_english_when_the_firm_says_so(make_env):
    """firm.language = "en": the alert and the digest come from
    templates/en, with English dates, amounts and reasons; the client's
    own message keeps the client's language (French here)."""
    env = make_env(firm_conf='  language = "en"\n')
    c = env.client('anglais@client.example', company='Gros Client SA')
    d = env.client('petit@client.example', company='Petit Client SARL')
    env.invoice('G-7', c, '2026-03-02', amount='12345.67')
    env.invoice('S-7', d, '2026-03-02', amount='1234.56')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01'])
    ms = lawyer_mails(env)
    (alert,) = [m for m in ms if '.alert.' in m.message_id]
    assert alert.subject == 'File to watch: invoice no. S-7'
    text = norm_spaces(alert.body)
    assert ('The stage j30 reminder was sent to Petit Client SARL on 1 April 2026 for the '
            'following invoice:') in text, text
    assert item_lines(alert) == ['- invoice no. S-7 (file D-S-7): balance due €1,234.56']
    assert ('if payment does not arrive, the next stage (j45) is the formal notice by '
            'registered letter.') in text
    digest = [m for m in ms if '.digest.' in m.message_id][0]
    assert digest.subject == 'Reminders: 1 item needs your attention'
    assert 'Here is the Wednesday 1 April 2026 summary of reminders' in norm_spaces(digest.body)
    rid = env.reminders('G-7')['j30']['id']
    assert item_lines(digest) == [
        '- reminder no. %d, stage j30: invoice no. G-7 (file D-G-7), Gros Client SA, '
        'balance due €12,345.67; balance at or above the approval threshold' % rid]
    assert not any(re.search(r'[àâçéèêëîïôûù]', m.subject) for m in ms)
    client = [m for m in env.mails() if not m.internal]
    assert len(client) == 5 and all("note d'honoraires n°" in m.subject for m in client), \
        [m.subject for m in client]
