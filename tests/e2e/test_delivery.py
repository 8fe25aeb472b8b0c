"""Delivery (SPEC §3.5): bad data, relay refusals and temporary failures,
the formal-notice letter, the shape of the messages and what they must
never contain (§2 rule 9)."""
import datetime as dt
import os
import email.policy
import email.utils

from harness import assert_table, at, instant, norm_spaces

SECRET = 'XYZZY-Rosebud-42'


def test_malformed_rows_fail_alone_with_audit(env):
    """A client without e-mail, with an invalid e-mail, with CR/LF in a
    name: each reminder ends 'failed' with an audit row, the cycle exits 0,
    and the other clients still get their messages."""
    good = env.client('bon@client.example')
    none = env.client(None, kind='individual', last='Sansmail', first='Ana')
    bad = env.client('pas-une-adresse', company='Adresse Invalide SA')
    crlf = env.client('crlf@client.example',
                      company='ACME\r\nBcc: victime@evil.example')
    good2 = env.client('bon2@client.example')
    for i, c in enumerate([good, none, bad, crlf, good2]):
        env.invoice('F-90%d' % i, c, '2026-03-02')
    r = env.cycle(at('2026-03-05'))
    assert r.returncode == 0
    assert sorted(m.rcpt for m in env.mails()) == ['bon2@client.example', 'bon@client.example']
    for m in env.mails():
        assert 'evil.example' not in m.raw
    states = {r['number']: r['state'] for r in env.reminders()}
    assert states == {'F-900': 'sent', 'F-901': 'failed', 'F-902': 'failed',
                      'F-903': 'failed', 'F-904': 'sent'}
    failed = {a['number']: a['details']['reason'] for a in env.audit('failed')}
    assert failed == {'F-901': 'no_email', 'F-902': 'invalid_email',
                      'F-903': 'control_in_name'}
    # A failed reminder is never retried blindly: the next days send nothing
    # more to these clients.
    env.replay('2026-03-06', '2026-03-11')
    assert sorted(m.rcpt for m in env.mails()) == ['bon2@client.example', 'bon@client.example']
    env.verify_audit()


def test_relay_550_marks_failed(make_env):
    """A 550 on the recipient marks the reminder failed (with the relay's
    answer, audited); the others of the same batch are sent."""
    env = make_env(reject=r'^inconnu@')
    a = env.client('inconnu@client.example')
    b = env.client('connu@client.example')
    env.invoice('F-910', a, '2026-03-02')
    env.invoice('F-911', b, '2026-03-02')
    env.cycle(at('2026-03-05'))
    assert [m.rcpt for m in env.mails()] == ['connu@client.example']
    rem = env.reminders('F-910')['j3']
    assert rem['state'] == 'failed' and rem['last_error'].startswith('550')
    failed = env.audit('failed', 'F-910')
    assert len(failed) == 1 and '550' in failed[0]['details']['detail']
    assert env.reminders('F-911')['j3']['state'] == 'sent'
    # Not retried on the next cycles.
    env.cycle(at('2026-03-05', '14:00'))
    env.cycle(at('2026-03-06'))
    assert env.reminders('F-910')['j3']['attempts'] == 1
    assert len(env.mails()) == 1


