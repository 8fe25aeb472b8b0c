"""Replays of whole weeks, day by day, with `dunningd --once --now`:
exactly which client received which message on which day (SPEC §2 rules
1, 2, 7 and 8; rules 3–6 are in test_rules.py)."""
import subprocess

from harness import DUNNINGD, assert_table, at, D


def test_rule1_stages_in_order_at_their_offsets(env):
    """Rule 1: j3, j10, j30 at due + offset, in order, one a day at most;
    j45 (formal notice) is held, nothing leaves after it."""
    c = env.client('durand@client.example')
    env.invoice('F-100', c, '2026-03-02', amount='1200.00')
    got = env.replay('2026-03-02', '2026-04-24')
    assert_table(got, [
        ('2026-03-05', 'durand@client.example', 'j3'),
        ('2026-03-12', 'durand@client.example', 'j10'),
        ('2026-04-01', 'durand@client.example', 'j30'),
    ])
    rem = env.reminders('F-100')
    assert [rem[s]['state'] for s in ('j3', 'j10', 'j30', 'j45')] == \
        ['sent', 'sent', 'sent', 'held']
    env.verify_audit()


def test_rule1_first_seen_at_j40_gets_the_friendly_reminder_first(env):
    """Rule 1: an invoice first seen at J+40 gets j3 first (not j45), then
    each later stage min_gap_days (5) after the previous one, moved to the
    next business day when that falls on a weekend."""
    c = env.client('late@client.example')

    def arrives():
        env.invoice('F-140', c, '2026-01-22', amount='900.00')
        # What the cycle is about to do: the friendly reminder, nothing else.
        plan = env.plan(at('2026-03-03'))
        assert [(p['invoice_number'], p['stage'], p['action']) for p in plan] == \
            [('F-140', 'j3', 'send')]

    got = env.replay('2026-03-02', '2026-04-10', events={'2026-03-03': arrives})
    assert_table(got, [
        ('2026-03-03', 'late@client.example', 'j3'),     # J+40
        ('2026-03-09', 'late@client.example', 'j10'),    # 03-08 is a Sunday
        ('2026-03-16', 'late@client.example', 'j30'),    # 03-14 is a Saturday
    ])
    assert env.reminders('F-140')['j45']['state'] == 'held'


def test_rule1_min_gap_is_configurable(make_env):
    """Rule 1 with min_gap_days = 10: the gap, not the offset, decides."""
    env = make_env(extra_conf='schedule { min_gap_days = 10 }\n')
    c = env.client('gap@client.example')
    env.invoice('F-150', c, '2026-02-02', amount='500.00')
    got = env.replay('2026-03-02', '2026-04-10', weekends=False)
    # Seen at J+28: j3 at once, j10 ten days later, j30 ten days after that.
    assert_table(got, [
        ('2026-03-02', 'gap@client.example', 'j3'),
        ('2026-03-12', 'gap@client.example', 'j10'),
        ('2026-03-23', 'gap@client.example', 'j30'),    # 03-22 is a Sunday
    ])


def test_rule2_second_cycle_the_same_day_sends_nothing(env):
    """Rule 2: once.  Cycles later the same day, and the next days, do not
    send j3 again."""
    c = env.client('once@client.example')
    env.invoice('F-200', c, '2026-03-02')
    env.cycle(at('2026-03-05', '09:30'))
    assert len(env.mails()) == 1
    for hhmm in ('09:30', '11:00', '17:59'):
        env.cycle(at('2026-03-05', hhmm))
    env.cycle(at('2026-03-06', '10:00'))
    mails = env.mails()
    assert len(mails) == 1, mails
    assert env.count('dunning.reminder') == 1
    assert env.count('dunning.audit_log', "action = 'sent'") == 1