def test_relay_451_retried_later_then_sent_once(make_env):
    """A 451 is retried later: the reminder goes back to 'planned' with a
    later scheduled_for (backoff), attempts are counted, a cycle before that
    time does not try again, and once the relay accepts it is sent exactly
    once, with the same Message-ID."""
    env = make_env(tempfail=r'^plustard@')
    c = env.client('plustard@client.example')
    env.invoice('F-920', c, '2026-03-02')
    env.cycle(at('2026-03-05', '10:00'))
    assert env.mails() == []
    rem = env.reminders('F-920')['j3']
    assert rem['state'] == 'planned' and rem['attempts'] == 1
    assert rem['last_error'].startswith('451')
    first_id = rem['message_id']
    retry_at = rem['scheduled_for']
    now = instant('2026-03-05', '10:00')
    assert now + dt.timedelta(minutes=3) <= retry_at <= now + dt.timedelta(hours=2), retry_at
    retried = env.audit('retried', 'F-920')
    assert len(retried) == 1 and '451' in retried[0]['details']['detail']
    # Before the retry time: no new attempt.
    env.cycle(at('2026-03-05', '10:01'))
    rem = env.reminders('F-920')['j3']
    assert rem['attempts'] == 1 and rem['scheduled_for'] == retry_at
    # The relay recovers; at the retry time the message leaves, once.
    env.restart_smtp()
    later = (retry_at + dt.timedelta(seconds=1)).astimezone(dt.timezone.utc).isoformat()
    env.cycle(later)
    env.cycle(at('2026-03-05', '15:00'))
    mails = env.mails()
    assert [m.rcpt for m in mails] == ['plustard@client.example']
    rem = env.reminders('F-920')['j3']
    assert rem['state'] == 'sent' and rem['attempts'] == 2
    assert rem['message_id'] == first_id == mails[0].message_id
    env.verify_audit()


def test_relay_down_is_temporary(make_env):
    """No relay at all (connection refused): the reminder is retried, not
    failed, and nothing is lost; it leaves when the relay is back."""
    env = make_env(smtp=False)
    c = env.client('panne@client.example')
    env.invoice('F-925', c, '2026-03-02')
    r = env.cycle(at('2026-03-05', '10:00'))
    assert r.returncode == 0
    rem = env.reminders('F-925')['j3']
    assert rem['state'] == 'planned' and rem['attempts'] == 1
    env.restart_smtp()
    env.cycle(at('2026-03-05', '16:00'))
    assert [m.rcpt for m in env.mails()] == ['panne@client.example']
    assert env.reminders('F-925')['j3']['state'] == 'sent'


def test_j45_letter_written_to_spool_not_emailed(env):
    """The j45 formal notice goes to the spool as a letter (channel
    'letter'), the client gets no e-mail for it; a client without a postal
    address gets a 'failed' reminder instead of a letter."""
    a = env.client('lettre@client.example', company='Dupuis & Fils SARL')
    b = env.client('sansadresse@client.example', address=False)
    env.invoice('F-930', a, '2026-03-02', amount='1234.56')
    env.invoice('F-931', b, '2026-03-02', amount='100.00')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01', '2026-04-16'])
    assert len(env.mails()) == 6
    for n in ('F-930', 'F-931'):
        env.sql('SELECT dunning.approve(%s)', (env.reminders(n)['j45']['id'],),
                now=at('2026-04-16', '17:00'))
    got = env.replay_on(['2026-04-17'])
    assert got == [('2026-04-17', 'letter', 'j45', ['F-930'])]
    assert len(env.mails()) == 6
    (name, text), = env.letters().items()
    assert name.endswith('.pdf') and 'j45' in name
    t = norm_spaces(text)
    assert 'Dupuis & Fils SARL' in t and '12 avenue des Tilleuls' in t and '69003 Lyon' in t
    assert 'reste dû 1 234,56 €' in t
    assert 'indemnité forfaitaire pour frais de recouvrement de 40,00 €' in t
    assert 'Le 17 avril 2026' in t
    assert env.reminders('F-930')['j45']['state'] == 'sent'
    rem = env.reminders('F-931')['j45']
    assert rem['state'] == 'failed' and rem['reason'] == 'no_postal_address', rem
    sent = env.audit('sent', 'F-930')[-1]
    letter = env.reminders('F-930')['j45']['letter_path']
    assert letter and sent['details']['letter'] == letter and os.path.isfile(letter)


def test_messages_are_well_formed(env):
    """SPEC §3.5: UTF-8, RFC 2047 Subject and display name, Date of the
    cycle, Message-ID = reminder.message_id, From the firm, Reply-To the
    responsible lawyer, To the client."""
    lw = env.lawyer('Maître Éloïse Brûlé', 'eloise.brule@cabinet.example')
    c = env.client('helene@client.example', kind='individual',
                   first='Hélène', last='Dœuf-Müller', lawyer=lw)
    env.invoice('F-940', c, '2026-03-02', amount='12345.67')
    env.cycle(at('2026-03-05', '10:00'))
    (m,) = env.mails()
    raw = m.raw
    # Every header line is 7-bit: non-ASCII words are RFC 2047 encoded.
    head = raw.split('\r\n\r\n', 1)[0] if '\r\n\r\n' in raw else raw.split('\n\n', 1)[0]
    assert all(ord(ch) < 128 for ch in head), head
    assert '=?' in head                               # encoded words present
    # j03 has an HTML template: text and HTML as alternatives, both UTF-8.
    assert m.msg.get_content_type() == 'multipart/alternative'
    assert [p.get_content_type() for p in m.msg.iter_parts()] == ['text/plain', 'text/html']
    assert all(p.get_content_charset() == 'utf-8' for p in m.msg.iter_parts())
    assert m.subject == "Rappel\u00a0: note d'honoraires n°\u00a0F-940 arrivée à échéance"
    assert m.date == instant('2026-03-05', '10:00')
    assert m.message_id == env.reminders('F-940')['j3']['message_id']
    assert m.message_id.startswith('<') and m.message_id.endswith('>')
    assert m.msg['From'].addresses[0].addr_spec == 'relances@cabinet.example'
    assert m.reply_to.addresses[0].addr_spec == 'eloise.brule@cabinet.example'
    to = m.msg['To'].addresses[0]
    assert to.addr_spec == 'helene@client.example' and to.display_name == 'Hélène Dœuf-Müller'
    assert m.envelope_rcpt == ['helene@client.example']
    assert m.mail_from == 'relances@cabinet.example'
    assert 'Maître Éloïse Brûlé' in m.body
    assert '12 345,67 €' in m.text
    # Parses without defects under the strict policy.
    strict = email.message_from_string(raw, policy=email.policy.strict)
    assert strict['Message-ID'] is not None
    assert not m.msg.defects