def test_rule2_two_daemons_at_once_send_each_message_once(env):
    """Rule 2: two `dunningd --once` started together on the same due
    reminders: every Message-ID reaches the relay exactly once."""
    n = 40
    for i in range(n):
        c = env.client('c%02d@client.example' % i)
        env.invoice('F-2%02d' % i, c, '2026-03-02')
    for day in ('2026-03-05', '2026-03-12'):       # j3, then j10
        procs = [subprocess.Popen([DUNNINGD, '-c', env.config, '--once', '--now',
                                   at(day, '10:00')], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
    mails = env.mails()
    ids = [m.message_id for m in mails]
    assert len(ids) == len(set(ids)), 'a Message-ID was sent twice'
    assert len(mails) == 2 * n
    rows = env.reminders()
    assert len(rows) == 2 * n
    assert {r['state'] for r in rows} == {'sent'}
    assert sorted(r['message_id'] for r in rows) == sorted(ids)
    assert env.count('dunning.audit_log', "action = 'sent'") == 2 * n
    env.verify_audit()


def test_rule7_weekend_moves_to_monday_opening(env):
    """Rule 7: j3 due on a Saturday leaves on Monday at the window's
    opening (09:00, after the DST change of 29 March: 07:00 UTC)."""
    c = env.client('weekend@client.example')
    env.invoice('F-700', c, '2026-03-25')           # j3 due Sat 28 March
    got = env.replay('2026-03-27', '2026-03-30', hhmm='08:30')
    assert got == []                                # 08:30 is before the window
    rem = env.reminders('F-700')['j3']
    assert rem['state'] == 'planned'
    assert rem['scheduled_for'].isoformat() == '2026-03-30T07:00:00+00:00'
    got = env.replay('2026-03-30', '2026-03-31', hhmm='09:00')
    assert_table(got, [('2026-03-30', 'weekend@client.example', 'j3')])
    assert env.mails()[0].date.isoformat() == '2026-03-30T09:00:00+02:00'


def test_rule7_evening_waits_for_next_morning(env):
    """Rule 7: a stage due on a day first seen at 18:30 waits for 09:00 the
    next business day; nothing leaves at 08:59."""
    c = env.client('evening@client.example')
    env.invoice('F-701', c, '2026-03-02')           # j3 due Thu 5 March
    env.cycle(at('2026-03-05', '18:30'))
    env.cycle(at('2026-03-05', '23:00'))
    env.cycle(at('2026-03-06', '08:59'))
    assert env.mails() == []
    assert env.reminders('F-701')['j3']['scheduled_for'].isoformat() == \
        '2026-03-06T08:00:00+00:00'
    env.cycle(at('2026-03-06', '09:00'))
    mails = env.mails()
    assert [m.rcpt for m in mails] == ['evening@client.example']


def test_rule7_public_holidays_easter_monday_ascension_whit_monday(env):
    """Rule 7: French public holidays are closed: Easter Monday (6 April
    2026), 1 May, Ascension (14 May), Whit Monday (25 May)."""
    cases = [
        ('easter@client.example', '2026-04-01', '2026-04-07'),   # due Sat 4/4
        ('easter2@client.example', '2026-04-03', '2026-04-07'),  # due Easter Monday
        ('mayday@client.example', '2026-04-28', '2026-05-04'),   # due Fri 1 May
        ('ascension@client.example', '2026-05-11', '2026-05-15'),  # due Thu 14 May
        ('whit@client.example', '2026-05-22', '2026-05-26'),     # due Whit Monday
    ]
    for i, (mail, due, _) in enumerate(cases):
        c = env.client(mail)
        env.invoice('F-71%d' % i, c, due, amount='300.00')
    got = env.replay('2026-04-02', '2026-05-27')
    j3 = [g for g in got if g[2] == 'j3']
    assert_table(j3, sorted([(sent, mail, 'j3') for mail, _, sent in cases]))
    # No message at all on a closed day.
    closed = {'2026-04-06', '2026-05-01', '2026-05-08', '2026-05-14', '2026-05-25'}
    assert not [g for g in got if g[0] in closed or D(g[0]).weekday() >= 5]


def test_rule8_two_invoices_same_day_one_message(env):
    """Rule 8: two invoices of one client due the same day: one message
    listing both (and again at j10); another client's invoice and the same
    client's invoice due on another day get their own messages."""
    a = env.client('groupe@client.example')
    b = env.client('autre@client.example')
    env.invoice('F-801', a, '2026-03-02', amount='1000.00')
    env.invoice('F-802', a, '2026-03-02', amount='250.50')
    env.invoice('F-803', b, '2026-03-02', amount='400.00')
    env.invoice('F-804', a, '2026-03-03', amount='75.00')
    got = env.replay('2026-03-02', '2026-03-16')
    assert_table(got, [
        ('2026-03-05', 'groupe@client.example', 'j3', ['F-801', 'F-802']),
        ('2026-03-05', 'autre@client.example', 'j3', ['F-803']),
        ('2026-03-06', 'groupe@client.example', 'j3', ['F-804']),
        ('2026-03-12', 'groupe@client.example', 'j10', ['F-801', 'F-802']),
        ('2026-03-12', 'autre@client.example', 'j10', ['F-803']),
        ('2026-03-13', 'groupe@client.example', 'j10', ['F-804']),
    ])
    grouped = [m for m in env.mails() if m.rcpt == 'groupe@client.example'][0]
    text = grouped.text
    assert 'F-801' in text and 'F-802' in text and 'F-804' not in text
    assert '2 notes' in grouped.subject
    assert 'Total restant dû : 1 250,50 €\n\nIl s' in text and '\n\n\n' not in text
    rem = env.reminders()
    ids = {r['number']: r['message_id'] for r in rem if r['stage'] == 'j3'}
    assert ids['F-801'] == ids['F-802'] == grouped.message_id
    assert len({ids['F-801'], ids['F-803'], ids['F-804']}) == 3


def test_whole_quarter_replay_audit_chain_holds(env):
    """A quarter of mixed activity (payments, a dispute, an approval) leaves
    an audit chain that `dunningctl audit verify` accepts, one audit row
    per message sent, and every reminder in a final state."""
    lw = env.lawyer('Maître Bruno Petit', 'bruno.petit@cabinet.example')
    clients = [env.client('q%d@client.example' % i, lawyer=lw) for i in range(6)]
    for i, c in enumerate(clients):
        env.invoice('Q-%d' % i, c, '2026-01-%02d' % (5 + 4 * i),
                    amount=('7000.00' if i == 5 else '%d.00' % (300 + 100 * i)))
    def approve_all_held(day):
        for r in env.reminders():
            if r['state'] == 'held':
                env.sql('SELECT dunning.approve(%s)', (r['id'],), now=at(day, '08:00'))

    events = {
        '2026-01-07': lambda: env.pay('Q-0', '300.00', at('2026-01-06', '15:00')),
        '2026-02-02': lambda: env.sql("SELECT dunning.flag_dispute('Q-1', 'contestation')",
                                      now=at('2026-02-02', '08:00')),
        '2026-02-16': lambda: env.sql("SELECT dunning.clear_dispute('Q-1', 'accord trouvé')",
                                      now=at('2026-02-16', '08:00')),
        '2026-02-25': lambda: approve_all_held('2026-02-25'),
        '2026-03-02': lambda: env.pay('Q-2', '100.00', at('2026-03-01', '12:00')),
        '2026-03-20': lambda: approve_all_held('2026-03-20'),
    }
    got = env.replay('2026-01-05', '2026-04-07', events=events, weekends=False)
    sent_rows = [r for r in env.reminders() if r['state'] == 'sent']
    assert len(got) == len({r['message_id'] for r in sent_rows})
    assert env.count('dunning.audit_log', "action = 'sent'") == len(sent_rows)
    stuck = [r for r in env.reminders() if r['state'] in ('sending', 'in_doubt', 'failed')]
    assert not stuck, (stuck, [r.stderr for _, r in env.log if 'warn' in r.stderr.lower()])
    assert not [g for g in got if g[1] == 'q0@client.example']     # paid before j3
    assert [g for g in got if g[1] == 'letter'], 'approved formal notices were written'
    # Rule 10: every kind of action of the quarter left its audit rows.
    actions = {a['action'] for a in env.audit()}
    assert {'daemon_started', 'daemon_stopped', 'planned', 'held', 'approved', 'sent',
            'dispute_flagged', 'dispute_cleared', 'payment_recorded',
            'escalated'} <= actions, actions
    # The chain holds and covers every row.
    r = env.verify_audit()
    assert ('%d rows' % env.count('dunning.audit_log')) in r.stdout