def test_reply_to_configured_overrides_lawyer(make_env):
    """smtp.reply_to set: it is the Reply-To instead of the lawyer."""
    env = make_env()
    env.write_config(extra_conf='')
    with open(env.config) as f:
        text = f.read()
    text = text.replace('tls = "none"', 'tls = "none"\n  reply_to = "compta@cabinet.example"')
    with open(env.config, 'w') as f:
        f.write(text)
    c = env.client('rt@client.example')
    env.invoice('F-941', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    (m,) = env.mails()
    assert m.reply_to.addresses[0].addr_spec == 'compta@cabinet.example'


def test_rule9_no_matter_description_or_notes_in_messages(env):
    """Rule 9: a distinctive secret written everywhere that is not in the
    template context (dispute reason, clearing note, pause and rejection
    reasons, payment reference, the client's phone) never appears in any
    mail or letter of a whole escalation."""
    c = env.client('secret@client.example', phone='+33 1 ' + SECRET)
    env.invoice('F-950', c, '2026-03-02', amount='900.00')
    env.invoice('F-951', c, '2026-03-02', amount='6000.00')

    def held(stage):
        return [r for r in env.reminders() if r['state'] == 'held' and r['stage'] == stage]

    events = {
        '2026-03-03': lambda: env.pay('F-950', '100.00', at('2026-03-03', '09:00'),
                                      reference='VIR ' + SECRET),
        '2026-03-09': lambda: env.sql("SELECT dunning.flag_dispute('F-950', %s)",
                                      ('dossier divorce ' + SECRET,),
                                      now=at('2026-03-09', '08:00')),
        '2026-03-10': [
            lambda: env.sql("SELECT dunning.clear_dispute('F-950', %s)", ('note ' + SECRET,),
                            now=at('2026-03-10', '08:00')),
            lambda: env.sql("SELECT dunning.pause_invoice('F-951', '2026-03-13', %s)",
                            ('pause ' + SECRET,), now=at('2026-03-10', '08:00'))],
        '2026-04-02': lambda: [env.sql('SELECT dunning.reject(%s, %s)',
                                       (r['id'], 'rejet ' + SECRET),
                                       now=at('2026-04-02', '08:00')) for r in held('j30')],
        '2026-04-17': lambda: [env.sql('SELECT dunning.approve(%s)', (r['id'],),
                                       now=at('2026-04-17', '08:00')) for r in held('j45')],
    }
    got = env.replay('2026-03-03', '2026-04-17', events=events, weekends=False)
    assert_table(got, [
        ('2026-03-05', 'secret@client.example', 'j3', ['F-950', 'F-951']),
        ('2026-03-13', 'secret@client.example', 'j10', ['F-951']),
        ('2026-03-16', 'secret@client.example', 'j10', ['F-950']),
        ('2026-04-01', 'secret@client.example', 'j30', ['F-950']),
        ('2026-04-17', 'letter', 'j45', ['F-950']),
    ])
    assert SECRET in str(env.audit())                 # the secret is in the database...
    for m in env.mails():                             # ...but in no message
        assert SECRET not in m.raw and SECRET not in m.body
        assert 'divorce' not in m.body
    (letter,) = env.letters().values()
    assert SECRET not in letter and 'F-951' in letter   # one letter, both invoices


def test_relay_451_keeps_retrying_with_capped_backoff_then_sends(make_env):
    """A relay that keeps answering 451: retried with a growing backoff that
    stops growing at the cap (2 h ± 20 %), each attempt audited, never
    'failed' by itself (an outage must not fail every due reminder), never
    sent twice; once the relay accepts, the message leaves once."""
    env = make_env(tempfail=r'^toujours@')
    c = env.client('toujours@client.example')
    env.invoice('F-921', c, '2026-03-05')          # j3 due Sunday 8 → Monday 9
    t = instant('2026-03-09', '09:00')
    waits = []
    for _ in range(7):
        env.cycle(t)
        rem = env.reminders('F-921')['j3']
        assert rem['state'] == 'planned', rem
        waits.append((rem['scheduled_for'] - t).total_seconds())
        t = rem['scheduled_for'] + dt.timedelta(seconds=1)
    assert rem['attempts'] == 7
    # 300 s doubled each attempt, ± 20 %: 300, 600, 1200, 2400, 4800, then the cap.
    for i, base in enumerate([300, 600, 1200, 2400, 4800]):
        assert 0.8 * base <= waits[i] <= 1.2 * base, waits
    assert all(w <= 1.2 * 7200 or w > 12 * 3600 for w in waits[5:]), waits  # cap (or overnight)
    assert len(env.audit('retried', 'F-921')) == 7
    assert env.audit('failed', 'F-921') == []
    assert env.mails() == []
    env.restart_smtp()                              # the relay accepts again
    env.cycle(t)
    rem = env.reminders('F-921')['j3']
    assert rem['state'] == 'sent' and rem['attempts'] == 8, rem
    assert len(env.mails()) == 1


def test_relay_451_retry_after_window_end_waits_for_next_opening(make_env):
    """A 451 at 17:58: the retry falls after 18:00, so it leaves at the
    next opening (09:00 the next business day), not in the evening."""
    env = make_env(tempfail=r'^soir@')
    c = env.client('soir@client.example')
    env.invoice('F-922', c, '2026-03-02')
    env.cycle(at('2026-03-06', '17:58'))            # Friday
    env.restart_smtp()
    for hhmm in ('18:10', '20:00'):
        env.cycle(at('2026-03-06', hhmm))
    env.cycle(at('2026-03-07', '10:00'))            # Saturday
    assert env.mails() == []
    assert env.reminders('F-922')['j3']['scheduled_for'] == instant('2026-03-09', '09:00')
    env.cycle(at('2026-03-09', '09:00'))
    assert [m.rcpt for m in env.mails()] == ['soir@client.example']


def test_no_header_injection_through_display_name(env):
    """Quotes, commas and angle brackets in a client's name stay inside the
    display name: one recipient, the client's address, nothing else."""
    c = env.client('vrai@client.example',
                   company='Evil, "Inc." <pirate@evil.example>, cc: autre@evil.example')
    env.invoice('F-942', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    (m,) = env.mails()
    addrs = m.msg['To'].addresses
    assert [a.addr_spec for a in addrs] == ['vrai@client.example']
    assert m.envelope_rcpt == ['vrai@client.example']
    assert m.msg['Cc'] is None and m.msg['Bcc'] is None
    assert 'pirate@evil.example' in addrs[0].display_name


def test_indemnity_only_for_professional_clients(env):
    """SPEC §2.1: the 40 EUR recovery indemnity appears in the j30 message
    to a professional client, never in the one to an individual."""
    pro = env.client('pro@client.example', kind='professional')
    ind = env.client('particulier@client.example', kind='individual')
    env.invoice('F-960', pro, '2026-03-02', amount='800.00')
    env.invoice('F-961', ind, '2026-03-02', amount='800.00')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01'])
    j30 = {m.rcpt: m for m in env.mails() if env.stage_of(m.message_id)[0] == 'j30'}
    assert set(j30) == {'pro@client.example', 'particulier@client.example'}
    assert 'indemnité forfaitaire pour frais de recouvrement de 40,00 €' in \
        j30['pro@client.example'].text
    assert 'indemnité' not in j30['particulier@client.example'].text
    assert '40,00 €' not in j30['particulier@client.example'].text
    for m in j30.values():
        assert 'au plus tard le 8 avril 2026' in m.text         # 7 days to pay


def test_single_invoice_reminder_layout(env):
    """The friendly reminder for one invoice: the invoice line, then a blank
    line before the next paragraph (not glued to it)."""
    c = env.client('mise-en-page@client.example')
    env.invoice('F-970', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    (m,) = env.mails()
    assert "1 000,00 €\n\nIl s'agit" in m.text, m.text
    assert '\n\n\n' not in m.text


def test_rule7_configured_window_and_weekends(make_env):
    """Rule 7 with window 08:00–12:00 and business_days_only = false: a
    Saturday is open, 12:00 is closed (the end is exclusive)."""
    env = make_env(extra_conf='schedule {\n  window_start = "08:00"\n  window_end = "12:00"\n'
                              '  business_days_only = false\n}\n')
    c = env.client('samedi@client.example')
    env.invoice('F-980', c, '2026-03-04')           # j3 due Saturday 7
    env.cycle(at('2026-03-07', '07:59'))
    env.cycle(at('2026-03-07', '12:00'))
    assert env.mails() == []
    assert env.reminders('F-980')['j3']['scheduled_for'] == instant('2026-03-08', '08:00')
    env.cycle(at('2026-03-08', '08:00'))             # Sunday, open
    assert [m.rcpt for m in env.mails()] == ['samedi@client.example']


def test_sending_left_by_a_dead_sender_becomes_in_doubt_never_resent(env):
    """SPEC §3.5: a reminder left in 'sending' by a sender that died (its
    lease ran out) becomes 'in_doubt' with an audit row, and is never resent
    blindly; the invoice's sequence waits for the operator."""
    c = env.client('doute@client.example')
    i = env.invoice('F-990', c, '2026-03-02')
    env.sql("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for, attempts, "
            "message_id, lease_until) VALUES (%s, 'j3', 'sending', %s, 1, "
            "'<dunning.x.j3@cabinet.example>', %s)",
            (i, at('2026-03-05', '09:00'), at('2026-03-05', '09:15')))
    env.cycle(at('2026-03-05', '09:10'))             # lease still running: left alone
    assert env.reminders('F-990')['j3']['state'] == 'sending'
    env.replay('2026-03-05', '2026-03-20', weekends=False)
    rem = env.reminders('F-990')
    assert rem['j3']['state'] == 'in_doubt' and list(rem) == ['j3']
    doubt = env.audit('in_doubt', 'F-990')
    assert len(doubt) == 1 and doubt[0]['details']['message_id'] == '<dunning.x.j3@cabinet.example>'
    assert env.mails() == []
    assert env.plan(at('2026-03-20'))[0]['reason'].startswith('a reminder is in doubt')
